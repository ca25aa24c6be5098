"""A static Linux executable that prints a message, assembled byte by byte.

No toolchain and no network: the hello-world image must exist on a fresh offline
install. The file is an ELF64 header, one PT_LOAD program header mapping the whole
file read+execute, then a few instructions that write(2) the message (looping on
short writes) and exit_group(2) with 0, or 1 if the write failed.
"""

from __future__ import annotations

import struct

LOAD_ADDRESS = 0x400000
ELF_HEADER_SIZE = 64
PROGRAM_HEADER_SIZE = 56
CODE_OFFSET = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE

MACHINES = {"amd64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64


def _x86_64_code(message_len: int) -> bytes:
    """write(1, msg, len) until all is written, then exit_group; msg follows the code."""
    code = bytearray()
    code += b"\x48\x8d\x35" + b"\0\0\0\0"        # lea rsi, [rip + msg]  (patched below)
    lea_end = len(code)
    code += b"\xba" + struct.pack("<I", message_len)  # mov edx, len
    loop = len(code)
    code += b"\xb8\x01\x00\x00\x00"              # mov eax, 1 (write)
    code += b"\xbf\x01\x00\x00\x00"              # mov edi, 1 (stdout)
    code += b"\x0f\x05"                          # syscall
    code += b"\x48\x85\xc0"                      # test rax, rax
    code += b"\x7e\x00"                          # jle fail  (patched below)
    jle_at = len(code)
    code += b"\x48\x01\xc6"                      # add rsi, rax
    code += b"\x48\x29\xc2"                      # sub rdx, rax
    code += b"\x75" + struct.pack("<b", loop - (len(code) + 2))  # jnz loop
    code += b"\x31\xff"                          # xor edi, edi
    code += b"\xeb\x05"                          # jmp exit
    fail = len(code)
    code += b"\xbf\x01\x00\x00\x00"              # mov edi, 1
    code += b"\xb8\xe7\x00\x00\x00"              # exit: mov eax, 231 (exit_group)
    code += b"\x0f\x05"                          # syscall
    code[jle_at - 1] = fail - jle_at
    struct.pack_into("<i", code, 3, len(code) - lea_end)
    return bytes(code)


def _arm64_code(message_len: int) -> bytes:
    """The same program for aarch64: write(1, msg, len) then exit_group(0)."""
    if message_len >= 1 << 16:
        raise ValueError("message too long for one movz")

    def movz(reg: int, value: int) -> int:
        return 0xD2800000 | (value << 5) | reg

    words = [
        0,                       # adr x1, msg  (patched below)
        movz(2, message_len),    # mov x2, len
        movz(0, 1),              # mov x0, 1
        movz(8, 64),             # mov x8, 64 (write)
        0xD4000001,              # svc 0
        movz(0, 0),              # mov x0, 0
        movz(8, 94),             # mov x8, 94 (exit_group)
        0xD4000001,              # svc 0
    ]
    offset = 4 * len(words)
    words[0] = ((offset & 3) << 29) | (0b10000 << 24) | (((offset >> 2) & 0x7FFFF) << 5) | 1
    return struct.pack(f"<{len(words)}I", *words)


def build_elf(message: bytes, arch: str = "amd64") -> bytes:
    """A complete executable printing ``message``; ``arch`` is "amd64" or "arm64"."""
    if arch not in MACHINES:
        raise ValueError(f"unsupported architecture {arch!r}")
    code = _x86_64_code(len(message)) if arch == "amd64" else _arm64_code(len(message))
    body = code + message
    file_size = CODE_OFFSET + len(body)
    entry = LOAD_ADDRESS + CODE_OFFSET
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, SysV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2,                      # e_type ET_EXEC
        MACHINES[arch],         # e_machine
        1,                      # e_version
        entry,                  # e_entry
        ELF_HEADER_SIZE,        # e_phoff
        0,                      # e_shoff (no sections)
        0,                      # e_flags
        ELF_HEADER_SIZE,        # e_ehsize
        PROGRAM_HEADER_SIZE,    # e_phentsize
        1,                      # e_phnum
        64,                     # e_shentsize
        0,                      # e_shnum
        0,                      # e_shstrndx
    )
    program_header = struct.pack(
        "<IIQQQQQQ",
        1,                      # p_type PT_LOAD
        5,                      # p_flags R+X
        0,                      # p_offset
        LOAD_ADDRESS,           # p_vaddr
        LOAD_ADDRESS,           # p_paddr
        file_size,              # p_filesz
        file_size,              # p_memsz
        0x1000,                 # p_align
    )
    return header + program_header + body
