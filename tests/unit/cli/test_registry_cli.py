"""pull, push, login, logout and run --pull, end to end against a scripted daemon.

Where the real docker CLI is installed it is run against the same fake daemon and the
two must send the same requests and print the same bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import termios
from collections.abc import Iterator

import pytest

from cove.desktop.client.credentials import decode_auth
from tests.support.fake_daemon import COVE, FakeDaemon, Script, cli_env, data, run

DOCKER = shutil.which("docker")
ALICE_HEADER = ("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzZWNyZXQiLCJzZXJ2ZXJhZGRyZXNzIjoi"
                "MTI3LjAuMC4xOjUwMDAifQ==")  # what docker 28 sent after `docker login`


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    fake = FakeDaemon(Script(pull_stream=data("pull_stream.json"),
                             push_stream=data("push_stream.json"))).start()
    try:
        yield fake
    finally:
        fake.stop()


def run_in_pty(argv: list[str], daemon: FakeDaemon, config_dir: str,
               cols: int) -> tuple[int, bytes]:
    """Run with stdin/stdout/stderr on a pty of ``cols`` columns; output with \\r\\n -> \\n."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                            env=cli_env(daemon, config_dir), start_new_session=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(30)
    return code, b"".join(chunks).replace(b"\r\n", b"\n")


def expected(name: str) -> bytes:
    return data(name).replace(b"127.0.0.1:5000/cove/multi", b"127.0.0.1:5000/cove/multi")


# --- pull -----------------------------------------------------------------------------

