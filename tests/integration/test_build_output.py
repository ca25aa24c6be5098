"""What a classic build prints, as dockerd prints it: the steps (the ARGs before FROM among
them), RUN's stderr in red, and the warning for build args nothing consumed."""

from __future__ import annotations

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


