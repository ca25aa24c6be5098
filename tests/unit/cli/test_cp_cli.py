"""``cove cp`` / ``diff`` / ``commit`` logic, with a fake client (no daemon)."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from cove.desktop.cli import container_files as cf
from cove.desktop.cli.command import Cli, parse
from cove.desktop.cli.errors import CommandFailed


def _tar(entries: dict[str, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeStream:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self):
        yield self.data

    def close(self) -> None:
        pass


class FakeClient:
    def __init__(self, archive: bytes = b"", mode: int = 0, changes=None) -> None:
        self.archive, self.mode, self.changes = archive, mode, changes
        self.put: list[tuple] = []
        self.committed: list[tuple] = []

    def get_archive(self, ref: str, path: str):
        return FakeStream(self.archive), {"mode": self.mode}

    def stat_container_path(self, ref: str, path: str) -> dict:
        return {"mode": 1 << 31}

    def put_archive(self, ref, path, data, no_overwrite, copy_uid_gid) -> None:
        self.put.append((ref, path, tarfile.open(fileobj=data).getnames(), no_overwrite))

    def container_changes(self, ref: str):
        return self.changes

    def commit(self, *args):
        self.committed.append(args)
        return {"Id": "sha256:" + "a" * 64}


def _run(key: str, argv: list[str], client: FakeClient) -> str:
    args, _ = parse(cf.COMMANDS[key], key, argv)
    out = io.StringIO()
    cli = Cli("unix:///nowhere", stdout=out, stderr=io.StringIO())
    cli._client = client  # type: ignore[assignment]
    cf.COMMANDS[key].handler(args, cli)
    return out.getvalue()


def test_split_cp_arg_tells_container_paths_from_local_ones():
    assert cf.split_cp_arg("c1:/etc") == ("c1", "/etc")
    assert cf.split_cp_arg("/abs:path") == ("", "/abs:path")
    assert cf.split_cp_arg("./rel:x") == ("", "./rel:x")
    assert cf.split_cp_arg("plain") == ("", "plain")


def test_prepare_copy_renames_unless_the_destination_is_a_directory():
    assert cf.prepare_copy("/data", True, "", "/tmp/new", False, False) == ("/tmp", "data", "new")
    assert cf.prepare_copy("/data", True, "", "/tmp", True, True) == ("/tmp", "data", "data")
    assert cf.prepare_copy("/data/.", True, "", "/tmp/x", True, True) == ("/tmp/x", ".", ".")
    with pytest.raises(cf.CopyError, match="cannot copy directory"):
        cf.prepare_copy("/data", True, "", "/tmp/file", True, False)
    with pytest.raises(cf.CopyError, match="no such directory"):
        cf.prepare_copy("/f", False, "", "/tmp/nodir/", False, False)


def test_cp_out_renames_the_top_entry_to_the_new_destination(tmp_path):
    client = FakeClient(_tar({"data": None, "data/f": b"hi"}), mode=1 << 31)
    _run("cp", ["c1:/data", str(tmp_path / "copy")], client)
    assert (tmp_path / "copy" / "f").read_bytes() == b"hi"


def test_cp_out_refuses_entries_leaving_the_destination(tmp_path):
    client = FakeClient(_tar({"f/../../evil": b"x"}))
    with pytest.raises(CommandFailed):
        _run("cp", ["c1:/f", str(tmp_path / "dst")], client)
    assert not os.path.exists(tmp_path.parent / "evil")


def test_cp_in_puts_a_tar_named_for_the_destination(tmp_path):
    (tmp_path / "one").write_text("1")
    client = FakeClient()
    _run("cp", [str(tmp_path / "one"), "c1:/data"], client)
    assert client.put == [("c1", "/data", ["one"], True)]


def test_cp_needs_exactly_one_container_side():
    with pytest.raises(CommandFailed, match="must specify at least one container source"):
        _run("cp", ["/a", "/b"], FakeClient())
    with pytest.raises(CommandFailed, match="copying between containers is not supported"):
        _run("cp", ["a:/x", "b:/y"], FakeClient())


def test_diff_prints_docker_letters():
    client = FakeClient(changes=[{"Path": "/etc", "Kind": 0}, {"Path": "/x", "Kind": 1},
                                 {"Path": "/y", "Kind": 2}])
    assert _run("diff", ["c1"], client) == "C /etc\nA /x\nD /y\n"
    assert _run("diff", ["c1"], FakeClient(changes=None)) == ""


def test_commit_splits_the_reference_and_prints_the_full_id():
    client = FakeClient()
    out = _run("commit", ["-c", "CMD x", "-m", "m", "c1", "reg:5000/repo:v2"], client)
    assert out == "sha256:" + "a" * 64 + "\n"
    assert client.committed == [("c1", "reg:5000/repo", "v2", "m", None, True, ["CMD x"])]
    _run("commit", ["--pause=false", "c1", "repo"], client)
    assert client.committed[-1][1:3] == ("repo", None)
    assert client.committed[-1][5] is False
