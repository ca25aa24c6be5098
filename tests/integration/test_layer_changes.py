"""What a container or a build step changed, as dockerd counts it: ``docker diff``, the
layer ``docker commit`` adds and the layers of RUN steps hold only the user's changes,
never the files the engine mounts into every container (/etc/hostname, /etc/hosts,
/etc/resolv.conf) nor /etc for their sake. Each check runs on coved and on the reference
dockerd and must give the same answer."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.clis import DOCKER
from tests.support.images import saved_layer_names


@dataclass
class Daemon:
    kind: str
    env: dict[str, str]
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def __call__(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        if DOCKER is None:
            pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
        return subprocess.run([DOCKER, *args], env=self.env, input=input, capture_output=True,
                              timeout=180)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout.decode()

    def container(self) -> str:
        name = f"changes-{uuid.uuid4().hex[:10]}"
        self.containers.append(name)
        return name

    def image(self) -> str:
        tag = f"changes-{uuid.uuid4().hex[:10]}:latest"
        self.images.append(tag)
        return tag

    def added_layers(self, tag: str) -> list[list[str]]:
        """The member names of each layer ``tag`` has beyond busybox's, empty ones left out."""
        base = len(json.loads(self.ok("image", "inspect", "busybox:latest"))[0]["RootFS"]["Layers"])
        saved = self("save", tag)
        assert saved.returncode == 0, saved.stderr
        return saved_layer_names(saved.stdout, skip=base)


@pytest.fixture(params=["coved", "dockerd"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    env = request.getfixturevalue("coved").env if request.param == "coved" else \
        request.getfixturevalue("reference_dockerd")
    target = Daemon(request.param, env)
    try:
        yield target
    finally:
        if target.containers:
            target("rm", "-f", *target.containers)
        if target.images:
            target("rmi", "-f", *target.images)


def _diff(daemon: Daemon, name: str) -> list[str]:
    return sorted(daemon.ok("diff", name).splitlines())


def test_an_untouched_container_has_no_changes(daemon: Daemon) -> None:
    name = daemon.container()
    daemon.ok("run", "--name", name, "busybox", "true")
    assert _diff(daemon, name) == []
    tag = daemon.image()
    daemon.ok("commit", name, tag)
    assert daemon.added_layers(tag) == []


def test_diff_and_commit_hold_the_users_changes_only(daemon: Daemon, tmp_path: Path) -> None:
    """A file added under /etc shows /etc changed; a deleted file, a new directory, and
    the mount point made for a bind mount at a new path (dockerd lists it too). /tmp, where
    a file came and went, is not a change in the diff (a comparison with the image) but is
    in the layer (the upper dir as it is), on both daemons."""
    name = daemon.container()
    daemon.ok("run", "--name", name, "-v", f"{tmp_path}:/mnt/bound", "busybox", "sh", "-c",
              "echo hi > /etc/added && rm /bin/vi && mkdir -p /srv/new && touch /tmp/x"
              " && rm /tmp/x")
    assert _diff(daemon, name) == ["A /etc/added", "A /mnt", "A /mnt/bound", "A /srv",
                                   "A /srv/new", "C /bin", "C /etc", "D /bin/vi"]
    tag = daemon.image()
    daemon.ok("commit", name, tag)
    assert daemon.added_layers(tag) == [[
        "bin", "bin/.wh.vi", "etc", "etc/added", "mnt", "mnt/bound", "srv", "srv/new", "tmp"]]


def test_run_layers_hold_only_what_the_step_changed(daemon: Daemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN true\n"
        "RUN echo built > /etc/built\n"
        "RUN mkdir -p /opt/app && echo x > /opt/app/x\n")
    tag = daemon.image()
    built = subprocess.run([DOCKER or "docker", "build", "-t", tag, str(tmp_path)],
                           env={**daemon.env, "DOCKER_BUILDKIT": "0"}, capture_output=True,
                           text=True, timeout=180)
    assert built.returncode == 0, built.stdout + built.stderr
    assert daemon.added_layers(tag) == [["etc", "etc/built"], ["opt", "opt/app", "opt/app/x"]]
    image = json.loads(daemon.ok("image", "inspect", tag))[0]
    base = json.loads(daemon.ok("image", "inspect", "busybox:latest"))[0]
    # RUN true changed nothing: no layer of its own
    assert len(image["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 2


def test_an_image_without_etc_or_dev_still_shows_no_engine_files(daemon: Daemon,
                                                                  tmp_path: Path) -> None:
    """FROM scratch: the engine makes /etc, /dev, /proc, /sys and their files for the
    container (dockerd's init layer); none is a change, in diff, commit or a RUN layer."""
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox AS tools\n"
        "FROM scratch\n"
        "COPY --from=tools /bin/busybox /bin/busybox\n"
        "RUN [\"/bin/busybox\", \"mkdir\", \"/made\"]\n")
    tag = daemon.image()
    built = subprocess.run([DOCKER or "docker", "build", "-t", tag, str(tmp_path)],
                           env={**daemon.env, "DOCKER_BUILDKIT": "0"}, capture_output=True,
                           text=True, timeout=180)
    assert built.returncode == 0, built.stdout + built.stderr
    saved = daemon("save", tag)
    assert saved.returncode == 0, saved.stderr
    assert saved_layer_names(saved.stdout) == [["bin", "bin/busybox"], ["made"]]
    name = daemon.container()
    daemon.ok("run", "--name", name, tag, "/bin/busybox", "true")
    assert _diff(daemon, name) == []
