"""The compiled default filter, loaded by the real kernel: a forked child installs the BPF
(``seccomp.install_filter``, as a container's init does) and makes each raw syscall; the
errno it gets is the filter's decision. No mock: busybox has no keyctl or bpf to try these
from inside a container."""

from __future__ import annotations

import ctypes
import errno
import json
import os

import pytest

from cove.runtime.linux import caps, seccomp, seccomp_compile
from cove.runtime.linux.seccomp_profile import default_profile, parse_profile, select
from cove.runtime.linux.syscalls import kernel

pytestmark = pytest.mark.skipif(not seccomp_compile.available(), reason="no libseccomp")

DEFAULT_CAPS = frozenset("CAP_" + name for name in caps.DEFAULT_CAPABILITIES)
# name -> (x86_64, aarch64) syscall numbers
NUMBERS = {
    "getpid": (39, 172), "keyctl": (250, 219), "add_key": (248, 217), "bpf": (321, 280),
    "perf_event_open": (298, 241), "unshare": (272, 97), "clone3": (435, 435),
    "socket": (41, 198), "personality": (135, 92), "mkdirat": (258, 34),
    "statmount": (457, 457), "mseal": (462, 462), "listxattrat": (465, 465),
    "x32 getpid": (0x40000000 | 39, 172), "x32 keyctl": (0x40000000 | 250, 219),
}
MACHINE = os.uname().machine
if MACHINE not in ("x86_64", "aarch64"):
    pytest.skip(f"no syscall numbers for {MACHINE}", allow_module_level=True)
AF_UNIX, AF_VSOCK, SOCK_STREAM = 1, 40, 1
CLONE_NEWUTS = 0x04000000
AT_FDCWD = -100


def _errnos(program: bytes, calls: list[tuple[str, tuple[int, ...]]]) -> list[str]:
    """In a child under ``program``: each call's errno name ("ok" when it succeeded)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.close(read_end)
            seccomp.install_filter(kernel(), program)
            results = []
            for name, args in calls:
                number = NUMBERS[name][0 if MACHINE == "x86_64" else 1]
                ctypes.set_errno(0)
                result = libc.syscall(ctypes.c_long(number),
                                      *(ctypes.c_long(arg) for arg in args))
                results.append("ok" if result >= 0 else errno.errorcode[ctypes.get_errno()])
            os.write(write_end, json.dumps(results).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    return json.loads(data)  # type: ignore[no-any-return]


def _program(capabilities=DEFAULT_CAPS, profile=None) -> bytes:
    spec = select(profile or default_profile(), capabilities, MACHINE, os.uname().release)
    return seccomp_compile.compile_bpf(spec)


def test_the_default_filter_refuses_keys_bpf_perf_and_namespaces_with_eperm():
    calls = [("keyctl", (0,)), ("add_key", (0, 0, 0, 0, 0)), ("bpf", (0, 0, 0)),
             ("perf_event_open", (0, 0, 0, 0, 0)), ("unshare", (CLONE_NEWUTS,))]
    assert _errnos(_program(), calls) == ["EPERM"] * len(calls)


def test_the_default_filter_lets_ordinary_calls_through_and_answers_clone3_enosys():
    calls = [("getpid", ()), ("clone3", (0, 0)), ("socket", (AF_UNIX, SOCK_STREAM, 0)),
             ("socket", (AF_VSOCK, SOCK_STREAM, 0)), ("personality", (0xFFFFFFFF,)),
             ("personality", (0x0400000,))]
    assert _errnos(_program(), calls) == ["ok", "ENOSYS", "ok", "EPERM", "ok", "EPERM"]


def test_cap_sys_admin_lets_unshare_reach_the_kernel():
    program = _program(DEFAULT_CAPS | {"CAP_SYS_ADMIN"})
    assert _errnos(program, [("unshare", (CLONE_NEWUTS,)), ("clone3", (0, 0))]) == [
        "ok", "EINVAL"]  # clone3 reaches the kernel, which refuses a null argument


def test_a_custom_profile_errno_is_the_one_it_names():
    profile = parse_profile(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": errno.EROFS}]}))
    assert _errnos(_program(profile=profile), [("mkdirat", (AT_FDCWD, 0, 0o755)),
                                               ("getpid", ())]) == ["EROFS", "ok"]


def test_an_aarch64_filter_compiles_on_any_host():
    spec = select(default_profile(), DEFAULT_CAPS, "aarch64", "6.1.0")
    program = seccomp_compile.compile_bpf(spec)
    assert program and len(program) % seccomp.INSTRUCTION_SIZE == 0
    assert program != _program() or MACHINE == "aarch64"


def test_syscalls_newer_than_libseccomp_are_allowed_by_number():
    # Debian 12's libseccomp cannot name these; the profile allows them, so must the filter
    calls = [("statmount", (0, 0, 0, 0)), ("mseal", (0, 0, 0)), ("listxattrat", (0, 0, 0, 0, 0))]
    assert "EPERM" not in _errnos(_program(), calls)


@pytest.mark.skipif(MACHINE != "x86_64", reason="the x32 ABI is x86-64's")
def test_the_x32_abi_is_filtered_as_the_native_one():
    got = _errnos(_program(), [("x32 getpid", ()), ("x32 keyctl", (0,))])
    assert got[1] == "EPERM" and got[0] != "EPERM", got  # ENOSYS where the kernel has no x32
