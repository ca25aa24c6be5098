"""Container lifecycle: start, stop, kill, restart, pause, wait, exits, re-adoption.

Each running container has a monitor thread blocked on its shim's ``wait``; the
exit it reports is the only path to the exited state, whether this daemon
started the shim or adopted it after a restart. Restart policies are applied
there too, as dockerd's restart manager does (backoff doubling from 100 ms).
"""

from __future__ import annotations

import os
import shutil
import signal as signals
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container, Status, parse_rfc3339
from cove.runtime.engine import create_config, mounts
from cove.runtime.linux import caps, cgroups
from cove.runtime.store.layout import read_json

if TYPE_CHECKING:
    from cove.runtime.engine.containers import ContainerService

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_STOP_TIMEOUT = 10


def parse_signal(value: str | int | None, default: int = signals.SIGKILL) -> int:
    """"KILL", "SIGKILL", "9" -> 9, with dockerd's error for anything else."""
    if value in (None, ""):
        return default
    text = str(value).upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < signals.NSIG:
            return number
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        sig = getattr(signals, name, None)
        if isinstance(sig, signals.Signals):
            return int(sig)
    raise errors.InvalidParameter(f"Invalid signal: {value}")


class LifecycleMixin:
    def cgroup(self: ContainerService, container: Container) -> cgroups.CgroupManager:
        return cgroups.manager_for(container.id)

    def _resources(self: ContainerService, container: Container) -> cgroups.Resources:
        host = container.host_config
        return cgroups.Resources(
            memory=host.get("Memory") or None, memory_swap=host.get("MemorySwap") or None,
            nano_cpus=host.get("NanoCpus") or None, cpu_shares=host.get("CpuShares") or None,
            pids_limit=host.get("PidsLimit") or None)

    def _spec(self: ContainerService, container: Container,
              manager: cgroups.CgroupManager) -> dict[str, Any]:
        lay, cid, cfg = self.layout, container.id, container.config
        env = list(cfg.get("Env") or [])
        keys = {item.split("=", 1)[0] for item in env}
        extra = []
        if "PATH" not in keys:
            extra.append(DEFAULT_PATH)
        extra.append("HOSTNAME=" + cfg["Hostname"])
        if cfg.get("Tty") and "TERM" not in keys:
            extra.append("TERM=xterm")
        console = container.private.get("console") or {"height": 24, "width": 80}
        if isinstance(manager, cgroups.CgroupV1Manager):
            oom = {"kind": "v1", "path": manager.path("memory")}
        else:
            oom = {"kind": "v2", "path": manager.path}
        host = container.host_config
        return {
            "id": cid,
            "rootfs": {"lower": self.images.lower_dirs(container.data["Image"]),
                       "upper": str(lay.container_upper(cid)),
                       "work": str(lay.container_work(cid)),
                       "readonly": bool(container.host_config.get("ReadonlyRootfs"))},
            "process": {"args": [container.data["Path"], *container.data["Args"]],
                        "env": extra + env, "cwd": cfg.get("WorkingDir") or "/",
                        "user": cfg.get("User") or "", "tty": bool(cfg.get("Tty")),
                        "open_stdin": bool(cfg.get("OpenStdin")),
                        "stdin_once": bool(cfg.get("StdinOnce")), "console": console,
                        "init": bool(container.host_config.get("Init")),
                        **self.process_privileges(container)},
            "hostname": cfg["Hostname"], "domainname": cfg.get("Domainname") or "",
            "privileged": bool(host.get("Privileged")),
            "shm_size": host.get("ShmSize") or create_config.DEFAULT_SHM_SIZE,
            "sysctls": dict(host.get("Sysctls") or {}),
            "mounts": mounts.spec_mounts(container.host_config, [
                (str(lay.container_hosts(cid)), "/etc/hosts"),
                (str(lay.container_hostname(cid)), "/etc/hostname"),
                (str(lay.container_resolv(cid)), "/etc/resolv.conf")],
                self.mount_points(container)),
            "cgroup": {"join": manager.join_paths()},
            **create_config.log_settings(container.host_config, str(lay.container_log(cid))),
            "exit_file": str(lay.exit_file(cid)),
            "oom_check": oom,
        }

    def process_privileges(self: ContainerService, container: Container) -> dict[str, Any]:
        """What the container's processes (init and execs alike, as in dockerd) get from
        HostConfig: capabilities, extra groups, ulimits, OOM score adjustment."""
        host = container.host_config
        return {
            "capabilities": create_config.capability_set(host, held=caps.held_capabilities()),
            "groups_add": list(host.get("GroupAdd") or []),
            "rlimits": create_config.rlimits(host),
            "oom_score_adj": host.get("OomScoreAdj"),
            "no_new_privs": create_config.no_new_privileges(host),
        }

    # start
    def start(self: ContainerService, ref: str) -> None:
        container = self.get(ref)
        with container.op_lock:
            self._start_locked(container)

    def _start_locked(self: ContainerService, container: Container) -> None:
        with container.lock:
            if container.removed:
                raise errors.no_such_container(container.id)
            if container.running:
                raise errors.NotModified("container already started")
            container.private["manually_stopped"] = False
        manager = self.cgroup(container)
        shutil.rmtree(self.layout.bundle_dir(container.id), ignore_errors=True)
        try:
            manager.create(self._resources(container))
            shim = shim_client.start(self.layout, container.id, self._spec(container, manager))
        except errors.EngineError as exc:
            self._start_failed(container, exc)
            raise
        except Exception as exc:  # a bug or the OS: still leave no cgroup or bundle behind
            failure = errors.SystemError_(f"failed to start container: {exc}")
            self._start_failed(container, failure)
            raise failure from exc
        attaches = self._take_pending_attaches(container)
        for attach in attaches:
            attach.connect_to_shim()
        try:
            shim.go()
        except errors.EngineError as exc:
            shim.abort()
            for attach in attaches:
                attach.close()
            self._start_failed(container, exc)
            raise
        with container.lock:
            container.set_running(shim.pid)
            container.save()
        self.volumes.publish_mounts(container.id, self.mount_points(container) or [], "mount")
        self.publish(container, "start")
        threading.Thread(target=self._monitor, args=(container, shim.popen),
                         name=f"monitor-{container.id[:12]}", daemon=True).start()

    def _start_failed(self: ContainerService, container: Container,
                      exc: errors.EngineError) -> None:
        self._discard_runtime_state(container)
        code = getattr(exc, "exit_code", 128)
        with container.lock:
            container.set_start_failed(code, exc.message)
            container.save()
        self.publish(container, "die", {"exitCode": str(code)})
        if container.host_config.get("AutoRemove"):
            self._delete(container, volumes=True)

    def _take_pending_attaches(self: ContainerService, container: Container) -> list[Any]:
        with container.lock:
            pending, container.pending_attaches = container.pending_attaches, []
        return pending

    # exits
    def _monitor(self: ContainerService, container: Container, popen: Any) -> None:
        try:
            result = shim_client.wait(self.layout, container.id)
        except (OSError, ValueError):
            result = self._exit_from_disk(container)
        if popen is not None:
            popen.wait()
        self._on_exit(container, result)

    def _exit_from_disk(self: ContainerService, container: Container) -> dict[str, Any]:
        """The exit the shim recorded, or 255 when the shim died without recording one."""
        try:
            return read_json(self.layout.exit_file(container.id))
        except (OSError, ValueError):
            return {"exit_code": 255, "oom_killed": False, "finished_at": None}

    def _discard_runtime_state(self: ContainerService, container: Container) -> None:
        try:
            self.cgroup(container).destroy()
        except errors.EngineError:
            pass
        shutil.rmtree(self.layout.bundle_dir(container.id), ignore_errors=True)

    def _on_exit(self: ContainerService, container: Container, result: dict[str, Any]) -> None:
        oom = bool(result.get("oom_killed"))
        try:
            oom = oom or self.cgroup(container).oom_killed()
        except errors.EngineError:
            pass
        self._discard_runtime_state(container)
        self.volumes.publish_mounts(container.id, self.mount_points(container) or [], "unmount")
        code = int(result.get("exit_code", 255))
        with container.lock:
            started = container.state.get("StartedAt")
            container.set_exited(code, oom, result.get("finished_at"))
            restart = self._should_restart(container, code)
            if restart:
                container.state.update(Status="restarting", Restarting=True)
            container.save()
        if oom:
            self.publish(container, "oom")
        self.publish(container, "die", {"exitCode": str(code)})
        if restart:
            threading.Thread(target=self._restart_later, args=(container, started),
                             daemon=True).start()
        elif container.host_config.get("AutoRemove"):
            self._delete(container, volumes=True)

    def _should_restart(self: ContainerService, container: Container, code: int) -> bool:
        if container.removed or container.private.get("manually_stopped"):
            return False
        policy = container.host_config.get("RestartPolicy") or {}
        name = policy.get("Name") or "no"
        if name in ("always", "unless-stopped"):
            return True
        if name == "on-failure" and code != 0:
            limit = policy.get("MaximumRetryCount") or 0
            return limit == 0 or container.data["RestartCount"] < limit
        return False

    def _restart_later(self: ContainerService, container: Container, started: str) -> None:
        """Restart after a delay that doubles from 100 ms up to a minute, and starts over
        once the container had stayed up for 10 s (dockerd's restart manager)."""
        ran = time.time() - parse_rfc3339(started) if started else 0.0
        previous = 0.05 if ran >= 10 else container.private.get("backoff", 0.05)
        container.private["backoff"] = min(previous * 2, 60.0)
        time.sleep(container.private["backoff"])
        with container.lock:
            if container.removed or container.status != Status.RESTARTING:
                return
            container.data["RestartCount"] += 1
        try:
            with container.op_lock:
                self._start_locked(container)
        except errors.EngineError:
            pass

    # stop, kill, restart, pause
    def _signal(self: ContainerService, container: Container, sig: int) -> None:
        pid = container.state.get("Pid")
        if not pid:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        self.publish(container, "kill", {"signal": str(sig)})

    def kill(self: ContainerService, ref: str, signal: str | None) -> None:
        container = self.get(ref)
        sig = parse_signal(signal)
        with container.lock:
            if not container.running:
                raise errors.Conflict(
                    f"Cannot kill container: {ref}: Container {container.id} is not running")
            if sig in (signals.SIGKILL, signals.SIGTERM):
                container.private["manually_stopped"] = True
        if container.state.get("Paused") and sig == signals.SIGKILL:
            self._thaw_quietly(container)
        self._signal(container, sig)

    def stop(self: ContainerService, ref: str, timeout: int | None, signal: str | None = None) -> None:
        container = self.get(ref)
        with container.op_lock:
            self._stop_locked(container, timeout, signal)

    def _stop_locked(self: ContainerService, container: Container, timeout: int | None,
                     signal: str | None) -> None:
        with container.lock:
            if container.status == Status.RESTARTING:
                container.private["manually_stopped"] = True
                container.state.update(Status="exited", Restarting=False)
                container.save()
                return
            if not container.running:
                raise errors.NotModified("container already stopped")
            container.private["manually_stopped"] = True
            container.save()
        sig = parse_signal(signal or container.config.get("StopSignal"), signals.SIGTERM)
        if timeout is None:
            timeout = container.config.get("StopTimeout") or DEFAULT_STOP_TIMEOUT
        self._signal(container, sig)
        if container.state.get("Paused"):
            self._thaw_quietly(container)
        if not self.wait_not_running(container, None if timeout < 0 else float(timeout)):
            self._signal(container, signals.SIGKILL)
            self.wait_not_running(container, 30.0)
        self.publish(container, "stop")

    def restart(self: ContainerService, ref: str, timeout: int | None) -> None:
        container = self.get(ref)
        with container.op_lock:
            if container.running:
                self._stop_locked(container, timeout, None)
            self._start_locked(container)
        self.publish(container, "restart")

    def _thaw_quietly(self: ContainerService, container: Container) -> None:
        try:
            self.cgroup(container).thaw()
        except errors.EngineError:
            pass
        with container.lock:
            container.state.update(Paused=False, Status="running" if container.running else
                                   container.state["Status"])

    def pause(self: ContainerService, ref: str) -> None:
        container = self.get(ref)
        with container.lock:
            if not container.running:
                raise errors.Conflict(f"Container {container.id} is not running")
            if container.state["Paused"]:
                raise errors.Conflict(f"Container {container.id} is already paused")
            self.cgroup(container).freeze()
            container.state.update(Paused=True, Status="paused")
            container.save()
        self.publish(container, "pause")

    def unpause(self: ContainerService, ref: str) -> None:
        container = self.get(ref)
        with container.lock:
            if not container.state["Paused"]:
                raise errors.Conflict(f"Container {container.id} is not paused")
            self.cgroup(container).thaw()
            container.state.update(Paused=False, Status="running")
            container.save()
        self.publish(container, "unpause")

    def resize(self: ContainerService, ref: str, height: int, width: int) -> None:
        container = self.get(ref)
        with container.lock:
            container.private["console"] = {"height": height, "width": width}
            running = container.running
        if not running:
            if container.status == Status.CREATED:
                return
            raise errors.Conflict(f"Container {container.id} is not running")
        try:
            shim_client.resize(self.layout, container.id, height, width)
        except OSError as exc:
            raise errors.SystemError_(f"resize: {exc}") from exc

    # waiting
    def wait_not_running(self: ContainerService, container: Container,
                         timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with container.lock:
            while container.running or container.status == Status.RESTARTING:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                container.changed.wait(remaining)
        return True

    def prepare_wait(self: ContainerService, ref: str,
                     condition: str | None) -> Callable[[], dict[str, Any]]:
        """Checks the request now (404 before any bytes are sent); the returned
        function blocks until the condition holds."""
        condition = condition or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise errors.InvalidParameter(f"invalid condition: {condition!r}")
        container = self.get(ref)
        with container.lock:
            seq = container.exit_seq

        def block() -> dict[str, Any]:
            with container.lock:
                if condition == "removed":
                    while not container.removed:
                        container.changed.wait()
                elif condition == "next-exit":
                    while container.exit_seq == seq and not container.removed:
                        container.changed.wait()
                else:
                    while (container.running or container.status == Status.RESTARTING) \
                            and not container.removed:
                        container.changed.wait()
                code = container.state["ExitCode"]
            # a start failure is reported by the start call itself, as dockerd does
            return {"StatusCode": code, "Error": None}

        return block

    # daemon start
    def adopt_all(self: ContainerService) -> None:
        """Re-attach to containers whose shims outlived the previous daemon; settle the rest."""
        for container in self.load_all():
            state = container.state
            if state["Status"] == "removing":
                self._delete(container)
                continue
            if state["Running"]:
                if shim_client.alive(self.layout, container.id):
                    threading.Thread(target=self._monitor, args=(container, None),
                                     daemon=True).start()
                else:
                    self._on_exit(container, self._exit_from_disk(container))
            elif shim_client.alive(self.layout, container.id):
                # released just before the previous daemon died, so never recorded running
                shim_state = shim_client.state(self.layout, container.id)
                if shim_state.get("running"):
                    with container.lock:
                        container.set_running(int(shim_state["pid"]))
                        container.save()
                threading.Thread(target=self._monitor, args=(container, None),
                                 daemon=True).start()
            else:
                if self.layout.bundle_dir(container.id).exists():  # a start cut short
                    self._discard_runtime_state(container)
                if state["Status"] == "restarting":
                    with container.lock:
                        container.state.update(Status="exited", Restarting=False)
                        container.save()
        for container in self.all():
            policy = (container.host_config.get("RestartPolicy") or {}).get("Name")
            manual = container.private.get("manually_stopped")
            if container.running or container.status == Status.CREATED:
                continue
            if policy == "always" or (policy == "unless-stopped" and not manual):
                try:
                    self.start(container.id)
                except errors.EngineError:
                    pass
