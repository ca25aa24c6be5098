"""Owns the connection to the daemon, so nothing else touches sockets.

A host string is ``unix:///path`` or ``tcp://host:port`` (``http://`` accepted).
The host is chosen as docker does: the ``-H`` flag, then ``COVE_HOST``, then
``DOCKER_HOST``, then the default socket.
"""

from __future__ import annotations

import http.client
import os
import socket
from dataclasses import dataclass

from .errors import DaemonUnreachable

DEFAULT_HOST = "unix:///run/cove.sock"


@dataclass(frozen=True)
class Host:
    """A parsed daemon address; ``url`` keeps the user's spelling for messages."""

    url: str
    scheme: str  # "unix" or "tcp"
    path: str = ""
    address: str = ""
    port: int = 0


def resolve_host(flag: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The host URL to use: flag, then COVE_HOST, then DOCKER_HOST, then the default."""
    env = os.environ if environ is None else environ
    for candidate in (flag, env.get("COVE_HOST"), env.get("DOCKER_HOST")):
        if candidate:
            return candidate
    return DEFAULT_HOST


def parse_host(url: str) -> Host:
    """Split a host URL; raises ValueError with docker's wording when malformed."""
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not path:
            raise ValueError(f"invalid host: {url}")
        return Host(url=url, scheme="unix", path=path)
    if url.startswith("/"):
        return Host(url="unix://" + url, scheme="unix", path=url)
    for prefix in ("tcp://", "http://"):
        if url.startswith(prefix):
            rest = url[len(prefix):].rstrip("/")
            address, _, port = rest.rpartition(":")
            if not address:
                address, port = rest, "2375"
            try:
                return Host(url=url, scheme="tcp", address=address.strip("[]"), port=int(port))
            except ValueError as exc:
                raise ValueError(f"invalid host: {url}") from exc
    raise ValueError(f"unable to parse docker host `{url}`")


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over an AF_UNIX stream socket."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def open_connection(host: Host, timeout: float | None = None) -> http.client.HTTPConnection:
    """A fresh, not-yet-connected HTTP connection to ``host``."""
    if host.scheme == "unix":
        return UnixHTTPConnection(host.path, timeout=timeout)
    return http.client.HTTPConnection(host.address, host.port, timeout=timeout)


def open_socket(host: Host) -> socket.socket:
    """A connected raw socket, for hijacked (upgraded) streams."""
    try:
        if host.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(host.path)
            except OSError:
                sock.close()
                raise
            return sock
        return socket.create_connection((host.address, host.port))
    except OSError as exc:
        raise unreachable(host, exc) from exc


def unreachable(host: Host, exc: OSError) -> DaemonUnreachable:
    """Docker's message for a daemon that does not answer."""
    if isinstance(exc, PermissionError):
        return DaemonUnreachable(
            f"permission denied while trying to connect to the Cove daemon socket at {host.url}"
        )
    return DaemonUnreachable(
        f"Cannot connect to the Cove daemon at {host.url}. Is the cove daemon running?"
    )
