"""``cove network ...`` (and run's network flags) against the same daemon as the real
docker CLI: the same exit codes, output and errors, and the same requests (what the daemon
made of them reads back the same).

The daemon is the reference dockerd, then coved, each inside a network lab, so the
networks are made there and not on the real machine. A test is a list of steps that docker runs first and cove then
runs again, on a clean slate each time (the test's objects removed in between), under the
same names; the outputs are compared with ids and times made alike. The installed docker
CLI (newer than 20.10) adds an ``exit status N`` line after some failures that 20.10 does
not print: that line is left out.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence

import pytest

from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved
from tests.support.fixtures import running_coved
from tests.support.images import busybox_archive
from tests.support.netlab import NetLab

pytestmark = pytest.mark.docker_cli

Result = tuple[int, str, str]
Step = tuple[str, ...]


@pytest.fixture(scope="module")
def module_lab_coved() -> Iterator[Coved]:
    """A coved in a lab of its own, shared by this module's tests, with busybox loaded."""
    with NetLab() as lab:
        yield from running_coved(busybox_archive(), netns=lab.host_path)


@pytest.fixture(scope="module", params=["dockerd", "coved"])
def clis(request: pytest.FixtureRequest) -> tuple[CLI, CLI]:
    """(docker, cove) pointed at the same daemon in a lab: the reference dockerd, then
    coved."""
    fixture = "lab_dockerd" if request.param == "dockerd" else "module_lab_coved"
    env = request.getfixturevalue(fixture).env
    assert DOCKER is not None
    return CLI([DOCKER], env), CLI([COVE], env)


def _clean(docker: CLI, base: str) -> None:
    """Remove the containers and networks named after ``base``."""
    containers = docker("ps", "-aq", "--filter", f"name={base}").stdout.split()
    if containers:
        docker("rm", "-f", *containers)
    networks = docker("network", "ls", "-q", "--filter", f"name={base}").stdout.split()
    if networks:
        docker("network", "rm", *networks)


@pytest.fixture
def name(clis: tuple[CLI, CLI]) -> Iterator[str]:
    """A name of the test's own; whatever the test left behind is removed afterwards."""
    base = f"t{secrets.token_hex(3)}"
    yield base
    _clean(clis[0], base)


def _normal(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{64}\b", "<ID>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z| \+0000 UTC)", "<time>", text)
    text = re.sub(r'"MacAddress": ?"[0-9a-f:]+"', '"MacAddress":"<mac>"', text)
    # docker's next default pool moves on after each network
    return re.sub(r"\b172\.(1[6-9]|2\d|3[01])\.", "172.x.", text)


def _run(cli: CLI, docker: bool, args: Sequence[str], base: str, input: str | None) -> Result:
    done = cli(*(a.replace("{n}", base) for a in args), input=input)
    stderr = "".join(line for line in done.stderr.splitlines(keepends=True)
                     if not re.fullmatch(r"exit status \d+\n?", line))
    if docker:
        stderr = re.sub(r"\bdocker\b", "cove", stderr)
    return done.returncode, _normal(done.stdout), _normal(stderr)


def alike(clis: tuple[CLI, CLI], base: str, steps: Sequence[Step | tuple[Step, str]],
          setup: Callable[[CLI], None] | None = None) -> list[Result]:
    """Run ``steps`` (each args, or (args, stdin)) with docker, clean up, run them with
    cove; assert that each step did and said the same. ``{n}`` in an argument is ``base``;
    a step that starts with ``@docker`` is run by docker both times (to read a result);
    ``setup`` makes, through docker, what the steps work on. docker's results."""
    docker, cove = clis
    results: list[list[Result]] = []
    for cli in (docker, cove):
        _clean(docker, base)
        if setup is not None:
            setup(docker)
        mine = []
        for step in steps:
            args, input = step if isinstance(step[0], tuple) else (step, None)
            if args[0] == "@docker":  # a look at the result, the same tool on both runs
                mine.append(_run(docker, True, args[1:], base, input))  # type: ignore[arg-type]
            else:
                mine.append(_run(cli, cli is docker, args, base, input))  # type: ignore[arg-type]
        results.append(mine)
    for step, theirs, ours in zip(steps, *results, strict=True):
        assert ours == theirs, f"step {step}"
    return results[0]


def same(clis: tuple[CLI, CLI], base: str, *args: str) -> Result:
    return alike(clis, base, [args])[0]


