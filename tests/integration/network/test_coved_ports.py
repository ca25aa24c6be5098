"""coved with its default bridge, run inside the network lab's host namespace: containers
get an address and a way out, published ports answer on the lab host's 127.0.0.1 and
other address (TCP and UDP), survive ``restart`` and a daemon restart, and leave no veth,
rule or held port behind when the container goes, however it goes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from ipaddress import IPv4Address

import pytest

from cove.runtime.linux.conntrack import translated_flows
from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved
from tests.support.images import busybox_archive
from tests.support.netlab import HOST_UPLINK_ADDRESS, NetLab, wait_for

HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && "
         "exec httpd -f -p 80 -h /www"]
# busybox has no UDP server: the host's Python, its /usr bound read-only, echoes datagrams
UDP_ECHO = ["-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro",
            "busybox", "/usr/bin/python3", "-c",
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind(('',53))\nwhile True:\n d,a=s.recvfrom(100); s.sendto(d,a)"]


@pytest.fixture
def cove(lab_coved: Coved) -> CLI:
    return CLI([COVE], lab_coved.env)


def _in_host(lab: NetLab, argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return lab.run(lab.host, argv, **kwargs)  # type: ignore[arg-type]


def _get(lab: NetLab, address: str, port: int) -> str:
    return lab.http_get(lab.host, f"http://{address}:{port}/")


def _links(lab: NetLab) -> list[str]:
    out = _in_host(lab, ["ip", "-o", "link", "show"]).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def _veths(lab: NetLab) -> list[str]:
    return [name for name in _links(lab) if name.startswith("cove-")]


def _table(lab: NetLab) -> str:
    return _in_host(lab, ["nft", "list", "table", "ip", "cove"]).stdout


def _ok(cli: CLI, *args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _udp_exchange(lab: NetLab, address: str, port: int, text: str) -> str:
    """What comes back for one datagram sent from inside the lab's host (python in the
    namespace through nsenter)."""
    script = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)\n"
        "for _ in range(10):\n"
        f"    s.sendto(b'{text}\\n',('{address}',{port}))\n"
        "    try:\n"
        "        print(s.recv(100).decode().strip()); break\n"
        "    except OSError: pass\n")
    import sys

    return _in_host(lab, [sys.executable, "-c", script], timeout=20).stdout.strip()


def test_a_published_httpd_answers_on_loopback_and_the_hosts_address(
        netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "web", "-h", "web", "-p", "127.0.0.1:8080:80",
        "-p", "8081:80", "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"
    assert _get(netlab, str(HOST_UPLINK_ADDRESS.ip), 8081) == "hello-web\n"
    # 8080 is published on 127.0.0.1 only: the host's other address does not answer it
    assert _get(netlab, str(HOST_UPLINK_ADDRESS.ip), 8080) == ""
    assert netlab.http_get(netlab.outside, f"http://{HOST_UPLINK_ADDRESS.ip}:8081/") == \
        "hello-web\n"
    info = json.loads(_ok(cove, "inspect", "web"))[0]
    assert info["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"},
                   {"HostIp": "", "HostPort": "8081"}]}
    assert info["NetworkSettings"]["Ports"] == {  # no address given: on :: too, as dockerd
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"},
                   {"HostIp": "127.0.0.1", "HostPort": "8080"},
                   {"HostIp": "::", "HostPort": "8081"}]}
    settings = info["NetworkSettings"]
    assert settings["IPAddress"].startswith("172.17.") and settings["Gateway"] == "172.17.0.1"
    assert settings["Networks"]["bridge"]["IPAddress"] == settings["IPAddress"]
    ps = _ok(cove, "ps", "--format", "{{.Ports}}")
    assert ps.strip() == "0.0.0.0:8081->80/tcp, 127.0.0.1:8080->80/tcp, :::8081->80/tcp"
    assert _ok(cove, "port", "web").splitlines() == [
        "80/tcp -> 0.0.0.0:8081", "80/tcp -> 127.0.0.1:8080", "80/tcp -> [::]:8081"]
    with open(os.path.join(lab_coved.exec_root, "network", "ports.json")) as f:
        listed = json.load(f)["Ports"]
    assert sorted((p["HostIp"], p["HostPort"], p["ContainerPort"]) for p in listed) == [
        ("0.0.0.0", 8081, 80), ("127.0.0.1", 8080, 80), ("::", 8081, 80)]
    assert {p["Container"] for p in listed} == {info["Id"]}
    hosts = _ok(cove, "exec", "web", "cat", "/etc/hosts")
    assert hosts.splitlines()[-1] == f"{settings['IPAddress']}\tweb"
    routes = _ok(cove, "exec", "web", "ip", "route")
    assert "default via 172.17.0.1 dev eth0" in routes
    # another container, and the container itself, through the host's addresses (hairpin)
    for address in (str(HOST_UPLINK_ADDRESS.ip), "172.17.0.1"):
        url = f"http://{address}:8081/"
        assert _ok(cove, "run", "--rm", "busybox", "wget", "-q", "-O", "-", url) == \
            "hello-web\n"
        assert _ok(cove, "exec", "web", "wget", "-q", "-O", "-", url) == "hello-web\n"
    # host-gateway names the host as containers reach it: the bridge's address
    seen = _ok(cove, "run", "--rm", "--add-host", "gw:host-gateway", "busybox", "sh", "-c",
               "tail -n 2 /etc/hosts | head -n 1; wget -q -O - http://gw:8081/")
    assert seen == "172.17.0.1\tgw\nhello-web\n"


def test_the_container_reaches_the_outside_through_the_bridge(
        netlab: NetLab, cove: CLI, tmp_path: object) -> None:
    root = os.path.join(str(tmp_path), "www")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("outside\n")
    netlab.start(netlab.outside, ["busybox", "httpd", "-f", "-p", "80", "-h", root])
    done = cove("run", "--rm", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5 6 7 8 9 10; do "
                "wget -q -O - http://198.18.0.2/ && exit 0; sleep 0.2; done; exit 1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "outside\n"


def test_udp_and_a_random_port_show_in_cove_port(netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "dns", "-p", "127.0.0.1::53/udp", "-p", "80", *UDP_ECHO)
    udp = _ok(cove, "port", "dns", "53/udp").strip()
    address, _, port = udp.rpartition(":")
    assert address == "127.0.0.1" and 1024 < int(port) <= 65535
    tcp = _ok(cove, "port", "dns", "80").strip()
    assert tcp.startswith("0.0.0.0:") and tcp != "0.0.0.0:80"
    assert _udp_exchange(netlab, "127.0.0.1", int(port), "ping") == "ping"
    missing = cove("port", "dns", "81")
    assert missing.returncode == 1
    assert "No public port '81/tcp' published for dns" in missing.stderr


def test_publish_all_takes_the_exposed_ports(cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "all", "--expose", "80", "--expose", "90/udp", "-P",
        "busybox", "sleep", "60")
    ports = _ok(cove, "port", "all").splitlines()
    assert [line.split(" -> ")[0] for line in ports] == ["80/tcp", "80/tcp", "90/udp", "90/udp"]
    assert [line.split(" -> ")[1].rsplit(":", 1)[0] for line in ports] == [
        "0.0.0.0", "[::]", "0.0.0.0", "[::]"]  # on both, as dockerd publishes them


def test_a_port_in_use_gets_dockerds_error_and_nothing_is_left(
        netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "first", "-p", "8080:80", "busybox", "sleep", "60")
    veths, table = _veths(netlab), _table(netlab)
    done = cove("run", "-d", "--name", "second", "-p", "8080:80", "busybox", "sleep", "60")
    assert done.returncode == 125
    assert "driver failed programming external connectivity on endpoint second (" in done.stderr
    assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in done.stderr
    assert _veths(netlab) == veths and _table(netlab) == table
    # a port another program holds
    holder = netlab.start(netlab.host, ["busybox", "nc", "-l", "-p", "8090"])
    wait_for(lambda: "8090" in _in_host(netlab, ["ss", "-ltn"]).stdout)
    taken = cove("run", "-d", "--name", "third", "-p", "127.0.0.1:8090:80", "busybox",
                 "sleep", "60")
    assert taken.returncode == 125
    assert ("Error starting userland proxy: listen tcp4 127.0.0.1:8090: bind: address "
            "already in use") in taken.stderr
    assert _veths(netlab) == veths and _table(netlab) == table
    state = json.loads(_ok(cove, "inspect", "second"))[0]["State"]
    assert state["Status"] == "created" and state["Pid"] == 0
    holder.kill()


def test_the_port_answers_after_restart_and_after_a_daemon_restart(
        netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "web", "-h", "web", "-p", "8080:80", "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"
    _ok(cove, "restart", "-t", "1", "web")
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"
    assert len(_veths(netlab)) == 1
    address = json.loads(_ok(cove, "inspect", "web"))[0]["NetworkSettings"]["IPAddress"]
    lab_coved.kill9()
    assert _get(netlab, "127.0.0.1", 8080) == "hello-web\n"  # the kernel's rules: no daemon
    lab_coved.start()
    assert _get(netlab, "127.0.0.1", 8080) == "hello-web\n"
    info = json.loads(_ok(cove, "inspect", "web"))[0]
    assert info["NetworkSettings"]["IPAddress"] == address
    # the port is held again: a second container cannot take it
    again = cove("run", "-d", "--name", "thief", "-p", "8080:80", "busybox", "sleep", "60")
    assert again.returncode == 125 and "port is already allocated" in again.stderr
    _ok(cove, "rm", "-f", "web")
    assert _veths(netlab) == [] and "dnat to" not in _table(netlab)


def test_kill_9_of_the_process_frees_its_port_and_veth(netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "web", "-p", "8080:80", "busybox", *HTTPD)
    pid = int(_ok(cove, "inspect", "-f", "{{.State.Pid}}", "web"))
    assert len(_veths(netlab)) == 1
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _ok(cove, "inspect", "-f", "{{.State.Status}}", "web").strip() == "exited")
    assert _veths(netlab) == [] and "dnat to" not in _table(netlab)
    assert json.loads(_ok(cove, "inspect", "web"))[0]["NetworkSettings"]["Ports"] == {}
    _ok(cove, "run", "-d", "--name", "next", "-p", "8080:80", "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30).startswith("hello-")


def test_nothing_is_left_after_rm(netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "web", "-p", "8080:80", "-p", "5353:53/udp", "busybox",
        *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30)
    address = IPv4Address(_ok(cove, "inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                              "web").strip())
    assert translated_flows("tcp", 8080, address, 80, netlab.host_path)
    _ok(cove, "rm", "-f", "web")
    assert _veths(netlab) == []
    assert "dnat to" not in _table(netlab)
    assert translated_flows("tcp", 8080, address, 80, netlab.host_path) == []
    with open(os.path.join(lab_coved.exec_root, "network", "ports.json")) as f:
        assert json.load(f) == {"Ports": []}
    assert _in_host(netlab, ["ss", "-ltnu"]).stdout.count(":8080") == 0


def test_network_none_sees_only_lo_and_host_sees_the_labs_links(
        netlab: NetLab, cove: CLI) -> None:
    assert _ok(cove, "run", "--rm", "--network", "none", "busybox", "ls",
               "/sys/class/net").split() == ["lo"]
    bridged = _ok(cove, "run", "--rm", "busybox", "ls", "/sys/class/net").split()
    assert bridged == ["eth0", "lo"]
    host = _ok(cove, "run", "--rm", "--network", "host", "busybox", "ls",
               "/sys/class/net").split()
    assert "uplink" in host and "cove0" in host
    refused = cove("run", "--rm", "--network", "none", "-p", "80", "busybox", "true")
    assert refused.returncode == 125 and "port publishing" in refused.stderr


@pytest.mark.skipif(DOCKER is None, reason="the docker CLI is needed")
def test_the_docker_cli_publishes_and_lists_the_same(netlab: NetLab, lab_coved: Coved) -> None:
    assert DOCKER is not None
    docker = CLI([DOCKER], lab_coved.env)
    _ok(docker, "run", "-d", "--name", "web", "-h", "web", "-p", "127.0.0.1:8080:80",
        "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"
    assert _ok(docker, "port", "web").strip() == "80/tcp -> 127.0.0.1:8080"
    assert "127.0.0.1:8080->80/tcp" in _ok(docker, "ps")


DOCKER_FORWARD_DROP = ("table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward "
                       "priority 0; policy drop;\n\t}\n}\n")


def test_anothers_forward_drop_policy_is_left_alone_and_named_in_the_log(
        netlab: NetLab) -> None:
    """Docker's iptables leaves ``filter FORWARD`` dropping: Cove does not edit it, says so
    at start, and the host's own 127.0.0.1 still reaches a published port."""
    assert _in_host(netlab, ["nft", "-f", "-"], input=DOCKER_FORWARD_DROP).returncode == 0
    before = _in_host(netlab, ["nft", "list", "table", "ip", "filter"]).stdout
    daemon = Coved(netns=netlab.host_path)
    try:
        daemon.start()
        daemon.load(busybox_archive())
        cove = CLI([COVE], daemon.env)
        assert "the forward chain ip filter FORWARD drops by default" in daemon.log()
        _ok(cove, "run", "-d", "--name", "web", "-h", "web", "-p", "8080:80", "busybox",
            *HTTPD)
        assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"
        assert netlab.http_get(netlab.outside, f"http://{HOST_UPLINK_ADDRESS.ip}:8080/") == ""
    finally:
        daemon.stop()
        daemon.cleanup()
    assert _in_host(netlab, ["nft", "list", "table", "ip", "filter"]).stdout == before


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_run_rm_cycles_with_ports_leave_nothing_behind(
        netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    """Many ``run --rm -p`` (TCP and UDP, fixed and random): afterwards no veth, no DNAT
    rule, no held port, no address given and no more open files in coved than before."""
    assert lab_coved.proc is not None
    _ok(cove, "run", "--rm", "-p", "127.0.0.1:8080:80", "busybox", "true")  # warm up
    fds = _fds(lab_coved.proc.pid)
    for round_ in range(30):
        _ok(cove, "run", "--rm", "-p", "127.0.0.1:8080:80", "-p", "53/udp", "-p", "80",
            "busybox", "true")
        if round_ % 10 == 0:
            _ok(cove, "run", "-d", "--name", f"cycle{round_}", "-p", "8081:80", "busybox",
                "sleep", "60")
            _ok(cove, "rm", "-f", f"cycle{round_}")
    assert _veths(netlab) == []
    assert "dnat to" not in _table(netlab)
    assert _in_host(netlab, ["ss", "-lntua"]).stdout.count("8080") == 0
    with open(os.path.join(lab_coved.data_root, "network", "ipam.json")) as f:
        assert json.load(f)["Networks"]["bridge"]["Addresses"] == {}
    assert _fds(lab_coved.proc.pid) <= fds


def test_a_container_that_died_with_the_daemon_down_is_swept_at_start(
        netlab: NetLab, lab_coved: Coved, cove: CLI) -> None:
    """coved is killed, then one of its two containers: the next coved keeps the live one's
    port and sweeps the dead one's veth, rule, address and port."""
    _ok(cove, "run", "-d", "--name", "live", "-h", "live", "-p", "8080:80", "busybox", *HTTPD)
    _ok(cove, "run", "-d", "--name", "dead", "-h", "dead", "-p", "8081:80", "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8081), timeout=30) == "hello-dead\n"
    pid = int(_ok(cove, "inspect", "-f", "{{.State.Pid}}", "dead"))
    dead = IPv4Address(_ok(cove, "inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                           "dead").strip())
    assert translated_flows("tcp", 8081, dead, 80, netlab.host_path)
    lab_coved.kill9()
    os.kill(pid, signal.SIGKILL)
    lab_coved.start()
    assert _ok(cove, "inspect", "-f", "{{.State.Status}}", "dead").strip() == "exited"
    assert len(_veths(netlab)) == 1 and ":8081" not in _table(netlab)
    assert translated_flows("tcp", 8081, dead, 80, netlab.host_path) == []
    assert _get(netlab, "127.0.0.1", 8080) == "hello-live\n"
    _ok(cove, "run", "-d", "--name", "next", "-h", "next", "-p", "8081:80", "busybox", *HTTPD)
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8081), timeout=30) == "hello-next\n"


def test_a_container_network_shares_the_donors_address_and_ports(
        netlab: NetLab, cove: CLI) -> None:
    _ok(cove, "run", "-d", "--name", "web", "-h", "web", "-p", "8080:80", "busybox", *HTTPD)
    address = _ok(cove, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    seen = _ok(cove, "run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
               "ip -o -4 addr show eth0; wget -q -O - http://127.0.0.1/")
    assert f"inet {address}/16" in seen and seen.endswith("hello-web\n")
    assert len(_veths(netlab)) == 1  # the joiner got no veth of its own
    assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-web\n"


def test_docker_py_publishes_and_reads_the_ports(netlab: NetLab, lab_coved: Coved) -> None:
    import docker

    client = docker.DockerClient(base_url=lab_coved.host, version="1.41", timeout=60)
    try:
        container = client.containers.run(
            "busybox", HTTPD, detach=True, hostname="py",
            ports={"80/tcp": ("127.0.0.1", 8080), "81/udp": None})
        container.reload()
        assert container.ports["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8080"}]
        random = int(container.ports["81/udp"][0]["HostPort"])
        assert random > 1024
        assert wait_for(lambda: _get(netlab, "127.0.0.1", 8080), timeout=30) == "hello-py\n"
        container.remove(force=True)
    finally:
        client.close()
