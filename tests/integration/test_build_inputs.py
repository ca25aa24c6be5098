"""What ``docker build`` hands the builder besides the Dockerfile in the context: a
Dockerfile on stdin with a context directory (``-f -``), and ``--add-host`` entries that
RUN steps see. Each build runs with ``DOCKER_BUILDKIT=0`` on coved and on the reference
dockerd, and the images must hold the same."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from tests.support.clis import COVE, DOCKER


@dataclass
class Daemon:
    env: dict[str, str]
    images: list[str] = field(default_factory=list)

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        if DOCKER is None:
            pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
        return subprocess.run([DOCKER, *args], env={**self.env, "DOCKER_BUILDKIT": "0"},
                              input=input, capture_output=True, text=True, timeout=180)

    def tag(self) -> str:
        tag = f"build-inputs-{uuid.uuid4().hex[:10]}:latest"
        self.images.append(tag)
        return tag


@pytest.fixture(params=["coved", "dockerd"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    env = request.getfixturevalue("coved").env if request.param == "coved" else \
        request.getfixturevalue("reference_dockerd")
    target = Daemon(env)
    try:
        yield target
    finally:
        if target.images:
            target("rmi", "-f", *target.images)


@pytest.mark.parametrize("ignore", [None, "secret\n"])
def test_dockerfile_from_stdin_with_a_context_directory(daemon: Daemon, tmp_path: Path,
                                                        ignore: str | None) -> None:
    """The CLI adds the Dockerfile to the context under a random name, and that name to
    the .dockerignore (made for it, listing itself, when the context has none); the build
    uses it, and COPY . sees what dockerd's does."""
    (tmp_path / "a.txt").write_text("from the context\n")
    (tmp_path / "secret").write_text("kept out\n")
    if ignore is not None:
        (tmp_path / ".dockerignore").write_text(ignore)
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo the wrong Dockerfile; exit 3\n")
    tag = daemon.tag()
    built = daemon("build", "-t", tag, "-f", "-", str(tmp_path),
                   input="FROM busybox\nCOPY . /ctx/\nRUN cat /ctx/a.txt\n")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "from the context" in built.stdout
    listed = daemon("run", "--rm", tag, "ls", "-A", "/ctx")
    assert listed.stdout.split() == (["Dockerfile", "a.txt", "secret"] if ignore is None
                                     else [".dockerignore", "Dockerfile", "a.txt"])


def test_run_steps_see_added_hosts(daemon: Daemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN grep -E 'myhost|other' /etc/hosts > /seen\n")
    tag = daemon.tag()
    built = daemon("build", "-t", tag, "--add-host", "myhost:10.1.2.3",
                   "--add-host", "other:10.9.9.9", str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    seen = daemon("run", "--rm", tag, "cat", "/seen")
    assert seen.stdout == "10.1.2.3\tmyhost\n10.9.9.9\tother\n"


def test_cove_build_passes_added_hosts_as_docker_does(coved, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN grep myhost /etc/hosts > /seen\n")
    tag = f"build-inputs-{uuid.uuid4().hex[:10]}:latest"
    built = subprocess.run([COVE, "build", "-t", tag, "--add-host", "myhost=10.1.2.3",
                            str(tmp_path)], env=coved.env, capture_output=True, text=True,
                           timeout=180)
    try:
        assert built.returncode == 0, built.stdout + built.stderr
        seen = subprocess.run([COVE, "run", "--rm", tag, "cat", "/seen"], env=coved.env,
                              capture_output=True, text=True, timeout=60)
        assert seen.stdout == "10.1.2.3\tmyhost\n"
    finally:
        subprocess.run([COVE, "rmi", "-f", tag], env=coved.env, capture_output=True, timeout=60)


def test_docker_py_extra_hosts_reach_run_steps(daemon: Daemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN grep pyhost /etc/hosts > /seen\n")
    tag = daemon.tag()
    client = docker.DockerClient(base_url=daemon.env["DOCKER_HOST"], version="1.41", timeout=120)
    try:
        client.images.build(path=str(tmp_path), tag=tag, extra_hosts={"pyhost": "10.4.5.6"})
        seen = client.containers.run(tag, ["cat", "/seen"], remove=True)
    finally:
        client.close()
    assert seen == b"10.4.5.6\tpyhost\n"
