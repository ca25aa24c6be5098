"""``cove network ...`` and run's network flags, without a daemon: the flags read as the
docker CLI reads them, the request bodies it sends, and what it prints."""

from __future__ import annotations

import io

import pytest

from cove.desktop.cli import container_run, main, network_options, networks
from cove.desktop.cli.command import Cli, parse
from cove.desktop.cli.errors import (
    BadTemplate,
    CLIError,
    CommandFailed,
    InvalidOption,
    UsageError,
)
from cove.desktop.client.errors import NotFound

NET_ID = "a" * 12 + "b" * 52


class FakeClient:
    def __init__(self, listed: list[dict] | None = None) -> None:
        self.listed = listed or []
        self.calls: list[tuple] = []

    def networks(self, filters: dict) -> list[dict]:
        self.calls.append(("ls", filters))
        return self.listed

    def create_network(self, body: dict) -> dict:
        self.calls.append(("create", body))
        return {"Id": NET_ID, "Warning": ""}

    def inspect_network(self, name: str, verbose: bool = False) -> dict:
        self.calls.append(("inspect", name, verbose))
        if name.startswith("missing"):
            raise NotFound(404, f"network {name} not found")
        return {"Name": name, "Id": NET_ID, "Ingress": False}

    def remove_network(self, name: str) -> None:
        self.calls.append(("rm", name))
        if name.startswith("missing"):
            raise NotFound(404, f"network {name} not found")

    def prune_networks(self, filters: dict) -> dict:
        self.calls.append(("prune", filters))
        return {"NetworksDeleted": ["n1", "n2"]}

    def connect_network(self, name: str, container: str, endpoint: dict) -> None:
        self.calls.append(("connect", name, container, endpoint))

    def disconnect_network(self, name: str, container: str, force: bool = False) -> None:
        self.calls.append(("disconnect", name, container, force))


def _run(key: str, argv: list[str], client: FakeClient) -> tuple[str, str]:
    """(stdout, stderr) of one command; a CLIError propagates with its kind."""
    args, _ = parse(networks.COMMANDS[key], key, argv)
    out, err = io.StringIO(), io.StringIO()
    cli = Cli("unix:///nowhere", stdout=out, stderr=err)
    cli._client = client  # type: ignore[assignment]
    networks.COMMANDS[key].handler(args, cli)
    return out.getvalue(), err.getvalue()


def _created(argv: list[str]) -> dict:
    client = FakeClient()
    out, _ = _run("network create", argv, client)
    assert out == NET_ID + "\n"
    return client.calls[0][1]


def test_network_is_a_command_group_with_dockers_aliases():
    assert main._resolve(["network", "list"]) == ("networks", "network ls", [])
    assert main._resolve(["network", "remove", "x"]) == ("networks", "network rm", ["x"])
    assert main._resolve(["network", "connect", "n", "c"]) == (
        "networks", "network connect", ["n", "c"])
    assert "  network     Manage networks\n" in main.USAGE


def test_create_sends_dockers_whole_request():
    assert _created(["plain"]) == {
        "Name": "plain", "CheckDuplicate": True, "Driver": "bridge", "Scope": "",
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Config": [], "Options": {}},
        "Internal": False, "Attachable": False, "Ingress": False, "ConfigOnly": False,
        "ConfigFrom": None, "Options": {}, "Labels": {}}


def test_create_sends_every_flag_not_just_the_supported_ones():
    body = _created(["-d", "overlay", "--scope", "swarm", "--ingress", "--attachable",
                     "--internal", "--ipv6", "--config-only", "--config-from", "base",
                     "--ipam-driver", "other", "--ipam-opt", "a=1", "-o", "mtu=1400",
                     "--opt", "bare", "--label", "k=v", "--label", "flag", "full"])
    assert body["Driver"] == "overlay" and body["Scope"] == "swarm"
    assert body["Ingress"] and body["Attachable"] and body["Internal"]
    assert body["EnableIPv6"] and body["ConfigOnly"]
    assert body["ConfigFrom"] == {"Network": "base"}
    assert body["IPAM"] == {"Driver": "other", "Config": [], "Options": {"a": "1"}}
    assert body["Options"] == {"mtu": "1400", "bare": ""}
    assert body["Labels"] == {"k": "v", "flag": ""}
    assert list(body["Labels"]) == ["flag", "k"]  # Go writes a map's keys sorted


