"""Cove's packet rules: one nftables table of its own, replaced whole in one transaction.

The table is data (``Table`` of ``Chain`` of ``Rule``) rendered to ``nft`` syntax and fed
to ``nft -f -``. The script creates the table if it is missing, deletes it and declares it
again, all in one transaction: the kernel swaps the old rules for the new at once, and a
script with any error changes nothing. Only Cove's own table is named: the host's
iptables-nft tables, Docker's and podman's stay as they are (moby's and podman's trackers
are full of engines that flushed rules they didn't own).

Scripts go to libnftables in this process (what the ``nft`` command is a front end to),
in a thread that has entered the target namespace: a command costs well under a
millisecond where starting ``nft`` (through ``nsenter`` for another namespace) costs
~20 ms, which a container's start on a user network pays for its DNS redirect. A
context's release takes the kernel ~15 ms (its netlink socket's close waits for the
namespace's RCU grace period, after a NAT table changed), so it is freed on a reaper
thread. The library promises no thread safety (its first context initialises globals),
so one lock takes every context's making and commands in turn: a crash there would take
coved down. The free stays outside the lock, to keep its 15 ms off everyone's path: it
releases the context's own state, and the one global it touches, the interface cache,
is filled only by interface lookups (``iif``/``oif``), which Cove's rules never make
(they match ``iifname``/``oifname``). Without the library (``libnftables1``), the ``nft``
command runs instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import queue
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any

from cove.runtime.linux.netns import NetnsRef, in_netns, netns_path
from cove.runtime.linux.syscalls import KernelError

FAMILIES = frozenset({"ip", "ip6", "inet", "arp", "bridge", "netdev"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_UNQUOTABLE = re.compile(r'["\\\n\r\0]')


class NftError(KernelError):
    """``nft`` refused a script; ``str()`` holds what it said."""

    def __init__(self, operation: str, table: str, stderr: str) -> None:
        super().__init__(errno.EINVAL, operation, table)
        self.stderr = stderr.strip()

    def __str__(self) -> str:
        return f"{self.operation} {self.path}: {self.stderr}"


def quoted(text: str) -> str:
    """``text`` as an nft string literal (an interface name, a comment); a character nft
    cannot take inside quotes is refused rather than escaped."""
    if _UNQUOTABLE.search(text):
        raise ValueError(f"not usable in an nft rule: {text!r}")
    return f'"{text}"'


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an nft table or chain name: {name!r}")
    return name


@dataclass(frozen=True)
class Rule:
    """One rule: its statement in nft syntax, and a comment ``nft list`` shows beside it."""

    statement: str
    comment: str = ""

    def render(self) -> str:
        if "\n" in self.statement or ";" in self.statement:
            raise ValueError(f"one rule per Rule: {self.statement!r}")
        return self.statement + (f" comment {quoted(self.comment)}" if self.comment else "")


@dataclass(frozen=True)
class Hook:
    """What makes a chain a base chain: where packets enter it."""

    type: str  # filter, nat, route
    hook: str  # prerouting, input, forward, output, postrouting
    priority: int
    policy: str = "accept"

    def render(self) -> str:
        return f"type {self.type} hook {self.hook} priority {self.priority}; policy {self.policy};"


@dataclass(frozen=True)
class Chain:
    name: str
    rules: tuple[Rule, ...] = ()
    hook: Hook | None = None

    def render(self) -> str:
        lines = [f"\tchain {_check_name(self.name)} {{"]
        if self.hook is not None:
            lines.append(f"\t\t{self.hook.render()}")
        lines += [f"\t\t{rule.render()}" for rule in self.rules]
        lines.append("\t}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Table:
    name: str
    family: str = "ip"
    chains: tuple[Chain, ...] = field(default_factory=tuple)

    @property
    def spec(self) -> str:
        if self.family not in FAMILIES:
            raise ValueError(f"not an nft family: {self.family!r}")
        return f"{self.family} {_check_name(self.name)}"

    def render(self) -> str:
        """The table's declaration as ``nft list table`` would show it."""
        body = "\n".join(chain.render() for chain in self.chains)
        return f"table {self.spec} {{\n{body}\n}}\n" if body else f"table {self.spec} {{\n}}\n"

    def replacement_script(self) -> str:
        """One transaction that puts this table in place of whatever table of the same name
        is there (``table x {}`` first, so the delete never fails on a missing table)."""
        return f"table {self.spec} {{}}\ndelete table {self.spec}\n{self.render()}"


def apply_table(table: Table, netns: NetnsRef | None = None) -> None:
    """Replace Cove's table with ``table``, atomically; nothing else is touched."""
    _nft(["-f", "-"], table.replacement_script(), "replace table", table.spec, netns)


def delete_table(name: str, family: str = "ip", netns: NetnsRef | None = None) -> None:
    """Remove Cove's table if it is there."""
    spec = Table(name, family).spec
    _nft(["-f", "-"], f"table {spec} {{}}\ndelete table {spec}\n", "delete table", spec, netns)


