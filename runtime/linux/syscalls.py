"""The raw system calls Python 3.11's ``os`` lacks, through ctypes on libc.

Everything above this module talks to the kernel through a ``Kernel``
(``kernel_interface``), so unit tests can hand the rootfs/caps code a recording fake
instead (as youki's ``Syscall`` trait). Failures raise ``KernelError``, which names the
operation and the path, because "Invalid argument" alone never tells you which mount
failed. Stdlib only and import-light: the shim imports this in a fresh ``python -I -S``.
"""

from __future__ import annotations

import ctypes
import os

CLONE_FS = 0x00000200
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MNT_DETACH = 0x2

PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_SYSCALL_NUMBERS = {
    # machine: (pivot_root, capget, capset)
    "x86_64": (155, 125, 126),
    "aarch64": (41, 90, 91),
    "arm64": (41, 90, 91),
}


class KernelError(OSError):
    """A failed system call; ``str()`` reads ``"<operation> <path>: <strerror>"``."""

    def __init__(self, err: int, operation: str, path: str = "") -> None:
        super().__init__(err, os.strerror(err))
        self.operation = operation
        self.path = path

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.operation}{where}: {self.strerror}"


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def make_dirs(path: str, mode: int = 0o755) -> None:
    """``mkdir -p`` whose failure names the path, as the system calls' do."""
    try:
        os.makedirs(path, mode, exist_ok=True)
    except OSError as exc:
        raise KernelError(exc.errno or 0, "mkdir", path) from exc


def _encode(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


class LibcKernel:
    """The real kernel, a ``kernel_interface.Kernel``: each method raises ``KernelError``."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long
        self._libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        numbers = _SYSCALL_NUMBERS.get(os.uname().machine)
        if numbers is None:
            raise KernelError(38, "syscall table", os.uname().machine)
        self._nr_pivot_root, self._nr_capget, self._nr_capset = numbers

    def _check(self, result: int, operation: str, path: str = "") -> int:
        if result == -1:
            raise KernelError(ctypes.get_errno(), operation, path)
        return result

    def unshare(self, flags: int) -> None:
        self._check(self._libc.unshare(ctypes.c_int(flags)), "unshare", hex(flags))

    def setns(self, fd: int, nstype: int, path: str = "") -> None:
        self._check(self._libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns", path)

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        result = self._libc.mount(_encode(source), _encode(target), _encode(fstype),
                                  ctypes.c_ulong(flags), _encode(data))
        self._check(result, f"mount {fstype or source or ''}".rstrip(), target)

    def umount2(self, target: str, flags: int = 0) -> None:
        self._check(self._libc.umount2(_encode(target), ctypes.c_int(flags)), "umount", target)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        result = self._libc.syscall(ctypes.c_long(self._nr_pivot_root), _encode(new_root),
                                    _encode(put_old))
        self._check(result, "pivot_root", new_root)

    def chroot(self, new_root: str) -> None:
        try:
            os.chroot(new_root)
        except OSError as exc:
            raise KernelError(exc.errno or 0, "chroot", new_root) from exc

    def mknod(self, path: str, mode: int, device: int) -> None:
        try:
            os.mknod(path, mode, device)
            os.chmod(path, mode & 0o7777)
        except OSError as exc:
            raise KernelError(exc.errno or 0, "mknod", path) from exc

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
        result = self._libc.prctl(option, arg2, arg3, arg4, arg5)
        return self._check(result, f"prctl({option})")

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        self._check(self._libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname", name)

    def setdomainname(self, name: str) -> None:
        raw = name.encode()
        self._check(self._libc.setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname",
                    name)

    def capget(self) -> tuple[int, int, int]:
        """This thread's (effective, permitted, inheritable) as 64-bit masks."""
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        self._check(self._libc.syscall(ctypes.c_long(self._nr_capget), ctypes.byref(header),
                                       ctypes.byref(data)), "capget")
        return tuple(
            getattr(data[0], f) | (getattr(data[1], f) << 32)
            for f in ("effective", "permitted", "inheritable"))

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for i in range(2):
            shift = 32 * i
            data[i].effective = (effective >> shift) & 0xFFFFFFFF
            data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
        self._check(self._libc.syscall(ctypes.c_long(self._nr_capset), ctypes.byref(header),
                                       ctypes.byref(data)), "capset")


_kernel: LibcKernel | None = None


def kernel() -> LibcKernel:
    """The process-wide real kernel (libc is loaded once, on first use)."""
    global _kernel
    if _kernel is None:
        _kernel = LibcKernel()
    return _kernel
