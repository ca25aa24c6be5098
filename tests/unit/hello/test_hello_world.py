"""The offline hello-world image: the hand-made ELF runs and the archive is deterministic; that
dockerd loads it is tests/integration/test_reference_images.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from cove.runtime.images.hello import (
    HELLO_MESSAGE,
    build_hello_world_archive,
    hello_world_image_id,
)
from cove.runtime.images.hello.elf import build_elf
from tests.support.images import tar_members, tar_read


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="runs the amd64 binary")
def test_elf_prints_the_message_and_exits_zero(tmp_path: Path) -> None:
    binary = tmp_path / "hello"
    binary.write_bytes(build_elf(HELLO_MESSAGE))
    binary.chmod(0o755)
    result = subprocess.run([str(binary)], capture_output=True, timeout=10)
    assert result.returncode == 0
    assert result.stdout == HELLO_MESSAGE
    assert b"Hello from Cove!" in result.stdout
    assert result.stderr == b""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="runs the amd64 binary")
def test_elf_exits_nonzero_when_stdout_is_closed(tmp_path: Path) -> None:
    binary = tmp_path / "hello"
    binary.write_bytes(build_elf(b"x" * 100))
    binary.chmod(0o755)
    result = subprocess.run([str(binary)], stdout=subprocess.DEVNULL, timeout=10)
    assert result.returncode == 0
    closed = subprocess.run(f"exec {binary} >&-", shell=True, timeout=10)
    assert closed.returncode == 1


def test_arm64_elf_header_names_aarch64_and_entry_inside_the_file() -> None:
    elf = build_elf(HELLO_MESSAGE, "arm64")
    assert elf[:4] == b"\x7fELF" and elf[4] == 2
    assert int.from_bytes(elf[18:20], "little") == 183
    entry = int.from_bytes(elf[24:32], "little")
    assert 0x400000 < entry < 0x400000 + len(elf)
    assert elf.endswith(HELLO_MESSAGE)
    with pytest.raises(ValueError):
        build_elf(b"x", "mips")


def test_archive_is_a_docker_save_archive_of_one_layer_with_hello() -> None:
    archive = build_hello_world_archive()
    names = tar_members(archive)
    manifest = json.loads(tar_read(archive, "manifest.json"))
    assert len(manifest) == 1 and manifest[0]["RepoTags"] == ["hello-world:latest"]
    config = json.loads(tar_read(archive, manifest[0]["Config"]))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"]["Cmd"] == ["/hello"]
    assert len(config["history"]) == 1
    (layer_path,) = manifest[0]["Layers"]
    assert layer_path in names
    layer = tar_read(archive, layer_path)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    hello = tar_members(layer)["hello"]
    assert hello.isfile() and hello.mode == 0o755 and hello.uid == 0
    assert tar_read(layer, "hello") == build_elf(HELLO_MESSAGE)
    assert manifest[0]["Config"] == hello_world_image_id().removeprefix("sha256:") + ".json"


def test_archive_is_byte_for_byte_deterministic() -> None:
    assert build_hello_world_archive() == build_hello_world_archive()
    assert hello_world_image_id() == hello_world_image_id()
    assert hello_world_image_id("arm64") != hello_world_image_id()
