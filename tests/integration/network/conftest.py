"""The network lab fixture: every test here works inside namespaces of its own."""

from __future__ import annotations

from tests.support.netlab import netlab

__all__ = ["netlab"]
