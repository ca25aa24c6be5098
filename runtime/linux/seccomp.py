"""Loading a compiled seccomp filter into the calling thread, before exec.

The container's init and exec helper read the BPF (``seccomp_compile``'s output) from the
file the spec names while the host's filesystem is still theirs, and install it with
``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``: no libseccomp in the container, nothing
imported after pivot_root. Without no_new_privs the kernel wants CAP_SYS_ADMIN for it, so
the caller installs before dropping privileges, as runc does; with no_new_privs, as late as
it can. Stdlib only and import-light, as ``syscalls``.
"""

from __future__ import annotations

import ctypes
import errno

from cove.runtime.linux.syscalls import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.runtime.linux.kernel_interface import Kernel

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
INSTRUCTION_SIZE = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
MAX_INSTRUCTIONS = 4096  # BPF_MAXINSNS


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def kernel_supports_filters() -> bool:
    """Whether this kernel has seccomp filters (``Seccomp:`` in /proc/self/status)."""
    try:
        with open("/proc/self/status", "rb") as f:
            return any(line.startswith(b"Seccomp:") for line in f)
    except OSError:
        return False


def read_filter(path: str) -> bytes:
    """The BPF program in ``path``; "" (no filter) reads as no bytes."""
    if not path:
        return b""
    try:
        with open(path, "rb") as f:
            program = f.read()
    except OSError as exc:
        raise KernelError(exc.errno or errno.EIO, "read seccomp filter", path) from exc
    count = len(program) // INSTRUCTION_SIZE
    if not program or len(program) % INSTRUCTION_SIZE or count > MAX_INSTRUCTIONS:
        raise KernelError(errno.EINVAL, "read seccomp filter", path)
    return program


def install_filter(kernel: Kernel, program: bytes) -> None:
    """Attach ``program`` to this thread; it holds for every later exec and child."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // INSTRUCTION_SIZE, ctypes.addressof(buffer))
    try:
        kernel.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
    except KernelError as exc:
        raise KernelError(exc.errno or errno.EINVAL, "seccomp: load filter") from exc
