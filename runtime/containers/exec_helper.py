"""``docker exec``: run one more process inside a running container.

Started by the daemon as ``python -I -S`` (see ``shim_launch.exec_command``) with
the stdio the process should get already on fds 0/1/2 and, optionally, a report
pipe on fd 3. The helper joins the init's cgroup and namespaces (mnt last), forks
so the child lands in the container's PID namespace, and exits with the child's
status (128+signal when killed), forwarding the signals it receives.

Spec (JSON file): {"pid": init host pid, "args": [...], "env": [...], "cwd": "",
"user": "", "tty": bool, "cgroup_join": [...], "privileged": bool, "capabilities": mask,
"groups_add": [...], "rlimits": [[n, soft, hard]...], "oom_score_adj": int|null,
"no_new_privs": bool, "seccomp_filter": path} — the container's ``ProcessPrivileges``
(spec.py: capability set, extra groups, ulimits, OOM score, seccomp filter) apply to execs
too, as dockerd copies the container's process spec for them (runc execs under the
container's seccomp filter).

fd 3 (or the one given), one JSON line: {"pid": host pid} once the exec succeeded, or
{"error": "...", "exit_code": 126|127|125} when it did not.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal itself imports enum: too slow here
import _socket
import os
import struct

from cove.runtime.containers import shim_json as json
from cove.runtime.containers.spec import ProcessPrivileges
from cove.runtime.linux import namespaces, process, seccomp, tty
from cove.runtime.linux.syscalls import KernelError, kernel
from cove.runtime.linux.users import UserError, resolve_user

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the helper's start time
    from typing import Any

REPORT_FD = 3  # unless the daemon names another one (exec_command's report_fd)
FORWARDED_SIGNALS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT,
                     _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


def _report(message: dict[str, Any]) -> None:
    try:
        os.write(_report_fd, (json.dumps(message) + "\n").encode())
    except OSError:
        pass  # no report pipe given: the exit code and stderr still tell


def _child(spec: dict[str, Any], error_w: int, seccomp_filter: bytes) -> None:
    """In the container: become the user, drop privileges, exec. Never returns."""
    code = 125
    try:
        try:
            os.closerange(REPORT_FD, error_w)
            os.closerange(error_w + 1, 1 << 16)
            privileges = ProcessPrivileges.from_json(spec)
            user = resolve_user(spec.get("user") or "")
            user = process.with_extra_groups(
                user, process.resolve_extra_groups(privileges.groups_add))
            env = process.env_dict(list(spec.get("env") or []))
            env.setdefault("HOME", user.home)
            os.setsid()
            if spec.get("tty") and os.isatty(0):
                tty.make_controlling_terminal(0)
            process.enter_workdir(spec.get("cwd") or "/", create=False)
            if privileges.oom_score_adj is not None:
                process.set_oom_score_adj(privileges.oom_score_adj)
            process.apply_rlimits(privileges.rlimits)
            if seccomp_filter and not privileges.no_new_privs:  # needs CAP_SYS_ADMIN
                seccomp.install_filter(kernel(), seccomp_filter)
            process.restrict_privileges(kernel(), user, bool(spec.get("privileged")),
                                        privileges.capabilities, privileges.no_new_privs)
            if seccomp_filter and privileges.no_new_privs:
                seccomp.install_filter(kernel(), seccomp_filter)
            process.exec_command(list(spec["args"]), env)
        except (process.ExecError, UserError, KernelError, OSError) as exc:
            code = getattr(exc, "exit_code", 125 if not isinstance(exc, OSError) else 126)
            message = str(getattr(exc, "message", exc))
            os.write(error_w, (json.dumps({"error": message, "exit_code": code}) + "\n").encode())
    except BaseException:  # noqa: BLE001 - a forked child must never unwind into the helper
        pass
    os._exit(code)


def _open_console(console_fd: int) -> None:
    """Make a pty in the container's own devpts (so ``tty`` names it, as in Docker),
    hand its master to the daemon over ``console_fd`` and take the slave as stdio."""
    master, slave = os.openpty()
    channel = _socket.socket(fileno=console_fd)
    try:
        channel.sendmsg([b"m"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                  struct.pack("i", master))])
    finally:
        channel.close()
        os.close(master)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)


def run(spec: dict[str, Any]) -> int:
    seccomp_filter = seccomp.read_filter(str(spec.get("seccomp_filter") or ""))  # host path
    namespaces.join_cgroups(list(spec.get("cgroup_join") or []))
    namespaces.join_namespaces(kernel(), int(spec["pid"]))
    if spec.get("tty") and spec.get("console_fd") is not None:
        _open_console(int(spec["console_fd"]))
    error_r, error_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(error_r)
        _child(spec, error_w, seccomp_filter)
    os.close(error_w)
    for sig in FORWARDED_SIGNALS:
        _signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    failure = b""
    while True:
        chunk = os.read(error_r, 65536)
        if not chunk:
            break
        failure += chunk
    os.close(error_r)
    if failure:
        message = json.loads(failure.split(b"\n", 1)[0])
        _report(message)
        os.write(2, (message["error"] + "\n").encode())
    else:
        _report({"pid": pid})
    try:
        os.close(_report_fd)
    except OSError:
        pass
    while True:
        try:
            _pid, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


_report_fd = REPORT_FD


def main(spec_path: str, report_fd: int = REPORT_FD) -> int:
    global _report_fd
    _report_fd = report_fd
    with open(spec_path, "rb") as f:
        spec = json.loads(f.read())
    try:
        return run(spec)
    except (KernelError, OSError) as exc:
        message = f"exec failed: {exc}"
        _report({"error": message, "exit_code": 126})
        os.write(2, (message + "\n").encode())
        return 126
