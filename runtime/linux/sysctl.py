"""Network sysctls, per namespace: ``/proc/sys/net`` shows the namespace of the thread
that opens it, so a value for another namespace is read or written from a thread inside
it (``netns.in_netns``)."""

from __future__ import annotations

import errno

from cove.runtime.linux.netns import NetnsRef, in_netns
from cove.runtime.linux.syscalls import KernelError

PROC_SYS = "/proc/sys/"


def _path(key: str) -> str:
    """``net.ipv4.conf.cove0.route_localnet`` -> its file; the dots of a key name levels,
    so an interface name is one level whatever it holds (no ``..`` or ``/``)."""
    parts = key.split(".")
    if not key.startswith("net.") or any(not p or p in (".", "..") or "/" in p for p in parts):
        raise KernelError(errno.EINVAL, "sysctl", key)
    return PROC_SYS + "/".join(parts)


def write_sysctl(key: str, value: str, netns: NetnsRef | None = None) -> None:
    path = _path(key)

    def write() -> None:
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as exc:
            raise KernelError(exc.errno or errno.EIO, f"write {value!r} to", path) from exc

    in_netns(netns, write)


def read_sysctl(key: str, netns: NetnsRef | None = None) -> str:
    path = _path(key)

    def read() -> str:
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError as exc:
            raise KernelError(exc.errno or errno.EIO, "read", path) from exc

    return in_netns(netns, read)


def interface_key(interface: str, name: str) -> str:
    """The key of an IPv4 setting of one interface (``route_localnet``, ``forwarding``)."""
    return f"net.ipv4.conf.{interface}.{name}"


def enable_ip_forward(netns: NetnsRef | None = None) -> None:
    """Forward IPv4 between interfaces (off in every new namespace); set only when off, as
    writing it resets every interface's ``forwarding``."""
    if read_sysctl("net.ipv4.ip_forward", netns) != "1":
        write_sysctl("net.ipv4.ip_forward", "1", netns)


def enable_route_localnet(interface: str, netns: NetnsRef | None = None) -> None:
    """Let packets to 127.0.0.0/8 be routed out of ``interface``: DNAT from the host's
    127.0.0.1 to a container on that bridge needs it (no userland proxy)."""
    write_sysctl(interface_key(interface, "route_localnet"), "1", netns)


def disable_ipv6(interfaces: list[str], netns: NetnsRef | None = None) -> None:
    """No IPv6 on ``interfaces`` (no link-local address either), in one visit of the
    namespace: dockerd's containers on networks without IPv6 have none. A kernel without
    IPv6 has nothing to disable."""
    paths = [_path(f"net.ipv6.conf.{name}.disable_ipv6") for name in interfaces]

    def write() -> None:
        for path in paths:
            try:
                with open(path, "w") as f:
                    f.write("1")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise KernelError(exc.errno or errno.EIO, "write '1' to", path) from exc

    in_netns(netns, write)
