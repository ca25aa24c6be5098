"""A fake upstream DNS server on 127.0.0.1 (UDP and TCP, one port the kernel picks), for
testing the embedded resolver's forwarding: it answers A queries from a table, says
NXDOMAIN otherwise, remembers what it was asked (name and transport), and can be told to
truncate every UDP reply or to say nothing."""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from types import TracebackType

from dnslib import QTYPE, RCODE, RR, A, DNSRecord


class FakeUpstream:
    """``netns`` (a namespace's path) puts the server's sockets in that namespace, on
    ``port`` (53 for one a container names with ``--dns``)."""

    def __init__(self, names: dict[str, str] | None = None, address: str = "127.0.0.1",
                 netns: str | None = None, port: int = 0):
        from cove.runtime.linux.netns import in_netns

        self.names = {k.lower().rstrip("."): v for k, v in (names or {}).items()}
        self.truncate_udp = False
        self.silent = False
        self.asked: list[tuple[str, str]] = []
        self._udp, self._tcp = in_netns(netns, lambda: self._bind(address, port))
        port = self._udp.getsockname()[1]
        self.server = f"{address}:{port}"
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _bind(address: str, port: int) -> tuple[socket.socket, socket.socket]:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((address, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, udp.getsockname()[1]))
        tcp.listen(16)
        return udp, tcp

    def _answer(self, data: bytes, transport: str) -> bytes | None:
        request = DNSRecord.parse(data)
        name = str(request.q.qname)
        self.asked.append((name.lower().rstrip("."), transport))
        if self.silent:
            return None
        reply = request.reply(ra=1, aa=0)
        if transport == "udp" and self.truncate_udp:
            reply.header.tc = 1
        elif request.q.qtype == QTYPE.A and name.lower().rstrip(".") in self.names:
            reply.add_answer(RR(name, QTYPE.A, rdata=A(self.names[name.lower().rstrip(".")])))
        elif request.q.qtype == QTYPE.A:
            reply.header.rcode = RCODE.NXDOMAIN
        packed: bytes = reply.pack()
        return packed

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._udp, selectors.EVENT_READ, "udp")
            sel.register(self._tcp, selectors.EVENT_READ, "tcp")
            sel.register(self._stop_r, selectors.EVENT_READ, "stop")
            while True:
                for key, _ in sel.select():
                    if key.data == "stop":
                        return
                    if key.data == "udp":
                        data, peer = self._udp.recvfrom(65535)
                        reply = self._answer(data, "udp")
                        if reply is not None:
                            self._udp.sendto(reply, peer)
                    else:
                        conn, _ = self._tcp.accept()
                        with conn:
                            conn.settimeout(5)
                            (length,) = struct.unpack("!H", _read(conn, 2))
                            reply = self._answer(_read(conn, length), "tcp")
                            if reply is not None:
                                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self._stop_w.send(b"x")
        self._thread.join(timeout=10)
        for sock in (self._udp, self._tcp, self._stop_r, self._stop_w):
            sock.close()

    def __enter__(self) -> FakeUpstream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def dead_server() -> str:
    """A 127.0.0.1 port nothing answers on (bound and closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
