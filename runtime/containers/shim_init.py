"""The container's PID 1 before it execs: the child half of the shim.

Forked by the shim inside a fresh PID namespace (or the one the spec names), it
joins the cgroup, joins or unshares the other namespaces, builds and enters the
rootfs, drops privileges, reports ``{"ready": true}`` over the channel (with the pty
master attached in tty mode), waits for the go byte and execs. The channel is close-on-exec, so the shim
learns of a successful exec from EOF and of a failure from an error line.

Nothing here may import lazily: after pivot_root the host's stdlib is gone.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal itself imports enum: too slow here
import os

from cove.runtime.containers import shim_json as json
from cove.runtime.containers.shim_socket import Socket, send_with_fds
from cove.runtime.containers.spec import ConsoleSize, ContainerSpec
from cove.runtime.linux import namespaces, netdev, process, rootfs, seccomp, tty
from cove.runtime.linux.syscalls import KernelError, kernel
from cove.runtime.linux.users import ExecUser, UserError, resolve_user

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.runtime.linux.kernel_interface import Kernel

SETUP_FAILED = 125


def _send(channel: Socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = (json.dumps(message) + "\n").encode()
    if fds:
        send_with_fds(channel, data, fds)
    else:
        channel.sendall(data)


def set_window_size(fd: int, console: ConsoleSize) -> None:
    if console.height and console.width:
        tty.set_window_size(fd, console.height, console.width)


def open_container_pty(console: ConsoleSize, uid: int) -> tuple[int, int]:
    """(master, slave) from the container's own devpts, so ``tty`` says /dev/pts/0."""
    master, slave = tty.open_pty()
    os.fchown(slave, uid, -1)
    set_window_size(master, console)
    return master, slave


def _become_pid1_stdio(stdio: list[int] | None, devnull: int) -> None:
    """Point 0/1/2 at the container's pipes now; in tty mode at /dev/null until the pty."""
    targets = stdio if stdio is not None else [devnull, devnull, 2]
    for number, fd in enumerate(targets):
        if fd != number:
            os.dup2(fd, number)


def setup_container(k: Kernel, spec: ContainerSpec,
                    bundle: str) -> tuple[ExecUser, dict[str, str], int, bytes]:
    """Everything but exec; returns (user, environment, pty master or -1, the seccomp
    filter still to install just before exec: with no_new_privs, as runc does it)."""
    proc = spec.process
    seccomp_filter = seccomp.read_filter(proc.privileges.seccomp_filter)  # a host path
    namespaces.join_cgroups(spec.cgroup_join)
    namespaces.enter_shared(k, spec.namespaces, ("ipc", "uts", "net"))
    k.unshare(namespaces.container_flags(spec.namespaces,
                                         os.path.exists("/proc/self/ns/cgroup")))
    target = os.path.join(bundle, "rootfs")
    privileged = spec.privileged
    rootfs.prepare_rootfs(k, spec.rootfs.to_json(), spec.mounts, target,
                          os.path.join(bundle, "overlay"), privileged,
                          spec.shm_size or rootfs.DEFAULT_SHM_SIZE, spec.private_shm)
    rootfs.make_device_nodes(k, target, spec.devices)
    rootfs.pivot_into(k, target)
    process.write_sysctls(spec.sysctls)
    default_masked = () if privileged else rootfs.MASKED_PATHS
    default_readonly = () if privileged else rootfs.READONLY_PATHS
    rootfs.mask_paths(k, tuple(default_masked if spec.masked_paths is None
                               else spec.masked_paths),
                      tuple(default_readonly if spec.readonly_paths is None
                            else spec.readonly_paths))
    if spec.rootfs.readonly:
        rootfs.remount_root_readonly(k)
    if not spec.namespaces.get("uts"):  # never rename the host (--uts host)
        if spec.hostname:
            k.sethostname(spec.hostname)
        if spec.domainname:
            k.setdomainname(spec.domainname)
    netdev.set_link_up("lo")

    privileges = proc.privileges
    user = resolve_user(proc.user)
    user = process.with_extra_groups(
        user, process.resolve_extra_groups(privileges.groups_add))
    env = process.env_dict(proc.env)
    env.setdefault("HOME", user.home)
    master = -1
    os.setsid()
    if proc.tty:
        master, slave = open_container_pty(proc.console, user.uid)
        tty.make_controlling_terminal(slave)
        for number in range(3):
            os.dup2(slave, number)
        os.close(slave)
    process.enter_workdir(proc.cwd or "/")
    if privileges.oom_score_adj is not None:
        process.set_oom_score_adj(privileges.oom_score_adj)
    process.apply_rlimits(privileges.rlimits)
    if seccomp_filter and not privileges.no_new_privs:  # needs CAP_SYS_ADMIN: before the drop
        seccomp.install_filter(k, seccomp_filter)
        seccomp_filter = b""
    process.restrict_privileges(k, user, privileged, privileges.capabilities,
                                privileges.no_new_privs)
    return user, env, master, seccomp_filter


