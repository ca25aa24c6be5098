"""``docker cp CTR:/ -`` of a running container: the whole filesystem, with the virtual
filesystems mounted in it (proc, sysfs, devpts, mqueue, cgroup) as empty mount points, as
dockerd archives it; checked on coved and on the reference dockerd."""

from __future__ import annotations

import io
import secrets
import subprocess
import tarfile
import tempfile

import pytest

from tests.support.clis import CLI


@pytest.fixture(params=["coved", "dockerd"])
def engine(request: pytest.FixtureRequest, docker: CLI) -> CLI:
    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


def _copy_root(engine: CLI, name: str) -> tuple[subprocess.CompletedProcess[bytes], list[str]]:
    copied = subprocess.run([*engine.argv0, "cp", f"{name}:/", "-"], env=engine.env,
                            capture_output=True, timeout=120)
    names: list[str] = []
    if copied.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(copied.stdout), mode="r|") as tar:
            members = list(tar)
        names = [_relative(member.name).rstrip("/") for member in members]
        # a user (not root) could not extract a device node: dockerd's copy has none
        assert [m.name for m in members if m.ischr() or m.isblk()] == []
    return copied, names


def _children(names: list[str], directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return [name for name in names if name.startswith(prefix)]


def _relative(name: str) -> str:
    """A member's path from the root, whatever prefix the tar gives it ("/", "./", none)."""
    name = name.removeprefix("./") if name != "." else ""
    return name.lstrip("/")


def _top_level(names: list[str]) -> set[str]:
    return {top for name in names if (top := _relative(name).split("/")[0])}


def _running(engine: CLI, prefix: str) -> str:
    name = prefix + secrets.token_hex(4)
    started = engine("run", "-d", "--name", name, "busybox", "sleep", "300")
    assert started.returncode == 0, started.stderr
    return name


def test_cp_of_a_running_containers_root_is_whole_with_proc_and_sys_empty(engine: CLI) -> None:
    name = _running(engine, "cp-running-")
    try:
        made = engine("exec", name, "sh", "-c",
                      "mkdir -p /tmp/made && echo kept > /tmp/made/f")
        assert made.returncode == 0, made.stderr
        copied, names = _copy_root(engine, name)
        assert copied.returncode == 0, copied.stderr
        top = _top_level(names)
        for entry in ("bin", "etc", "tmp", "proc", "sys", "dev", ".dockerenv"):
            assert entry in top, (entry, sorted(top))
        assert "tmp/made/f" in names
        assert _children(names, "proc") == []
        assert _children(names, "sys") == []
        # devpts and mqueue are mounted under /dev: their mount points at most
        assert _children(names, "dev/pts") == []
        assert _children(names, "dev/mqueue") == []
    finally:
        engine("rm", "-f", name)


def test_cp_of_a_running_root_lists_what_dockerd_lists(docker: CLI,
                                                       reference_dockerd: dict[str, str]) -> None:
    dockerd = CLI(docker.argv0, reference_dockerd)
    tops = []
    for engine in (docker, dockerd):
        name = _running(engine, "cp-top-")
        try:
            copied, names = _copy_root(engine, name)
            assert copied.returncode == 0, copied.stderr
            tops.append(_top_level(names))
        finally:
            engine("rm", "-f", name)
    assert tops[0] == tops[1]


def test_cp_that_fails_midway_fails_for_the_client(docker: CLI) -> None:
    """A file whose reads end short of its size (a sysfs file bound in) breaks the tar after
    its header: the copy must fail, not end with exit 0 and a truncated archive. (dockerd
    logs such an error and goes on, sending a corrupt archive: not compared.)"""
    short = "/sys/kernel/mm/transparent_hugepage/enabled"
    name = "cp-short-" + secrets.token_hex(4)
    started = docker("run", "-d", "--name", name, "-v", f"{short}:/data/short:ro",
                     "busybox", "sleep", "300")
    assert started.returncode == 0, started.stderr
    try:
        for target in ("-", "out"):
            with tempfile.TemporaryDirectory() as scratch:
                copied = subprocess.run([*docker.argv0, "cp", f"{name}:/data", target],
                                        env=docker.env, capture_output=True, timeout=60,
                                        cwd=scratch)
            assert copied.returncode != 0, (target, copied.stderr)
    finally:
        docker("rm", "-f", name)
