"""Registries for the pull/push tests: the real CNCF registry, in its three auth modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
