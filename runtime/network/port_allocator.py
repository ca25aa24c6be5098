"""Host ports for published bindings: which are held, and by whom.

Each port Cove publishes is also held by a bound socket (not listening), as podman's
conmon holds them: the kernel then refuses the port to any other program, and a port
some other program already holds is found at once, before any rule is written. A held
port never answers itself: DNAT takes its packets first.

Random ports come from the kernel's ephemeral range (``ip_local_port_range``; dockerd's
fallback 49153-65535 when it can't be read), one after another from where the last one
was taken, as dockerd's allocator does. The errors are dockerd 20.10's, word for word
(read from it in the network lab), because scripts match them:
``Bind for 0.0.0.0:8080 failed: port is already allocated`` when Cove holds the port on
the same address; ``Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind:
address already in use`` when another program holds it, or Cove holds it on an
overlapping address (dockerd's proxy fails there; Cove has no proxy but keeps the words);
``all ports are allocated`` when a range has no free port left. ``endpoint_error`` adds
the ``driver failed programming external connectivity on endpoint`` prefix.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cove.runtime import errors
from cove.runtime.network.ports import (
    ANY_ADDRESS6,
    ContainerPort,
    HostAddress,
    HostPorts,
    PortRequest,
    Publication,
)

PORT_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
FALLBACK_RANGE = (49153, 65535)
ALL_ALLOCATED = "all ports are allocated"
_SOCKET_TYPES = {
    "tcp": (socket.SOCK_STREAM, 0),
    "udp": (socket.SOCK_DGRAM, 0),
    "sctp": (socket.SOCK_STREAM, socket.IPPROTO_SCTP),
}


def ephemeral_range(path: str = PORT_RANGE_FILE) -> tuple[int, int]:
    try:
        with open(path) as f:
            first, last = (int(part) for part in f.read().split())
    except (OSError, ValueError):
        return FALLBACK_RANGE
    return (first, last) if 0 < first <= last <= 65535 else FALLBACK_RANGE


class PortHeldElsewhere(OSError):
    """Another program holds the port (the bind failed)."""


def bind_port(proto: str, address: HostAddress, port: int) -> socket.socket:
    """A socket bound to the port, holding it; ``PortHeldElsewhere`` when it is taken.
    An IPv6 one is IPv6 only and, for TCP, listening: it is the userland proxy's
    listener (the IPv4 side is DNAT's, and its socket never listens)."""
    kind, protocol = _SOCKET_TYPES[proto]
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, kind | socket.SOCK_CLOEXEC, protocol)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((str(address), port))
        if family == socket.AF_INET6 and kind == socket.SOCK_STREAM:
            sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortHeldElsewhere(exc.errno, exc.strerror) from exc
        raise
    return sock


Binder = Callable[[str, HostAddress, int], socket.socket]
NO_IPV6 = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL)  # a host (or kernel) without IPv6


@dataclass
class _Held:
    owner: str
    publication: Publication
    sock: socket.socket


