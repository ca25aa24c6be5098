"""The two daemons a comparison test runs against, as the docker CLI and a raw API client
reach them: coved (the session's fixture) and the reference dockerd."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.support.clis import DOCKER


def daemon_env(request: pytest.FixtureRequest, which: str) -> dict[str, str]:
    """The docker CLI's environment for ``which`` ("coved" or "dockerd")."""
    if which == "dockerd":
        return dict(request.getfixturevalue("reference_dockerd"))
    return dict(request.getfixturevalue("coved").env)


def docker_on(env: dict[str, str], *args: str,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The docker CLI against the daemon of ``env``, its output captured."""
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def api_socket(env: dict[str, str], timeout: float = 20) -> socket.socket:
    """A connection to the daemon's API socket, for requests a client library would hide."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(env["DOCKER_HOST"].removeprefix("unix://"))
    except OSError:
        sock.close()
        raise
    return sock
