"""A machine's registry mirrors and shared folders: validated as dockerd validates
``registry-mirrors``, stored beside the other settings (files written before them still
load), and handed to the guest in the go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cove.guest_agent import protocol
from cove.vm import settings
from cove.vm.settings import MachineSettings, SettingsError, Share, validate_mirror


@pytest.mark.parametrize(("url", "message"), [
    ("mirror.example.com", "invalid mirror: no scheme specified for 'mirror.example.com': "
                           "must use either 'https://' or 'http://'"),
    ("mirror.example.com:5000", "no scheme specified"),
    ("ftp://mirror.example.com", "invalid mirror: unsupported scheme 'ftp' in "
                                 "'ftp://mirror.example.com': must use either"),
    ("http://mirror.example.com/?q=foo", "path, query, or fragment at end of the URI"),
    ("http://mirror.example.com/v1/", "path, query, or fragment at end of the URI"),
    ("http://mirror.example.com#frag", "path, query, or fragment at end of the URI"),
    ("https://user:secret@mirror.example.com", "username/password not allowed in URI "
                                              "'https://user:xxxxx@mirror.example.com'"),
    ("http://mirror.example.com:port", "is not a valid URI"),
])
def test_bad_mirrors_are_refused_with_dockerds_words(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_mirror(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


def test_good_mirrors_lose_their_trailing_slash_and_duplicates() -> None:
    assert validate_mirror("https://mirror.example.com/") == "https://mirror.example.com"
    wanted = MachineSettings(registry_mirrors=(
        "http://127.0.0.1:5999/", "https://m.example.com", "http://127.0.0.1:5999")).validated()
    assert wanted.registry_mirrors == ("http://127.0.0.1:5999", "https://m.example.com")


def test_shared_folders_parse_validate_and_keep_their_host_path(tmp_path: Path) -> None:
    assert Share.parse("/a/b:ro") == Share("/a/b", True)
    assert Share.parse("/a/b:rw") == Share("/a/b", False)
    assert Share.parse("/a/b:c") == Share("/a/b:c", False)
    (tmp_path / "x").mkdir()
    shares = (Share(f"{tmp_path}/x/"), Share(str(tmp_path / "x"), True))
    assert MachineSettings(shares=shares).validated().shares == (Share(str(tmp_path / "x"), True),)
    for bad, message in ((Share("relative"), "not an absolute path"),
                         (Share(str(tmp_path / "none")), "not a directory on this host"),
                         (Share("/usr"), "would hide the guest's own /usr"),
                         (Share("/"), "would hide the guest's own root filesystem"),
                         (Share("/var/lib"), "would hide the guest's own /var")):
        with pytest.raises(SettingsError, match=message):
            MachineSettings(shares=(bad,)).validated()


def test_the_lists_survive_a_round_trip_and_an_older_file_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "machine.json"
    wanted = MachineSettings(cpus=1, registry_mirrors=("https://m.example.com",),
                             shares=(Share(str(tmp_path), True),))
    settings.save(path, wanted)
    assert settings.load(path) == wanted
    assert json.loads(path.read_text())["shares"] == [{"path": str(tmp_path), "readonly": True}]
    path.write_text('{"cpus": 1, "memory_mib": 512, "disk_gib": 3, "ssh_port": 0}')
    assert settings.load(path) == MachineSettings(cpus=1, memory_mib=512, disk_gib=3)
    path.write_text('{"cpus": 1, "registry_mirrors": "https://m.example.com"}')
    with pytest.raises(SettingsError, match="cannot read"):
        settings.load(path)


def test_the_default_share_is_the_users_home_but_never_roots(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.default_shares() == (Share(str(tmp_path)),)
    monkeypatch.setenv("HOME", "/root")
    assert settings.default_shares() == ()  # the guest's own /root holds its SSH keys


def test_the_go_carries_the_mirrors_and_the_shared_folders() -> None:
    folders = (protocol.SharedFolder("cove-share0", "/home/me", True),)
    line = protocol.encode(protocol.go_message(5, b"\x02" * 4, ("http://m:1",), folders))
    go = protocol.read_go(protocol.decode(line))
    assert go == protocol.Go(5, b"\x02" * 4, ("http://m:1",), folders)
    bare = protocol.read_go(protocol.decode(protocol.encode(protocol.go_message(5, b""))))
    assert (bare.registry_mirrors, bare.shares) == ((), ())
    for bad in ({"registry_mirrors": "http://m"}, {"shares": [{"tag": "t", "path": "rel"}]},
                {"shares": {}}):
        with pytest.raises(protocol.ProtocolError):
            protocol.read_go({**protocol.go_message(5, b""), **bad})
