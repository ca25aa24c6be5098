"""The shim's spec: what the daemon tells a container's shim to build and run.

One definition for both sides: the engine builds a ``ContainerSpec`` and writes its
``to_json()`` to the bundle's spec.json; the shim reads it back with ``from_json``.
A key the file leaves out takes the default given here, so a spec written before a
field existed still reads. Plain classes with ``__slots__``, not dataclasses: the
shim imports this at every container start, and ``dataclasses`` (inspect, re) costs
~15 ms there. Mount entries stay the kernel layer's own dicts (``rootfs.mount_spec_mounts``).
"""

from __future__ import annotations

from cove.runtime.linux import caps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Record:
    """Equality and repr over ``__slots__``, as a dataclass would give them."""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class RootfsSpec(_Record):
    """The overlay: image layers (topmost first), the container's upper and work dirs."""

    __slots__ = ("lower", "upper", "work", "readonly")

    def __init__(self, lower: list[str], upper: str, work: str, readonly: bool = False) -> None:
        self.lower = lower
        self.upper = upper
        self.work = work
        self.readonly = readonly

    def to_json(self) -> dict[str, Any]:
        return {"lower": list(self.lower), "upper": self.upper, "work": self.work,
                "readonly": self.readonly}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RootfsSpec:
        return cls(list(data.get("lower") or []), data["upper"], data["work"],
                   bool(data.get("readonly")))


class ConsoleSize(_Record):
    """A terminal's rows and columns; 0 leaves the kernel's size."""

    __slots__ = ("height", "width")

    def __init__(self, height: int = 0, width: int = 0) -> None:
        self.height = height
        self.width = width

    def to_json(self) -> dict[str, Any]:
        return {"height": self.height, "width": self.width}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConsoleSize:
        data = data or {}
        return cls(int(data.get("height") or 0), int(data.get("width") or 0))


