"""The last steps before a container process execs, shared by init and ``exec``.

Become the user (groups, gid, uid), keep only the allowed capabilities, set
no_new_privs when asked, chdir, restore default signal dispositions, then exec the command
found in the *container's* PATH. Exec failures carry Docker's messages and exit
codes (127 not found, 126 not executable) so the CLI can report them as docker does.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; signal imports enum, too slow here
import errno
import os
import resource
import stat

from cove.runtime.linux import caps
from cove.runtime.linux.syscalls import PR_SET_KEEPCAPS, KernelError
from cove.runtime.linux.users import ExecUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.runtime.linux.kernel_interface import Kernel

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# --ulimit names (dockerd's) -> Linux RLIMIT_* numbers
RLIMIT_NUMBERS = {
    "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
    "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
    "nice": 13, "rtprio": 14, "rttime": 15,
}


class ExecError(Exception):
    """The command could not be started; ``exit_code`` is what docker would exit with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def env_dict(env: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if key and sep:
            result[key] = value
    return result


def find_executable(name: str, path_value: str) -> str:
    """Go's ``exec.LookPath``, which is what decides docker's error messages."""
    if "/" in name:
        try:
            st = os.stat(name)
        except FileNotFoundError as exc:
            raise ExecError(f'exec: "{name}": stat {name}: no such file or directory',
                            127) from exc
        except OSError as exc:
            raise ExecError(f'exec: "{name}": stat {name}: {os.strerror(exc.errno or 0).lower()}',
                            126) from exc
        if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
            raise ExecError(f'exec: "{name}": permission denied', 126)
        return name
    for directory in path_value.split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    raise ExecError(f'exec: "{name}": executable file not found in $PATH', 127)


def change_user(kernel: Kernel, user: ExecUser) -> None:
    """setgroups, setgid, setuid; the kernel clears permitted caps on a move away from 0."""
    kernel.prctl(PR_SET_KEEPCAPS, 0)
    try:
        os.setgroups(user.groups)
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
    except OSError as exc:
        raise KernelError(exc.errno or 0, "set user", f"{user.uid}:{user.gid}") from exc


def resolve_extra_groups(names: list[str], group_path: str = "/etc/group") -> list[int]:
    """``--group-add`` values: numbers as they are, names looked up in the container's
    /etc/group (runc's GetAdditionalGroups), with dockerd's error for unknown ones."""
    entries: list[list[str]] = []
    try:
        with open(group_path, encoding="utf-8", errors="replace") as f:
            entries = [line.strip().split(":") for line in f
                       if line.strip() and not line.startswith("#")]
    except OSError:
        pass
    gids = []
    for name in names:
        for entry in entries:
            if len(entry) >= 3 and entry[0] == name and entry[2].isdigit():
                gids.append(int(entry[2]))
                break
        else:
            if not name.isdigit() or int(name) > 2**31 - 1:
                raise ExecError(f"Unable to find group {name}: no matching entries in "
                                "group file", 125)
            gids.append(int(name))
    return gids


def with_extra_groups(user: ExecUser, gids: list[int]) -> ExecUser:
    groups = list(user.groups)
    groups += [gid for gid in gids if gid not in groups]
    return ExecUser(user.uid, user.gid, groups, user.home)


def apply_rlimits(limits: list[list[int]]) -> None:
    """``[[RLIMIT number, soft, hard], ...]``; a negative value is unlimited, as in docker.

    Raising a hard limit needs CAP_SYS_RESOURCE: without it the error says so."""
    names = {number: name for name, number in RLIMIT_NUMBERS.items()}
    for number, soft, hard in limits:
        soft = resource.RLIM_INFINITY if soft < 0 else soft
        hard = resource.RLIM_INFINITY if hard < 0 else hard
        try:
            resource.setrlimit(number, (soft, hard))
        except (OSError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else (
                "raising a hard limit needs CAP_SYS_RESOURCE, which the engine lacks")
            raise ExecError(f"error setting rlimit {names.get(number, number)}: {reason}",
                            125) from exc


def set_oom_score_adj(value: int, path: str = "/proc/self/oom_score_adj") -> None:
    """Written only when it differs, since lowering it needs CAP_SYS_RESOURCE."""
    try:
        with open(path, "r+") as f:
            if int(f.read().strip() or 0) != value:
                f.seek(0)
                f.write(str(value))
    except OSError as exc:
        reason = ("lowering it needs CAP_SYS_RESOURCE, which the engine lacks"
                  if exc.errno in (errno.EACCES, errno.EPERM) else f"errno {exc.errno}")
        raise ExecError(f"cannot set oom_score_adj to {value}: {reason}", 125) from exc


def write_sysctls(sysctls: dict[str, str], proc_sys: str = "/proc/sys") -> None:
    """Namespaced sysctls (checked by the engine), before /proc/sys goes read-only."""
    for key, value in sysctls.items():
        path = os.path.join(proc_sys, key.replace(".", "/"))
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as exc:
            # worded without "no such file"/"permission denied": the CLI would read those
            # as a missing or unrunnable command and exit 127/126 instead of 125
            reason = {errno.ENOENT: "it does not exist in the container's namespaces",
                      errno.EINVAL: f"invalid value {value!r}"}.get(
                          exc.errno or 0, f"errno {exc.errno}")
            raise ExecError(f"write sysctl key {key}: {reason}", 125) from exc


def restrict_privileges(kernel: Kernel, user: ExecUser, privileged: bool = False,
                        bounding: int = caps.DEFAULT_MASK, no_new_privs: bool = False) -> None:
    """Switch user and cut capabilities to ``bounding`` (root) or none (others); a
    privileged process keeps every capability this process holds. ``no_new_privs``
    (``--security-opt no-new-privileges``) stops setuid programs from gaining any:
    off by default, as in Docker, so ``su`` and ``ping`` behave as they do there."""
    if privileged:
        change_user(kernel, user)
        return
    caps.drop_bounding_set(kernel, bounding, caps.last_capability())
    caps.clear_ambient(kernel)
    change_user(kernel, user)
    allowed = bounding if user.uid == 0 else 0
    caps.set_capabilities(kernel, allowed, allowed, 0)
    if no_new_privs:
        caps.set_no_new_privs(kernel)


def enter_workdir(cwd: str, create: bool = True) -> None:
    """chdir to the working dir; like docker, a missing one is created first."""
    cwd = cwd or "/"
    try:
        os.chdir(cwd)
        return
    except FileNotFoundError:
        if not create:
            raise ExecError(f"chdir to cwd (\"{cwd}\") set in config.json failed: "
                            "no such file or directory", 125) from None
    except OSError as exc:
        raise ExecError(f"chdir to cwd (\"{cwd}\") set in config.json failed: "
                        f"{os.strerror(exc.errno or 0).lower()}", 125) from exc
    try:
        os.makedirs(cwd, 0o755, exist_ok=True)
        os.chdir(cwd)
    except OSError as exc:
        raise ExecError(f"mkdir {cwd}: {os.strerror(exc.errno or 0).lower()}", 125) from exc


def reset_signals() -> None:
    """Undo what the Python runtime changed: SIGPIPE/SIGXFSZ ignored, handlers, mask."""
    for sig in (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGINT, _signal.SIGTERM,
                _signal.SIGCHLD, _signal.SIGHUP, _signal.SIGWINCH):
        _signal.signal(sig, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def exec_command(args: list[str], env: dict[str, str]) -> None:
    """Replace this process with ``args``; raises ``ExecError`` only if that failed."""
    if not args:
        raise ExecError("no command specified", 125)
    path = find_executable(args[0], env.get("PATH", DEFAULT_PATH))
    reset_signals()
    try:
        os.execve(path, args, env)
    except OSError as exc:
        code = exc.errno or 0
        if code in (errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.EISDIR):
            reason = "permission denied" if code != errno.ENOEXEC else "exec format error"
            raise ExecError(f'exec: "{args[0]}": {reason}', 126) from exc
        if code in (errno.ENOENT, errno.ENOTDIR):
            raise ExecError(f'exec: "{args[0]}": no such file or directory', 127) from exc
        raise ExecError(f'exec: "{args[0]}": {os.strerror(code).lower()}', 126) from exc
