"""``cove build`` against a scripted daemon: its request, its body and its output.

The real docker CLI (the test command installs it) is run with ``DOCKER_BUILDKIT=0``
against the same fake daemon: both must send the same query, the same tar members and
print the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator

import pytest

from tests.support.fake_daemon import FakeDaemon, Recorded, Script

DOCKER = shutil.which("docker")
COVE = [sys.executable, "-m", "cove.desktop.cli.main"]
ID = "sha256:" + "ab" * 32
QUIET_STREAM = b'{"stream":"' + ID.encode() + b'\\n"}\n{"aux":{"ID":"' + ID.encode() + b'"}}\n'
FAILING_STREAM = (b'{"stream":"Step 1/2 : FROM busybox"}\n{"stream":"\\n"}\n'
                  b'{"stream":" ---\\u003e abcdef012345\\n"}\n'
                  b'{"stream":"Step 2/2 : RUN exit 3"}\n{"stream":"\\n"}\n'
                  b'{"errorDetail":{"code":3,"message":"The command \'/bin/sh -c exit 3\' '
                  b'returned a non-zero code: 3"},"error":"The command \'/bin/sh -c exit 3\' '
                  b'returned a non-zero code: 3"}\n')


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    fake = FakeDaemon(Script()).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def context(tmp_path):
    """A context with files .dockerignore leaves out, a directory with an exception, a
    Dockerfile elsewhere."""
    ctx = tmp_path / "ctx"
    for rel in ("a.txt", "x.key", "sub/deep/y.key", "sub/keep.txt", "sub/drop.txt",
                "docs/readme.md", "docs/img/logo.png", "build/out.bin"):
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(rel)
    (ctx / "Dockerfile").write_text("FROM busybox\n")
    (ctx / ".dockerignore").write_text("**/*.key\nsub\n!sub/keep.txt\n/build/\ndocs/**/*.png\n")
    (tmp_path / "Other.dockerfile").write_text("FROM busybox\nRUN true\n")
    return ctx


def run(argv: list[str], daemon: FakeDaemon, cwd: str, input: bytes = b"",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "COVE_HOST")}
    full_env.update(DOCKER_HOST=daemon.host, DOCKER_BUILDKIT="0", DOCKER_CONFIG=cwd,
                    COVE_CONFIG=cwd, BUILD_FROM_ENV="env-value")
    full_env.update(env or {})
    return subprocess.run(argv, input=input, env=full_env, cwd=cwd, capture_output=True,
                          timeout=60)


def _build_request(daemon: FakeDaemon) -> Recorded:
    request = daemon.last("/build")
    daemon.requests.clear()
    return request


def _members(body: bytes) -> list[str]:
    # docker's rewritten tars (-f outside the context) may end without the end blocks
    with tarfile.open(fileobj=io.BytesIO(body + b"\0" * 1024)) as tar:
        return sorted(tar.getnames())


def _stderr(proc: subprocess.CompletedProcess[bytes]) -> str:
    """stderr without docker's deprecation notice for the legacy builder."""
    text = proc.stderr.decode()
    return text.split("environment-variable.\n\n", 1)[-1]


FLAG_CASES = [
    ([], {"dockerfile": ["Dockerfile"], "version": ["1"]}),
    (["-t", "a:1", "--tag", "b"], {"t": ["a:1", "b"]}),
    (["--build-arg", "X=1", "--build-arg", "BUILD_FROM_ENV", "--build-arg", "UNSET_ONE"],
     {"buildargs": ['{"BUILD_FROM_ENV":"env-value","UNSET_ONE":null,"X":"1"}']}),
    (["--label", "b=2", "--label", "a=1"], {"labels": ['{"a":"1","b":"2"}']}),
    (["--target", "stage", "--no-cache", "--pull", "--platform", "linux/amd64"],
     {"target": ["stage"], "nocache": ["1"], "pull": ["1"], "platform": ["linux/amd64"]}),
    (["--rm=false"], {"rm": ["0"]}),
    (["--force-rm"], {"forcerm": ["1"]}),
    (["-q"], {"q": ["1"]}),
    (["--network", "none"], {"networkmode": ["none"]}),
    (["--network", "default"], {"networkmode": None}),
    (["--network", "container:abc"], {"networkmode": ["container:abc"]}),
]


@pytest.mark.parametrize("flags, expected", FLAG_CASES)
def test_flags_become_docker_s_query(daemon, context, flags, expected):
    proc = run([*COVE, "build", *flags, "."], daemon, str(context))
    assert proc.returncode == 0, proc.stderr
    request = _build_request(daemon)
    assert request.headers["content-type"] == "application/x-tar"
    assert request.headers["transfer-encoding"] == "chunked"
    query = request.query
    for key, value in expected.items():
        assert query.get(key) == value
    assert "rm" not in query or flags == ["--rm=false"]
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    theirs = run([DOCKER, "build", *flags, "."], daemon, str(context))
    assert theirs.returncode == 0, theirs.stderr
    assert _build_request(daemon).query == query


