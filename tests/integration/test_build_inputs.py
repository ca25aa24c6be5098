"""What ``docker build`` hands the builder besides the Dockerfile in the context: a
Dockerfile on stdin with a context directory (``-f -``), ``--add-host`` entries that
RUN steps see, and the steps' ``--network`` (none, host, container:X, an unknown one);
and a build whose client hangs up ends its running step. Each build runs with
``DOCKER_BUILDKIT=0`` on coved (``--bridge none``: its default network is loopback only;
the bridge's cases are in network/test_build_network.py) and on the reference dockerd,
and the images must hold the same."""

from __future__ import annotations

import signal
import subprocess
import time
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


def _devices(daemon: Daemon, tag: str, path: str) -> list[str]:
    """The interface names a RUN step saw (its /proc/net/dev, copied into the image)."""
    seen = daemon("run", "--rm", tag, "cat", path).stdout
    return sorted(line.split(":")[0].strip() for line in seen.splitlines()[2:])


def test_network_none_gives_run_steps_loopback_only(daemon: Daemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN cat /proc/net/dev > /dev.txt\n")
    tag = daemon.tag()
    built = daemon("build", "--no-cache", "--network", "none", "-t", tag, str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    assert _devices(daemon, tag, "/dev.txt") == ["lo"]


def test_network_host_gives_run_steps_the_hosts_interfaces(daemon: Daemon,
                                                           tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN cat /proc/net/dev > /dev.txt\n")
    tag = daemon.tag()
    built = daemon("build", "--no-cache", "--network", "host", "-t", tag, str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    with open("/proc/net/dev") as f:  # both daemons run in this machine's namespace
        ours = sorted(line.split(":")[0].strip() for line in f.read().splitlines()[2:])
    seen = _devices(daemon, tag, "/dev.txt")
    assert "lo" in seen and set(seen) <= set(ours) and len(seen) > 1


def test_network_container_runs_steps_in_the_containers_stack(daemon: Daemon,
                                                              tmp_path: Path) -> None:
    """The step joins X's namespace: X's loopback server answers it, and it takes X's name,
    as a ``docker run --network container:X`` does."""
    donor = f"build-donor-{uuid.uuid4().hex[:8]}"
    started = daemon("run", "-d", "--name", donor, "-h", "donorhost", "busybox", "sh", "-c",
                     "mkdir /www && echo from-the-donor > /www/index.html && "
                     "exec httpd -f -p 127.0.0.1:8123 -h /www")
    assert started.returncode == 0, started.stderr
    try:
        (tmp_path / "Dockerfile").write_text(
            "FROM busybox\nRUN (for i in 1 2 3 4 5 6 7 8 9 10; do "
            "wget -q -O /got http://127.0.0.1:8123/ && exit 0; sleep 0.2; done; exit 1) "
            "&& hostname > /name\n")
        tag = daemon.tag()
        built = daemon("build", "--no-cache", "--network", f"container:{donor}", "-t", tag,
                       str(tmp_path))
        assert built.returncode == 0, built.stdout + built.stderr
        seen = daemon("run", "--rm", tag, "cat", "/got", "/name")
        assert seen.stdout == "from-the-donor\ndonorhost\n"
    finally:
        daemon("rm", "-f", donor)


@pytest.mark.parametrize("network", ["nosuch-build-net", "weird:thing", "HOST"])
def test_an_unknown_network_fails_the_run_step_as_dockerd(daemon: Daemon, tmp_path: Path,
                                                          network: str) -> None:
    """dockerd looks the network up when the step's container starts: it is made (Running
    in), kept after the failure, removed only with ``--force-rm``."""
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN true\n")
    built = daemon("build", "--no-cache", "--network", network, str(tmp_path))
    assert built.returncode == 1
    assert f"network {network} not found" in built.stderr
    step = built.stdout.split(" ---> Running in ")[1].split()[0]
    try:
        kept = daemon("inspect", "--format", "{{.State.Status}}", step)
        assert kept.stdout == "created\n"
    finally:
        daemon("rm", "-f", step)
    removed = daemon("build", "--no-cache", "--force-rm", "--network", network, str(tmp_path))
    assert removed.returncode == 1 and f"network {network} not found" in removed.stderr
    step = removed.stdout.split(" ---> Running in ")[1].split()[0]
    assert f"Removing intermediate container {step}\n" in removed.stdout
    assert daemon("inspect", step).returncode == 1


def test_a_killed_build_client_ends_its_running_step(daemon: Daemon, tmp_path: Path) -> None:
    """dockerd cancels a build whose client hangs up: the step's container is killed and
    removed at once, long before its command would have ended."""
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo started; sleep 60\n")
    client = subprocess.Popen([DOCKER or "docker", "build", "--no-cache", str(tmp_path)],
                              env={**daemon.env, "DOCKER_BUILDKIT": "0"},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    step = ""
    try:
        assert client.stdout is not None
        for line in client.stdout:
            if line.startswith(" ---> Running in "):
                step = line.split()[-1]
            if line == "started\n":
                break
        running = daemon("inspect", "--format", "{{.State.Running}}", step)
        assert running.stdout == "true\n"
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
        if client.stdout is not None:
            client.stdout.close()
    deadline = time.monotonic() + 10
    while daemon("inspect", step).returncode == 0:
        assert time.monotonic() < deadline, "the step's container outlived its build"
        time.sleep(0.1)