class ProcessPrivileges(_Record):
    """What the container's processes get from HostConfig, its init and its execs alike
    (as dockerd copies the process spec for execs): capabilities, extra groups, ulimits
    (``[RLIMIT number, soft, hard]``), OOM score adjustment, no_new_privs, and the seccomp
    filter: the host path of its compiled BPF ("" for none: unconfined, privileged, or a
    spec written before seccomp)."""

    __slots__ = ("capabilities", "groups_add", "rlimits", "oom_score_adj", "no_new_privs",
                 "seccomp_filter")

    def __init__(self, capabilities: int = caps.DEFAULT_MASK,
                 groups_add: list[str] | None = None, rlimits: list[list[int]] | None = None,
                 oom_score_adj: int | None = None, no_new_privs: bool = False,
                 seccomp_filter: str = "") -> None:
        self.capabilities = capabilities
        self.groups_add = groups_add or []
        self.rlimits = rlimits or []
        self.oom_score_adj = oom_score_adj
        self.no_new_privs = no_new_privs
        self.seccomp_filter = seccomp_filter

    def to_json(self) -> dict[str, Any]:
        return {"capabilities": self.capabilities, "groups_add": list(self.groups_add),
                "rlimits": [list(limit) for limit in self.rlimits],
                "oom_score_adj": self.oom_score_adj, "no_new_privs": self.no_new_privs,
                **({"seccomp_filter": self.seccomp_filter} if self.seccomp_filter else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessPrivileges:
        """From a process object, where these keys sit beside the others."""
        oom_score_adj = data.get("oom_score_adj")
        return cls(int(data.get("capabilities", caps.DEFAULT_MASK)),
                   list(data.get("groups_add") or []),
                   [list(limit) for limit in data.get("rlimits") or []],
                   None if oom_score_adj is None else int(oom_score_adj),
                   bool(data.get("no_new_privs")), str(data.get("seccomp_filter") or ""))


class ProcessSpec(_Record):
    """The container's first process and its stdio."""

    __slots__ = ("args", "env", "cwd", "user", "tty", "open_stdin", "stdin_once", "console",
                 "init", "privileges")

    def __init__(self, args: list[str], env: list[str], cwd: str = "/", user: str = "",
                 tty: bool = False, open_stdin: bool = False, stdin_once: bool = False,
                 console: ConsoleSize | None = None, init: bool = False,
                 privileges: ProcessPrivileges | None = None) -> None:
        self.args = args
        self.env = env
        self.cwd = cwd
        self.user = user
        self.tty = tty
        self.open_stdin = open_stdin
        self.stdin_once = stdin_once
        self.console = console or ConsoleSize()
        self.init = init
        self.privileges = privileges or ProcessPrivileges()

    def to_json(self) -> dict[str, Any]:
        return {"args": list(self.args), "env": list(self.env), "cwd": self.cwd,
                "user": self.user, "tty": self.tty, "open_stdin": self.open_stdin,
                "stdin_once": self.stdin_once, "console": self.console.to_json(),
                "init": self.init, **self.privileges.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessSpec:
        return cls(list(data["args"]), list(data.get("env") or []), data.get("cwd") or "/",
                   data.get("user") or "", bool(data.get("tty")),
                   bool(data.get("open_stdin")), bool(data.get("stdin_once")),
                   ConsoleSize.from_json(data.get("console")), bool(data.get("init")),
                   ProcessPrivileges.from_json(data))


class LogSpec(_Record):
    """The json-file log: its path ("" for the ``none`` driver), rotation size (0: never)
    and how many files rotation keeps."""

    __slots__ = ("path", "max_size", "max_files")

    def __init__(self, path: str = "", max_size: int = 0, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max_files

    def to_json(self) -> dict[str, Any]:
        """The keys sit at the top of the spec."""
        return {"log_path": self.path, "log_max_size": self.max_size,
                "log_max_files": self.max_files}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogSpec:
        return cls(data.get("log_path") or "", int(data.get("log_max_size") or 0),
                   int(data.get("log_max_files") or 1))


class ContainerSpec(_Record):
    """Everything the shim and the container init need, from the record at each start.

    ``shm_size`` 0 means the kernel layer's default; ``cgroup_join`` lists the cgroup
    directories the init joins; ``exit_file`` "" means exit.json in the bundle;
    ``oom_events_file`` is the cgroup file whose ``oom_kill`` line the shim reads at
    the exit ("": none). ``namespaces`` maps "pid", "ipc" or "uts" to "host" (keep the
    host's) or to a ``/proc/<pid>/ns/<kind>`` file to join; a kind left out is new.
    Without ``private_shm`` /dev/shm is not a tmpfs of its own (``--ipc none``, or a
    shared one among ``mounts``). ``devices`` are the ``--device`` nodes to make in the
    container (``rootfs.make_device_nodes`` entries). ``masked_paths`` and
    ``readonly_paths`` are HostConfig's, applied after pivot_root; None means the
    engine's defaults (none when privileged), an empty list nothing."""

    __slots__ = ("id", "rootfs", "process", "hostname", "domainname", "privileged",
                 "shm_size", "sysctls", "mounts", "cgroup_join", "log", "exit_file",
                 "oom_events_file", "namespaces", "private_shm", "devices", "masked_paths",
                 "readonly_paths")

    def __init__(self, id: str, rootfs: RootfsSpec, process: ProcessSpec, hostname: str = "",
                 domainname: str = "", privileged: bool = False, shm_size: int = 0,
                 sysctls: dict[str, str] | None = None,
                 mounts: list[dict[str, Any]] | None = None,
                 cgroup_join: list[str] | None = None, log: LogSpec | None = None,
                 exit_file: str = "", oom_events_file: str = "",
                 namespaces: dict[str, str] | None = None, private_shm: bool = True,
                 devices: list[dict[str, Any]] | None = None,
                 masked_paths: list[str] | None = None,
                 readonly_paths: list[str] | None = None) -> None:
        self.id = id
        self.rootfs = rootfs
        self.process = process
        self.hostname = hostname
        self.domainname = domainname
        self.privileged = privileged
        self.shm_size = shm_size
        self.sysctls = sysctls or {}
        self.mounts = mounts or []
        self.cgroup_join = cgroup_join or []
        self.log = log or LogSpec()
        self.exit_file = exit_file
        self.oom_events_file = oom_events_file
        self.namespaces = namespaces or {}
        self.private_shm = private_shm
        self.devices = devices or []
        self.masked_paths = masked_paths
        self.readonly_paths = readonly_paths

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "rootfs": self.rootfs.to_json(),
                "process": self.process.to_json(), "hostname": self.hostname,
                "domainname": self.domainname, "privileged": self.privileged,
                "shm_size": self.shm_size, "sysctls": dict(self.sysctls),
                "mounts": [dict(mount) for mount in self.mounts],
                "cgroup": {"join": list(self.cgroup_join)}, **self.log.to_json(),
                "exit_file": self.exit_file, "oom_events_file": self.oom_events_file,
                "namespaces": dict(self.namespaces), "private_shm": self.private_shm,
                "devices": [dict(device) for device in self.devices],
                **({} if self.masked_paths is None else {"masked_paths": self.masked_paths}),
                **({} if self.readonly_paths is None
                   else {"readonly_paths": self.readonly_paths})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerSpec:
        return cls(data.get("id") or "", RootfsSpec.from_json(data["rootfs"]),
                   ProcessSpec.from_json(data["process"]), data.get("hostname") or "",
                   data.get("domainname") or "", bool(data.get("privileged")),
                   int(data.get("shm_size") or 0), dict(data.get("sysctls") or {}),
                   list(data.get("mounts") or []),
                   list((data.get("cgroup") or {}).get("join") or []),
                   LogSpec.from_json(data), data.get("exit_file") or "",
                   data.get("oom_events_file") or "", dict(data.get("namespaces") or {}),
                   bool(data.get("private_shm", True)), list(data.get("devices") or []),
                   data.get("masked_paths"), data.get("readonly_paths"))
