"""SSH keys with no trust on first use.

``cove machine init`` makes both key pairs on the host: the client key the host logs in
with, and the guest's host key. The guest receives them on its seed disk, so the host knows
the host key before it first connects and refuses any other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KeyPair:
    private_openssh: bytes  # "-----BEGIN OPENSSH PRIVATE KEY-----"
    public_line: str  # "ssh-ed25519 AAAA... comment"


def generate(comment: str) -> KeyPair:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH)
    return KeyPair(private, f"{public.decode()} {comment}")


def write(pair: KeyPair, private_path: Path) -> None:
    """The private key 0600 (ssh refuses others), the public one beside it as ``.pub``."""
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(private_path, pair.private_openssh, 0o600)
    _write_new(private_path.with_name(private_path.name + ".pub"),
               (pair.public_line + "\n").encode(), 0o644)


def read_public_line(private_path: Path) -> str:
    return private_path.with_name(private_path.name + ".pub").read_text().strip()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
