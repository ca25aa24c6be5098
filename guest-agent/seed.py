"""The seed: what the host hands the guest at boot, as a plain tar archive on a raw disk.

The host attaches the archive as ``-drive file=seed.tar,format=raw,if=none,readonly=on,id=seed
-device virtio-blk-pci,drive=seed,serial=cove-seed``. A tar file needs no tool to make on
macOS or Windows (Python's tarfile writes it), and no filesystem driver to read. Members:

- ``authorized_keys``: the host client's public key(s), OpenSSH format (required for sshd);
- ``ssh_host_ed25519_key``: the guest's host key, OpenSSH private key format, made by the
  host at ``cove machine init`` so the host knows it before it first connects (required);
- ``hostname``: optional, one line.

Any other member is refused (reported on the console), never silently ignored.
"""

from __future__ import annotations

import os

SERIAL = "cove-seed"
MEMBERS = frozenset({"authorized_keys", "ssh_host_ed25519_key", "hostname"})
MAX_MEMBER_SIZE = 64 * 1024


class Seed:
    """The members read (by name) and those refused. (No dataclass: PID 1 starts faster without
    ``dataclasses`` and the ``inspect`` it imports, some 0.15 s under TCG.)"""

    def __init__(self, files: dict[str, bytes], refused: tuple[str, ...]) -> None:
        self.files = files
        self.refused = refused

    def text(self, name: str) -> str | None:
        data = self.files.get(name)
        return None if data is None else data.decode().strip()


def read_seed(device: str) -> Seed:
    """Reads the seed archive from the disk; the tar's end marker ends it, the padding after is ignored."""
    import tarfile  # only when there is a seed

    files: dict[str, bytes] = {}
    refused: list[str] = []
    with open(device, "rb") as disk, tarfile.open(fileobj=disk, mode="r:") as archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if name not in MEMBERS or not member.isfile() or member.size > MAX_MEMBER_SIZE:
                refused.append(member.name)
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                files[name] = extracted.read()
    return Seed(files=files, refused=tuple(refused))


def write_private(path: str, data: bytes) -> None:
    """Writes a file only root can read (dropbear refuses keys others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
