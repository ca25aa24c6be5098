"""Forgetting tracked flows (conntrack netlink, through pyroute2).

When a published port goes away or leads to another container, the flows the kernel
already tracks for it keep their old translation: a UDP client that keeps sending (a DNS
or syslog client) would go on reaching the old address for as long as it sends. So the
flows that a published port translated to a container are deleted with the port, and
only those: a flow is matched on its original destination port and on the container's
address and port it was translated to.

pyroute2's conntrack socket closes itself after each request, so each request gets a
socket of its own, made inside the namespace by a short-lived thread.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, TypeVar

from cove.runtime.linux.netns import NetnsRef, in_netns
from cove.runtime.linux.syscalls import KernelError

T = TypeVar("T")
NETLINK_NETFILTER = 12
PROTOCOL_NUMBERS = {
    "tcp": socket.IPPROTO_TCP,
    "udp": socket.IPPROTO_UDP,
    "sctp": socket.IPPROTO_SCTP,
}


def _request(netns: NetnsRef | None, action: Callable[[Any], T], what: str) -> T:
    from pyroute2 import Conntrack

    try:
        sock = in_netns(
            netns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_NETFILTER)
        )
        with Conntrack(use_socket=sock) as ct:
            return action(ct)
    except OSError as exc:
        raise KernelError(exc.errno or errno.EIO, what) from exc
    except Exception as exc:
        code = getattr(exc, "code", None)
        if isinstance(code, int) and code > 0:
            raise KernelError(code, what) from exc
        raise


def translated_flows(
    proto: str, host_port: int, address: IPv4Address, port: int, netns: NetnsRef | None = None
) -> list[Any]:
    """The tracked flows to ``host_port`` that were translated to ``address:port``."""
    from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

    number = PROTOCOL_NUMBERS[proto]
    original = NFCTAttrTuple(proto=number, dport=host_port)
    reply = NFCTAttrTuple(proto=number, saddr=str(address), sport=port)
    return _request(
        netns,
        lambda ct: list(ct.dump_entries(tuple_orig=original, tuple_reply=reply)),
        f"list flows to {proto} port {host_port}",
    )


def delete_translated_flows(
    proto: str, host_port: int, address: IPv4Address, port: int, netns: NetnsRef | None = None
) -> int:
    """Delete the flows ``translated_flows`` finds; how many went (one that ended in
    between is not an error)."""
    deleted = 0
    for flow in translated_flows(proto, host_port, address, port, netns):

        def delete(ct: Any, flow: Any = flow) -> Any:
            return ct.delete(flow)

        try:
            _request(netns, delete, f"delete a flow to {proto} port {host_port}")
        except KernelError as exc:
            if exc.errno != errno.ENOENT:
                raise
            continue
        deleted += 1
    return deleted
