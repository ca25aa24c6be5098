"""Fixtures: a real coved with busybox test images, and the two CLIs pointed at it."""

from __future__ import annotations

import os

import pytest

from tests.support.fixtures import cove, coved, docker, private_clis, private_coved

__all__ = ["coved", "cove", "docker", "private_clis", "private_coved"]

if os.geteuid() != 0:
    pytest.skip("integration tests need root (namespaces, cgroups)", allow_module_level=True)
