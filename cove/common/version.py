"""Cove's version, written once: the package metadata, ``cove --version``, ``coved --version``,
the engine's ``/version`` and the client's User-Agent all read it from here."""

from __future__ import annotations

VERSION = "0.1.0"


def build_time() -> float:
    """When this build of Cove was made: the time its version file was written (an install
    writes it; in a checkout, the last edit of the version). ``version`` shows it as Built."""
    import os

    return os.path.getmtime(__file__)
