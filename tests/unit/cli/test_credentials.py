"""config.json handling, credential helpers (docker's protocol) and X-Registry-Auth encoding."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from cove.common.reference import parse_normalized
from cove.desktop.cli.jsonmessage import progress_string
from cove.desktop.client.credentials import (
    ConfigFile,
    Credentials,
    CredentialsError,
    FileStore,
    HelperStore,
    auth_header_for,
    cove_config_dir,
    decode_auth,
    encode_auth,
)

# A docker-credential-test helper keeping secrets in $HELPER_DB, logging each call.
HELPER = """#!{python}
import json, os, sys
db = os.environ["HELPER_DB"]
store = json.load(open(db)) if os.path.exists(db) else {{}}
action = sys.argv[1]
data = sys.stdin.read()
with open(db + ".log", "a") as log:
    log.write(action + " " + data + "\\n")
if action == "store":
    entry = json.loads(data)
    store[entry["ServerURL"]] = entry
elif action == "get":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(store[data]))
elif action == "erase":
    store.pop(data, None)
json.dump(store, open(db, "w"))
"""


@pytest.fixture
def helper(tmp_path, monkeypatch) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "docker-credential-test"
    import sys

    script.write_text(HELPER.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("HELPER_DB", str(tmp_path / "db.json"))
    return str(tmp_path / "db.json")


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_encode_auth_matches_docker() -> None:
    assert encode_auth({}) == "e30="
    header = encode_auth({"serveraddress": "127.0.0.1:5000", "password": "secret",
                          "username": "alice"})
    assert header == ("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzZWNyZXQiLCJzZXJ2ZXJhZGRyZXNz"
                      "IjoiMTI3LjAuMC4xOjUwMDAifQ==")
    token = encode_auth({"username": "<token>", "password": "a&b"})
    assert "\\u003ctoken\\u003e" in __import__("base64").urlsafe_b64decode(token).decode()
    assert decode_auth(token) == {"username": "<token>", "password": "a&b"}


def test_config_round_trip_keeps_unknown_keys_and_is_atomic(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    monkeypatch.setenv("COVE_CONFIG", str(tmp_path / "cfg"))
    config = ConfigFile.load()
    assert config.get_auth("127.0.0.1:5000") == {}
    config.raw["proxies"] = {"default": {"httpProxy": "http://p"}}
    FileStore(config).store({"username": "alice", "password": "s:ecret",
                             "serveraddress": "127.0.0.1:5000"})
    path = tmp_path / "cfg" / "config.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path / "cfg") == ["config.json"]  # no temp file left behind
    again = ConfigFile.load()
    assert again.raw["proxies"] == {"default": {"httpProxy": "http://p"}}
    assert again.get_auth("127.0.0.1:5000") == {"username": "alice", "password": "s:ecret",
                                                "serveraddress": "127.0.0.1:5000"}
    # a key stored with a scheme is found by hostname, as docker's file store does
    again.raw["auths"]["https://reg.example:443/v1/"] = {"auth": "Ym9iOnB3"}
    assert again.get_auth("reg.example:443")["username"] == "bob"
    header = auth_header_for(parse_normalized("127.0.0.1:5000/x").index_name)
    assert decode_auth(header)["password"] == "s:ecret"


def test_save_follows_symlink_and_keeps_mode(tmp_path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    real.chmod(0o640)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").symlink_to(real)
    config = ConfigFile.load(str(tmp_path / "d"))
    config.set_entry("x", {"username": "u", "password": "p"})
    config.save()
    assert (tmp_path / "d" / "config.json").is_symlink()
    assert json.loads(real.read_text()) == {"auths": {"x": {"auth": "dTpw"}}}
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640


def test_broken_config_is_an_error(tmp_path, monkeypatch) -> None:
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(CredentialsError, match="loading config file"):
        ConfigFile.load(str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert auth_header_for("x") == "e30="  # an anonymous pull still works
    monkeypatch.setenv("COVE_CONFIG", str(tmp_path))
    assert auth_header_for("x") == "e30="


def _write_config(directory, auths: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"auths": {
        server: {"auth": base64.b64encode(userpass.encode()).decode()}
        for server, userpass in auths.items()}}))


def test_cove_reads_docker_logins_but_writes_its_own_file(tmp_path, monkeypatch) -> None:
    cove_dir, docker_dir = tmp_path / "cove", tmp_path / "docker"
    monkeypatch.setenv("COVE_CONFIG", str(cove_dir))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    _write_config(docker_dir, {"a:5000": "dora:d", "b:5000": "dora:d"})
    before = (docker_dir / "config.json").read_bytes()
    credentials = Credentials.load()
    assert credentials.get_auth("a:5000") == {"username": "dora", "password": "d",
                                              "serveraddress": "a:5000"}
    assert credentials.get_auth("c:5000") == {}
    FileStore(credentials.own).store({"username": "cora", "password": "c",
                                      "serveraddress": "b:5000"})
    assert (docker_dir / "config.json").read_bytes() == before
    assert json.loads((cove_dir / "config.json").read_text()) == {
        "auths": {"b:5000": {"auth": "Y29yYTpj"}}}
    again = Credentials.load()
    assert again.get_auth("b:5000")["username"] == "cora"  # cove's own login wins
    assert again.docker_holds("a:5000") and not again.docker_holds("b:5000")
    assert {server: auth["username"] for server, auth in again.all_auths().items()} == {
        "b:5000": "cora", "a:5000": "dora"}
    assert decode_auth(auth_header_for("a:5000"))["username"] == "dora"


def test_one_file_when_both_names_are_the_same(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COVE_CONFIG", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert Credentials.load().docker is None


def test_default_cove_config_dir_follows_the_platform(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("COVE_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cove_config_dir() == str(tmp_path / "xdg" / "cove")


def test_helper_protocol(tmp_path, helper: str) -> None:
    config = ConfigFile(str(tmp_path / "config.json"), {"credsStore": "test",
                                                        "credHelpers": {"other:1": "missing"}})
    store = config.store_for("127.0.0.1:5000")
    assert isinstance(store, HelperStore)
    assert store.get("127.0.0.1:5000") == {}  # "credentials not found" is not an error
    store.store({"username": "alice", "password": "secret", "serveraddress": "127.0.0.1:5000"})
    assert read_json(helper) == {"127.0.0.1:5000": {
        "ServerURL": "127.0.0.1:5000", "Username": "alice", "Secret": "secret"}}
    # config.json records the login but not the secret
    assert json.loads((tmp_path / "config.json").read_text())["auths"] == {"127.0.0.1:5000": {}}
    assert config.get_auth("127.0.0.1:5000") == {"username": "alice", "password": "secret",
                                                 "serveraddress": "127.0.0.1:5000"}
    store.store({"username": "bob", "identitytoken": "tok", "serveraddress": "t:1"})
    assert read_json(helper)["t:1"]["Username"] == "<token>"
    assert config.get_auth("t:1") == {"identitytoken": "tok", "serveraddress": "t:1"}
    store.erase("127.0.0.1:5000")
    assert "127.0.0.1:5000" not in read_json(helper)
    assert "127.0.0.1:5000" not in config.auths
    log = read_text(helper + ".log").splitlines()
    assert log[0] == "get 127.0.0.1:5000"  # server URL on stdin, no newline
    # credHelpers wins over credsStore; a missing helper is docker's exec error
    with pytest.raises(CredentialsError, match="docker-credential-missing"):
        config.get_auth("other:1")


def test_login_through_helper_cli(tmp_path, helper: str) -> None:
    from tests.support.fake_daemon import COVE, FakeDaemon, run

    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "test"}))
    daemon = FakeDaemon().start()
    try:
        result = run(COVE + ["login", "-u", "alice", "--password-stdin", "127.0.0.1:5000"],
                     daemon, str(tmp_path), input=b"secret",
                     extra_env={"PATH": os.environ["PATH"], "HELPER_DB": helper})
        assert result.returncode == 0, result.stderr
        assert result.stderr == b""  # no unencrypted warning with a helper
        assert read_json(helper)["127.0.0.1:5000"]["Secret"] == "secret"
        run(COVE + ["pull", "127.0.0.1:5000/x"], daemon, str(tmp_path),
            extra_env={"PATH": os.environ["PATH"], "HELPER_DB": helper})
        sent = decode_auth(daemon.last("/images/create").headers["x-registry-auth"])
        assert sent == {"username": "alice", "password": "secret",
                        "serveraddress": "127.0.0.1:5000"}
        run(COVE + ["logout", "127.0.0.1:5000"], daemon, str(tmp_path),
            extra_env={"PATH": os.environ["PATH"], "HELPER_DB": helper})
        assert read_json(helper) == {}
    finally:
        daemon.stop()


@pytest.mark.parametrize(("detail", "width", "text"), [
    ({}, 200, ""),
    ({"current": 1500}, 200, "   1.5kB"),
    ({"current": 3, "units": "layers"}, 200, "3 layers"),
    ({"current": 36412, "total": 1087949}, 120,
     "[=>" + " " * 49 + "]  36.41kB/1.088MB"),
    ({"current": 36412, "total": 1087949}, 80, " 36.41kB/1.088MB"),
    ({"current": 2000, "total": 1000}, 80, "     2kB"),
    ({"current": 5, "total": 10, "units": "items"}, 80, "5/10 items"),
    ({"current": 250, "total": 1000, "start": 1000}, 80, "    250B/1kB 30s"),
    ({"current": 250, "total": 1000, "start": 1000}, 40, "    250B/1kB"),
])
def test_progress_string(detail, width, text) -> None:
    assert progress_string(detail, width, now=1010.0) == text


def test_the_linux_shortcut_agrees_with_platformdirs(tmp_path, monkeypatch) -> None:
    import platformdirs

    monkeypatch.delenv("COVE_CONFIG")
    for xdg in (str(tmp_path / "xdg"), "", "relative/path"):
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        assert cove_config_dir() == platformdirs.user_config_dir("cove", appauthor=False)
