"""Detach keys on a TTY session: the cove CLI leaves the container running as the docker CLI
does, with the same exit codes and message, from ctrl-p,ctrl-q, ``--detach-keys`` or
``detachKeys`` in the CLI's config.json. The docker CLI against the reference dockerd is
the oracle for what each command answers."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.clis import COVE, DOCKER
from tests.support.terminal import Terminal


def _typed_and_seen(term: Terminal, word: str) -> None:
    """Type a command whose output proves the session reads the keyboard (the quotes keep
    the terminal's own echo of the line from matching)."""
    term.send(f"echo {word[:2]}''{word[2:]}\r")
    term.expect(f"{word}\r\n")


def _session(argv: list[str], env: dict[str, str], keys: str, word: str) -> tuple[int, bool]:
    """(exit code, whether docker's "read escape sequence" was shown)."""
    term = Terminal(argv, env)
    _typed_and_seen(term, word)
    term.send(keys)
    code = term.wait()
    return code, b"read escape sequence" in term.output


@pytest.mark.parametrize("client", ["cove", "docker", "docker-on-dockerd"])
def test_detach_keys_leave_the_container_running(client: str, request: pytest.FixtureRequest,
                                                  tmp_path: Path) -> None:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    if client == "docker-on-dockerd":
        env = dict(request.getfixturevalue("reference_dockerd"))
    else:
        env = dict(request.getfixturevalue("coved").env)
    env["COVE_CONFIG"] = env["DOCKER_CONFIG"] = str(tmp_path)
    argv0 = COVE if client == "cove" else DOCKER
    name = f"detach-{uuid.uuid4().hex[:10]}"

    def state() -> str:
        shown = subprocess.run([DOCKER, "inspect", "-f", "{{.State.Status}}", name], env=env,
                               capture_output=True, text=True, timeout=30)
        return shown.stdout.strip()

    try:
        # the default keys end `run -it` quietly, with 0
        assert _session([argv0, "run", "-it", "--name", name, "busybox", "sh"], env,
                        "\x10\x11", "first") == (0, False)
        assert state() == "running"
        # --detach-keys: attach says "read escape sequence" and fails, as docker's does
        assert _session([argv0, "attach", "--detach-keys", "ctrl-a,x", name], env,
                        "\x01x", "second") == (1, True)
        assert state() == "running"
        # detachKeys in config.json, for attach and exec
        (tmp_path / "config.json").write_text(json.dumps({"detachKeys": "ctrl-b,y"}))
        assert _session([argv0, "attach", name], env, "\x02y", "third") == (1, True)
        assert _session([argv0, "exec", "-it", name, "sh"], env, "\x02y", "fourth") == (1, True)
        assert state() == "running"
        # the first key alone reaches the container; held back, then passed on
        term = Terminal([argv0, "attach", "--detach-keys", "x,y", name], env)
        _typed_and_seen(term, "fifth")
        term.send("echo x")
        term.send("z''sixth\r")
        term.expect("xzsixth\r\n")
        term.send("xy")
        assert term.wait() == 1
        assert state() == "running"
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], env=env, capture_output=True, timeout=60)
