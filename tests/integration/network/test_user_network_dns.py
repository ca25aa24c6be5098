"""Names on a user network, through the embedded DNS at 127.0.0.11, on coved in the network
lab and on the reference dockerd in a lab of its own: containers find each other by name,
alias, short ID and ``name.network``; a container on the default bridge has no names; other
names go to the ``--dns`` server (a fake one in the lab's outside namespace); a container
that leaves the network loses the names."""

from __future__ import annotations

import json
import secrets
import time

from tests.support.clis import CLI
from tests.support.fake_dns import FakeUpstream
from tests.support.lab_dockerd import LabEngine
from tests.support.netlab import OUTSIDE_UPLINK_ADDRESS

HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && "
         "exec httpd -f -p 80 -h /www"]


def _cli(engine: LabEngine) -> CLI:
    """Cove's CLI on coved, docker's on dockerd."""
    return engine.cove if engine.name == "coved" else engine.docker


def _ok(cli: CLI, *args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def _exec(cli: CLI, container: str, *argv: str) -> str:
    done = cli("exec", container, *argv)
    return done.stdout + done.stderr


def _resolves(cli: CLI, container: str, name: str, address: str) -> bool:
    """Whether ``name`` resolves to ``address`` in ``container`` (a few tries: the other
    container's endpoint may still be joining)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if f"Address: {address}" in _exec(cli, container, "nslookup", name):
            return True
        time.sleep(0.2)
    return False


def test_members_find_each_other_by_name_alias_id_and_network(lab_engine: LabEngine) -> None:
    engine = lab_engine
    cli, tag = _cli(engine), secrets.token_hex(3)
    net, web, client, lone = f"dns{tag}", f"web{tag}", f"client{tag}", f"lone{tag}"
    _ok(cli, "network", "create", net)
    try:
        web_id = _ok(cli, "run", "-d", "--name", web, "--network", net,
                     "--network-alias", f"www{tag}", "busybox", *HTTPD).strip()
        _ok(cli, "run", "-d", "--name", client, "--network", net, "busybox", "sleep", "300")
        _ok(cli, "run", "-d", "--name", lone, "busybox", "sleep", "300")
        networks = json.loads(_ok(cli, "inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                  web))
        address = networks[net]["IPAddress"]
        resolv = _exec(cli, client, "cat", "/etc/resolv.conf")
        assert "nameserver 127.0.0.11" in resolv, resolv
        for name in (web, web.upper(), f"www{tag}", web_id[:12], f"{web}.{net}"):
            assert _resolves(cli, client, name, address), name
        fetched = _exec(cli, client, "wget", "-qO-", f"http://www{tag}/")
        assert fetched.strip() == "hello-from-web"
        # the default bridge has no names: its container asks the host's servers
        assert "127.0.0.11" not in _exec(cli, lone, "cat", "/etc/resolv.conf")
        assert f"Address: {address}" not in _exec(cli, lone, "nslookup", web)
        # a container that leaves the network no longer finds its members
        _ok(cli, "network", "disconnect", net, client)
        _ok(cli, "network", "connect", "bridge", client)
        assert f"Address: {address}" not in _exec(cli, client, "nslookup", web)
    finally:
        cli("rm", "-f", web, client, lone)
        cli("network", "rm", net)


def test_other_names_go_to_the_dns_server_given(lab_engine: LabEngine) -> None:
    engine = lab_engine
    cli, tag = _cli(engine), secrets.token_hex(3)
    net, box = f"fwd{tag}", f"asker{tag}"
    outside = str(OUTSIDE_UPLINK_ADDRESS.ip)
    with FakeUpstream({"far.example": "203.0.113.7"}, address=outside,
                      netns=engine.lab.outside_path, port=53) as upstream:
        _ok(cli, "network", "create", net)
        try:
            _ok(cli, "run", "-d", "--name", box, "--network", net, "--dns", outside,
                "busybox", "sleep", "300")
            resolv = _exec(cli, box, "cat", "/etc/resolv.conf")
            assert "nameserver 127.0.0.11" in resolv and outside not in resolv, resolv
            assert _resolves(cli, box, "far.example", "203.0.113.7")
            assert ("far.example", "udp") in upstream.asked
        finally:
            cli("rm", "-f", box)
            cli("network", "rm", net)