def test_logins_go_in_x_registry_config_as_docker_sends_them(daemon, context, tmp_path):
    """Every stored login travels with the build so the daemon can pull a private FROM."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"auths": {
        "127.0.0.1:5000": {"auth": base64.b64encode(b"alice:s&cret").decode()},
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"bob:<pw>").decode()}}}))
    env = {"DOCKER_CONFIG": str(home), "COVE_CONFIG": str(home)}
    ours = run([*COVE, "build", "."], daemon, str(context), env=env)
    assert ours.returncode == 0, ours.stderr
    header = _build_request(daemon).headers["x-registry-config"]
    assert json.loads(base64.urlsafe_b64decode(header)) == {
        "127.0.0.1:5000": {"username": "alice", "password": "s&cret",
                           "serveraddress": "127.0.0.1:5000"},
        "https://index.docker.io/v1/": {"username": "bob", "password": "<pw>",
                                        "serveraddress": "https://index.docker.io/v1/"}}
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    theirs = run([DOCKER, "build", "."], daemon, str(context), env=env)
    assert theirs.returncode == 0, theirs.stderr
    assert _build_request(daemon).headers["x-registry-config"] == header


def test_output_and_context_match_docker(daemon, context):
    ours = run([*COVE, "build", "-t", "x", "."], daemon, str(context))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.startswith(b"Sending build context to Docker daemon  7.168kB\r\r\n"
                                  b"Step 1/1 : FROM busybox\n ---> abcdef012345\n")
    body = _build_request(daemon).body
    assert _members(body) == [".dockerignore", "Dockerfile", "a.txt", "docs", "docs/img",
                              "docs/readme.md", "sub/keep.txt"]
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    theirs = run([DOCKER, "build", "-t", "x", "."], daemon, str(context))
    assert theirs.stdout == ours.stdout
    assert _members(_build_request(daemon).body) == _members(body)


@pytest.mark.parametrize("ignore", [
    "*\n!Dockerfile\n!docs\n",
    "docs\n!docs/img\n",
    "sub/**\n!**/keep.txt\n",
    "*.txt\n!sub/*.txt\nsub/drop.txt\n",
    "[a-b].txt\n**/deep\n",
    "Dockerfile\n.dockerignore\n",
])
def test_dockerignore_matches_docker_s_client(daemon, context, ignore):
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    (context / ".dockerignore").write_text(ignore)
    ours = run([*COVE, "build", "."], daemon, str(context))
    assert ours.returncode == 0, ours.stderr
    mine = _members(_build_request(daemon).body)
    run([DOCKER, "build", "."], daemon, str(context))
    assert mine == _members(_build_request(daemon).body)


def test_dockerfile_outside_the_context(daemon, context):
    proc = run([*COVE, "build", "-f", "../Other.dockerfile", "."], daemon, str(context))
    assert proc.returncode == 0, proc.stderr
    request = _build_request(daemon)
    name = request.query["dockerfile"][0]
    assert name.startswith(".dockerfile.") and len(name) == len(".dockerfile.") + 20
    with tarfile.open(fileobj=io.BytesIO(request.body)) as tar:
        assert tar.extractfile(name).read() == b"FROM busybox\nRUN true\n"
        assert tar.extractfile(".dockerignore").read().endswith(f"\n{name}\n".encode())


def test_dockerfile_inside_the_context_given_from_elsewhere(daemon, context, tmp_path):
    (context / "sub" / "Dockerfile.dev").write_text("FROM busybox\n")
    proc = run([*COVE, "build", "-f", "ctx/sub/Dockerfile.dev", "ctx"], daemon, str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    request = _build_request(daemon)
    assert request.query["dockerfile"] == ["sub/Dockerfile.dev"]
    assert "sub/Dockerfile.dev" in _members(request.body)  # kept though sub is ignored


def test_stdin_dockerfile_tar_and_tar_file(daemon, context, tmp_path):
    proc = run([*COVE, "build", "-"], daemon, str(tmp_path), input=b"FROM busybox\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"Sending build context to Docker daemon  2.048kB\r\r\n")
    assert _members(_build_request(daemon).body) == ["Dockerfile"]
    archive = tmp_path / "ctx.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(context / "Dockerfile", "Dockerfile")
        tar.add(context / "x.key", "x.key")
    for argv, stdin in ((["-"], archive.read_bytes()), ([str(archive)], b"")):
        proc = run([*COVE, "build", *argv], daemon, str(tmp_path), input=stdin)
        assert proc.returncode == 0, proc.stderr
        assert _build_request(daemon).body == archive.read_bytes()  # sent as it is
    proc = run([*COVE, "build", "-f", "x", "-"], daemon, str(tmp_path), input=b"FROM busybox\n")
    assert (proc.returncode, _stderr(proc)) == (1, "unable to prepare context: ambiguous "
                                                "Dockerfile source: both stdin and flag "
                                                "correspond to Dockerfiles\n")


def test_quiet_prints_the_streamed_id_and_iidfile(daemon, context, tmp_path):
    daemon.script.build_stream = QUIET_STREAM
    iid = tmp_path / "iid"
    proc = run([*COVE, "build", "-q", "--iidfile", str(iid), "."], daemon, str(context))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{ID}\n".encode(), b"")
    assert iid.read_text() == f"{ID}\n"
    daemon.script.build_stream = Script().build_stream
    proc = run([*COVE, "build", "--iidfile", str(iid), "."], daemon, str(context))
    assert iid.read_text() == ID


@pytest.mark.parametrize("quiet", [False, True])
def test_failing_step_exits_with_its_code(daemon, context, quiet):
    daemon.script.build_stream = FAILING_STREAM
    flags = ["-q"] if quiet else []
    ours = run([*COVE, "build", *flags, "."], daemon, str(context))
    assert ours.returncode == 3
    assert _stderr(ours).endswith("The command '/bin/sh -c exit 3' returned a non-zero code: 3\n")
    if quiet:  # the held-back output explains the failure
        assert "Step 2/2 : RUN exit 3" in _stderr(ours) and ours.stdout == b""
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    theirs = run([DOCKER, "build", *flags, "."], daemon, str(context))
    assert (theirs.returncode, theirs.stdout, _stderr(theirs)) == \
        (ours.returncode, ours.stdout, _stderr(ours))


def test_daemon_error_and_bad_input(daemon, context):
    daemon.script.build_error = (500, "something broke")
    proc = run([*COVE, "build", "."], daemon, str(context))
    assert (proc.returncode, _stderr(proc)) == (1, "Error response from daemon: something broke\n")
    proc = run([*COVE, "build", "-t", "Bad:Tag", "."], daemon, str(context))
    assert proc.returncode == 125
    assert _stderr(proc).startswith('invalid argument "Bad:Tag" for "-t, --tag" flag: '
                                    "invalid reference format")
    proc = run([*COVE, "build", "--bogus", "."], daemon, str(context))
    assert proc.returncode == 125
    proc = run([*COVE, "build", "nowhere"], daemon, str(context))
    assert (proc.returncode, _stderr(proc)) == \
        (1, 'unable to prepare context: path "nowhere" not found\n')
    (context / "Dockerfile").unlink()
    proc = run([*COVE, "build", "."], daemon, str(context))
    assert proc.returncode == 1
    assert _stderr(proc) == ("unable to prepare context: unable to evaluate symlinks in "
                             f"Dockerfile path: lstat {context}/Dockerfile: no such file or "
                             "directory\n")


@pytest.mark.parametrize("flags", [["-f"], ["-af", "--filter", "until=24h"]])
@pytest.mark.parametrize("deleted", [None, ["abc123", "def456"]])
def test_builder_prune_matches_docker(daemon, tmp_path, flags, deleted):
    daemon.script.build_prune = {"CachesDeleted": deleted, "SpaceReclaimed": 2_500_000}
    ours = run([*COVE, "builder", "prune", *flags], daemon, str(tmp_path))
    assert ours.returncode == 0, ours.stderr
    expected = ("Deleted build cache objects:\nabc123\ndef456\n\n" if deleted else "") + \
        "Total reclaimed space: 2.5MB\n"
    assert ours.stdout.decode() == expected
    request = daemon.last("/build/prune")
    daemon.requests.clear()
    assert DOCKER, "the docker CLI is the oracle here: apt install docker.io"
    theirs = run([DOCKER, "builder", "prune", *flags], daemon, str(tmp_path))
    assert theirs.stdout == ours.stdout
    assert daemon.last("/build/prune").query == request.query


def test_builder_prune_asks_first(daemon, tmp_path):
    answered_no = run([*COVE, "builder", "prune"], daemon, str(tmp_path), input=b"n\n")
    assert answered_no.stdout.decode() == ("WARNING! This will remove all dangling build cache. "
                                           "Are you sure you want to continue? [y/N] ")
    assert not [r for r in daemon.requests if r.path == "/build/prune"]
