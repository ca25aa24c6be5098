"""The reliability suite: fuzzing, crashes, a full disk, leaks and load, against a real
coved. CI runs the bounded version; ``scripts/reliability`` runs the full one."""

from __future__ import annotations

import os

import pytest

from tests.support.fixtures import cove, coved, docker, private_clis, private_coved

__all__ = ["coved", "cove", "docker", "private_clis", "private_coved"]

if os.geteuid() != 0:
    pytest.skip("reliability tests need root (namespaces, cgroups)", allow_module_level=True)
