"""Offline users: a busybox image from the host's busybox-static, and a pull that says
plainly why it failed when the registry's name does not resolve."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.clis import CLI


def test_the_documented_busybox_image_loads_and_runs(cove: CLI, tmp_path) -> None:
    archive = tmp_path / "busybox.tar"
    made = subprocess.run([sys.executable, "-m", "cove.runtime.images.busybox", str(archive)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    loaded = cove("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded image: busybox:latest" in loaded.stdout
    ran = cove("run", "--rm", "busybox", "echo", "offline")
    assert (ran.returncode, ran.stdout) == (0, "offline\n")


def test_the_busybox_module_writes_the_archive_to_stdout(tmp_path) -> None:
    made = subprocess.run([sys.executable, "-m", "cove.runtime.images.busybox"],
                          capture_output=True, timeout=60)
    assert made.returncode == 0
    assert made.stdout == subprocess.run(
        [sys.executable, "-m", "cove.runtime.images.busybox"], capture_output=True,
        timeout=60).stdout  # the same bytes every time: a stable image ID
    assert b"manifest.json" in made.stdout


@pytest.mark.parametrize("daemon", ["coved", "dockerd"])
def test_a_pull_from_a_name_that_does_not_resolve_says_so(daemon: str, docker: CLI,
                                                           reference_dockerd) -> None:
    run = docker if daemon == "coved" else CLI(docker.argv0, reference_dockerd)
    result = run("pull", "cove-offline-test.invalid/app:1")
    assert result.returncode == 1
    assert "lookup cove-offline-test.invalid" in result.stderr
    assert "no such host" in result.stderr
    if daemon == "coved":
        assert "has no network or no DNS" in result.stderr
