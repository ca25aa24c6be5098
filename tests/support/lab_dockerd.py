"""A reference dockerd of its own inside a network lab's host namespace.

The session's reference dockerd (``tests.support.dockerd``) runs on the real machine's
network, so nothing may create networks through it. This one is started through
``nsenter --net=`` into a ``NetLab``'s host namespace: its docker0, the bridges of the
networks a test creates, its veths and its iptables rules all live in that namespace and
go with it. It has its own data root, exec root, socket, pidfile and an empty daemon
config (the machine's /etc/docker/daemon.json is not read); busybox is loaded. Its
socket is a file, so the docker CLI and Cove's reach it from the real namespace.

``stop`` removes its containers (at once: SIGTERM would give each its stop timeout), ends
it with SIGTERM (its containerd goes with it), unmounts whatever it left mounted under its
directory and removes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved, api_request, client_env
from tests.support.images import busybox_archive
from tests.support.netlab import NetLab


class LabDockerd:
    """One dockerd in ``lab``'s host namespace; ``start`` then ``stop``."""

    def __init__(self, lab: NetLab) -> None:
        self.lab = lab
        # short: the socket's path must fit AF_UNIX's 108 bytes
        self.root = tempfile.mkdtemp(prefix="cove-ld-", dir="/tmp")
        self.data_root = os.path.join(self.root, "data")
        self.exec_root = os.path.join(self.root, "exec")
        self.socket = os.path.join(self.root, "d.sock")
        self.pidfile = os.path.join(self.root, "d.pid")
        self.config = os.path.join(self.root, "daemon.json")
        self.log_path = os.path.join(self.root, "dockerd.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return client_env(self.host)

    def docker(self, *args: str, input: str | bytes | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The docker CLI against this daemon, from the real namespace; output as text."""
        assert DOCKER is not None
        done = subprocess.run([DOCKER, *args], env=self.env, input=input, capture_output=True,
                              timeout=timeout, text=not isinstance(input, bytes))
        if isinstance(done.stdout, bytes):
            return subprocess.CompletedProcess(done.args, done.returncode,
                                               done.stdout.decode(errors="replace"),
                                               done.stderr.decode(errors="replace"))
        return done

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def start(self, timeout: float = 60.0) -> LabDockerd:
        """Start it, wait until it answers, and load busybox."""
        began = time.monotonic()
        with open(self.config, "w") as f:
            f.write("{}\n")
        with open(self.log_path, "ab") as log:
            self.proc = self.lab.start(self.lab.host, [
                "dockerd", "--config-file", self.config, "--data-root", self.data_root,
                "--exec-root", self.exec_root, "-H", self.host, "--pidfile", self.pidfile],
                stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited {self.proc.returncode}: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("dockerd did not answer in time:\n" + self.log()[-2000:])
            time.sleep(0.1)
        loaded = self.docker("load", input=busybox_archive())
        if loaded.returncode != 0:
            raise RuntimeError(f"loading busybox into the lab dockerd failed: {loaded.stderr}")
        self.start_seconds = time.monotonic() - began
        return self

    def _answers(self) -> bool:
        if not os.path.exists(self.socket):
            return False
        return self.docker("version", "--format", "{{.Server.Version}}",
                           timeout=20).returncode == 0

    def stop(self, timeout: float = 30.0) -> None:
        """Remove its containers, stop dockerd (its containerd with it), then remove every
        trace under its directory; idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            # containers left running would each take their 10 s stop timeout at SIGTERM
            left = self.docker("ps", "-aq", timeout=30).stdout.split()
            if left:
                self.docker("rm", "-f", *left, timeout=60)
            # nsenter execs dockerd: the pid is dockerd's
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # dockerd leaves its data root bind-mounted on itself and exec/netns/* mounted:
        # deepest first
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        for where in sorted((m for m in mounts if m.startswith(self.root + "/")), key=len,
                            reverse=True):
            subprocess.run(["umount", "-l", where], capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def running_lab_dockerd() -> Iterator[LabDockerd]:
    """A lab and a started dockerd in it; both gone afterwards, whatever happened."""
    if os.geteuid() != 0:
        pytest.skip("the network lab needs root (network namespaces)")
    if DOCKER is None or shutil.which("dockerd") is None:
        pytest.fail("dockerd and the docker CLI are required (apt install docker.io)")
    with NetLab() as lab:
        daemon = LabDockerd(lab)
        try:
            yield daemon.start()
        finally:
            daemon.stop()


@pytest.fixture(scope="module")
def lab_dockerd() -> Iterator[LabDockerd]:
    """A reference dockerd in a lab of its own, shared by a module's tests (it takes a few
    seconds to start): each test names its networks and containers uniquely."""
    yield from running_lab_dockerd()


def docker_on(daemon: LabDockerd) -> CLI:
    """The docker CLI pointed at ``daemon``."""
    assert DOCKER is not None
    return CLI([DOCKER], daemon.env)


class LabEngine:
    """One engine inside a lab of its own, for tests run on coved and on dockerd alike:
    ``name`` says which; ``docker`` and ``cove`` are the two CLIs pointed at it."""

    def __init__(self, name: str, lab: NetLab, env: dict[str, str], socket: str) -> None:
        self.name, self.lab, self.env, self.socket = name, lab, env, socket
        assert DOCKER is not None
        self.docker = CLI([DOCKER], env)
        self.cove = CLI([COVE], env)

    def request(self, method: str, path: str) -> Any:
        """The API's answer, which must be a 200."""
        status, body = api_request(self.socket, method, path)
        assert status == 200, body
        return body


@pytest.fixture(params=["coved", "dockerd"])
def lab_engine(request: pytest.FixtureRequest) -> Iterator[LabEngine]:
    """coved, or the reference dockerd, in a lab of the test's own (busybox loaded)."""
    if request.param == "dockerd":
        for daemon in running_lab_dockerd():
            yield LabEngine("dockerd", daemon.lab, daemon.env, daemon.socket)
        return
    with NetLab() as lab:
        coved = Coved(netns=lab.host_path)
        try:
            coved.start()
            coved.load(busybox_archive())
            yield LabEngine("coved", lab, coved.env, coved.socket)
        finally:
            coved.stop()
            coved.cleanup()
