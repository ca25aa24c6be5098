"""What the layers above ask of the kernel: one ``Protocol`` for the real and the fake kernel.

``syscalls.LibcKernel`` implements it on libc; ``tests.support.kernel.RecordingKernel``
records the calls instead (youki's ``Syscall`` trait and its test double). Modules the shim
imports name ``Kernel`` for the type checker only: ``typing`` costs the shim ~10 ms.
"""

from __future__ import annotations

from typing import Protocol


class Kernel(Protocol):
    """Each method is one kernel operation and raises ``KernelError`` naming it and its path."""

    def unshare(self, flags: int) -> None: ...

    def setns(self, fd: int, nstype: int, path: str = "") -> None: ...

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None: ...

    def umount2(self, target: str, flags: int = 0) -> None: ...

    def pivot_root(self, new_root: str, put_old: str) -> None: ...

    def chroot(self, new_root: str) -> None: ...

    def mknod(self, path: str, mode: int, device: int) -> None:
        """A node whose permission bits are exactly ``mode``'s, whatever the umask."""
        ...

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int: ...

    def sethostname(self, name: str) -> None: ...

    def setdomainname(self, name: str) -> None: ...

    def capget(self) -> tuple[int, int, int]:
        """This thread's (effective, permitted, inheritable) as 64-bit masks."""
        ...

    def capset(self, effective: int, permitted: int, inheritable: int) -> None: ...
