"""The offline test images and hello-world load and run in the reference dockerd (and
skopeo reads the OCI layout): the images the other tests trust are what Docker makes of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.runtime.images.hello import HELLO_MESSAGE, build_hello_world_archive, hello_world_image_id
from tests.support.dockerd import docker
from tests.support.images import busybox_archive, oci_layout_archive


@pytest.fixture
def loaded_tag(reference_dockerd: dict[str, str]) -> Iterator[str]:
    tag = f"cove-test-busybox:{uuid.uuid4().hex[:8]}"
    try:
        yield tag
    finally:
        docker("rmi", "-f", tag)


def test_real_docker_loads_the_docker_archive_and_runs_busybox(loaded_tag: str,
                                                               tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    archive.write_bytes(busybox_archive(tag=loaded_tag,
                                        extra_layers=[{"etc/greeting": b"layered\n"}]))
    loaded = docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    ran = docker("run", "--rm", loaded_tag, "echo", "hi")
    assert (ran.returncode, ran.stdout) == (0, b"hi\n"), ran.stderr
    ran = docker("run", "--rm", "-u", "user", loaded_tag, "sh", "-c",
                 "id -un; id -Gn; cat /etc/greeting")
    assert ran.stdout.split() == [b"user", b"user", b"staff", b"layered"], ran.stderr


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo validates OCI layouts")
def test_skopeo_reads_the_oci_layout(tmp_path: Path) -> None:
    archive = tmp_path / "oci.tar"
    archive.write_bytes(oci_layout_archive(cmd=["echo", "hi"]))
    result = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{archive}"],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"]["Cmd"] == ["echo", "hi"]


def test_real_docker_loads_and_runs_it(reference_dockerd: dict[str, str],
                                      tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar"
    archive.write_bytes(build_hello_world_archive())
    loaded = docker("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert b"hello-world:latest" in loaded.stdout
    inspected = docker("image", "inspect", "--format", "{{.Id}}", "hello-world:latest")
    assert inspected.stdout.decode().strip() == hello_world_image_id()
    ran = docker("run", "--rm", "hello-world")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == HELLO_MESSAGE
