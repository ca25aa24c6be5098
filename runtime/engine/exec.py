"""Exec: processes started inside a running container (``docker exec``).

The exec helper joins the container's namespaces and cgroup and runs the command;
this service gives it its stdio (pipes, or a pty for ``-t``), relays that to the
client's hijacked connection, and records the exit code before the stream ends,
since the CLI inspects the exec for it right after.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from cove.common.detach_keys import EscapeScanner
from cove.runtime import errors
from cove.runtime.engine.attach import connection_fd, escape_sequence
from cove.runtime.engine.containers import ContainerService
from cove.runtime.engine.containers.restart_policy import refuse_while_restarting
from cove.runtime.linux import tty
from cove.runtime.store.layout import atomic_write_json


class ExecInstance:
    def __init__(self, eid: str, container_id: str, config: dict[str, Any]) -> None:
        self.id = eid
        self.container_id = container_id
        self.config = config
        self.running = False
        self.started = False
        self.exit_code: int | None = None
        self.pid = 0
        self.console = (24, 80)
        self.master_fd: int | None = None
        self.lock = threading.Lock()

    def inspect(self) -> dict[str, Any]:
        cmd = self.config["Cmd"]
        return {
            "ID": self.id, "Running": self.running, "ExitCode": self.exit_code,
            "ProcessConfig": {"tty": bool(self.config.get("Tty")), "entrypoint": cmd[0],
                              "arguments": cmd[1:], "privileged": bool(self.config.get("Privileged")),
                              "user": self.config.get("User") or ""},
            "OpenStdin": bool(self.config.get("AttachStdin")),
            "OpenStderr": bool(self.config.get("AttachStderr")),
            "OpenStdout": bool(self.config.get("AttachStdout")),
            "CanRemove": False, "ContainerID": self.container_id,
            "DetachKeys": self.config.get("DetachKeys") or "", "Pid": self.pid,
        }


class AttachedExec:
    """A checked exec that runs, relaying its stdio, once the connection is hijacked."""

    def __init__(self, service: ExecService, instance: ExecInstance) -> None:
        self._service = service
        self._instance = instance

    @property
    def tty(self) -> bool:
        return bool(self._instance.config.get("Tty"))

    def run(self, reader: BinaryIO, send: Callable[[int, bytes], None]) -> None:
        self._service.run_attached(self._instance, reader, send)


class ExecService:
    def __init__(self, containers: ContainerService) -> None:
        self.containers = containers
        self._execs: dict[str, ExecInstance] = {}
        self._lock = threading.Lock()
        containers.exec_ids = self._ids_of  # type: ignore[method-assign]

    def _ids_of(self, cid: str) -> list[str]:
        with self._lock:
            return [e.id for e in self._execs.values() if e.container_id == cid]

    def get(self, eid: str) -> ExecInstance:
        with self._lock:
            instance = self._execs.get(eid)
        if instance is None:
            raise errors.no_such_exec(eid)
        return instance

    def create(self, ref: str, body: dict[str, Any]) -> dict[str, str]:
        container = self.containers.get(ref)
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd or not isinstance(cmd, list) or not all(isinstance(c, str) for c in cmd):
            raise errors.InvalidParameter("No exec command specified")
        for key in ("Env",):
            value = body.get(key)
            if value is not None and not (isinstance(value, list)
                                          and all(isinstance(v, str) for v in value)):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal into Go struct field ExecConfig.{key} of type []string")
        # Go's decoder matches keys regardless of case: docker-py sends "detachKeys"
        keys = next((v for k, v in body.items() if k.lower() == "detachkeys"), None)
        body = {k: v for k, v in body.items() if k.lower() != "detachkeys"}
        if keys:
            if not isinstance(keys, str):
                raise errors.InvalidParameter(
                    "json: cannot unmarshal into Go struct field ExecConfig.DetachKeys of "
                    "type string")
            escape_sequence(keys, "escape")
            body["DetachKeys"] = keys
        refuse_while_restarting(container)
        if not container.running:
            raise errors.Conflict(f"Container {container.id} is not running")
        if container.state["Paused"]:
            raise errors.Conflict(
                f"Container {container.id} is paused, unpause the container before exec")
        eid = secrets.token_hex(32)
        instance = ExecInstance(eid, container.id, dict(body, Cmd=cmd))
        with self._lock:
            self._execs[eid] = instance
        self.containers.publish(container, "exec_create: " + _event_command(cmd),
                                {"execID": eid})
        return {"Id": eid}

    def _spec(self, instance: ExecInstance) -> dict[str, Any]:
        container = self.containers.get(instance.container_id)
        cfg = instance.config
        env = list(container.config.get("Env") or [])
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        env.append("HOSTNAME=" + container.config["Hostname"])
        if cfg.get("Tty"):
            env.append("TERM=xterm")
        env += cfg.get("Env") or []
        return {
            "pid": container.state["Pid"], "args": cfg["Cmd"], "env": env,
            "cwd": cfg.get("WorkingDir") or container.config.get("WorkingDir") or "/",
            "user": cfg.get("User") or container.config.get("User") or "",
            "tty": bool(cfg.get("Tty")),
            "cgroup_join": self.containers.cgroup(container).join_paths(),
            "privileged": bool(cfg.get("Privileged")
                               or container.host_config.get("Privileged")),
            **self.containers.process_privileges(container),
        }

    def _spawn(self, instance: ExecInstance, detach: bool) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
        container = self.containers.get(instance.container_id)
        with instance.lock:
            if instance.started:
                raise errors.Conflict(f"Error: Exec command {instance.id} is already running")
            if not container.running:
                raise errors.Conflict(f"Container {container.id} is not running")
            instance.started = True
        bundle = self.containers.layout.bundle_dir(container.id)
        spec_path = bundle / f"exec-{instance.id}.json"
        spec = self._spec(instance)
        cfg = instance.config
        console: socket.socket | None = None
        passed: list[int] = []
        if detach:
            stdin = stdout = stderr = subprocess.DEVNULL
        elif cfg.get("Tty"):
            # the helper makes the pty inside the container and sends us its master
            console, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            spec["console_fd"] = theirs.fileno()
            passed.append(theirs.detach())
            stdin = stdout = stderr = subprocess.DEVNULL
        else:
            stdin = subprocess.PIPE if cfg.get("AttachStdin") else subprocess.DEVNULL
            stdout = subprocess.PIPE if cfg.get("AttachStdout", True) else subprocess.DEVNULL
            stderr = subprocess.PIPE if cfg.get("AttachStderr", True) else subprocess.DEVNULL
        err_r, err_w = os.pipe()
        passed.append(err_w)
        try:
            atomic_write_json(spec_path, spec, 0o600)
            from cove.runtime.containers.shim_launch import exec_command

            popen = subprocess.Popen(exec_command(str(spec_path), err_w), stdin=stdin,
                                     stdout=stdout, stderr=stderr, pass_fds=passed,
                                     start_new_session=True, close_fds=True, cwd="/")
        except Exception as exc:
            os.close(err_r)
            if console is not None:
                console.close()
            _unlink(spec_path)
            instance.exit_code, instance.running = 126, False
            raise errors.SystemError_(f"exec failed: {exc}") from exc
        finally:
            for fd in passed:
                os.close(fd)
        fds = {"error": err_r}
        if console is not None:
            master = _receive_fd(console)
            if master is not None:
                tty.set_window_size(master, *instance.console)
                instance.master_fd = fds["tty"] = master
        instance.pid = popen.pid
        instance.running = True
        self.containers.publish(container, "exec_start: " + _event_command(cfg["Cmd"]),
                                {"execID": instance.id})
        return popen, fds

    def _finish(self, instance: ExecInstance, popen: subprocess.Popen[bytes],
                error_fd: int) -> str:
        code = popen.wait()
        message = b""
        try:
            while chunk := os.read(error_fd, 65536):
                message += chunk
        finally:
            os.close(error_fd)
        text = ""
        for line in message.splitlines():
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if "error" in reply:
                text = reply["error"]
                code = 126  # dockerd's exit code for an exec that could not start
        instance.exit_code = code if code >= 0 else 128 - code
        instance.running = False
        if instance.master_fd is not None:
            os.close(instance.master_fd)
            instance.master_fd = None
        _unlink(self.containers.layout.bundle_dir(instance.container_id) / f"exec-{instance.id}.json")
        container = self.containers.get(instance.container_id)
        self.containers.publish(container, "exec_die", {"execID": instance.id,
                                                        "exitCode": str(instance.exit_code)})
        return text

    def start_detached(self, eid: str) -> None:
        instance = self.get(eid)
        popen, fds = self._spawn(instance, detach=True)
        threading.Thread(target=self._finish, args=(instance, popen, fds["error"]),
                         daemon=True).start()

    def prepare_start(self, eid: str) -> ExecInstance:
        instance = self.get(eid)
        container = self.containers.get(instance.container_id)
        if instance.started:
            raise errors.Conflict(f"Error: Exec command {instance.id} is already running")
        if not container.running:
            raise errors.Conflict(f"Container {container.id} is not running")
        return instance

    def prepare_attached(self, eid: str) -> AttachedExec:
        """An exec checked for starting while the client can still get an HTTP error."""
        return AttachedExec(self, self.prepare_start(eid))

    def inspect(self, eid: str) -> dict[str, Any]:
        return self.get(eid).inspect()

    def run_attached(self, instance: ExecInstance, reader: Any,
                     send: Callable[[int, bytes], None]) -> None:
        """Run the exec, relaying its stdio to ``send(stream, data)`` (1 stdout, 2 stderr)."""
        tty = bool(instance.config.get("Tty"))
        try:
            popen, fds = self._spawn(instance, detach=False)
        except errors.EngineError as exc:
            send(2, exc.message.encode() + b"\n")
            return
        sources: dict[int, int] = {}
        stdin_fd: int | None = None
        if tty:
            if "tty" in fds:
                sources[fds["tty"]] = 1
                stdin_fd = fds["tty"]
        else:
            if popen.stdout:
                sources[popen.stdout.fileno()] = 1
            if popen.stderr:
                sources[popen.stderr.fileno()] = 2
            stdin_fd = popen.stdin.fileno() if popen.stdin else None
        # on a TTY the detach keys end the session, the command runs on (dockerd's way)
        detach_r, detach_w = os.pipe()
        if stdin_fd is not None and instance.config.get("AttachStdin"):
            scanner = EscapeScanner(escape_sequence(instance.config.get("DetachKeys"),
                                                    "escape")) if tty else None
            threading.Thread(target=_pump_stdin,
                             args=(reader, stdin_fd, not tty, popen, scanner, detach_w),
                             daemon=True).start()
        else:
            os.close(detach_w)
        outcome = _relay(sources, send, detach_r, connection_fd(reader))
        if outcome == _DETACHED:
            self._hang_up(instance)
            threading.Thread(target=self._finish, args=(instance, popen, fds["error"]),
                             daemon=True).start()
            return
        if outcome == _CLIENT_GONE:
            threading.Thread(target=self._run_unattended, args=(instance, popen, fds, sources),
                             daemon=True).start()
            return
        message = self._finish(instance, popen, fds["error"])
        _close_pipes(popen)
        if message and tty and "tty" not in fds:  # failed before its terminal existed
            try:
                send(1, (message + "\r\n").encode())
            except OSError:
                pass

    def _run_unattended(self, instance: ExecInstance, popen: subprocess.Popen[bytes],
                        fds: dict[str, int], sources: dict[int, int]) -> None:
        """The client hung up: as under dockerd (20.10), the process runs on. Its output is
        read and dropped, so it never blocks on a full pipe, and everything held for it
        goes when it ends."""
        _relay(sources, lambda _stream, _data: None, None, None)
        self._finish(instance, popen, fds["error"])
        _close_pipes(popen)

    def _hang_up(self, instance: ExecInstance) -> None:
        """After a detach: close the terminal, so the session gets SIGHUP as under dockerd
        (nothing can attach to an exec again)."""
        master, instance.master_fd = instance.master_fd, None
        if master is not None:
            os.close(master)
        container = self.containers.get(instance.container_id)
        self.containers.publish(container, "exec_detach", {"execID": instance.id})

    def resize(self, eid: str, height: int, width: int) -> None:
        instance = self.get(eid)
        instance.console = (height, width)
        if instance.master_fd is not None:
            tty.set_window_size(instance.master_fd, height, width)


def _event_command(cmd: list[str]) -> str:
    """The command as dockerd's exec events name it: entrypoint, a space, the arguments
    (so ``true`` alone reads ``true `` there too)."""
    return cmd[0] + " " + " ".join(cmd[1:])


def _receive_fd(channel: socket.socket, timeout: float = 10.0) -> int | None:
    """The pty master the exec helper sends, or None if it failed first."""
    channel.settimeout(timeout)
    try:
        _msg, fds, _flags, _addr = socket.recv_fds(channel, 1, 1)
    except OSError:
        return None
    finally:
        channel.close()
    return fds[0] if fds else None


def _unlink(path: Any) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_ENDED, _DETACHED, _CLIENT_GONE = "ended", "detached", "client gone"


def _close_pipes(popen: subprocess.Popen[bytes]) -> None:
    for stream in (popen.stdout, popen.stderr):
        if stream:
            stream.close()


def _relay(sources: dict[int, int], send: Callable[[int, bytes], None],
           detach_fd: int | None, client_fd: int | None) -> str:
    """Send what ``sources`` (fd -> stream) produce until they all close (``_ENDED``), the
    client typed the detach keys (``detach_fd`` became readable: ``_DETACHED``), or it hung
    up (``client_fd`` closed, or sending failed: ``_CLIENT_GONE``). Closes ``detach_fd``;
    the sources left open stay in ``sources``.

    The client is watched for a hang-up only (no read events): the docker CLI shuts its
    side for writing at once when it has no stdin to send, and reads on."""
    poller = select.poll()
    for fd in sources:
        poller.register(fd, select.POLLIN)
    if detach_fd is not None:
        poller.register(detach_fd, select.POLLIN)
    if client_fd is not None:
        poller.register(client_fd, 0)  # POLLHUP and POLLERR are always reported
    try:
        while sources:
            for fd, _events in poller.poll():
                if fd == client_fd:
                    return _CLIENT_GONE
                if fd == detach_fd:
                    if os.read(detach_fd, 1):
                        return _DETACHED
                    poller.unregister(fd)  # the stdin pump ended without a detach
                    continue
                if fd not in sources:
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's last slave closed
                    data = b""
                if not data:
                    poller.unregister(fd)
                    del sources[fd]
                    continue
                try:
                    send(sources[fd], data)
                except OSError:
                    return _CLIENT_GONE
    finally:
        if detach_fd is not None:
            os.close(detach_fd)
    return _ENDED


def _pump_stdin(reader: Any, fd: int, close_at_eof: bool, popen: subprocess.Popen[bytes],
                scanner: EscapeScanner | None, detach_fd: int) -> None:
    """Client -> the exec's stdin; on the detach keys, say so on ``detach_fd``."""
    try:
        while popen.poll() is None:
            data = reader.read1(65536)
            if not data:
                break
            if scanner is not None:
                data, detached = scanner.feed(data)
                if detached:
                    os.write(fd, data)
                    os.write(detach_fd, b"d")
                    break
            os.write(fd, data)
    except (OSError, ValueError):
        pass
    finally:
        os.close(detach_fd)
    if close_at_eof and popen.stdin:
        try:
            popen.stdin.close()
        except OSError:
            pass