FORWARDED_SIGNALS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT,
                     _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


def _run_as_init(channel: Socket, args: list[str], env: dict[str, str]) -> None:
    """``--init``: stay PID 1, run the command as a child, forward signals to it and
    reap every orphan (what docker-init/tini do); exit with the child's status."""
    try:  # what ps shows for PID 1 (docker's shows docker-init)
        fd = os.open("/proc/self/comm", os.O_WRONLY)
        os.write(fd, b"cove-init")
        os.close(fd)
    except OSError:
        pass
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        code = SETUP_FAILED
        try:
            process.exec_command(args, env)
        except process.ExecError as exc:
            code = exc.exit_code
            os.write(ready_w, (json.dumps({"error": exc.message, "exit_code": code})).encode())
        os._exit(code)
    os.close(ready_w)
    failure = b""
    while chunk := os.read(ready_r, 65536):
        failure += chunk
    os.close(ready_r)
    if failure:
        channel.sendall(failure + b"\n")
        os._exit(json.loads(failure.decode())["exit_code"])
    channel.close()  # the shim reads EOF: started
    for sig in FORWARDED_SIGNALS:
        _signal.signal(sig, lambda signum, _frame: _forward(child, signum))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_init(spec: ContainerSpec, bundle: str, channel: Socket,
             stdio: list[int] | None) -> None:
    """Never returns: execs the container command or exits with Docker's exit code."""
    code = SETUP_FAILED
    try:
        os.umask(0)
        devnull = os.open("/dev/null", os.O_RDWR)
        _become_pid1_stdio(stdio, devnull)
        keep = channel.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 16)
        k = kernel()
        try:
            _user, env, master, seccomp_filter = setup_container(k, spec, bundle)
        except (KernelError, UserError, process.ExecError, OSError) as exc:
            code = getattr(exc, "exit_code", SETUP_FAILED)
            _send(channel, {"error": str(getattr(exc, "message", exc)), "exit_code": code})
            os._exit(code)
        _send(channel, {"ready": True}, [master] if master >= 0 else None)
        if master >= 0:
            os.close(master)
        if channel.recv(1) != b"G":
            os._exit(SETUP_FAILED)  # the shim gave up on us
        os.umask(0o022)
        if seccomp_filter:
            seccomp.install_filter(k, seccomp_filter)
        proc = spec.process
        if proc.init:
            _run_as_init(channel, proc.args, env)
        try:
            process.exec_command(proc.args, env)
        except process.ExecError as exc:
            code = exc.exit_code
            _send(channel, {"error": exc.message, "exit_code": code})
    except BaseException as exc:  # noqa: BLE001 - PID 1 must report, never unwind
        try:
            _send(channel, {"error": f"container init: {exc!r}", "exit_code": code})
        except OSError:
            pass
    os._exit(code)
