"""Which device nodes a container may open or create, limited as runc limits them.

Every container that is not privileged may make any node (``m``) but read and write only
the standard ones (null, zero, full, random, urandom, tty, console, ptmx, ptys, tun) and
the ``--device`` ones. On cgroup v1 that is the devices controller's allow list after a
deny of all; on v2 there is no such file, so (as runc does) a small eBPF program of type
``CGROUP_DEVICE`` decides each access and is attached to the container's cgroup.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
from dataclasses import dataclass

from cove.runtime.errors import SystemError_

WILDCARD = -1


@dataclass(frozen=True)
class DeviceRule:
    """An allow rule: ``kind`` "c", "b" or "a" (all), major/minor (-1: any), access "rwm"."""

    kind: str
    major: int
    minor: int
    access: str

    def v1_line(self) -> str:
        """The line the v1 ``devices.allow`` file takes: "c 1:3 rwm", "a *:* rwm"."""
        def number(value: int) -> str:
            return "*" if value == WILDCARD else str(value)

        return f"{self.kind} {number(self.major)}:{number(self.minor)} {self.access}"


DEFAULT_RULES = (
    DeviceRule("c", WILDCARD, WILDCARD, "m"), DeviceRule("b", WILDCARD, WILDCARD, "m"),
    DeviceRule("c", 1, 3, "rwm"), DeviceRule("c", 1, 5, "rwm"), DeviceRule("c", 1, 7, "rwm"),
    DeviceRule("c", 1, 8, "rwm"), DeviceRule("c", 1, 9, "rwm"), DeviceRule("c", 5, 0, "rwm"),
    DeviceRule("c", 5, 1, "rwm"), DeviceRule("c", 5, 2, "rwm"), DeviceRule("c", 10, 200, "rwm"),
    DeviceRule("c", 136, WILDCARD, "rwm"),
)
"""dockerd's default allow list with runc's additions (as ``devices.list`` shows it)."""
ALLOW_ALL = (DeviceRule("a", WILDCARD, WILDCARD, "rwm"),)


# --- cgroup v2: the eBPF device program -------------------------------------------------

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280, "arm64": 280}
_DEVCG_TYPE = {"b": 1, "c": 2}
_DEVCG_ACCESS = {"m": 1, "r": 2, "w": 4}


def _insn(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", opcode, (src << 4) | dst, off, imm)


_LDX_W = 0x61      # dst = *(u32 *)(src + off)
_AND32_K = 0x54    # dst &= imm
_RSH32_K = 0x74    # dst >>= imm
_MOV32_X = 0xBC    # dst = src
_MOV64_K = 0xB7    # dst = imm
_JNE_K = 0x55      # if dst != imm: pc += off
_EXIT = 0x95


def device_program(rules: tuple[DeviceRule, ...] | list[DeviceRule]) -> bytes:
    """The program's instructions: allow (return 1) when a rule covers the access, else
    deny (return 0). r2 = type, r3 = access, r4 = major, r5 = minor, from the context
    ``struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}``."""
    code = [_insn(_LDX_W, 2, 1, 0), _insn(_AND32_K, 2, imm=0xFFFF),
            _insn(_LDX_W, 3, 1, 0), _insn(_RSH32_K, 3, imm=16),
            _insn(_LDX_W, 4, 1, 4), _insn(_LDX_W, 5, 1, 8)]
    for rule in rules:
        block: list[bytes] = []
        if rule.kind != "a":
            block.append(_insn(_JNE_K, 2, imm=_DEVCG_TYPE[rule.kind]))
        allowed = sum(_DEVCG_ACCESS[a] for a in set(rule.access))
        if allowed != 7:
            block += [_insn(_MOV32_X, 1, 3), _insn(_AND32_K, 1, imm=~allowed),
                      _insn(_JNE_K, 1, imm=0)]
        if rule.major != WILDCARD:
            block.append(_insn(_JNE_K, 4, imm=rule.major))
        if rule.minor != WILDCARD:
            block.append(_insn(_JNE_K, 5, imm=rule.minor))
        block += [_insn(_MOV64_K, 0, imm=1), _insn(_EXIT)]
        # every conditional jump leaves the block: past its remaining instructions
        fixed = []
        for index, insn in enumerate(block):
            if insn[0] == _JNE_K:
                opcode, regs, _off, imm = struct.unpack("<BBhi", insn)
                insn = struct.pack("<BBhi", opcode, regs, len(block) - index - 1, imm)
            fixed.append(insn)
        code += fixed
    code += [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(code)


def _bpf(command: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    number = _BPF_SYSCALL.get(platform.machine())
    if number is None:
        raise SystemError_(f"cgroup: no bpf system call number for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    result = int(libc.syscall(ctypes.c_long(number), ctypes.c_int(command), attr,
                              ctypes.c_uint(len(attr))))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def attach_device_program(cgroup_dir: str, rules: tuple[DeviceRule, ...] | list[DeviceRule]
                          ) -> None:
    """Load the program for ``rules`` and attach it to the v2 cgroup ``cgroup_dir``; the
    cgroup keeps it (and with it the limit) until the cgroup is removed."""
    program = device_program(rules)
    insns = ctypes.create_string_buffer(program, len(program))
    license_text = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(65536)
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIQQIIQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(program) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_text), 1, len(log),
                     ctypes.addressof(log))
    try:
        prog_fd = _bpf(BPF_PROG_LOAD, attr)
    except OSError as exc:
        detail = log.value.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise SystemError_(f"cgroup: load device program for {cgroup_dir}: "
                           f"{exc.strerror} {detail[0]}".rstrip()) from exc
    try:
        try:
            cgroup_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise SystemError_(f"cgroup: open {cgroup_dir}: {exc.strerror}") from exc
        try:
            attach = ctypes.create_string_buffer(128)
            struct.pack_into("<IIII", attach, 0, cgroup_fd, prog_fd, BPF_CGROUP_DEVICE,
                             BPF_F_ALLOW_MULTI)
            _bpf(BPF_PROG_ATTACH, attach)
        except OSError as exc:
            raise SystemError_(f"cgroup: attach device program to {cgroup_dir}: "
                               f"{exc.strerror}") from exc
        finally:
            os.close(cgroup_fd)
    finally:
        os.close(prog_fd)
