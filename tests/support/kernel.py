"""A fake of the kernel that records each call instead of making it (youki's syscall/test.rs).

Unit tests hand a ``RecordingKernel`` to the code in ``cove.runtime.linux`` wherever it
takes a ``Kernel``, then read the calls back, all in order (``calls``) or one kind at a
time (``mounts``, ``nodes``). Nothing is mounted or created: directories and files the
code makes itself around the calls (mount points, links) are real.
"""

from __future__ import annotations

from dataclasses import dataclass

from cove.runtime.linux.kernel_interface import Kernel


@dataclass(frozen=True)
class Unshare:
    flags: int


@dataclass(frozen=True)
class Setns:
    fd: int
    nstype: int
    path: str


@dataclass(frozen=True)
class Mount:
    source: str | None
    target: str
    fstype: str | None
    flags: int = 0
    data: str | None = None


@dataclass(frozen=True)
class Umount:
    target: str
    flags: int


@dataclass(frozen=True)
class PivotRoot:
    new_root: str
    put_old: str


@dataclass(frozen=True)
class Chroot:
    new_root: str


@dataclass(frozen=True)
class Mknod:
    path: str
    mode: int
    device: int


@dataclass(frozen=True)
class Prctl:
    option: int
    args: tuple[int, int, int, int]


@dataclass(frozen=True)
class Hostname:
    name: str


@dataclass(frozen=True)
class Domainname:
    name: str


@dataclass(frozen=True)
class Capset:
    effective: int
    permitted: int
    inheritable: int


KernelCall = (Unshare | Setns | Mount | Umount | PivotRoot | Chroot | Mknod | Prctl | Hostname
              | Domainname | Capset)


class RecordingKernel(Kernel):
    """Every ``Kernel`` method, recorded; ``capabilities`` is what ``capget`` answers and
    ``capset`` sets, as the kernel would keep it."""

    def __init__(self, capabilities: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.calls: list[KernelCall] = []
        self.capabilities = capabilities

    def mounts(self) -> list[Mount]:
        return [call for call in self.calls if isinstance(call, Mount)]

    def nodes(self) -> list[Mknod]:
        return [call for call in self.calls if isinstance(call, Mknod)]

    def unshare(self, flags: int) -> None:
        self.calls.append(Unshare(flags))

    def setns(self, fd: int, nstype: int, path: str = "") -> None:
        self.calls.append(Setns(fd, nstype, path))

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        self.calls.append(Mount(source, target, fstype, flags, data))

    def umount2(self, target: str, flags: int = 0) -> None:
        self.calls.append(Umount(target, flags))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self.calls.append(PivotRoot(new_root, put_old))

    def chroot(self, new_root: str) -> None:
        self.calls.append(Chroot(new_root))

    def mknod(self, path: str, mode: int, device: int) -> None:
        self.calls.append(Mknod(path, mode, device))

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
        self.calls.append(Prctl(option, (arg2, arg3, arg4, arg5)))
        return 0

    def sethostname(self, name: str) -> None:
        self.calls.append(Hostname(name))

    def setdomainname(self, name: str) -> None:
        self.calls.append(Domainname(name))

    def capget(self) -> tuple[int, int, int]:
        return self.capabilities

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self.calls.append(Capset(effective, permitted, inheritable))
        self.capabilities = (effective, permitted, inheritable)
