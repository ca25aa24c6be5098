"""The IPv6 side of a published port: a small userland proxy to the container's IPv4
address.

dockerd 20.10 publishes ``-p 8080:80`` (no host address) on both ``0.0.0.0`` and ``::``,
and ``docker port`` lists both. Cove serves the IPv4 side with DNAT alone; nftables
cannot translate an IPv6 connection to a container's IPv4 address, so the IPv6 side
(``[::1]:8080``, which ``localhost`` names first on most hosts: Node's fetch, for one,
tries nothing else) is relayed here, as docker-proxy relays every byte of both.

One thread serves every proxied port with ``selectors``: for TCP, each accepted client is
paired with a connection to the container, and bytes are copied both ways through
bounded buffers (a side whose buffer is full is not read until it drains, so a slow
reader holds back its writer instead of filling coved's memory); a half-close is passed
on. For UDP, each client address gets a socket connected to the container, whose
answers go back to that client, and which is closed after ``UDP_IDLE`` seconds without
traffic (at most ``UDP_FLOWS`` at once: the oldest goes first).
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

log = logging.getLogger(__name__)
BUFFER = 256 * 1024
UDP_IDLE = 30.0
UDP_FLOWS = 1024
DATAGRAM = 65535

Handler = Callable[[int], None]  # called with the selector's ready mask


@dataclass
class _Stream:
    """One direction's buffer of a TCP pair: bytes read from ``source`` not yet written to
    ``sink``."""

    source: socket.socket
    sink: socket.socket
    pending: bytearray = field(default_factory=bytearray)
    eof: bool = False  # source ended; once drained, the sink's write side is shut


class _Pair:
    """A client and its connection to the container."""

    def __init__(self, proxy: UserlandProxy, client: socket.socket, upstream: socket.socket,
                 on_close: Callable[[_Pair], None]) -> None:
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.on_close = on_close
        self.connected = False
        self.closed = False
        self.up = _Stream(client, upstream)  # client -> container
        self.down = _Stream(upstream, client)  # container -> client

    def interest(self, sock: socket.socket) -> int:
        """What to wait for on ``sock`` now."""
        if not self.connected:
            return selectors.EVENT_WRITE if sock is self.upstream else 0
        reading, writing = (self.up, self.down) if sock is self.client else (self.down, self.up)
        mask = 0
        if not reading.eof and len(reading.pending) < BUFFER:
            mask |= selectors.EVENT_READ
        if writing.pending:
            mask |= selectors.EVENT_WRITE
        return mask

    def ready(self, sock: socket.socket, mask: int) -> None:
        try:
            if not self.connected:
                failure = self.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if failure:
                    raise OSError(failure, "connect to the container failed")
                self.connected = True
            else:
                reading, writing = ((self.up, self.down) if sock is self.client
                                    else (self.down, self.up))
                if mask & selectors.EVENT_READ:
                    self._read(reading)
                if mask & selectors.EVENT_WRITE:
                    self._write(writing)
            if self.up.eof and self.down.eof and not (self.up.pending or self.down.pending):
                self.close()
                return
        except OSError:
            self.close()
            return
        for each in (self.client, self.upstream):
            self.proxy.watch(each, self.interest(each), self.ready)

    @staticmethod
    def _read(stream: _Stream) -> None:
        try:
            data = stream.source.recv(BUFFER - len(stream.pending))
        except BlockingIOError:
            return
        if data:
            stream.pending += data
        else:
            stream.eof = True
            if not stream.pending:
                stream.sink.shutdown(socket.SHUT_WR)

    @staticmethod
    def _write(stream: _Stream) -> None:
        try:
            sent = stream.sink.send(stream.pending)
        except BlockingIOError:
            return
        del stream.pending[:sent]
        if stream.eof and not stream.pending:
            stream.sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for each in (self.client, self.upstream):
            self.proxy.forget(each)
            each.close()
        self.on_close(self)


class _UdpFlow:
    __slots__ = ("sock", "client", "last")

    def __init__(self, sock: socket.socket, client: tuple[object, ...]) -> None:
        self.sock, self.client, self.last = sock, client, time.monotonic()


class _Published:
    """One proxied port: its listening socket and, for UDP, its flows by client."""

    def __init__(self, proto: str, listener: socket.socket, target: tuple[str, int]) -> None:
        self.proto, self.listener, self.target = proto, listener, target
        self.flows: dict[tuple[object, ...], _UdpFlow] = {}
        self.pairs: set[_Pair] = set()


class UserlandProxy:
    """Every IPv6 port Cove proxies, served by one thread started on first use."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._ports: dict[tuple[str, str, int], _Published] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wake)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._calls: list[Callable[[], None]] = []

    # -- called from any thread -------------------------------------------------------

    def add(self, proto: str, address: IPv6Address, port: int, target: IPv4Address,
            target_port: int) -> None:
        """Listen on ``[address]:port`` and relay to ``target:target_port``; raises the
        bind's OSError (EADDRINUSE for a port another program holds)."""
        self.adopt(proto, bind_v6(proto, address, port), target, target_port)

    def adopt(self, proto: str, listener: socket.socket, target: IPv4Address,
              target_port: int) -> None:
        """Relay what comes to ``listener`` (bound, IPv6, listening for TCP; the proxy
        owns it from now on) to ``target:target_port``."""
        listener.setblocking(False)
        address, port = listener.getsockname()[:2]
        published = _Published(proto, listener, (str(target), target_port))
        with self._lock:
            self._ports[(proto, str(IPv6Address(address)), port)] = published
        self._call(lambda: self._open(published))

    def remove(self, proto: str, address: IPv6Address, port: int) -> None:
        """Stop proxying the port: its listener, its clients' connections and flows are
        closed when this returns (the port is free again)."""
        with self._lock:
            published = self._ports.pop((proto, str(address), port), None)
        if published is None:
            return
        done = threading.Event()

        def shut() -> None:
            self._shut(published)
            done.set()

        self._call(shut)
        if not done.wait(5):
            log.warning("the userland proxy did not close [%s]:%d in 5 s", address, port)

    def close(self) -> None:
        """Close every listener and connection; once (later calls do nothing)."""
        with self._lock:  # the shutdowns are queued with the stop, so the loop runs them
            if self._stopping:
                return
            published = list(self._ports.values())
            self._ports.clear()
            self._calls.extend(_shutter(self, each) for each in published)
            thread, self._stopping = self._thread, True
        if thread is not None:
            self._wake()
            thread.join(5)
        else:
            for each in published:
                each.listener.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _call(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the proxy's thread (which owns every socket after ``add``)."""
        with self._lock:
            self._calls.append(work)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._loop, name="userland-proxy",
                                                daemon=True)
                self._thread.start()
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:  # already woken
            pass

    # -- the proxy's thread -----------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._lock:
                calls, self._calls = self._calls, []
                stopping = self._stopping
            for work in calls:
                work()
            if stopping:
                return
            for key, mask in self._selector.select(timeout=UDP_IDLE / 3):
                handler: Handler = key.data
                try:
                    handler(mask)
                except Exception:  # noqa: BLE001 - one bad connection must not stop the rest
                    log.exception("userland proxy")
            self._expire_flows()

    def _drain_wake(self, _mask: int) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def watch(self, sock: socket.socket, mask: int,
              handler: Callable[[socket.socket, int], None]) -> None:
        """(Re)register ``sock`` for ``mask``; 0 unregisters it while keeping it open."""
        try:
            if mask == 0:
                self._selector.unregister(sock)
            else:
                self._selector.modify(sock, mask, lambda ready: handler(sock, ready))
        except KeyError:
            if mask:
                self._selector.register(sock, mask, lambda ready: handler(sock, ready))
        except ValueError:  # already closed
            pass

    def forget(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _open(self, published: _Published) -> None:
        if published.proto == "tcp":
            self._selector.register(published.listener, selectors.EVENT_READ,
                                    lambda _mask: self._accept(published))
        else:
            self._selector.register(published.listener, selectors.EVENT_READ,
                                    lambda _mask: self._datagram(published))

    def _shut(self, published: _Published) -> None:
        self.forget(published.listener)
        published.listener.close()
        for pair in list(published.pairs):
            pair.close()
        for flow in published.flows.values():
            self.forget(flow.sock)
            flow.sock.close()
        published.flows.clear()

    def _accept(self, published: _Published) -> None:
        try:
            client, _ = published.listener.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        for each in (client, upstream):
            each.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = upstream.connect_ex(published.target)
        if code not in (0, errno.EINPROGRESS):
            client.close()
            upstream.close()
            return
        pair = _Pair(self, client, upstream, published.pairs.discard)
        published.pairs.add(pair)
        self.watch(upstream, selectors.EVENT_WRITE, pair.ready)

    def _datagram(self, published: _Published) -> None:
        try:
            data, client = published.listener.recvfrom(DATAGRAM)
        except BlockingIOError:
            return
        flow = published.flows.get(client)
        if flow is None:
            if len(published.flows) >= UDP_FLOWS:
                oldest = min(published.flows.values(), key=lambda f: f.last)
                self._drop_flow(published, oldest)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(published.target)
            flow = published.flows[client] = _UdpFlow(sock, client)
            self._selector.register(sock, selectors.EVENT_READ,
                                    lambda _mask, f=flow: self._answer(published, f))
        flow.last = time.monotonic()
        try:
            flow.sock.send(data)
        except OSError:  # ECONNREFUSED from an earlier datagram: UDP has no session
            pass

    def _answer(self, published: _Published, flow: _UdpFlow) -> None:
        try:
            data = flow.sock.recv(DATAGRAM)
        except OSError:
            return
        flow.last = time.monotonic()
        try:
            published.listener.sendto(data, flow.client)
        except OSError:
            pass

    def _drop_flow(self, published: _Published, flow: _UdpFlow) -> None:
        published.flows.pop(flow.client, None)
        self.forget(flow.sock)
        flow.sock.close()

    def _expire_flows(self) -> None:
        now = time.monotonic()
        with self._lock:
            ports = list(self._ports.values())
        for published in ports:
            for flow in [f for f in published.flows.values() if now - f.last > UDP_IDLE]:
                self._drop_flow(published, flow)


def _shutter(proxy: UserlandProxy, published: _Published) -> Callable[[], None]:
    return lambda: proxy._shut(published)


def bind_v6(proto: str, address: IPv6Address, port: int) -> socket.socket:
    """A non-blocking socket bound to ``[address]:port`` (listening, for TCP), IPv6 only
    (the IPv4 side of the same port is DNAT's, held by the port allocator)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET6, kind)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if proto == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        sock.bind((str(address), port))
        if proto == "tcp":  # at once: a client may connect before the proxy's thread runs
            sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock
