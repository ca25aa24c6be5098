"""``cove volume ...`` and the run flags for volumes, without a daemon."""

from __future__ import annotations

import io

from cove.desktop.cli import container_run, main, run_options, volumes
from cove.desktop.cli.command import Cli, Namespace, parse


class FakeClient:
    def __init__(self, listed: list[dict]) -> None:
        self.listed = listed
        self.created: list[tuple] = []

    def volumes(self, filters: dict) -> dict:
        self.filters = filters
        return {"Volumes": self.listed, "Warnings": None}

    def create_volume(self, name: str, driver: str, labels: dict, opts: dict) -> dict:
        self.created.append((name, driver, labels, opts))
        return {"Name": name or "f" * 64}

    def prune_volumes(self, filters: dict) -> dict:
        return {"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 2048}


def _cli(client: FakeClient) -> tuple[Cli, io.StringIO]:
    out = io.StringIO()
    cli = Cli("unix:///nowhere", stdout=out, stderr=io.StringIO())
    cli._client = client  # type: ignore[assignment]
    return cli, out


def _run(key: str, argv: list[str], client: FakeClient) -> str:
    args, _ = parse(volumes.COMMANDS[key], key, argv)
    cli, out = _cli(client)
    volumes.COMMANDS[key].handler(args, cli)
    return out.getvalue()


def test_volume_is_a_command_group():
    assert main._resolve(["volume", "list"]) == ("volumes", "volume ls", [])
    assert main._resolve(["volume", "remove", "x"]) == ("volumes", "volume rm", ["x"])
    assert "  volume      Manage volumes\n" in main.USAGE


def test_ls_prints_docker_columns_in_natural_name_order():
    listed = [{"Name": n, "Driver": "local", "Labels": None} for n in ("v10", "v9", "a")]
    client = FakeClient(listed)
    text = _run("volume ls", ["--filter", "dangling=true"], client)
    assert text == "DRIVER    VOLUME NAME\nlocal     a\nlocal     v9\nlocal     v10\n"
    assert client.filters == {"dangling": ["true"]}
    assert _run("volume ls", ["-q"], client) == "a\nv9\nv10\n"


def test_ls_json_rows_have_dockers_fields():
    row = volumes.VolumeRow({"Name": "n", "Driver": "local", "Scope": "local",
                             "Mountpoint": "/m", "Labels": {"b": "2", "a": "1"}})
    assert row.to_json() == {"Availability": "N/A", "Driver": "local", "Group": "N/A",
                             "Labels": "a=1,b=2", "Links": "N/A", "Mountpoint": "/m",
                             "Name": "n", "Scope": "local", "Size": "N/A", "Status": "N/A"}


def test_create_sends_labels_and_options_as_maps():
    client = FakeClient([])
    text = _run("volume create", ["--label", "k=v", "--label", "bare", "-o", "o=1", "named"],
                client)
    assert text == "named\n"
    assert client.created == [("named", "local", {"k": "v", "bare": ""}, {"o": "1"})]


def test_prune_prints_the_deleted_volumes_and_the_space():
    text = _run("volume prune", ["-f"], FakeClient([]))
    assert text == "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 2.048kB\n"


def test_volumes_from_goes_into_the_host_config():
    command = container_run.COMMANDS["create"]
    args, _ = parse(command, "create", ["--volumes-from", "a:ro", "--volumes-from", "b",
                                        "-v", "data:/d", "busybox"])
    body = run_options.build_create_body(args, "busybox", [], run=False, environ={})
    assert body["HostConfig"]["VolumesFrom"] == ["a:ro", "b"]
    assert body["HostConfig"]["Binds"] == ["data:/d"]
    assert isinstance(args, Namespace)
