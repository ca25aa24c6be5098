"""User networks through docker-py, the same on coved (in a lab of its own) as on the
reference dockerd (in a lab of its own): create/list/inspect/remove/prune, connect and
disconnect with their events, and the errors, compared field by field (ids and times
aside)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.errors import APIError

from tests.support.coved import Coved
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
        coved = Coved(netns=lab.host_path)
        try:
            coved.start()
            coved.load(busybox_archive())
            c = docker.DockerClient(base_url="unix://" + coved.socket, version="1.41")
            try:
                yield c
            finally:
                c.close()
        finally:
            coved.stop()
            coved.cleanup()


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