def test_pull_plain_output_and_request_match_docker(daemon: FakeDaemon, tmp_path) -> None:
    result = run(COVE + ["pull", "127.0.0.1:5000/cove/multi"], daemon, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == data("pull.docker.plain.out")
    assert result.stderr == b""
    request = daemon.last("/images/create")
    assert request.query == {"fromImage": ["127.0.0.1:5000/cove/multi"], "tag": ["latest"]}
    assert request.headers["x-registry-auth"] == "e30="


@pytest.mark.parametrize("cols", [120, 80])
def test_pull_tty_rendering_matches_docker(daemon: FakeDaemon, tmp_path, cols: int) -> None:
    code, out = run_in_pty(COVE + ["pull", "127.0.0.1:5000/cove/multi"], daemon,
                           str(tmp_path), cols)
    assert code == 0
    assert out == data(f"pull.docker.tty{cols}.out")


def test_pull_error_in_stream(daemon: FakeDaemon, tmp_path) -> None:
    daemon.script.pull_stream = data("pull_error_stream.json")
    result = run(COVE + ["pull", "127.0.0.1:5000/cove/multi"], daemon, str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == data("pull_error.docker.plain.out")
    assert result.stderr == data("pull_error.docker.plain.err") == b"unexpected EOF\n"
    code, out = run_in_pty(COVE + ["pull", "127.0.0.1:5000/cove/multi"], daemon,
                           str(tmp_path), 120)
    assert code == 1
    assert out == data("pull_error.docker.tty120.out")


def test_pull_http_error_is_daemon_error(daemon: FakeDaemon, tmp_path) -> None:
    daemon.script.pull_error = (404, "pull access denied for nope, repository does not exist")
    result = run(COVE + ["pull", "nope"], daemon, str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (b"Error response from daemon: pull access denied for nope, "
                             b"repository does not exist\n")


@pytest.mark.parametrize(("argv", "query", "stdout_tail"), [
    (["pull", "busybox"], {"fromImage": ["docker.io/library/busybox"], "tag": ["latest"]},
     b"docker.io/library/busybox:latest\n"),
    (["pull", "-a", "busybox"], {"fromImage": ["docker.io/library/busybox"]},
     b"docker.io/library/busybox\n"),
    (["pull", "-q", "127.0.0.1:5000/foo/bar:v1"],
     {"fromImage": ["127.0.0.1:5000/foo/bar"], "tag": ["v1"]}, b"127.0.0.1:5000/foo/bar:v1\n"),
    (["pull", "--platform", "linux/arm64", "busybox@sha256:" + "0123456789" * 6 + "0123"],
     {"fromImage": ["docker.io/library/busybox"], "platform": ["linux/arm64"],
      "tag": ["sha256:" + "0123456789" * 6 + "0123"]},
     b"docker.io/library/busybox@sha256:" + b"0123456789" * 6 + b"0123\n"),
])
def test_pull_requests(daemon: FakeDaemon, tmp_path, argv, query, stdout_tail) -> None:
    result = run(COVE + argv, daemon, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert daemon.last("/images/create").query == query
    assert result.stdout.endswith(stdout_tail)
    if "-q" in argv:
        assert result.stdout == stdout_tail


@pytest.mark.parametrize(("argv", "message"), [
    (["pull", "Busybox"], "invalid reference format: repository name (library/Busybox) must be lowercase"),
    (["pull", "busy box"], "invalid reference format"),
    (["pull", "busybox@sha256:123"], "invalid reference format"),
    (["pull", "-a", "busybox:1"], "tag can't be used with --all-tags/-a"),
    (["push", "127.0.0.1:5000/foo@sha256:" + "0123456789" * 6 + "0123"],
     "cannot push a digest reference"),
])
def test_bad_references_fail_like_docker(daemon: FakeDaemon, tmp_path, argv, message) -> None:
    result = run(COVE + argv, daemon, str(tmp_path))
    assert (result.returncode, result.stderr.decode()) == (1, message + "\n")
    assert not [r for r in daemon.requests if r.method == "POST"]


# --- push -----------------------------------------------------------------------------

def test_push_output_and_request(daemon: FakeDaemon, tmp_path) -> None:
    result = run(COVE + ["push", "127.0.0.1:5000/cove/multi"], daemon, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == data("push.docker.plain.out")
    request = daemon.last("/push")
    assert request.path == "/images/127.0.0.1:5000/cove/multi/push"
    assert request.query == {"tag": ["latest"]}
    assert request.headers["x-registry-auth"] == "e30="
    code, out = run_in_pty(COVE + ["push", "127.0.0.1:5000/cove/multi"], daemon,
                           str(tmp_path), 120)
    assert (code, out) == (0, data("push.docker.tty120.out"))
    quiet = run(COVE + ["push", "-q", "127.0.0.1:5000/foo:v2"], daemon, str(tmp_path))
    assert quiet.stdout == b"127.0.0.1:5000/foo:v2\n"


# --- login / logout ---------------------------------------------------------------------

def test_login_stores_credentials_and_pull_sends_them(daemon: FakeDaemon, tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"psFormat": "table {{.ID}}", "auths": {}}))
    result = run(COVE + ["login", "-u", "alice", "--password-stdin", "127.0.0.1:5000"],
                 daemon, str(tmp_path), input=b"secret\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Login Succeeded\n"
    assert result.stderr.decode() == (
        f"\nWARNING! Your credentials are stored unencrypted in '{config}'.\n"
        "Configure a credential helper to remove this warning. See\n"
        "https://docs.docker.com/go/credential-store/\n\n")
    assert daemon.last("/auth").json() == {"username": "alice", "password": "secret",
                                           "serveraddress": "127.0.0.1:5000"}
    saved = json.loads(config.read_text())
    assert saved == {"psFormat": "table {{.ID}}",
                     "auths": {"127.0.0.1:5000": {"auth": "YWxpY2U6c2VjcmV0"}}}
    assert config.read_text().startswith('{\n\t"psFormat"')
    assert run(COVE + ["pull", "127.0.0.1:5000/foo"], daemon, str(tmp_path)).returncode == 0
    assert daemon.last("/images/create").headers["x-registry-auth"] == ALICE_HEADER
    # Docker Hub pulls do not get another registry's credentials
    run(COVE + ["pull", "busybox"], daemon, str(tmp_path))
    assert daemon.last("/images/create").headers["x-registry-auth"] == "e30="

    again = run(COVE + ["login", "127.0.0.1:5000"], daemon, str(tmp_path))
    assert again.returncode == 0
    assert again.stdout == b"Login Succeeded\n"
    assert again.stderr.startswith(b"Authenticating with existing credentials... [Username: alice]\n")

    out = run(COVE + ["logout", "127.0.0.1:5000"], daemon, str(tmp_path))
    assert out.stdout == b"Removing login credentials for 127.0.0.1:5000\n"
    assert json.loads(config.read_text()) == {"psFormat": "table {{.ID}}", "auths": {}}


def test_login_with_password_flag_and_default_server(daemon: FakeDaemon, tmp_path) -> None:
    result = run(COVE + ["login", "-u", "alice", "-p", "secret"], daemon, str(tmp_path))
    assert result.returncode == 0
    assert result.stderr.startswith(
        b"WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n\nWARNING!")
    assert daemon.last("/auth").json()["serveraddress"] == "https://index.docker.io/v1/"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert list(saved["auths"]) == ["https://index.docker.io/v1/"]
    out = run(COVE + ["logout"], daemon, str(tmp_path))
    assert out.stdout == b"Removing login credentials for https://index.docker.io/v1/\n"
    assert json.loads((tmp_path / "config.json").read_text())["auths"] == {}


def test_docker_login_is_used_and_left_to_docker(daemon: FakeDaemon, tmp_path) -> None:
    """A login made with docker works at once; cove's logout does not rewrite docker's file."""
    docker_dir, cove_dir = tmp_path / "docker", tmp_path / "cove"
    docker_dir.mkdir()
    docker_config = docker_dir / "config.json"
    docker_config.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": "ZG9yYTpvbGQ="}}}))
    env = {"COVE_CONFIG": str(cove_dir)}
    assert run(COVE + ["pull", "127.0.0.1:5000/foo"], daemon, str(docker_dir),
               extra_env=env).returncode == 0
    sent = decode_auth(daemon.last("/images/create").headers["x-registry-auth"])
    assert (sent["username"], sent["password"]) == ("dora", "old")
    out = run(COVE + ["logout", "127.0.0.1:5000"], daemon, str(docker_dir), extra_env=env)
    assert out.returncode == 0
    assert out.stdout == b"Removing login credentials for 127.0.0.1:5000\n"
    assert out.stderr.decode() == (
        f"WARNING: the credentials for 127.0.0.1:5000 in {docker_config} were stored by "
        "docker login and are still used; remove them with: docker logout 127.0.0.1:5000\n")
    assert json.loads(docker_config.read_text())["auths"] == {
        "127.0.0.1:5000": {"auth": "ZG9yYTpvbGQ="}}
    # a new login goes to cove's own file, docker's stays as it was
    login = run(COVE + ["login", "-u", "alice", "--password-stdin", "127.0.0.1:5000"], daemon,
                str(docker_dir), input=b"secret\n", extra_env=env)
    assert login.returncode == 0, login.stderr
    assert f"stored unencrypted in '{cove_dir / 'config.json'}'" in login.stderr.decode()
    assert json.loads((cove_dir / "config.json").read_text())["auths"] == {
        "127.0.0.1:5000": {"auth": "YWxpY2U6c2VjcmV0"}}
    assert json.loads(docker_config.read_text())["auths"] == {
        "127.0.0.1:5000": {"auth": "ZG9yYTpvbGQ="}}
    run(COVE + ["pull", "127.0.0.1:5000/foo"], daemon, str(docker_dir), extra_env=env)
    assert daemon.last("/images/create").headers["x-registry-auth"] == ALICE_HEADER


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["login"], b"", "Error: Cannot perform an interactive login from a non TTY device"),
    (["login", "--password-stdin"], b"x", "the --password-stdin option requires --username to be set"),
    (["login", "-u", "a", "-p", "x", "--password-stdin"], b"x",
     "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
     "conflicting options: cannot specify both --password and --password-stdin"),
    (["login", "-u", "alice", "--password-stdin"], b"wrong",
     "Error response from daemon: login attempt to http://registry/v2/ failed with status: "
     "401 Unauthorized"),
])
def test_login_errors(daemon: FakeDaemon, tmp_path, argv, stdin, message) -> None:
    result = run(COVE + argv, daemon, str(tmp_path), input=stdin)
    assert (result.returncode, result.stderr.decode()) == (1, message + "\n")
    assert not (tmp_path / "config.json").exists()


# --- run/create --pull ----------------------------------------------------------------

def test_create_pulls_missing_image_to_stderr(daemon: FakeDaemon, tmp_path) -> None:
    daemon.script.pull_stream = b'{"status":"Pulling from library/busybox","id":"latest"}\n' \
                                b'{"status":"Digest: sha256:abc"}\n'
    result = run(COVE + ["create", "busybox"], daemon, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"c0ffee" * 10 + b"abcd\n"
    assert result.stderr == (b"Unable to find image 'busybox:latest' locally\n"
                             b"latest: Pulling from library/busybox\nDigest: sha256:abc\n")
    assert daemon.last("/images/create").query == {"fromImage": ["docker.io/library/busybox"],
                                                   "tag": ["latest"]}


def test_create_pull_never_and_always(daemon: FakeDaemon, tmp_path) -> None:
    never = run(COVE + ["create", "--pull", "never", "busybox"], daemon, str(tmp_path))
    assert never.returncode == 125
    assert never.stderr.startswith(b"cove: Error response from daemon: No such image: busybox:latest\n")
    assert not [r for r in daemon.requests if r.path == "/images/create"]
    daemon.script.images.add("busybox:latest")
    always = run(COVE + ["create", "--pull", "always", "-q", "busybox"], daemon, str(tmp_path))
    assert always.returncode == 0
    assert always.stderr == b""
    assert [r.path for r in daemon.requests][-2:] == ["/images/create", "/containers/create"]
    bad = run(COVE + ["create", "--pull", "foo", "busybox"], daemon, str(tmp_path))
    assert bad.returncode == 125
    assert bad.stderr.startswith(
        b'cove: invalid pull option: \'foo\': must be one of "always", "missing" or "never"\n')


# --- the docker CLI itself, same daemon -------------------------------------------------

def test_docker_and_cove_send_the_same_requests(daemon: FakeDaemon, tmp_path) -> None:
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    outputs = {}
    for tool, argv0 in (("docker", [DOCKER]), ("cove", COVE)):
        config = tmp_path / tool
        config.mkdir()
        daemon.requests.clear()
        steps = [
            (["login", "-u", "alice", "--password-stdin", "127.0.0.1:5000"], b"secret\n"),
            (["pull", "127.0.0.1:5000/cove/multi"], b""),
            (["push", "127.0.0.1:5000/cove/multi:latest"], b""),
            (["logout", "127.0.0.1:5000"], b""),
        ]
        results = [run(argv0 + argv, daemon, str(config), input=stdin) for argv, stdin in steps]
        requests = [(r.method, r.path, r.query, r.headers.get("x-registry-auth"), r.body.strip())
                    for r in daemon.requests if r.method == "POST"]
        outputs[tool] = ([(r.returncode, r.stdout, r.stderr.replace(str(config).encode(), b"CFG"))
                          for r in results], requests,
                         json.loads((config / "config.json").read_text()))
    assert outputs["cove"] == outputs["docker"]
    assert decode_auth(outputs["cove"][1][1][3])["username"] == "alice"
