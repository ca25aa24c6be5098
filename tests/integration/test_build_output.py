"""What a classic build prints, as dockerd prints it: the steps (the ARGs before FROM among
them), RUN's stderr in red, and the warning for build args nothing consumed."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from tests.support.clis import CLI

DOCKERFILE = """\
ARG BASE=busybox
FROM $BASE
ARG USED
RUN echo used=$USED
RUN echo to-stderr >&2
"""


@pytest.fixture(params=["coved", "dockerd"])
def engine(request, docker: CLI) -> CLI:
    env = {"DOCKER_BUILDKIT": "0"}
    if request.param == "coved":
        return CLI(docker.argv0, {**docker.env, **env})
    return CLI(docker.argv0, {**request.getfixturevalue("reference_dockerd"), **env})


def test_steps_stderr_and_unconsumed_build_args(engine: CLI, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    tag = f"cove-buildout:{uuid.uuid4().hex[:8]}"
    result = engine("build", "--no-cache", "--build-arg", "USED=1", "--build-arg", "UNUSED=2",
                    "--build-arg", "HTTP_PROXY=", "-t", tag, str(tmp_path), timeout=300)
    try:
        assert result.returncode == 0, result.stderr
        steps = re.findall(r"^Step (\d+/\d+) : (.*)$", result.stdout, flags=re.M)
        assert steps == [("1/5", "ARG BASE=busybox"), ("2/5", "FROM $BASE"),
                         ("3/5", "ARG USED"), ("4/5", "RUN echo used=$USED"),
                         ("5/5", "RUN echo to-stderr >&2")]
        assert "used=1\n" in result.stdout
        assert "\x1b[91mto-stderr\n\x1b[0m" in result.stdout
        assert "[Warning] One or more build-args [UNUSED] were not consumed\n" in result.stdout
    finally:
        engine("rmi", "-f", tag)


def test_no_warning_when_every_build_arg_is_declared(engine: CLI, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    tag = f"cove-buildout:{uuid.uuid4().hex[:8]}"
    result = engine("build", "--build-arg", "USED=2", "--build-arg", "BASE=busybox", "-t", tag,
                    str(tmp_path), timeout=300)
    try:
        assert result.returncode == 0, result.stderr
        assert "were not consumed" not in result.stdout
    finally:
        engine("rmi", "-f", tag)




def test_run_steps_get_the_builds_memory_and_ulimits(engine: CLI, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
        "/sys/fs/cgroup/memory.max 2>/dev/null; ulimit -n\n")
    result = engine("build", "--no-cache", "--memory", "64m", "--ulimit", "nofile=100:200",
                    str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "\n67108864\n100\n" in result.stdout


def test_cache_from_decides_which_images_give_cache_hits(engine: CLI, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo {uuid.uuid4().hex} > /f\n")
    tag = f"cove-cachefrom:{uuid.uuid4().hex[:8]}"
    first = engine("build", "-t", tag, str(tmp_path), timeout=300)
    try:
        assert first.returncode == 0, first.stderr
        assert "Using cache" not in first.stdout
        local = engine("build", str(tmp_path), timeout=300)
        assert "Using cache" in local.stdout  # the local cache, without --cache-from
        named = engine("build", "--cache-from", tag, str(tmp_path), timeout=300)
        assert "Using cache" in named.stdout
        other = engine("build", "--cache-from", "cove-no-such-image:1", str(tmp_path),
                       timeout=300)
        assert other.returncode == 0, other.stderr
        assert "Using cache" not in other.stdout
    finally:
        engine("rmi", "-f", tag)


def test_another_platform_is_refused_not_ignored_unlike_dockerd_which_emulates(
        docker: CLI, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN true\n")
    build = CLI(docker.argv0, {**docker.env, "DOCKER_BUILDKIT": "0"})
    other = "linux/arm64" if os.uname().machine == "x86_64" else "linux/amd64"
    refused = build("build", "--platform", other, str(tmp_path), timeout=300)
    assert refused.returncode == 1
    assert f"platform {other} is not supported by Cove: no emulation" in refused.stderr
    host = "linux/amd64" if os.uname().machine == "x86_64" else "linux/arm64"
    assert build("build", "-q", "--platform", host, str(tmp_path), timeout=300).returncode == 0


def test_directories_copy_creates_get_the_current_time(engine: CLI, tmp_path) -> None:
    (tmp_path / "f").write_text("x\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nCOPY f /cove-new/dir/f\nRUN stat -c '%Y' /cove-new/dir /cove-new\n")
    result = engine("build", "--no-cache", str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    stamps = [int(line) for line in result.stdout.splitlines() if line.strip().isdigit()]
    assert len(stamps) == 2 and all(stamp > 1_600_000_000 for stamp in stamps), result.stdout
