"""Registries for the pull/push tests: the real CNCF registry, in its three auth modes;
and ``own_coved``, for tests that need a daemon of their own (a daemon.json, an empty store)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.coved import Coved
from tests.support.registry import Registry


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with Registry() as reg:
        yield reg


@pytest.fixture(scope="module")
def htpasswd_registry() -> Iterator[Registry]:
    with Registry(auth="htpasswd") as reg:
        yield reg


@pytest.fixture(scope="module")
def token_registry() -> Iterator[Registry]:
    with Registry(auth="token") as reg:
        yield reg


@pytest.fixture
def own_coved() -> Iterator[Callable[[dict[str, Any]], Coved]]:
    """A factory: coved with the given daemon.json, stopped and removed after the test."""
    started: list[Coved] = []

    def start(settings: dict[str, Any]) -> Coved:
        daemon = Coved()
        os.makedirs(daemon.data_root, exist_ok=True)
        with open(os.path.join(daemon.data_root, "daemon.json"), "w") as f:
            json.dump(settings, f)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.stop()
        daemon.cleanup()