@pytest.mark.parametrize("args", [
    ("network", "ls", "--filter", "name=bridge"),
    ("network", "ls", "--no-trunc", "--filter", "driver=null"),
    ("network", "ls", "-q", "-f", "name=host"),
    ("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.IPv6}} {{.Internal}} {{.Labels}}",
     "-f", "type=builtin"),
    ("network", "ls", "--format", "table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}", "-f", "name=none"),
    ("network", "ls", "-f", "nokey"),
    ("network", "ls", "-f", "bogus=1"),
    ("network", "ls", "extra"),
    ("network", "inspect", "bridge", "host", "none"),
    ("network", "inspect", "-v", "host"),
    ("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}}", "bridge", "host"),
    ("network", "inspect", "host", "{n}-missing"),
    ("network", "inspect", "-f", "{{.Name}}", "{n}-missing"),
    ("network", "inspect", "-f", "{{.Name", "bridge"),
    ("network", "rm", "{n}-missing1", "{n}-missing2"),
    ("network", "rm"),
    ("network", "create"),
    ("network", "create", "a", "b"),
    ("network", "connect", "onlyone"),
    ("network", "connect", "{n}", "{n}-nocontainer"),
    ("network", "disconnect", "{n}", "{n}-nocontainer"),
    ("network", "prune", "extra"),
    ("network", "create", "--gateway", "10.0.0.1", "{n}"),
    ("network", "create", "--subnet", "10.0.0.0/8", "--subnet", "10.1.0.0/16", "{n}"),
    ("network", "create", "--subnet", "10.0.0.0/8", "--aux-address", "a=11.0.0.1", "{n}"),
    ("network", "create", "--subnet", "10.0.0.0/8,bad", "{n}"),
    ("network", "create", "--subnet", "bad", "{n}"),
    ("network", "create", "--subnet", "10.5.0.0/16", "--subnet", "10.6.0.0/16", "{n}"),
    ("network", "create", "--scope", "swarm", "{n}"),
    ("network", "create", "--ingress", "{n}"),
    ("network", "create", "-d", "nope", "{n}"),
    ("network", "create", "--ipam-driver", "nope", "{n}"),
    ("network", "create", "--label", "=x", "{n}"),
    ("network", "create", "-o", "com.example.x=y", "--ipam-opt", "k=v", "{n}"),
    ("network", "create", "--config-only", "{n}"),
    ("network", "create", "--ipv6", "--subnet", "fd00:1::/64", "{n}"),
    ("network", "connect", "--link", "a:b:c", "bridge", "{n}"),
    ("network", "connect", "--driver-opt", "novalue", "bridge", "{n}"),
    ("run", "--rm", "--network-alias", "a", "busybox", "true"),
    ("run", "--rm", "--network", "host", "--network", "{n}", "busybox", "true"),
    ("run", "--rm", "--network", "{n}-missing", "busybox", "true"),
    ("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"),
    ("run", "--rm", "--network", "bridge", "--ip", "172.17.0.99", "busybox", "true"),
    ("run", "--rm", "--network", "bridge", "--network-alias", "a", "busybox", "true"),
    ("run", "--rm", "--network", "name={n},colour=red", "busybox", "true"),
    ("create", "--network", "{n}", "--network", "{n}", "busybox"),
])
def test_what_needs_no_object_of_its_own_prints_the_same(clis, name, args):
    same(clis, name, *args)


def test_create_then_inspect_ls_and_rm_print_the_same(clis, name):
    results = alike(clis, name, [
        ("network", "create", "--subnet", "10.77.0.0/16", "--gateway", "10.77.0.254",
         "--ip-range", "10.77.3.0/24", "--aux-address", "reserved=10.77.0.9", "--internal",
         "--attachable", "--label", "b=2", "--label", "a=1",
         "-o", "com.docker.network.bridge.name=br{n}", "{n}"),
        ("network", "inspect", "{n}"),
        ("network", "inspect", "-f", "{{json .IPAM}} {{.Internal}} {{.Attachable}}", "{n}"),
        ("network", "create", "{n}"),  # already there: the daemon's error
        ("network", "create", "--subnet", "10.77.0.0/24", "{n}-overlap"),
        ("network", "ls", "--filter", "name={n}",
         "--format", "{{.Name}}\t{{.Internal}}\t{{.Label \"a\"}}"),
        ("network", "ls", "--filter", "label=a=1", "--filter", "name={n}"),
        ("network", "list", "-q", "--filter", "name={n}"),
        ("network", "rm", "{n}", "{n}-missing", "{n}"),
        ("network", "create", "--subnet", "10.78.0.0/16,10.79.0.0/16", "{n}"),
        ("network", "create", "{n}-auto"),
        ("network", "inspect", "-f", "{{json .IPAM.Config}}", "{n}-auto"),
        ("network", "remove", "{n}-auto"),
    ])
    assert results[0][:2] == (0, "<ID>\n")
    assert '"AuxiliaryAddresses":{"reserved":"10.77.0.9"}' in results[2][1]
    assert results[-5][0] == 1  # several subnets: the bridge driver's refusal