def test_each_gateway_range_and_aux_address_goes_with_the_subnet_that_holds_it():
    body = _created(["--subnet", "10.1.0.0/16,10.2.0.0/16", "--subnet", "fd00::/64",
                     "--gateway", "10.2.0.254", "--gateway", "10.1.0.1",
                     "--ip-range", "10.1.5.0/24", "--aux-address", "host=10.2.0.9",
                     "--aux-address", "v6=fd00::9", "multi"])
    assert body["IPAM"]["Config"] == [
        {"Subnet": "10.1.0.0/16", "Gateway": "10.1.0.1", "IPRange": "10.1.5.0/24"},
        {"Subnet": "10.2.0.0/16", "Gateway": "10.2.0.254",
         "AuxiliaryAddresses": {"host": "10.2.0.9"}},
        {"Subnet": "fd00::/64", "AuxiliaryAddresses": {"v6": "fd00::9"}}]


@pytest.mark.parametrize(("argv", "message"), [
    (["--gateway", "10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
    (["--subnet", "10.0.0.0/8", "--ip-range", "10.0.0.0/24", "--ip-range", "10.1.0.0/24"],
     "every ip-range or gateway must have a corresponding subnet"),
    (["--subnet", "10.0.0.0/8", "--subnet", "10.1.0.0/16"],
     "multiple overlapping subnet configuration is not supported"),
    (["--subnet", "10.0.0.0/8", "--subnet", "10.0.0.0/8"],
     "multiple overlapping subnet configuration is not supported"),
    (["--subnet", "10.0.0.0/8", "--subnet", "bad"], "invalid subnet: invalid CIDR address: bad"),
    (["--subnet", "10.0.0.0/8", "--gateway", "11.0.0.1"], "no matching subnet for gateway 11.0.0.1"),
    (["--subnet", "10.0.0.0/8", "--ip-range", "11.0.0.0/24"],
     "no matching subnet for range 11.0.0.0/24"),
    (["--subnet", "10.0.0.0/8", "--ip-range", "10.0.0.0/33"], "invalid CIDR address: 10.0.0.0/33"),
    (["--subnet", "10.0.0.0/8", "--aux-address", "a=11.0.0.1"],
     "no matching subnet for aux-address 11.0.0.1"),
    (["--subnet", "10.0.0.0/8", "--aux-address", "a"], "no matching subnet for aux-address "),
    (["--subnet", "10.0.0.0/8", "--subnet", "11.0.0.0/8", "--gateway", "10.0.0.1,10.0.0.2"],
     "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/8)"),
])
def test_ipam_flags_docker_refuses_are_refused_in_its_words(argv, message):
    with pytest.raises(CommandFailed) as caught:
        _created([*argv, "x"])
    assert caught.value.message == message
    assert caught.value.exit_code == 1


def test_a_single_bad_subnet_is_left_to_the_daemon_as_docker_leaves_it():
    assert _created(["--subnet", "bad", "x"])["IPAM"]["Config"] == [{"Subnet": "bad"}]


def test_an_ipv4_address_lies_in_an_ipv6_subnet_that_maps_it_as_in_go():
    assert network_options.ipam_config(["::/0"], [], ["10.0.0.1"], {}) == [
        {"Subnet": "::/0", "Gateway": "10.0.0.1"}]


def test_a_label_without_a_name_is_a_flag_error():
    with pytest.raises(UsageError) as caught:
        _created(["--label", "=x", "x"])
    assert caught.value.message == \
        'invalid argument "=x" for "--label" flag: invalid label \'=x\': empty name'
    assert caught.value.exit_code == 125


def test_ls_sorts_by_name_truncates_ids_and_passes_filters():
    listed = [{"Name": n, "Id": c * 64, "Driver": "bridge", "Scope": "local"}
              for n, c in (("n10", "1"), ("n9", "2"), ("bridge", "3"))]
    client = FakeClient(listed)
    out, _ = _run("network ls", ["-f", "driver=bridge ", "--filter", " Name=n"], client)
    assert out == ("NETWORK ID     NAME      DRIVER    SCOPE\n"
                   "333333333333   bridge    bridge    local\n"
                   "222222222222   n9        bridge    local\n"
                   "111111111111   n10       bridge    local\n")
    assert client.calls[0] == ("ls", {"driver": ["bridge"], "name": ["n"]})
    assert _run("network ls", ["-q"], client)[0] == "333333333333\n222222222222\n111111111111\n"
    assert _run("network ls", ["-q", "--no-trunc"], client)[0].split("\n")[0] == "3" * 64


def test_ls_fields_print_as_dockers_formatter_prints_them():
    row = networks.NetworkRow({"Name": "n", "Id": NET_ID, "Driver": "bridge", "Scope": "local",
                               "EnableIPv6": True, "Internal": False,
                               "Labels": {"b": "2", "a": "1"},
                               "Created": "2026-12-07T23:45:54.944553000Z"}, trunc=True)
    assert row.to_json() == {"CreatedAt": "2026-12-07 23:45:54.944553 +0000 UTC",
                             "Driver": "bridge", "ID": NET_ID[:12], "IPv6": "true",
                             "Internal": "false", "Labels": "a=1,b=2", "Name": "n",
                             "Scope": "local"}
    assert networks.go_time("2026-01-02T03:04:05Z") == "2026-01-02 03:04:05 +0000 UTC"
    assert networks.go_time("2026-01-02T03:04:05.5+01:00") == "2026-01-02 03:04:05.5 +0100 +0100"


def test_a_filter_without_a_value_is_a_flag_error():
    with pytest.raises(UsageError) as caught:
        _run("network ls", ["-f", "nokey"], FakeClient())
    assert caught.value.message == ('invalid argument "nokey" for "-f, --filter" flag: '
                                    "bad format of filter (expected name=value)")


def test_an_inspect_template_that_does_not_parse_exits_64_as_dockers():
    with pytest.raises(BadTemplate) as caught:
        _run("network inspect", ["-f", "{{.Name}}\n{{.Id", "bridge"], FakeClient())
    assert caught.value.message == "template parsing error: template: :2: unclosed action"
    assert caught.value.exit_code == 64


def test_rm_removes_each_name_reports_each_failure_and_fails_if_any_did():
    client = FakeClient()
    with pytest.raises(CLIError) as caught:
        _run("network rm", ["a", "missing1", "b"], client)
    assert caught.value.exit_code == 1 and caught.value.message == ""
    assert [call[1] for call in client.calls if call[0] == "rm"] == ["a", "missing1", "b"]
    out, err = _run("network rm", ["a", "b"], FakeClient())
    assert (out, err) == ("a\nb\n", "")


def test_prune_asks_unless_forced_and_lists_what_went(monkeypatch):
    out, _ = _run("network prune", ["-f", "--filter", "label=x"], client := FakeClient())
    assert out == "Deleted Networks:\nn1\nn2\n\n"
    assert client.calls == [("prune", {"label": ["x"]})]
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    out, _ = _run("network prune", [], client := FakeClient())
    assert out == ("WARNING! This will remove all custom networks not used by at least one "
                   "container.\nAre you sure you want to continue? [y/N] ")
    assert client.calls == []


def test_connect_sends_the_endpoint_settings_docker_sends():
    client = FakeClient()
    _run("network connect", ["--alias", "a,b", "--alias", "c", "--ip", "10.0.0.5",
                             "--ip6", "fd00::5", "--link", "other:o", "--link-local-ip",
                             "169.254.0.5", "--driver-opt", " k = v ", "net", "ctr"], client)
    assert client.calls == [("connect", "net", "ctr", {
        "IPAMConfig": {"IPv4Address": "10.0.0.5", "IPv6Address": "fd00::5",
                       "LinkLocalIPs": ["169.254.0.5"]},
        "Links": ["other:o"], "Aliases": ["a", "b", "c"], "DriverOpts": {"k": "v"}})]
    _run("network connect", ["net", "ctr"], client := FakeClient())
    assert client.calls[0][3] == {"IPAMConfig": {}, "Links": None, "Aliases": [],
                                  "DriverOpts": {}}


def test_connect_refuses_a_bad_link_and_a_driver_opt_without_a_value():
    with pytest.raises(UsageError) as caught:
        _run("network connect", ["--link", "a:b:c", "net", "ctr"], FakeClient())
    assert caught.value.message == \
        'invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c'
    with pytest.raises(CommandFailed) as failed:
        _run("network connect", ["--driver-opt", "k", "net", "ctr"], FakeClient())
    assert failed.value.message == "invalid key/value pair format in driver options"


def test_disconnect_sends_force():
    _run("network disconnect", ["-f", "net", "ctr"], client := FakeClient())
    assert client.calls == [("disconnect", "net", "ctr", True)]


# --- run/create ----------------------------------------------------------------------


def _body(argv: list[str]) -> dict:
    command = container_run.COMMANDS["create"]
    args, _ = parse(command, "create", [*argv, "busybox"])
    from cove.desktop.cli.run_options import build_create_body

    return build_create_body(args, "busybox", [], run=False, environ={})


def test_run_on_a_named_network_alone_sends_no_endpoint():
    body = _body(["--network", "mynet"])
    assert body["HostConfig"]["NetworkMode"] == "mynet"
    assert "NetworkingConfig" not in body and "MacAddress" not in body
    assert "NetworkMode" not in _body([])["HostConfig"]


def test_run_sends_aliases_addresses_and_mac_as_docker_does():
    body = _body(["--network", "mynet", "--network-alias", "web", "--net-alias", "www",
                  "--ip", "10.9.0.5", "--ip6", "fd00::5", "--link-local-ip", "169.254.1.1",
                  "--mac-address", "92:d0:c6:0a:29:33"])
    assert body["HostConfig"]["NetworkMode"] == "mynet"
    assert body["MacAddress"] == "92:d0:c6:0a:29:33"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"mynet": {
        "Aliases": ["web", "www"],
        "IPAMConfig": {"IPv4Address": "10.9.0.5", "IPv6Address": "fd00::5",
                       "LinkLocalIPs": ["169.254.1.1"]}}}}


