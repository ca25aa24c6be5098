"""Builds whose RUN steps have a network: coved with its default bridge inside the network
lab's host namespace, a busybox httpd in the lab's "outside" namespace, and the real docker
CLI building with ``DOCKER_BUILDKIT=0``. A step reaches the outside through the bridge (or
the host's network with ``--network host``), ``--network none`` and ``RUN --network=none``
give it loopback only, ``--add-host`` names reach it, and no build, however it ends
(success, failure, the client killed mid-step), leaves a veth or an address behind."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from cove.runtime.network.ipam import Ipam
from cove.runtime.store.layout import Layout
from tests.support.clis import CLI, DOCKER
from tests.support.coved import Coved
from tests.support.netlab import OUTSIDE_UPLINK_ADDRESS, NetLab, wait_for

OUTSIDE = str(OUTSIDE_UPLINK_ADDRESS.ip)
# busybox wget has no retry: the first packets out of a new veth may find no neighbour yet
FETCH = ("(for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O {out} {url} && exit 0; sleep 0.2; done;"
         " exit 1)")


@pytest.fixture
def docker(lab_coved: Coved) -> CLI:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return CLI([DOCKER], {**lab_coved.env, "DOCKER_BUILDKIT": "0"})


@pytest.fixture
def outside(netlab: NetLab, tmp_path: Path) -> str:
    """The URL of an httpd in the lab's outside namespace, serving "outside"."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("outside\n")
    netlab.start(netlab.outside, ["busybox", "httpd", "-f", "-p", "80", "-h", str(root)])
    wait_for(lambda: netlab.http_get(netlab.outside, f"http://{OUTSIDE}/"))
    return f"http://{OUTSIDE}/"


def _context(tmp_path: Path, dockerfile: str) -> str:
    context = tmp_path / f"ctx-{uuid.uuid4().hex[:8]}"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    return str(context)


def _veths(lab: NetLab) -> list[str]:
    out = lab.run(lab.host, ["ip", "-o", "link", "show"]).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    return [name for name in names if name.startswith("cove-")]


def _addresses_given(daemon: Coved) -> dict[object, str]:
    return Ipam(Layout(daemon.data_root, daemon.exec_root).ipam_state).owners("bridge")


def _assert_nothing_left(lab: NetLab, daemon: Coved) -> None:
    assert _veths(lab) == []
    assert _addresses_given(daemon) == {}


def test_a_run_step_reaches_the_outside_through_the_bridge(
        netlab: NetLab, lab_coved: Coved, docker: CLI, outside: str, tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM busybox\nRUN " + FETCH.format(out="/got", url=outside)
                       + " && cp /etc/resolv.conf /resolv && cp /etc/hosts /hosts"
                       " && ip route > /route\n")
    built = docker("build", "-t", "reached:1", context, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr

    def read(path: str) -> str:
        return docker("run", "--rm", "reached:1", "cat", path).stdout

    assert read("/got") == "outside\n"
    assert "default via 172.17.0.1 dev eth0" in read("/route")
    # the step's own name and bridge address, as a container's /etc/hosts has them
    step = built.stdout.split(" ---> Running in ")[1][:12]
    address, name = read("/hosts").splitlines()[-1].split("\t")
    assert name == step and address.startswith("172.17.")
    # the same resolvers as `docker run` on the bridge gets
    resolv = read("/resolv")
    assert resolv == docker("run", "--rm", "busybox", "cat", "/etc/resolv.conf").stdout
    assert "nameserver" in resolv
    _assert_nothing_left(netlab, lab_coved)


def test_network_none_fails_the_step_with_wgets_error(
        netlab: NetLab, lab_coved: Coved, docker: CLI, outside: str, tmp_path: Path) -> None:
    context = _context(tmp_path, f"FROM busybox\nRUN wget -q -O /got {outside}\n")
    built = docker("build", "--network", "none", context, timeout=120)
    assert built.returncode == 1
    assert "wget: can't connect to remote host (198.18.0.2): Network is unreachable" \
        in built.stdout
    assert (f"The command '/bin/sh -c wget -q -O /got {outside}' returned a non-zero "
            "code: 1") in built.stderr
    _assert_nothing_left(netlab, lab_coved)
    # the same step in a build on the bridge, with RUN --network=none: loopback only too
    context = _context(tmp_path, "FROM busybox\nRUN --network=none cat /proc/net/dev > /none"
                       "\nRUN --network=default cat /proc/net/dev > /default\n")
    built = docker("build", "-t", "step-network:1", context, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    devices = docker("run", "--rm", "step-network:1", "sh", "-c",
                     "cut -d: -f1 -s /none | xargs; cut -d: -f1 -s /default | xargs").stdout
    assert devices == "lo\nlo eth0\n"
    _assert_nothing_left(netlab, lab_coved)


def test_network_host_reaches_the_outside_from_the_hosts_namespace(
        netlab: NetLab, lab_coved: Coved, docker: CLI, outside: str, tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM busybox\nRUN " + FETCH.format(out="/got", url=outside)
                       + " && ip -o addr show uplink > /uplink\n")
    built = docker("build", "--network", "host", "-t", "host-net:1", context, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    seen = docker("run", "--rm", "host-net:1", "cat", "/got", "/uplink").stdout
    assert seen.startswith("outside\n") and "inet 198.18.0.1/24" in seen
    _assert_nothing_left(netlab, lab_coved)


def test_added_hosts_name_the_outside_and_the_host_gateway(
        netlab: NetLab, lab_coved: Coved, docker: CLI, outside: str, tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM busybox\nRUN "
                       + FETCH.format(out="/got", url="http://far.example/")
                       + " && grep -E 'far|gw' /etc/hosts > /named\n")
    built = docker("build", "--add-host", f"far.example:{OUTSIDE}", "--add-host",
                   "gw:host-gateway", "-t", "named:1", context, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    seen = docker("run", "--rm", "named:1", "cat", "/got", "/named").stdout
    assert seen == f"outside\n{OUTSIDE}\tfar.example\n172.17.0.1\tgw\n"
    _assert_nothing_left(netlab, lab_coved)


def test_a_build_whose_client_is_killed_mid_step_leaves_nothing(
        netlab: NetLab, lab_coved: Coved, docker: CLI, tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM busybox\nRUN echo started; sleep 60\n")
    client = subprocess.Popen([DOCKER, "build", context], env=docker.env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert client.stdout is not None
        step = ""
        for line in client.stdout:
            if line.startswith(" ---> Running in "):
                step = line.split()[-1]
            if line == "started\n":
                break
        assert step and len(_veths(netlab)) == 1
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
        if client.stdout is not None:
            client.stdout.close()
    # dockerd kills and removes the step's container at once (well before its 60 s)
    wait_for(lambda: docker("ps", "-a", "-q").stdout == "", timeout=10)
    gone = docker("inspect", step)
    assert gone.returncode == 1 and f"No such object: {step}" in gone.stderr
    _assert_nothing_left(netlab, lab_coved)
    assert docker("images", "-q", "-f", "dangling=true").stdout == ""