def test_prune_asks_first_and_then_prints_the_same(clis, name):
    results = alike(clis, name, [
        ("network", "create", "--label", "prune={n}", "{n}"),
        (("network", "prune", "--filter", "label=prune={n}"), "n\n"),  # declined
        ("network", "inspect", "-f", "{{.Name}}", "{n}"),
        (("network", "prune", "--filter", "label=prune={n}"), "y\n"),
        ("network", "inspect", "-f", "{{.Name}}", "{n}"),
        ("network", "create", "--label", "prune={n}", "{n}"),
        ("network", "prune", "-f", "--filter", "label=prune={n}"),
        ("network", "prune", "-f", "--filter", "label=prune={n}"),  # nothing left
    ])
    assert results[3][1].endswith(f"Deleted Networks:\n{name}\n\n")
    assert results[4][0] == 1


def _container(docker: CLI, base: str) -> None:
    """A network and a running container, both called ``base``."""
    done = docker("network", "create", "--subnet", "10.90.0.0/24", base)
    assert done.returncode == 0, done.stderr
    done = docker("run", "-d", "--name", base, "busybox", "sleep", "300")
    assert done.returncode == 0, done.stderr


def test_connect_and_disconnect_act_and_print_the_same(clis, name):
    fmt = "{{json .NetworkSettings.Networks}}"
    results = alike(clis, name, [
        ("network", "connect", "--alias", "web,www", "--alias", "w3", "--driver-opt", "k=v",
         "--ip", "10.90.0.50", "{n}", "{n}"),
        ("@docker", "inspect", "-f", fmt, "{n}"),
        ("network", "connect", "{n}", "{n}"),  # already connected: the daemon's error
        ("network", "disconnect", "{n}", "{n}"),
        ("network", "disconnect", "{n}", "{n}"),  # not connected any more
        ("network", "connect", "--link", "{n}:peer", "{n}", "{n}"),
        ("@docker", "inspect", "-f", fmt, "{n}"),
        ("network", "disconnect", "-f", "{n}", "{n}"),
        ("@docker", "inspect", "-f", fmt, "{n}"),
    ], setup=lambda docker: _container(docker, name))
    assert results[0][0] == 0
    assert '"Aliases":["web","www","w3",' in results[1][1]
    assert '"DriverOpts":{"k":"v"}' in results[1][1]
    assert '"IPv4Address":"10.90.0.50"' in results[1][1]


def test_run_and_create_send_network_alias_ip_and_mac_as_docker_does(clis, name):
    fmt = "{{.HostConfig.NetworkMode}} {{json .NetworkSettings.Networks}}"
    results = alike(clis, name, [
        ("create", "--name", "{n}", "--network", "{n}", "--network-alias", "db",
         "--ip", "10.90.0.40", "busybox", "sleep", "300"),
        ("@docker", "inspect", "-f", fmt, "{n}"),
        ("run", "--rm", "--network", "{n}", "--network-alias", "probe", "busybox", "sh", "-c",
         "ip -o -4 addr show eth0 | awk '{print $4}'; nslookup db 127.0.0.11 >/dev/null "
         "&& echo resolved"),
        ("run", "--rm", "--network", "name={n},alias=x,ip=10.90.0.77", "busybox", "sh", "-c",
         "ip -o -4 addr show eth0 | awk '{print $4}'"),
        ("run", "--rm", "--network", "{n}", "--ip", "10.90.0.40", "busybox", "true"),
    ], setup=lambda docker: docker("network", "create", "--subnet", "10.90.0.0/24", name))
    assert results[1][1].startswith(f"{name} ")
    assert '"IPv4Address":"10.90.0.40"' in results[1][1] and '"db"' in results[1][1]
    assert "10.90.0.77/24" in results[3][1]


def test_run_mac_address_is_the_containers_as_with_docker_20_10(clis, name):
    """The installed docker CLI sends ``--mac-address`` per network, which API 1.41 lacks
    (it refuses); 20.10's sends Config.MacAddress, as cove does: the container has it."""
    docker, cove = clis
    assert docker("network", "create", "--subnet", "10.90.0.0/24", name).returncode == 0
    ran = cove("run", "--name", name, "--network", name, "--mac-address", "92:d0:c6:0a:29:33",
               "busybox", "cat", "/sys/class/net/eth0/address")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "92:d0:c6:0a:29:33\n", "")
    assert docker("inspect", "-f", "{{.Config.MacAddress}}", name).stdout == "92:d0:c6:0a:29:33\n"
