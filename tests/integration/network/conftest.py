"""The network lab fixtures: every test here works inside namespaces of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.coved import Coved
from tests.support.fixtures import running_coved
from tests.support.images import busybox_archive
from tests.support.lab_dockerd import lab_dockerd, lab_engine
from tests.support.netlab import NetLab, netlab

__all__ = ["lab_coved", "lab_dockerd", "lab_engine", "netlab"]


@pytest.fixture
def lab_coved(netlab: NetLab) -> Iterator[Coved]:
    """A coved of the test's own inside the lab's host namespace (its default bridge made
    there), with busybox loaded."""
    yield from running_coved(busybox_archive(), netns=netlab.host_path)
