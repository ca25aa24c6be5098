"""What every container's root holds whatever its image has, as dockerd's init layer gives it:
/.dockerenv, /etc/mtab, and the /dev entries an export lists; none of it is a change."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid

import pytest

from tests.support.clis import CLI


@pytest.fixture(params=["coved", "dockerd"])
def engine(request, docker: CLI) -> CLI:
    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


def test_dockerenv_and_mtab_are_there(engine: CLI) -> None:
    result = engine("run", "--rm", "busybox", "sh", "-c",
                    "test -f /.dockerenv && readlink /etc/mtab && grep -c ' / ' /etc/mtab")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "/proc/mounts"


def test_an_export_lists_the_init_layer_and_diff_does_not(engine: CLI) -> None:
    name = f"cove-init-{uuid.uuid4().hex[:10]}"
    assert engine("run", "--name", name, "busybox", "true").returncode == 0
    try:
        exported = subprocess.run([*engine.argv0, "export", name], env=engine.env,
                                  capture_output=True, timeout=120)
        assert exported.returncode == 0, exported.stderr
        with tarfile.open(fileobj=io.BytesIO(exported.stdout)) as tar:
            names = {member.name.rstrip("/") for member in tar.getmembers()}
        assert {".dockerenv", "etc/mtab", "dev/console", "dev/pts", "dev/shm"} <= names
        diff = engine("diff", name)
        assert (diff.returncode, diff.stdout) == (0, "")
    finally:
        engine("rm", "-f", name)
