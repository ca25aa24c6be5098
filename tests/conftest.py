"""Session-wide fixtures shared by unit and integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.dockerd import ensure_dockerd, stop_dockerd


@pytest.fixture(scope="session", autouse=True)
def isolated_client_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Cove's and docker's client config dirs point into the session's temp dir.

    Every ``cove``/``docker`` the tests run inherits them, so a test's logins never
    touch the real ``~/.config/cove`` or ``~/.docker`` of whoever runs the suite.
    """
    saved = {name: os.environ.get(name) for name in ("COVE_CONFIG", "DOCKER_CONFIG")}
    os.environ["COVE_CONFIG"] = str(tmp_path_factory.mktemp("cove-config"))
    os.environ["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("docker-config"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def reference_dockerd() -> Iterator[dict[str, str]]:
    """The real dockerd as an oracle; stopped at the end of the session if started for it."""
    env = ensure_dockerd()
    if env is None:
        stop_dockerd()
        pytest.skip("dockerd cannot start here")
    try:
        yield env
    finally:
        stop_dockerd()
