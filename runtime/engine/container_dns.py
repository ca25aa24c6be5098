"""The embedded DNS of containers on user networks, kept in step with their endpoints.

A container with an endpoint on a user network gets, before its process runs, the
resolver at 127.0.0.11 inside its namespace and a resolv.conf naming it (written in place:
the container has the file bind-mounted); one on the default bridge only keeps the file
create wrote, the host's servers, as in Docker. ``sync`` is called after every change of
a container's endpoints (start, connect, disconnect, a daemon's re-adoption) and ``stop``
when it leaves them all, so the listeners never outlive the endpoints (they would hold the
namespace alive).

Names answered: containers' names, aliases and short IDs on the user networks the asking
container shares with them, and ``name.network`` for each of those networks, as
libnetwork answers. A container only on ``--internal`` networks gets no forwarding: the
resolver's upstream sockets live in coved's namespace, which can reach out where the
container cannot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.network.records import NetworkRecord

if TYPE_CHECKING:  # dnslib is loaded with the first container that needs the resolver
    from cove.runtime.network.embedded_dns import EmbeddedDns

log = logging.getLogger(__name__)
HOST_RESOLV_CONF = "/etc/resolv.conf"

Lookup = Callable[[str, str], list[IPv4Address]]
ReverseLookup = Callable[[str, IPv4Address], "str | None"]


class ContainerDns:
    """One resolver for the daemon, started with the first container that needs it."""

    def __init__(self, lookup: Lookup, reverse: ReverseLookup,
                 networks_of: Callable[[str], list[NetworkRecord]],
                 host_resolv_path: str = HOST_RESOLV_CONF) -> None:
        self._lookup, self._reverse, self._networks_of = lookup, reverse, networks_of
        self._host_resolv_path = host_resolv_path
        self._server: EmbeddedDns | None = None
        self._lock = threading.Lock()

    def _dns(self) -> EmbeddedDns:
        from cove.runtime.network.embedded_dns import EmbeddedDns

        with self._lock:
            if self._server is None:
                self._server = EmbeddedDns(self.resolve, self._host_resolv_path,
                                           reverse=self._reverse)
            return self._server

    def resolve(self, owner: str, name: str) -> list[IPv4Address]:
        """A container's name, alias or short ID, or ``name.network`` on one of the
        networks the container is on."""
        found = self._lookup(owner, name)
        if found or "." not in name:
            return found
        base, network = name.rsplit(".", 1)
        if not any(r.name.casefold() == network.casefold() for r in self._networks_of(owner)):
            return []
        return self._lookup(owner, base)

    def sync(self, container: Container, pid: int, records: Sequence[NetworkRecord],
             resolv_path: Path) -> None:
        """Serve ``container`` (its init ``pid``) when one of ``records`` (the networks it
        is on now) is a user network, and stop serving it otherwise."""
        user = [r for r in records if not r.predefined]
        if not user:
            self.stop(container.id)
            return
        from cove.runtime.network.embedded_dns import container_dns, parse_resolv_conf

        host = container.host_config
        try:
            with open(self._host_resolv_path) as f:
                host_text = f.read()
        except OSError:
            host_text = ""
        try:
            settings = container_dns(parse_resolv_conf(host_text), host.get("Dns") or (),
                                     host.get("DnsSearch") or (), host.get("DnsOptions") or ())
        except ValueError as exc:
            raise errors.InvalidParameter(str(exc)) from exc
        with open(resolv_path, "w") as f:  # in place: the container has it mounted
            f.write(settings.resolv_conf)
        self._dns().serve(container.id, f"/proc/{pid}/ns/net", settings.upstreams,
                  search=settings.search, ndots_set=settings.ndots_set,
                  forward=not all(r.internal for r in user))

    def stop(self, owner: str) -> None:
        with self._lock:
            server = self._server
        if server is not None:
            server.stop(owner)

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.close()
