"""Links, addresses and routes through netlink (pyroute2), in any network namespace.

A ``Netlink`` is one rtnetlink session in one namespace, used as a context manager so
its socket is always closed (a socket left open keeps the namespace alive, and the
tests turn its ResourceWarning into an error). The socket is made inside the namespace
by a short-lived thread (``netns.in_netns``), so the caller never changes namespace.
Failures raise ``KernelError`` naming the operation and the link, as the rest of this
layer does; pyroute2 (a 0.1 s import) is loaded on first use only.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from types import TracebackType
from typing import Any

from cove.runtime.linux.netns import NetnsRef, in_netns, netns_path
from cove.runtime.linux.syscalls import KernelError

NETLINK_ROUTE = 0
BRPORT_MODE_HAIRPIN = 1
MAIN_TABLE = 254


class Netlink:
    """An rtnetlink session in ``netns`` (this process's namespace when None)."""

    def __init__(self, netns: NetnsRef | None = None) -> None:
        self.netns = netns
        self._ipr: Any = None

    def __enter__(self) -> Netlink:
        from pyroute2 import IPRoute

        where = netns_path(self.netns) if self.netns is not None else "this namespace"
        with _translated("open netlink in", where):
            sock = in_netns(self.netns, _netlink_socket)
            try:
                self._ipr = IPRoute(use_socket=sock)
            except BaseException:
                sock.close()
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    @property
    def _api(self) -> Any:
        if self._ipr is None:
            raise RuntimeError("Netlink used outside its 'with' block")
        return self._ipr

    # links

    def index(self, name: str) -> int:
        """The link's index; ``KernelError(ENODEV)`` when there is no such link."""
        found = self.find(name)
        if found is None:
            raise KernelError(errno.ENODEV, "find link", name)
        return found

    def find(self, name: str) -> int | None:
        with _translated("find link", name):
            indexes = self._api.link_lookup(ifname=name)
        return int(indexes[0]) if indexes else None

    def link_names(self) -> list[str]:
        with _translated("list links"):
            return sorted(str(link.get("ifname")) for link in self._api.get_links())

    def add_bridge(self, name: str, mtu: int | None = None) -> None:
        extra = {"mtu": mtu} if mtu else {}
        with _translated("add bridge", name):
            self._api.link("add", ifname=name, kind="bridge", **extra)

    def add_veth(
        self,
        name: str,
        peer: str,
        peer_netns: NetnsRef | None = None,
        mtu: int | None = None,
        peer_mac: str | None = None,
    ) -> None:
        """A veth pair: ``name`` here, ``peer`` made straight inside ``peer_netns`` (a
        container's), so the peer never shows in this namespace under a name that could
        clash. Its name there may be a common one (``eth0``); ``peer_mac`` its address."""
        extra: dict[str, object] = {"mtu": mtu} if mtu else {}
        with _translated("add veth", name):
            if peer_netns is None:
                self._api.link(
                    "add", ifname=name, kind="veth", peer={"ifname": peer, **extra}, **extra
                )
                return
            with _open_netns(peer_netns) as fd:
                self._api.link(
                    "add",
                    ifname=name,
                    kind="veth",
                    peer={"ifname": peer, "net_ns_fd": fd, **extra,
                          **({"address": peer_mac} if peer_mac else {})},
                    **extra,
                )

    def delete_link(self, name: str, missing_ok: bool = True) -> bool:
        """Delete a link (a veth takes its peer along); whether there was one."""
        index = self.find(name)
        if index is None:
            if missing_ok:
                return False
            raise KernelError(errno.ENODEV, "delete link", name)
        with _translated("delete link", name):
            try:
                self._api.link("del", index=index)
            except Exception as exc:
                if missing_ok and getattr(exc, "code", None) == errno.ENODEV:
                    return False  # gone in between (its peer's namespace died)
                raise
        return True

    def set_up(self, name: str) -> None:
        index = self.index(name)
        with _translated("set link up", name):
            self._api.link("set", index=index, state="up")

    def is_up(self, name: str) -> bool:
        index = self.index(name)
        with _translated("read link", name):
            link = self._api.get_links(index)[0]
        return bool(link["flags"] & 1)

    def set_master(self, name: str, bridge: str) -> None:
        """Make ``name`` a port of ``bridge``."""
        index, master = self.index(name), self.index(bridge)
        with _translated(f"attach to {bridge}", name):
            self._api.link("set", index=index, master=master)

    def master(self, name: str) -> str | None:
        index = self.index(name)
        with _translated("read link", name):
            master = self._api.get_links(index)[0].get("IFLA_MASTER")
            if not master:
                return None
            return str(self._api.get_links(master)[0].get("ifname"))

    def set_hairpin(self, port: str, on: bool = True) -> None:
        """Let a bridge port send frames back out where they came in: a container reaching
        its own published port through the host (hairpin NAT) needs it."""
        index = self.index(port)
        with _translated("set hairpin on", port):
            self._api.brport("set", index=index, mode=BRPORT_MODE_HAIRPIN if on else 0)

    def hairpin(self, port: str) -> bool:
        index = self.index(port)
        with _translated("read bridge port", port):
            link = self._api.get_links(index)[0]
            mode = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA", "IFLA_BRPORT_MODE")
        return bool(mode)

    # addresses

    def add_address(self, name: str, address: IPv4Interface) -> None:
        index = self.index(name)
        with _translated(f"add address {address} to", name):
            self._api.addr(
                "add",
                index=index,
                address=str(address.ip),
                prefixlen=address.network.prefixlen,
                broadcast=str(address.network.broadcast_address),
            )

    def delete_address(self, name: str, address: IPv4Interface) -> None:
        index = self.index(name)
        with _translated(f"delete address {address} from", name):
            self._api.addr(
                "del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen
            )

    def addresses(self, name: str | None = None) -> list[IPv4Interface]:
        """The IPv4 addresses of one link, or of every link."""
        query: dict[str, Any] = {"family": socket.AF_INET}
        if name is not None:
            query["index"] = self.index(name)
        with _translated("list addresses", name or ""):
            return [
                IPv4Interface(f"{msg.get('IFA_ADDRESS')}/{msg['prefixlen']}")
                for msg in self._api.get_addr(**query)
            ]

    # routes

    def add_route(
        self,
        destination: IPv4Network,
        gateway: IPv4Address | None = None,
        device: str | None = None,
    ) -> None:
        """A route in the main table; ``0.0.0.0/0`` with a gateway is the default route."""
        request: dict[str, Any] = {"dst": str(destination)}
        if gateway is not None:
            request["gateway"] = str(gateway)
        if device is not None:
            request["oif"] = self.index(device)
        with _translated("add route", str(destination)):
            self._api.route("add", **request)

    def routed_networks(self) -> list[IPv4Network]:
        """The destinations of the IPv4 routes in the main table, default route excluded:
        what a new bridge's subnet must not overlap."""
        with _translated("list routes"):
            routes = self._api.route("dump", family=socket.AF_INET, table=MAIN_TABLE)
            found = []
            for route in routes:
                if route.get("RTA_TABLE", route["table"]) != MAIN_TABLE or not route["dst_len"]:
                    continue
                found.append(
                    IPv4Network(f"{route.get('RTA_DST')}/{route['dst_len']}", strict=False)
                )
        return found

    def default_gateway(self) -> IPv4Address | None:
        with _translated("list routes"):
            for route in self._api.route("dump", family=socket.AF_INET, table=MAIN_TABLE):
                if not route["dst_len"] and route.get("RTA_GATEWAY"):
                    return IPv4Address(route.get("RTA_GATEWAY"))
        return None


def _netlink_socket() -> socket.socket:
    return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)


@contextmanager
def _open_netns(netns: NetnsRef) -> Iterator[int]:
    path = netns_path(netns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise KernelError(exc.errno or errno.ENOENT, "open network namespace", path) from exc
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _translated(operation: str, name: str = "") -> Iterator[None]:
    """pyroute2's ``NetlinkError`` (and OSError) as a ``KernelError`` naming what failed."""
    try:
        yield
    except KernelError:
        raise
    except OSError as exc:
        raise KernelError(exc.errno or errno.EIO, operation, name) from exc
    except Exception as exc:
        code = getattr(exc, "code", None)
        if isinstance(code, int) and code > 0:
            raise KernelError(code, operation, name) from exc
        raise
