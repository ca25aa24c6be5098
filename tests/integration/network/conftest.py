"""The network lab fixtures: every test here works inside namespaces of its own (and a
reference dockerd, when it needs one, runs inside a lab too)."""

from __future__ import annotations

from tests.support.lab_dockerd import lab_dockerd
from tests.support.netlab import netlab

__all__ = ["lab_dockerd", "netlab"]
