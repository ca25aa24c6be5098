"""User-defined networks on coved, run inside the network lab's host namespace: each
network has a bridge of its own, its members reach each other and the outside (or only
each other when --internal), different networks are isolated, --ip/--mac-address/aliases
show in the container and in inspect, a published port answers, connect/disconnect work
live, and rm, kill -9 and a daemon restart leave nothing behind and keep addresses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

import pytest

from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved
from tests.support.netlab import HOST_UPLINK_ADDRESS, NetLab, wait_for

OUTSIDE = "198.18.0.2"
HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && "
         "exec httpd -f -p 80 -h /www"]


@pytest.fixture
def cove(lab_coved: Coved) -> CLI:
    return CLI([COVE], lab_coved.env)


@pytest.fixture
def docker(lab_coved: Coved) -> CLI:
    return CLI([DOCKER], lab_coved.env)


def _ok(cli: CLI, *args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _in_host(lab: NetLab, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return lab.run(lab.host, argv)


def _links(lab: NetLab) -> list[str]:
    out = _in_host(lab, ["ip", "-o", "link", "show"]).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def _ours(lab: NetLab) -> list[str]:
    return sorted(n for n in _links(lab) if n.startswith(("cove-", "br-")))


def _table(lab: NetLab) -> str:
    return _in_host(lab, ["nft", "list", "table", "ip", "cove"]).stdout


def _inspect(cli: CLI, name: str) -> dict[str, Any]:
    return json.loads(_ok(cli, "inspect", name))[0]  # type: ignore[no-any-return]


def _fetch(cli: CLI, container: str, address: str, tries: int = 10) -> subprocess.CompletedProcess[str]:
    """What ``container`` gets from an httpd at ``address`` (busybox's wget -T crashes:
    timeout bounds each try instead)."""
    rounds = " ".join(str(i) for i in range(tries))
    return cli("exec", container, "sh", "-c",
               f"for i in {rounds}; do timeout 2 wget -q -O - http://{address}/ && exit 0; "
               "sleep 0.2; done; exit 1")


def _address(cli: CLI, container: str, network: str) -> str:
    return str(_inspect(cli, container)["NetworkSettings"]["Networks"][network]["IPAddress"])


def test_create_inspect_ls_rm_with_the_docker_cli(netlab: NetLab, docker: CLI) -> None:
    before = _ours(netlab)
    nid = _ok(docker, "network", "create", "--subnet", "10.77.0.0/24", "--ip-range",
              "10.77.0.128/25", "--gateway", "10.77.0.254", "--label", "team=a", "front").strip()
    assert len(nid) == 64
    info = json.loads(_ok(docker, "network", "inspect", "front"))[0]
    assert info["Id"] == nid and info["Driver"] == "bridge" and info["Scope"] == "local"
    assert info["IPAM"] == {"Driver": "default", "Options": {}, "Config": [
        {"Subnet": "10.77.0.0/24", "IPRange": "10.77.0.128/25", "Gateway": "10.77.0.254"}]}
    given = json.loads(_ok(docker, "network", "inspect", _ok(
        docker, "network", "create", "--subnet", "10.76.0.0/24", "nogw").strip()))[0]
    assert given["IPAM"]["Config"] == [{"Subnet": "10.76.0.0/24"}]  # as dockerd shows it
    _ok(docker, "network", "rm", "nogw")
    assert info["Labels"] == {"team": "a"} and info["Internal"] is False
    assert info["Containers"] == {}
    _ok(docker, "run", "-d", "--name", "ranged", "--network", "front", "busybox", "sleep", "60")
    ranged = json.loads(_ok(docker, "inspect", "ranged"))[0]["NetworkSettings"]["Networks"]
    assert ranged["front"]["IPAddress"] == "10.77.0.129"  # from --ip-range
    assert ranged["front"]["Gateway"] == "10.77.0.254"
    _ok(docker, "rm", "-f", "ranged")
    # by unique ID prefix too
    assert json.loads(_ok(docker, "network", "inspect", nid[:6]))[0]["Name"] == "front"
    link = "br-" + nid[:12]
    assert link in _links(netlab)
    assert "10.77.0.254/24" in _in_host(netlab, ["ip", "-o", "addr", "show", link]).stdout
    assert f'"{link}"' in _table(netlab)
    auto = json.loads(_ok(docker, "network", "inspect", _ok(
        docker, "network", "create", "back").strip()))[0]
    assert auto["IPAM"]["Config"] == [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]
    listed = _ok(docker, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
    assert sorted(listed.splitlines()) == [
        "back bridge local", "bridge bridge local", "front bridge local", "host host local",
        "none null local"]
    custom = _ok(docker, "network", "ls", "-q", "--filter", "type=custom", "--no-trunc")
    assert sorted(custom.split()) == sorted([nid, auto["Id"]])
    assert _ok(docker, "network", "ls", "-q", "-f", "label=team=a", "--no-trunc").split() == [nid]
    taken = docker("network", "create", "front")
    assert taken.returncode == 1
    assert "network with name front already exists" in taken.stderr
    overlap = docker("network", "create", "--subnet", "10.77.0.0/16", "other")
    assert "Pool overlaps with other one on this address space" in overlap.stderr
    predefined = docker("network", "rm", "bridge")
    assert "bridge is a pre-defined network and cannot be removed" in predefined.stderr
    assert _ok(docker, "network", "rm", "front").strip() == "front"
    assert "Deleted Networks:\nback" in _ok(docker, "network", "prune", "-f")
    assert _ours(netlab) == before and "br-" not in _table(netlab)
    missing = docker("network", "inspect", "front")
    assert missing.returncode == 1 and "network front not found" in missing.stderr.lower()


def test_members_reach_each_other_and_the_outside(
        netlab: NetLab, cove: CLI, tmp_path: Any) -> None:
    root = os.path.join(str(tmp_path), "www")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("outside\n")
    netlab.start(netlab.outside, ["busybox", "httpd", "-f", "-p", "80", "-h", root])
    _ok(cove, "network", "create", "--subnet", "10.78.0.0/24", "app")
    _ok(cove, "run", "-d", "--name", "web", "-h", "web", "--network", "app",
        "--network-alias", "www", "--ip", "10.78.0.50", "--mac-address", "02:42:0a:4e:00:99",
        "busybox", *HTTPD)
    _ok(cove, "run", "-d", "--name", "client", "--network", "app", "busybox", "sleep", "300")
    done = _fetch(cove, "client", "10.78.0.50")
    assert done.returncode == 0 and done.stdout == "hello-web\n", done.stderr
    out = _fetch(cove, "client", OUTSIDE)
    assert out.returncode == 0 and out.stdout == "outside\n", out.stderr
    addr = _ok(cove, "exec", "web", "ip", "addr", "show", "eth0")
    assert "inet 10.78.0.50/24" in addr and "link/ether 02:42:0a:4e:00:99" in addr
    web = _inspect(cove, "web")
    entry = web["NetworkSettings"]["Networks"]["app"]
    assert entry["IPAddress"] == "10.78.0.50" and entry["IPPrefixLen"] == 24
    assert entry["Gateway"] == "10.78.0.1" and entry["MacAddress"] == "02:42:0a:4e:00:99"
    assert entry["Aliases"] == ["www", web["Id"][:12]]
    assert entry["IPAMConfig"] == {"IPv4Address": "10.78.0.50"}
    assert len(entry["EndpointID"]) == 64
    network = json.loads(_ok(cove, "network", "inspect", "app"))[0]
    assert entry["NetworkID"] == network["Id"]
    assert network["Containers"][web["Id"]] == {
        "Name": "web", "EndpointID": entry["EndpointID"], "MacAddress": "02:42:0a:4e:00:99",
        "IPv4Address": "10.78.0.50/24", "IPv6Address": ""}
    members = sorted([web["Id"], _inspect(cove, "client")["Id"]])
    for ref in ("app", network["Id"][:10]):  # ps by network name or ID prefix
        listed = _ok(cove, "ps", "-q", "--no-trunc", "-f", f"network={ref}").split()
        assert sorted(listed) == members, ref
    # dockerd fills the top-level fields from the default bridge only
    assert web["NetworkSettings"]["IPAddress"] == ""
    hosts = _ok(cove, "exec", "web", "cat", "/etc/hosts")
    assert "10.78.0.50\tweb" in hosts
    busy = cove("network", "rm", "app")
    assert busy.returncode == 1 and (
        f"error while removing network: network app id {network['Id']} has active endpoints"
        in busy.stderr)


def test_the_default_bridge_shows_its_mac(cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "plain", "busybox", "sleep", "300")
    settings = _inspect(cove, "plain")["NetworkSettings"]
    octets = [int(x) for x in settings["IPAddress"].split(".")]
    assert settings["MacAddress"] == "02:42:" + ":".join(f"{o:02x}" for o in octets)
    assert settings["Networks"]["bridge"]["MacAddress"] == settings["MacAddress"]
    bridge = json.loads(_ok(cove, "network", "inspect", "bridge"))[0]
    assert settings["Networks"]["bridge"]["NetworkID"] == bridge["Id"]
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"


def test_internal_networks_have_no_way_out_and_networks_are_isolated(
        netlab: NetLab, cove: CLI, tmp_path: Any) -> None:
    root = os.path.join(str(tmp_path), "www")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("outside\n")
    netlab.start(netlab.outside, ["busybox", "httpd", "-f", "-p", "80", "-h", root])
    _ok(cove, "network", "create", "--internal", "vault")
    _ok(cove, "network", "create", "public")
    _ok(cove, "run", "-d", "--name", "db", "-h", "db", "--network", "vault", "busybox", *HTTPD)
    _ok(cove, "run", "-d", "--name", "app", "--network", "vault", "busybox", "sleep", "300")
    _ok(cove, "run", "-d", "--name", "pub", "-h", "pub", "--network", "public", "busybox",
        *HTTPD)
    inside = _fetch(cove, "app", _address(cove, "db", "vault"))
    assert inside.returncode == 0 and inside.stdout == "hello-db\n", inside.stderr
    assert _fetch(cove, "app", OUTSIDE, tries=3).returncode == 1
    assert "default" not in _ok(cove, "exec", "app", "ip", "route")
    assert _inspect(cove, "app")["NetworkSettings"]["Networks"]["vault"]["Gateway"] == ""
    # isolation: public's member reaches the outside but neither vault nor the bridge
    assert _fetch(cove, "pub", OUTSIDE).stdout == "outside\n"
    assert _fetch(cove, "pub", _address(cove, "db", "vault"), tries=3).returncode == 1
    _ok(cove, "run", "-d", "--name", "onbridge", "-h", "onbridge", "busybox", *HTTPD)
    bridged = _inspect(cove, "onbridge")["NetworkSettings"]["IPAddress"]
    assert _fetch(cove, "pub", bridged, tries=3).returncode == 1
    # an internal network's member connected to another network gets its way out there
    _ok(cove, "network", "connect", "public", "app")
    assert "default via" in _ok(cove, "exec", "app", "ip", "route")
    assert _fetch(cove, "app", OUTSIDE).stdout == "outside\n"
    # and one started on both goes out through the one that has a way out
    _ok(cove, "create", "--name", "both", "--network", "vault", "busybox", "sleep", "300")
    _ok(cove, "network", "connect", "public", "both")
    _ok(cove, "start", "both")
    assert _fetch(cove, "both", OUTSIDE).stdout == "outside\n"


def test_a_published_port_on_a_user_network_answers(netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "network", "create", "web")
    _ok(cove, "run", "-d", "--name", "site", "-h", "site", "--network", "web",
        "-p", "8080:80", "busybox", *HTTPD)
    assert wait_for(lambda: netlab.http_get(netlab.host, "http://127.0.0.1:8080/"),
                    timeout=30) == "hello-site\n"
    assert netlab.http_get(netlab.outside, f"http://{HOST_UPLINK_ADDRESS.ip}:8080/") == \
        "hello-site\n"


def test_connect_and_disconnect_a_running_container(netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "network", "create", "one")
    _ok(cove, "network", "create", "--subnet", "10.79.0.0/24", "two")
    _ok(cove, "run", "-d", "--name", "server", "-h", "server", "--network", "two", "busybox",
        *HTTPD)
    _ok(cove, "run", "-d", "--name", "roamer", "--network", "one", "busybox", "sleep", "300")
    target = _address(cove, "server", "two")
    assert _fetch(cove, "roamer", target, tries=3).returncode == 1
    _ok(cove, "network", "connect", "--alias", "r2", "--ip", "10.79.0.77", "two", "roamer")
    assert "inet 10.79.0.77/24" in _ok(cove, "exec", "roamer", "ip", "addr", "show", "eth1")
    assert _fetch(cove, "roamer", target).stdout == "hello-server\n"
    roamer = _inspect(cove, "roamer")
    entry = roamer["NetworkSettings"]["Networks"]["two"]
    assert entry["IPAddress"] == "10.79.0.77" and entry["Aliases"] == ["r2", roamer["Id"][:12]]
    # as libnetwork: a line of the container's own name for each endpoint
    hosts = _ok(cove, "exec", "roamer", "cat", "/etc/hosts").splitlines()
    short = roamer["Id"][:12]
    assert hosts[-2:] == [f"{_address(cove, 'roamer', 'one')}\t{short}",
                          f"10.79.0.77\t{short}"]
    again = cove("network", "connect", "two", "roamer")
    assert again.returncode == 1
    assert "endpoint with name roamer already exists in network two" in again.stderr
    _ok(cove, "network", "disconnect", "two", "roamer")
    assert "eth1" not in _ok(cove, "exec", "roamer", "ip", "link")
    assert "two" not in _inspect(cove, "roamer")["NetworkSettings"]["Networks"]
    cid = _inspect(cove, "roamer")["Id"]
    gone = cove("network", "disconnect", "two", "roamer")
    assert gone.returncode == 1
    assert f"container {cid} is not connected to network two" in gone.stderr
    # as libnetwork: a name once used in this run is not given again
    _ok(cove, "network", "connect", "two", "roamer")
    assert "eth2" in _ok(cove, "exec", "roamer", "ip", "link")
    _ok(cove, "network", "disconnect", "two", "roamer")
    # a created container gets the network at its start
    _ok(cove, "create", "--name", "later", "--network", "one", "busybox", "sleep", "300")
    _ok(cove, "network", "connect", "two", "later")
    _ok(cove, "start", "later")
    links = _ok(cove, "exec", "later", "ip", "-o", "addr")
    assert "eth0" in links and "eth1" in links and "10.79.0." in links


def test_ip_refusals_in_dockerds_words(cove: CLI) -> None:
    _ok(cove, "network", "create", "nosubnet")
    done = cove("run", "-d", "--name", "ipx", "--network", "nosubnet", "--ip", "172.18.0.9",
                "busybox", "sleep", "30")
    assert done.returncode != 0
    assert ("user specified IP address is supported only when connecting to networks with "
            "user configured subnets") in done.stderr
    bridge = cove("run", "-d", "--name", "ipy", "--ip", "172.17.0.9", "busybox", "sleep", "30")
    assert "user specified IP address is supported on user defined networks only" in \
        bridge.stderr


def test_rm_kill_and_daemon_restart_leave_nothing_and_keep_addresses(
        netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    before_links, before_table = _ours(netlab), _table(netlab)
    _ok(cove, "network", "create", "--subnet", "10.80.0.0/24", "life")
    _ok(cove, "network", "create", "--subnet", "10.81.0.0/24", "side")
    _ok(cove, "run", "-d", "--name", "keep", "-h", "keep", "--network", "life", "busybox",
        *HTTPD)
    _ok(cove, "network", "connect", "side", "keep")
    _ok(cove, "run", "-d", "--name", "peer", "--network", "life", "busybox", "sleep", "300")
    _ok(cove, "run", "-d", "--name", "doomed", "--network", "life", "busybox", "sleep", "300")
    keep_life, keep_side = _address(cove, "keep", "life"), _address(cove, "keep", "side")
    assert len([n for n in _ours(netlab) if n.startswith("cove-")]) == \
        len([n for n in before_links if n.startswith("cove-")]) + 4
    # kill -9 of a process frees its endpoint
    os.kill(int(_ok(cove, "inspect", "-f", "{{.State.Pid}}", "doomed")), signal.SIGKILL)
    wait_for(lambda: _ok(cove, "inspect", "-f", "{{.State.Status}}", "doomed").strip()
             == "exited")
    assert _inspect(cove, "doomed")["NetworkSettings"]["Networks"]["life"]["IPAddress"] == ""
    _ok(cove, "run", "-d", "--name", "orphan", "--network", "life", "busybox", "sleep", "300")
    orphan = _address(cove, "orphan", "life")
    veths = [n for n in _ours(netlab) if n.startswith("cove-")]
    # a daemon killed, one container dying meanwhile, the daemon started again: live
    # endpoints kept with their addresses, the dead one's veth swept and address freed
    orphan_pid = int(_ok(cove, "inspect", "-f", "{{.State.Pid}}", "orphan"))
    lab_coved.kill9()
    os.kill(orphan_pid, signal.SIGKILL)
    lab_coved.start()
    wait_for(lambda: _ok(cove, "inspect", "-f", "{{.State.Status}}", "orphan").strip()
             == "exited")
    assert len([n for n in _ours(netlab) if n.startswith("cove-")]) == len(veths) - 1
    veths = [n for n in _ours(netlab) if n.startswith("cove-")]
    _ok(cove, "run", "-d", "--name", "heir", "--network", "life", "busybox", "sleep", "300")
    assert _address(cove, "heir", "life") == orphan
    _ok(cove, "rm", "-f", "heir", "orphan")
    assert _address(cove, "keep", "life") == keep_life
    assert _address(cove, "keep", "side") == keep_side
    assert [n for n in _ours(netlab) if n.startswith("cove-")] == veths
    assert _fetch(cove, "peer", keep_life).stdout == "hello-keep\n"
    # a restart joins both networks again (the one connected later too)
    _ok(cove, "restart", "-t", "1", "keep")
    links = _ok(cove, "exec", "keep", "ip", "-o", "addr")
    assert "eth0    inet 10.80.0." in links and "eth1    inet 10.81.0." in links
    # a crash in the middle of network rm (its bridge gone, its record kept): the next
    # start makes the bridge again, and rm then removes both
    _ok(cove, "network", "create", "--subnet", "10.82.0.0/24", "halfgone")
    half = "br-" + _ok(cove, "network", "inspect", "-f", "{{.Id}}", "halfgone").strip()[:12]
    lab_coved.kill9()
    assert _in_host(netlab, ["ip", "link", "del", half]).returncode == 0
    lab_coved.start()
    wait_for(lambda: half in _links(netlab), timeout=30)
    _ok(cove, "network", "rm", "halfgone")
    assert half not in _links(netlab)
    _ok(cove, "rm", "-f", "keep", "peer", "doomed")
    _ok(cove, "network", "rm", "life", "side")
    assert _ours(netlab) == before_links
    assert _table(netlab) == before_table


def test_a_daemon_without_a_bridge_shows_host_and_none_and_refuses_networks(
        coved: Coved) -> None:
    """The shared coved runs with --bridge none: no bridge driver, so no user network."""
    status, listed = coved.request("GET", "/networks")
    assert status == 200 and sorted(n["Name"] for n in listed) == ["host", "none"]
    status, body = coved.request("POST", "/networks/create", {"Name": "nobridge-net"})
    assert status == 400 and "need the bridge driver" in body["message"]
    status, body = coved.request("GET", "/networks/bridge")
    assert (status, body) == (404, {"message": "network bridge not found"})
    status, body = coved.request("POST", "/containers/create",
                                 {"Image": "busybox", "MacAddress": "02:42:ac:11:00:09"})
    assert status == 400 and body["message"].startswith("--mac-address needs the default")
    status, body = coved.request("POST", "/containers/create", {
        "Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {
            "Aliases": ["a"]}}}})
    assert status == 400 and "network-scoped alias" in body["message"]
