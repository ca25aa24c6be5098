"""An SSH server on 127.0.0.1 standing in for the guest's, for testing the host side's SSH
and forwarding logic without a VM: one host key, one authorized client key, and
``direct-tcpip`` channels connected to the loopback ports the test names."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from pathlib import Path

import paramiko

from cove.common.relay import pump
from cove.vm import keys


class _Guest(paramiko.ServerInterface):
    def __init__(self, authorized: paramiko.PKey, ports: set[int]) -> None:
        self.authorized = authorized
        self.ports = ports
        self.targets: dict[int, socket.socket] = {}  # channel id -> its connected target

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "root" and key.asbytes() == self.authorized.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:
        if destination[0] != "127.0.0.1" or destination[1] not in self.ports:
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        try:  # as sshd and dropbear do: connect first, refuse the channel if that fails
            self.targets[chanid] = socket.create_connection(destination, timeout=5)
        except OSError:
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        return paramiko.OPEN_SUCCEEDED


class FakeGuestSSH:
    """``start()`` listens; each accepted connection is a paramiko server transport whose
    direct-tcpip channels are bridged to the real loopback port asked for."""

    def __init__(self, tmp: Path, ports: set[int]) -> None:
        self.client_key_path = tmp / "id_ed25519"
        keys.write(keys.generate("test-client"), self.client_key_path)
        host_pair = keys.generate("test-host")
        keys.write(host_pair, tmp / "host_ed25519")
        self.host_key_line = host_pair.public_line
        self.host_key = paramiko.Ed25519Key.from_private_key_file(str(tmp / "host_ed25519"))
        self.client_key = paramiko.Ed25519Key.from_private_key_file(str(self.client_key_path))
        self.ports = ports
        self.transports: list[paramiko.Transport] = []
        self.guests: list[_Guest] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stopped = False

    def start(self) -> FakeGuestSSH:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            self.transports.append(transport)
            guest = _Guest(self.client_key, self.ports)
            self.guests.append(guest)
            try:
                transport.start_server(server=guest)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()  # a client that left during the handshake (probes do)
                continue
            threading.Thread(target=self._channels, args=(transport, guest), daemon=True).start()

    def _channels(self, transport: paramiko.Transport, guest: _Guest) -> None:
        while transport.is_active():
            channel = transport.accept(timeout=0.5)
            if channel is None:
                continue
            target = guest.targets.pop(channel.get_id(), None)
            if target is None:  # dropped meanwhile
                channel.close()
                continue
            target.settimeout(None)
            threading.Thread(target=pump, args=(target, channel), daemon=True).start()

    def drop_connections(self) -> None:
        """What a guest reboot or a network blip does to the host's tunnel."""
        for transport in self.transports:
            transport.close()
        self.transports.clear()
        for guest in self.guests:  # channels opened but never accepted before the drop
            for target in guest.targets.values():
                target.close()
            guest.targets.clear()

    def stop(self) -> None:
        self._stopped = True
        self.drop_connections()
        with suppress(OSError):
            self.listener.close()