def list_table(name: str, family: str = "ip", netns: NetnsRef | None = None) -> str | None:
    """The table as ``nft list table`` shows it, or None when there is none."""
    spec = Table(name, family).spec
    try:
        return _nft(["list", "table", *spec.split()], None, "list table", spec, netns)
    except NftError as exc:
        if "No such file or directory" in exc.stderr:
            return None
        raise


def forward_drop_chains(netns: NetnsRef | None = None) -> list[str]:
    """The base chains on the forward hook whose policy is drop (``"ip filter FORWARD"``):
    Docker's iptables sets one, and nftables runs every table's base chains, so what such
    a chain does not accept is dropped whatever Cove's own table says."""
    import json

    out = _nft(["-j", "list", "chains"], None, "list chains", "", netns)
    found = []
    for item in json.loads(out or "{}").get("nftables", []):
        chain = item.get("chain") if isinstance(item, dict) else None
        if chain and chain.get("hook") == "forward" and chain.get("policy") == "drop":
            found.append(f"{chain.get('family')} {chain.get('table')} {chain.get('name')}")
    return found


def _nft(
    args: list[str], script: str | None, operation: str, spec: str, netns: NetnsRef | None
) -> str:
    library = _library()
    if library is not None:
        return in_netns(netns, lambda: _run_in_process(library, args, script, operation, spec))
    nft = shutil.which("nft")
    if nft is None:
        raise KernelError(errno.ENOENT, operation + " (nft is not installed)", spec)
    argv = [nft, *args]
    if netns is not None:
        argv = ["nsenter", f"--net={netns_path(netns)}", "--", *argv]
    done = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise NftError(operation, spec, done.stderr or done.stdout)
    return done.stdout


_JSON_OUTPUT = 1 << 4  # NFT_CTX_OUTPUT_JSON
_loaded: list[Any] = []  # [library or None], once tried
_load_lock = threading.Lock()
_library_lock = threading.Lock()  # one context made and used at a time
_reaped: queue.SimpleQueue[int] = queue.SimpleQueue()


def _library() -> Any | None:
    """libnftables with its calls typed, or None when it is not installed."""
    with _load_lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def _load() -> Any | None:
    name = ctypes.util.find_library("nftables") or "libnftables.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    pointer, text = ctypes.c_void_p, ctypes.c_char_p
    lib.nft_ctx_new.restype, lib.nft_ctx_new.argtypes = pointer, [ctypes.c_uint32]
    lib.nft_ctx_free.restype, lib.nft_ctx_free.argtypes = None, [pointer]
    for call in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
        getattr(lib, call).restype, getattr(lib, call).argtypes = ctypes.c_int, [pointer]
    for call in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        getattr(lib, call).restype, getattr(lib, call).argtypes = text, [pointer]
    lib.nft_ctx_output_set_flags.restype = None
    lib.nft_ctx_output_set_flags.argtypes = [pointer, ctypes.c_uint]
    for call in ("nft_run_cmd_from_buffer", "nft_run_cmd_from_filename"):
        getattr(lib, call).restype, getattr(lib, call).argtypes = ctypes.c_int, [pointer, text]
    threading.Thread(target=_reap, args=(lib,), name="nft-reaper", daemon=True).start()
    return lib


def _reap(lib: Any) -> None:
    while True:
        lib.nft_ctx_free(_reaped.get())


def _run_in_process(lib: Any, args: list[str], script: str | None, operation: str,
                    spec: str) -> str:
    """What ``nft ARGS`` (with ``script`` on stdin for ``-f -``) prints, run by the library
    in this thread's namespace."""
    flags = 0
    if args[:1] == ["-j"]:
        flags, args = _JSON_OUTPUT, args[1:]
    command = None if args == ["-f", "-"] else " ".join(args)
    with _library_lock:
        ctx = lib.nft_ctx_new(0)
        if not ctx:
            raise KernelError(errno.ENOMEM, operation + " (nft_ctx_new)", spec)
        try:
            lib.nft_ctx_output_set_flags(ctx, flags)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            if script is None:
                failed = lib.nft_run_cmd_from_buffer(ctx, (command or "").encode())
            else:  # from a file: its errors then name the right line, as nft -f's do
                failed = _run_script(lib, ctx, script)
            out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
            error = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        finally:
            _reaped.put(ctx)
    if failed:
        raise NftError(operation, spec, error or out)
    return out


def _run_script(lib: Any, ctx: int, script: str) -> int:
    fd = os.memfd_create("cove-nft", os.MFD_CLOEXEC)
    try:
        os.write(fd, script.encode())
        return int(lib.nft_run_cmd_from_filename(ctx, f"/proc/self/fd/{fd}".encode()))
    finally:
        os.close(fd)
