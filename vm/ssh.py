"""SSH to the guest with a pinned host key: the forwarder's tunnel and ``machine ssh``.

The host key is compared before any authentication, against the key ``machine init``
made; there is no known_hosts file and no first-use trust. paramiko is imported here only,
so the CLI never pays for it.
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cove.vm.errors import EngineNotAnswering, GuestUnreachable, HostKeyMismatch

if TYPE_CHECKING:
    import paramiko

GUEST_USER = "root"
KEEPALIVE_SECONDS = 15


@dataclass(frozen=True)
class Endpoint:
    port: int  # on 127.0.0.1: the forwarded guest SSH port
    client_key: Path  # OpenSSH private key file
    host_key_line: str  # "ssh-ed25519 AAAA…": the only host key accepted
    host: str = "127.0.0.1"


class SSHTunnel:
    """A connected, authenticated transport; ``open`` makes one channel per client."""

    def __init__(self, transport: paramiko.Transport) -> None:
        self.transport = transport

    def open(self, port: int) -> paramiko.Channel:
        import paramiko

        if not self.transport.is_active():
            raise OSError("the SSH connection to the guest is closed")
        try:
            return self.transport.open_channel("direct-tcpip", ("127.0.0.1", port),
                                               ("127.0.0.1", 0), timeout=10)
        except paramiko.ChannelException as exc:  # the guest refused: the tunnel is fine
            raise EngineNotAnswering(
                "the engine in the Cove machine is not answering yet (it may be starting)"
            ) from exc
        except (paramiko.SSHException, EOFError) as exc:
            raise OSError(f"cannot open a channel to the guest's port {port}: "
                          f"{exc or 'connection closed'}") from exc

    def close(self) -> None:
        self.transport.close()


def connect(endpoint: Endpoint, timeout: float = 10) -> SSHTunnel:
    """Connect, check the host key, log in with the client key."""
    import paramiko

    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        # every API request is a small write waiting for a small answer: Nagle's algorithm
        # against the peer's delayed ACK would add ~40 ms to each
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        raise GuestUnreachable(
            f"cannot reach the guest's SSH on {endpoint.host}:{endpoint.port}: "
            f"{exc.strerror or exc}") from exc
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        _check_host_key(transport.get_remote_server_key(), endpoint)
        key = paramiko.Ed25519Key.from_private_key_file(str(endpoint.client_key))
        transport.auth_publickey(GUEST_USER, key)
    except HostKeyMismatch:
        transport.close()
        raise
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        raise GuestUnreachable(f"SSH to the guest failed: {exc}") from exc
    transport.set_keepalive(KEEPALIVE_SECONDS)
    return SSHTunnel(transport)


def _check_host_key(offered: paramiko.PKey, endpoint: Endpoint) -> None:
    kind, _, rest = endpoint.host_key_line.partition(" ")
    expected = base64.b64decode(rest.split()[0]) if rest else b""
    if offered.get_name() != kind or offered.asbytes() != expected:
        raise HostKeyMismatch(
            f"{HostKeyMismatch.MARK}: the guest on {endpoint.host}:{endpoint.port} offered a key "
            f"({offered.get_name()} {offered.get_base64()[:16]}…) other than the one made for "
            "this machine at init; refusing to connect. If something else listens on that "
            "port, stop it; if the machine's files were replaced, remove and re-create the "
            "machine (cove machine rm, then init)")


def power_off(endpoint: Endpoint, timeout: float = 10) -> None:
    """Ask the guest's init to stop the engine, unmount the data disk and power off
    (its PID 1 does all that on SIGTERM)."""
    import paramiko

    tunnel = connect(endpoint, timeout)
    try:
        channel = tunnel.transport.open_session(timeout=timeout)
        channel.exec_command("kill -TERM 1")
        channel.recv_exit_status()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise GuestUnreachable(f"cannot ask the guest to power off: {exc}") from exc
    finally:
        tunnel.close()
