"""The seed the host writes is what the guest agent reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.guest_agent.seed import read_seed
from cove.vm.seed import write_seed


def test_the_guest_reads_what_the_host_wrote(tmp_path: Path) -> None:
    disk = tmp_path / "seed.img"
    write_seed(disk, {"authorized_keys": b"ssh-ed25519 AAAA host\n",
                      "ssh_host_ed25519_key": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
                      "hostname": b"cove\n"})
    assert disk.stat().st_size % 512 == 0
    seed = read_seed(str(disk))
    assert seed.refused == ()
    assert seed.text("hostname") == "cove"
    assert seed.files["authorized_keys"] == b"ssh-ed25519 AAAA host\n"


def test_a_member_the_guest_does_not_know_is_refused_here(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not seed members"):
        write_seed(tmp_path / "seed.img", {"cloud-init": b""})
