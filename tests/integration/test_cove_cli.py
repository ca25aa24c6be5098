"""The ``cove`` CLI end to end against coved."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

from tests.support.terminal import Terminal


def test_cove_run_hello_world(cove):
    result = cove("run", "--rm", "hello-world")
    assert result.returncode == 0 and "Hello from Cove!" in result.stdout


def test_cove_run_exit_codes(cove):
    assert cove("run", "--rm", "busybox", "sh", "-c", "exit 7").returncode == 7
    missing = cove("run", "--rm", "busybox", "nope")
    assert missing.returncode == 127 and "executable file not found" in missing.stderr
    assert cove("run", "--rm", "ghost-image").returncode == 125


def test_cove_ps_logs_exec_stop_rm(cove):
    name = "cv-" + uuid.uuid4().hex[:8]
    cid = cove("run", "-d", "--name", name, "busybox", "sh", "-c",
               "echo ready; trap 'exit 0' TERM; while true; do sleep 0.1; done").stdout.strip()
    try:
        assert len(cid) == 64
        assert name in cove("ps").stdout
        assert cid[:12] in cove("ps", "-q").stdout.split()
        deadline = time.monotonic() + 10
        while "ready" not in cove("logs", name).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cove("logs", name).stdout == "ready\n"
        assert cove("exec", name, "cat", "/etc/hostname").stdout == cid[:12] + "\n"
        assert cove("stop", name).stdout.strip() == name
        assert "Exited (0)" in cove("ps", "-a", "--filter", f"name={name}").stdout
    finally:
        cove("rm", "-f", name)
    assert name not in cove("ps", "-a").stdout


def test_cove_run_it_is_interactive(cove):
    term = Terminal([*cove.argv0, "run", "-it", "--rm", "busybox", "sh"], cove.env)
    term.expect("# ")
    term.send("echo $((2+3))x\r")
    term.expect("5x")
    term.send("exit 2\r")
    assert term.wait() == 2


def test_cove_images_and_inspect(cove):
    images = cove("images").stdout.splitlines()
    assert images[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(line.startswith("busybox ") for line in images)
    config = json.loads(cove("inspect", "busybox").stdout)[0]
    assert config["Config"]["Cmd"] == ["sh"]


def test_cove_version_shows_the_engine_linux(cove):
    out = cove("version").stdout
    assert "Server:" in out and "linux/" in out.split("Server:")[1]


def test_cove_cli_never_imports_the_engine(cove):
    result = subprocess.run([sys.executable, "-c",
                             "import sys, cove.desktop.cli.main as m; "
                             "print(sorted(k for k in sys.modules if k.startswith('cove.')))"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout
    assert "cove.desktop.cli.main" in loaded  # the listing is real: the CLI did load
    assert "cove.runtime" not in loaded  # the CLI never imports the engine


def _runtimes_sorted(line: str) -> str:
    if not line.startswith(" Runtimes: "):
        return line
    return " Runtimes: " + " ".join(sorted(line.split(": ", 1)[1].split()))


def test_cove_info_prints_what_docker_info_prints(private_clis):
    """On a daemon of its own: info counts everything the daemon has."""
    docker, cove = private_clis
    theirs, ours = docker("info"), cove("info")
    assert (ours.returncode, theirs.returncode) == (0, 0), ours.stderr
    # the client's own version is the one line the two CLIs must differ in; docker lists
    # the runtimes in Go's map order, which changes from run to run: compared as a set
    mine = [_runtimes_sorted(line) for line in ours.stdout.splitlines()
            if not line.startswith(" Version:")]
    docker_lines = [_runtimes_sorted(line) for line in theirs.stdout.splitlines()
                    if not line.startswith(" Version:")]
    assert mine == docker_lines
    assert " Insecure Registries:" in mine and " Security Options:" in mine


def test_cove_version_shows_the_server_as_docker_does(cove, docker):
    theirs, ours = docker("version"), cove("version")
    assert (ours.returncode, theirs.returncode) == (0, 0), ours.stderr
    server = ours.stdout[ours.stdout.index("Server:"):]
    assert server == theirs.stdout[theirs.stdout.index("Server:"):]
    built = [line for line in ours.stdout.splitlines() if line.strip().startswith("Built:")]
    assert len(built) == 2 and all(line.split(":", 1)[1].strip() for line in built)


def test_a_tty_without_a_terminal_on_stdin_fails_as_docker_does(cove, docker):
    name = "cove-notty-" + uuid.uuid4().hex[:8]
    assert docker("run", "-d", "--name", name, "busybox", "sleep", "60").returncode == 0
    try:
        for argv in (["run", "-it", "--rm", "busybox", "true"], ["exec", "-it", name, "true"]):
            theirs, ours = docker(*argv, input=""), cove(*argv, input="")
            assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr) == \
                (1, "the input device is not a TTY\n"), argv
        missing = ["exec", "-it", "cove-no-such-" + uuid.uuid4().hex[:8], "true"]
        assert cove(*missing, input="").stderr == docker(*missing, input="").stderr
    finally:
        docker("rm", "-f", name)