class PortAllocator:
    """The host ports of every published binding, each held by a socket; thread-safe."""

    def __init__(
        self, port_range: tuple[int, int] | None = None, binder: Binder = bind_port
    ) -> None:
        self.first, self.last = port_range or ephemeral_range()
        self._binder = binder
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._next: dict[str, int] = {}

    def allocate(self, owner: str, requests: Sequence[PortRequest]) -> list[Publication]:
        """Hold a host port for each request of ``owner``; all or nothing (a failure
        releases what this call took, and says which port failed in dockerd's words)."""
        taken: list[_Held] = []
        with self._lock:
            try:
                for request in requests:
                    for held in self._take(owner, request):
                        taken.append(held)
                        self._held.append(held)
            except BaseException:
                for held in taken:
                    self._held.remove(held)
                    held.sock.close()
                raise
        return [held.publication for held in taken]

    def restore(self, owner: str, publications: Sequence[Publication]) -> None:
        """Hold again what a re-adopted container published (after a daemon restart)."""
        self.allocate(owner, [_exact(p) for p in publications])

    def release(self, owner: str) -> list[Publication]:
        with self._lock:
            mine = [held for held in self._held if held.owner == owner]
            for held in mine:
                self._held.remove(held)
                held.sock.close()
        return [held.publication for held in mine]

    def publications(self) -> dict[str, list[Publication]]:
        """Every owner's published ports: the one list a VM forwarder follows."""
        with self._lock:
            found: dict[str, list[Publication]] = {}
            for held in self._held:
                found.setdefault(held.owner, []).append(held.publication)
            return found

    def close(self) -> None:
        with self._lock:
            for held in self._held:
                held.sock.close()
            self._held.clear()

    def listener(self, owner: str, publication: Publication) -> socket.socket:
        """The socket holding ``owner``'s ``publication`` (for an IPv6 one, the proxy's
        listener)."""
        with self._lock:
            for held in self._held:
                if held.owner == owner and held.publication == publication:
                    return held.sock
        raise KeyError(publication)

    def _take(self, owner: str, request: PortRequest) -> list[_Held]:
        if request.host.random:
            return self._take_random(owner, request)
        last_error: errors.EngineError | None = None
        for port in range(request.host.first, request.host.last + 1):
            try:
                return self._take_port(owner, request, port)
            except errors.EngineError as exc:
                last_error = exc
        assert last_error is not None
        if request.host.first != request.host.last:  # dockerd: the whole range is busy
            raise errors.SystemError_(ALL_ALLOCATED) from last_error
        raise last_error

    def _take_random(self, owner: str, request: PortRequest) -> list[_Held]:
        proto = request.container.proto
        start = self._next.get(proto, self.first)
        count = self.last - self.first + 1
        for step in range(count):
            port = self.first + (start - self.first + step) % count
            try:
                held = self._take_port(owner, request, port)
            except errors.EngineError:
                continue
            self._next[proto] = port + 1 if port < self.last else self.first
            return held
        raise errors.SystemError_(ALL_ALLOCATED)

    def _take_port(self, owner: str, request: PortRequest, port: int) -> list[_Held]:
        """The port on the request's address, and on ``::`` too for a dual one (skipped
        where the host has no IPv6, as dockerd skips it); both or neither."""
        first = self._take_one(owner, request, request.host.address, port)
        if not request.host.dual:
            return [first]
        try:
            return [first, self._take_one(owner, request, ANY_ADDRESS6, port)]
        except _NoIpv6:
            return [first]
        except BaseException:
            first.sock.close()
            raise

    def _take_one(self, owner: str, request: PortRequest, address: HostAddress,
                  port: int) -> _Held:
        proto = request.container.proto
        for held in self._held:
            p = held.publication
            if p.proto != proto or p.host_port != port or \
                    p.host_address.version != address.version:
                continue
            if p.host_address == address:
                raise errors.SystemError_(
                    f"Bind for {_host_port(address, port)} failed: port is already allocated"
                )
            if p.host_address.is_unspecified or address.is_unspecified:
                raise errors.SystemError_(_in_use(proto, address, port))
        try:
            sock = self._binder(proto, address, port)
        except PortHeldElsewhere:
            raise errors.SystemError_(_in_use(proto, address, port)) from None
        except OSError as exc:
            if address.version == 6 and exc.errno in NO_IPV6 and request.host.dual:
                raise _NoIpv6() from exc
            raise errors.SystemError_(
                f"listen {proto} {_host_port(address, port)}: {exc.strerror}") from exc
        publication = Publication(proto, address, port, request.container.port)
        return _Held(owner, publication, sock)


class _NoIpv6(Exception):
    """The host cannot bind IPv6: a dual binding is published on IPv4 only."""


def _host_port(address: HostAddress, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def _in_use(proto: str, address: HostAddress, port: int) -> str:
    return (
        f"Error starting userland proxy: listen {proto}{address.version} "
        f"{_host_port(address, port)}: bind: address already in use"
    )


def endpoint_error(
    endpoint: str, endpoint_id: str, cause: errors.EngineError
) -> errors.SystemError_:
    """``cause`` as ``docker run`` shows it: named after the container's endpoint."""
    return errors.SystemError_(
        f"driver failed programming external connectivity on "
        f"endpoint {endpoint} ({endpoint_id}): {cause.message}"
    )


def _exact(publication: Publication) -> PortRequest:
    return PortRequest(
        ContainerPort(publication.container_port, publication.proto),
        HostPorts(publication.host_address, publication.host_port, publication.host_port),
    )
