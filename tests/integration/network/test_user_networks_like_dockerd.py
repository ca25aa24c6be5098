"""User networks through docker-py, the same on coved (in a lab of its own) as on the
reference dockerd (in a lab of its own): create/list/inspect/remove/prune, connect and
disconnect with their events, and the errors, compared field by field (ids and times
aside)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.errors import APIError

from tests.support.clis import DOCKER
from tests.support.fixtures import running_coved
from tests.support.images import busybox_archive
from tests.support.lab_dockerd import running_lab_dockerd
from tests.support.netlab import NetLab


@pytest.fixture(params=["coved", "dockerd"])
def client(request: pytest.FixtureRequest) -> Iterator[docker.DockerClient]:
    if request.param == "dockerd":
        for daemon in running_lab_dockerd():
            c = docker.DockerClient(base_url="unix://" + daemon.socket, version="1.41")
            try:
                yield c
            finally:
                c.close()
        return
    with NetLab() as lab:
        for coved in running_coved(busybox_archive(), netns=lab.host_path):
            c = docker.DockerClient(base_url="unix://" + coved.socket, version="1.41")
            try:
                yield c
            finally:
                c.close()


def _error(call: Any) -> tuple[int, str]:
    with pytest.raises(APIError) as caught:
        call()
    return caught.value.status_code, caught.value.explanation or ""


def test_the_network_life_cycle_and_its_errors(client: docker.DockerClient) -> None:
    net = client.networks.create("lc-front", driver="bridge", labels={"tier": "front"},
                                 ipam=docker.types.IPAMConfig(pool_configs=[
                                     docker.types.IPAMPool(subnet="10.91.0.0/24",
                                                           gateway="10.91.0.254")]),
                                 check_duplicate=True)
    attrs = client.api.inspect_network(net.id)
    assert (attrs["Name"], attrs["Driver"], attrs["Scope"], attrs["Internal"],
            attrs["Attachable"], attrs["Labels"]) == \
        ("lc-front", "bridge", "local", False, False, {"tier": "front"})
    assert attrs["IPAM"] == {"Driver": "default", "Options": None, "Config": [
        {"Subnet": "10.91.0.0/24", "Gateway": "10.91.0.254"}]}
    assert client.api.inspect_network(net.id[:10])["Id"] == net.id
    names = sorted(n.name for n in client.networks.list())
    assert names == ["bridge", "host", "lc-front", "none"]
    assert [n.name for n in client.networks.list(filters={"type": "custom"})] == ["lc-front"]
    assert [n.name for n in client.networks.list(filters={"label": "tier"})] == ["lc-front"]
    assert _error(lambda: client.networks.create("lc-front", check_duplicate=True)) == \
        (409, "network with name lc-front already exists")
    assert _error(lambda: client.networks.create("host")) == \
        (403, "operation is not permitted on predefined host network ")
    assert _error(lambda: client.networks.get("lc-nosuch")) == \
        (404, "network lc-nosuch not found")
    assert _error(lambda: client.api.remove_network("none")) == \
        (403, "none is a pre-defined network and cannot be removed")
    assert _error(lambda: client.api.networks(filters={"dangling": "maybe"}))[0] == 400

    container = client.containers.run("busybox", ["sleep", "300"], name="lc-member",
                                      network="lc-front", detach=True)
    try:
        members = client.api.inspect_network(net.id)["Containers"]
        assert list(members) == [container.id]
        assert members[container.id]["Name"] == "lc-member"
        assert members[container.id]["IPv4Address"] == "10.91.0.1/24"
        assert _error(lambda: client.api.remove_network(net.id)) == (403, (
            f"error while removing network: network lc-front id {net.id} has active "
            "endpoints"))
        # dockerd 20.10 lists networks without their containers, and its dangling filter
        # reads that list: a network in use is "dangling" there
        listed = client.api.networks(names=["lc-front"])
        assert [n["Containers"] for n in listed] == [{}]
        assert [n.name for n in client.networks.list(filters={"dangling": "true"})] == \
            ["lc-front"]
        # connect and disconnect, with their events
        other = client.networks.create("lc-back")
        since = time.time() - 1
        other.connect(container, aliases=["back-alias"])
        assert _error(lambda: other.connect(container))[0] == 403
        other.disconnect(container)
        assert _error(lambda: other.disconnect(container))[0] == 500
        until = time.time() + 1
        events = list(client.api.events(since=since, until=until, decode=True, filters={
            "type": "network", "event": ["connect", "disconnect"], "network": "lc-back"}))
        # (dockerd also sends a disconnect for the refused second connect: left aside)
        seen = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in events]
        attributes = {"container": container.id, "name": "lc-back", "type": "bridge"}
        assert (seen[0], seen[-1]) == (("connect", other.id, attributes),
                                       ("disconnect", other.id, attributes))
    finally:
        container.remove(force=True)
    pruned = client.networks.prune(filters={"label": "tier=front"})
    assert pruned == {"NetworksDeleted": ["lc-front"]}
    assert client.networks.prune() == {"NetworksDeleted": ["lc-back"]}
    assert client.networks.prune() == {"NetworksDeleted": None}


def test_create_and_destroy_events(client: docker.DockerClient) -> None:
    since = time.time() - 1
    net = client.networks.create("ev-net")
    net.remove()
    events = list(client.api.events(since=since, until=time.time() + 1, decode=True,
                                    filters={"network": "ev-net"}))
    assert [(e["Type"], e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"], e["scope"])
            for e in events] == [
        ("network", "create", net.id, {"name": "ev-net", "type": "bridge"}, "local"),
        ("network", "destroy", net.id, {"name": "ev-net", "type": "bridge"}, "local")]


STEPS: list[tuple[str, ...]] = [
    ("network", "create", "--subnet", "10.92.0.0/24", "--label", "k=v", "cmp-a"),
    ("network", "create", "cmp-b"),
    ("run", "-d", "--name", "cmp-c1", "--network", "cmp-a", "--network-alias", "al",
     "--ip", "10.92.0.9", "busybox", "sleep", "300"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}} {{.NetworkSettings.IPAddress}}",
     "cmp-c1"),
    ("network", "inspect", "cmp-a"),
    ("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}}"),
    ("network", "connect", "--alias", "bee", "cmp-b", "cmp-c1"),
    ("network", "connect", "cmp-b", "cmp-c1"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cmp-c1"),
    ("exec", "cmp-c1", "cat", "/etc/hosts"),
    ("network", "disconnect", "cmp-b", "cmp-c1"),
    ("network", "disconnect", "cmp-b", "cmp-c1"),
    ("network", "connect", "bridge", "cmp-c1"),
    ("exec", "cmp-c1", "ls", "/sys/class/net"),
    ("exec", "cmp-c1", "cat", "/proc/net/if_inet6"),  # no IPv6 address, not even ::1
    ("inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}",
     "cmp-c1"),
    ("network", "rm", "cmp-a"),
    ("network", "connect", "host", "cmp-c1"),
    ("network", "connect", "cmp-nosuch", "cmp-c1"),
    ("run", "-d", "--name", "cmp-c2", "--network", "cmp-b", "--ip", "172.18.0.9", "busybox",
     "sleep", "300"),
    ("run", "-d", "--name", "cmp-c3", "--ip", "172.17.0.9", "busybox", "sleep", "300"),
    ("create", "--name", "cmp-c4", "--network", "cmp-a", "busybox", "sleep", "300"),
    ("network", "connect", "cmp-b", "cmp-c4"),
    ("network", "connect", "cmp-b", "cmp-c4"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cmp-c4"),
    ("network", "disconnect", "bridge", "cmp-c4"),
    ("network", "create", "--internal", "cmp-i"),
    ("network", "inspect", "-f", "{{json .IPAM}} {{.Internal}}", "cmp-i"),
    ("network", "rm", "bridge"),
    ("network", "create", "none"),
    ("create", "--name", "cmp-n", "--network", "none", "busybox", "sleep", "300"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cmp-n"),
    ("start", "cmp-n"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cmp-n"),
    ("network", "inspect", "-f", "{{json .Containers}}", "none"),
    ("run", "-d", "--name", "cmp-h", "--network", "host", "busybox", "sleep", "300"),
    ("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cmp-h"),
    ("network", "inspect", "-f", "{{json .Containers}}", "host"),
    ("network", "create", "--subnet", "10.93.0.0/16", "--subnet", "10.94.0.0/16", "cmp-2"),
    ("network", "create", "--subnet", "10.93.0.0/16", "--gateway", "10.93.0.1",
     "--ip-range", "10.95.0.0/24", "cmp-r"),
    ("network", "create", "--subnet", "10.93.1.0/24", "cmp-o"),
    ("create", "--name", "cmp-x", "--network", "cmp-a", "--ip", "10.10.0.5", "busybox"),
    ("start", "cmp-x"),
    ("create", "--name", "cmp-y", "--network", "cmp-a", "--ip", "10.92.0.1", "busybox"),
    ("start", "cmp-y"),
    ("network", "disconnect", "-f", "cmp-nosuch", "cmp-y"),
    ("network", "create", "cmp spaced"),
    ("network", "rm", "cmp spaced"),
    ("rm", "-f", "cmp-c1", "cmp-c2", "cmp-c3", "cmp-c4", "cmp-n", "cmp-h", "cmp-x", "cmp-y"),
    ("network", "rm", "cmp-a", "cmp-b", "cmp-i"),
]
_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def _run_steps(env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Each step's exit code, output and errors, ids made alike (per daemon, in the order
    they first appear, so the same id shows as the same token on both)."""
    assert DOCKER is not None
    seen: dict[str, str] = {}

    def alike(text: str) -> str:
        def token(match: re.Match[str]) -> str:
            found = match.group(0)
            full = next((k for k in seen if k.startswith(found) or found.startswith(k)), None)
            if full is None:
                seen[found] = f"<id{len(seen)}>"
                full = found
            return seen[full] + ("" if len(found) == 64 else "s")
        return _ID.sub(token, text)

    results = []
    for step in STEPS:
        done = subprocess.run([DOCKER, *step], env=env, capture_output=True, text=True,
                              timeout=60)
        results.append((done.returncode, alike(re.sub(r'"Created": "[^"]+"', "", done.stdout)),
                        alike(done.stderr)))
    return results


def test_the_docker_cli_sees_the_same_on_both(tmp_path: Any) -> None:
    for dockerd in running_lab_dockerd():
        expected = _run_steps(dockerd.env)
    with NetLab() as lab:
        for coved in running_coved(busybox_archive(), netns=lab.host_path):
            got = _run_steps(coved.env)
    for step, want, have in zip(STEPS, expected, got, strict=True):
        assert have == want, step
