"""The embedded resolver: one listener pair in each served container's namespace, all
served by coved from one thread.

For each container, ``serve`` binds a UDP and a TCP socket on 127.0.0.11 inside its
network namespace (``cove.runtime.linux.netns``) and puts an nft table there that leads
127.0.0.11:53 to them (``rules.py``), as Docker does. One selector thread reads every
listener and hands each query to a small pool of workers through a bounded queue (a
query that finds it full is dropped, as a loaded server's would be; the client retries),
so a slow upstream or lookup never stalls the rest. A worker answers from the container
names (``answers.py``) or forwards upstream (``upstream.py``) and replies on its own
duplicate of the listener's socket, so ``stop`` can close the listener at once. A TCP
client holds a worker while its connection is open (4 s for its first query, 1 s for
each next one, 32 at most).

Nothing a container sends can crash coved: a packet dnslib cannot read gets FORMERR (when
it has a query's header) or nothing.

The sockets hold the container's namespace alive: ``stop`` must be called when the
container stops or leaves its last user network.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cove.runtime.linux.netns import netns_identity, sockets_in_netns
from cove.runtime.linux.nftables import apply_table, delete_table
from cove.runtime.network.embedded_dns.answers import Asker, LocalAnswers, Lookup, ReverseLookup
from cove.runtime.network.embedded_dns.queries import ClientSettings, QueryHandler
from cove.runtime.network.embedded_dns.resolv_conf import RESOLVER_ADDRESS
from cove.runtime.network.embedded_dns.rules import TABLE, redirect_table
from cove.runtime.network.embedded_dns.upstream import DEFAULT_TIMEOUT, HostResolvers, read_exactly

log = logging.getLogger(__name__)

MAX_DATAGRAM = 4096
"""A query longer than this is cut and so answered FORMERR; bounds what is queued."""
PENDING = 256
WORKERS = 16
TCP_FIRST_WAIT = 4.0
TCP_NEXT_WAIT = 1.0
TCP_QUERIES = 32
OWNER_LOCKS = 16
"""serve and stop of one owner never overlap; of different owners, mostly run at once."""


@dataclass
class _Served:
    owner: str
    identity: tuple[int, int] | None
    netns_path: str
    udp: socket.socket
    tcp: socket.socket
    settings: ClientSettings
    redirected: bool
    closed: bool = field(default=False)


_Job = tuple[_Served, socket.socket, bytes, tuple[str, int]] | tuple[_Served, socket.socket] | None


class EmbeddedDns:
    """Docker's embedded DNS server for containers on user networks; thread-safe.

    ``lookup(owner, name)`` gives the addresses of a container name, alias or short id as
    ``owner`` sees them (``name`` lower case, no trailing dot; ``name.network`` too, as
    Docker answers it); ``reverse(owner, address)`` the ``name.network`` of a container
    address, for PTR queries (forwarded upstream when not given).

    ``redirect`` (Docker's way, the default) binds ports the kernel picks and DNATs
    127.0.0.11:53 to them with an nft table in the namespace (about 1.4 ms a start, through
    libnftables in-process); without it the listeners bind 127.0.0.11:53 themselves
    (0.2 ms), and a program in the container can then no longer bind 0.0.0.0:53."""

    def __init__(
        self,
        lookup: Lookup,
        host_resolv_path: str = "/etc/resolv.conf",
        *,
        reverse: ReverseLookup | None = None,
        upstream_timeout: float = DEFAULT_TIMEOUT,
        workers: int = WORKERS,
        pending: int = PENDING,
        redirect: bool = True,
    ) -> None:
        self._queries = QueryHandler(
            LocalAnswers(lookup, reverse), HostResolvers(host_resolv_path), upstream_timeout
        )
        self._timeout = upstream_timeout
        self._max_workers = workers
        self._redirect = redirect
        self._lock = threading.Lock()
        self._owner_locks = tuple(threading.Lock() for _ in range(OWNER_LOCKS))
        self._served: dict[str, _Served] = {}
        self._jobs: queue.Queue[_Job] = queue.Queue(maxsize=pending)
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._commands: list[Callable[[], None]] = []
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._loop: threading.Thread | None = None
        self._closed = False
        self._dropped_logged = 0.0

    # -- the engine's side ---------------------------------------------------------------

    def serve(
        self,
        owner: str,
        netns_path: str,
        upstreams: list[str] | tuple[str, ...] | None = None,
        *,
        search: tuple[str, ...] = (),
        ndots_set: bool = False,
        forward: bool = True,
    ) -> None:
        """Answer ``owner``'s queries to 127.0.0.11:53 inside ``netns_path``; forward the
        rest to ``upstreams`` (``--dns``), or to the host's servers when None, or to
        nobody (SERVFAIL) when ``forward`` is false (an internal network's container).
        Serving an owner again in the same namespace only updates its settings."""
        with self._owner_lock(owner):
            self._serve(owner, netns_path, upstreams, search, ndots_set, forward)

    def _owner_lock(self, owner: str) -> threading.Lock:
        return self._owner_locks[hash(owner) % OWNER_LOCKS]

    def _serve(
        self,
        owner: str,
        netns_path: str,
        upstreams: list[str] | tuple[str, ...] | None,
        search: tuple[str, ...],
        ndots_set: bool,
        forward: bool,
    ) -> None:
        settings = ClientSettings(
            Asker(owner, tuple(search), ndots_set),
            tuple(upstreams) if upstreams is not None else None,
            forward,
        )
        identity = netns_identity(netns_path)
        with self._lock:
            if self._closed:
                raise RuntimeError("the embedded DNS server is closed")
            known = self._served.get(owner)
            if known is not None and known.identity == identity:
                known.settings = settings
                return
        if known is not None:
            self._stop(owner)
        udp, tcp = sockets_in_netns(netns_path, RESOLVER_ADDRESS, 0 if self._redirect else 53)
        served = _Served(owner, identity, netns_path, udp, tcp, settings, False)
        try:
            if self._redirect:
                table = redirect_table(udp.getsockname()[1], tcp.getsockname()[1])
                apply_table(table, netns=netns_path)
                served.redirected = True
            with self._lock:
                if self._closed or owner in self._served:
                    raise RuntimeError(f"embedded DNS for {owner} changed while starting")
                self._served[owner] = served
                self._start_loop()
        except BaseException:
            udp.close()
            tcp.close()
            raise
        self._post(lambda: self._register(served))

    def stop(self, owner: str) -> None:
        """Stop answering ``owner``: its listeners are closed when this returns, and its
        nft table removed if its namespace is still alive (a disconnect). A query already
        being answered keeps its own copy of the socket until it is done (at most the
        upstream timeout for each of three servers)."""
        with self._owner_lock(owner):
            self._stop(owner)

    def _stop(self, owner: str) -> None:
        with self._lock:
            served = self._served.pop(owner, None)
        if served is None:
            return
        self._run_on_loop(lambda: self._close_served(served))
        if served.redirected and served.identity is not None:
            if netns_identity(served.netns_path) == served.identity:
                try:
                    delete_table(TABLE, netns=served.netns_path)
                except OSError as exc:
                    log.warning("embedded DNS of %s: %s", owner, exc)

    def serving(self) -> list[str]:
        """The owners served now (for leak checks)."""
        with self._lock:
            return sorted(self._served)

    def close(self) -> None:
        """Stop serving everyone and end the threads; idempotent."""
        for owner in self.serving():
            self.stop(owner)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, workers = self._loop, list(self._workers)
        if loop is not None:
            self._post(lambda: None)
            loop.join(timeout=10)
        for _ in workers:
            self._jobs.put(None)
        for worker in workers:
            worker.join(timeout=3 * self._timeout + 10)
        with self._lock:  # served by a serve() that raced this close
            left, self._served = list(self._served.values()), {}
        for served in left:
            self._close_served(served)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the selector thread ---------------------------------------------------------------

    def _start_loop(self) -> None:
        if self._loop is None:
            self._loop = threading.Thread(target=self._run, name="cove-dns", daemon=True)
            self._loop.start()

    def _post(self, command: Callable[[], None]) -> None:
        with self._lock:
            self._commands.append(command)
        try:
            self._wake_w.send(b"x")
        except BlockingIOError:  # already a wake-up pending
            pass

    def _run_on_loop(self, command: Callable[[], None]) -> None:
        """Run ``command`` on the selector thread and wait for it (directly when there
        is no such thread)."""
        with self._lock:
            loop = self._loop
        if loop is None or not loop.is_alive() or loop is threading.current_thread():
            command()
            return
        done = threading.Event()

        def run() -> None:
            try:
                command()
            finally:
                done.set()

        self._post(run)
        if not done.wait(timeout=10):
            log.warning("embedded DNS: the selector thread did not answer")

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                try:
                    if key.data is None:
                        self._drain_wakeups()
                    else:
                        key.data()
                except Exception:  # one listener's trouble must not end everyone's DNS
                    log.exception("embedded DNS: a listener failed")
            with self._lock:
                commands, self._commands = self._commands, []
                closed = self._closed
            for command in commands:
                try:
                    command()
                except Exception:
                    log.exception("embedded DNS command failed")
            if closed:
                return

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(512):
                pass
        except BlockingIOError:
            pass

    def _register(self, served: _Served) -> None:
        if served.closed:
            return
        self._selector.register(served.udp, selectors.EVENT_READ, lambda: self._read_udp(served))
        self._selector.register(served.tcp, selectors.EVENT_READ, lambda: self._accept(served))

    def _close_served(self, served: _Served) -> None:
        if served.closed:
            return
        served.closed = True
        for sock in (served.udp, served.tcp):
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()

    def _read_udp(self, served: _Served) -> None:
        for _ in range(64):  # then let the other listeners have a turn
            try:
                data, address = served.udp.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                reply_socket = served.udp.dup()
            except OSError:  # out of fds: drop, the client retries
                return
            self._enqueue((served, reply_socket, data, address))

    def _accept(self, served: _Served) -> None:
        for _ in range(16):
            try:
                conn, _ = served.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._enqueue((served, conn))

    def _enqueue(self, job: _Job) -> None:
        assert job is not None
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            job[1].close()
            now = time.monotonic()
            if now - self._dropped_logged > 10:
                self._dropped_logged = now
                log.warning("embedded DNS: too many queries in flight, dropping some")
            return
        with self._lock:
            spawn = self._idle == 0 and len(self._workers) < self._max_workers
            if spawn:
                worker = threading.Thread(target=self._work, name="cove-dns-worker", daemon=True)
                self._workers.append(worker)
        if spawn:
            worker.start()

    # -- the workers -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            try:
                if len(job) == 4:
                    served, sock, data, address = job
                    with sock:
                        reply = self._queries.reply(served.settings, data, tcp=False)
                        if reply is not None:
                            sock.sendto(reply, address)
                else:
                    served, conn = job
                    with conn:
                        self._serve_tcp(served, conn)
            except OSError:
                pass
            except Exception:
                log.exception("embedded DNS: a query failed")

    def _serve_tcp(self, served: _Served, conn: socket.socket) -> None:
        conn.setblocking(True)
        wait = TCP_FIRST_WAIT
        for _ in range(TCP_QUERIES):
            deadline = time.monotonic() + wait
            head = read_exactly(conn, 2, deadline)
            if head is None:
                return
            data = read_exactly(conn, struct.unpack("!H", head)[0], deadline)
            if data is None:
                return
            reply = self._queries.reply(served.settings, data, tcp=True)
            if reply is None:
                return
            conn.settimeout(self._timeout)
            conn.sendall(struct.pack("!H", len(reply)) + reply)
            wait = TCP_NEXT_WAIT