def test_run_reads_the_long_network_form_and_several_networks():
    body = _body(["--network", "name=Front,alias=A1,ip=10.0.0.9,driver-opt=k=v",
                  "--network", "back"])
    assert body["HostConfig"]["NetworkMode"] == "front"  # docker lower-cases the long form
    assert body["NetworkingConfig"]["EndpointsConfig"] == {
        "front": {"Aliases": ["a1"], "DriverOpts": {"k": "v"},
                  "IPAMConfig": {"IPv4Address": "10.0.0.9"}},
        "back": {}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--network-alias", "a"], "network-scoped aliases are only supported for user-defined "
                               "networks"),
    (["--network", "bridge", "--network-alias", "a"],
     "network-scoped aliases are only supported for user-defined networks"),
    (["--network", "host", "--network", "mynet"],
     "conflicting options: cannot attach both user-defined and non-user-defined network-modes"),
    (["--network", "a", "--network", "a"], 'network "a" is specified multiple times'),
    (["--network", "name=n,alias=x", "--network-alias", "y"],
     "conflicting options: cannot specify both --network-alias and per-network alias"),
    (["--network", "name=n,ip=10.0.0.1", "--ip", "10.0.0.2"],
     "conflicting options: cannot specify both --ip and per-network IPv4 address"),
])
def test_run_refuses_network_flags_docker_refuses(argv, message):
    with pytest.raises(InvalidOption) as caught:
        _body(argv)
    assert caught.value.message == message
    assert caught.value.exit_code == 125


def test_a_bad_long_network_form_is_a_flag_error():
    with pytest.raises(UsageError) as caught:
        _body(["--network", "name=n,colour=red"])
    assert caught.value.message == \
        'invalid argument "name=n,colour=red" for "--network" flag: invalid field key colour'


def test_string_slices_split_on_commas_outside_quotes():
    assert network_options.string_slice(['a,"b,c"', "", "d"], "--alias") == ["a", "b,c", "d"]
