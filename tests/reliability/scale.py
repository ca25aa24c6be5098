"""How much work a reliability test does: bounded in CI, full under ``scripts/reliability``.

A test asks ``rounds(bounded, full)`` rather than reading the environment itself, so the
one switch (``COVE_RELIABILITY=full``) scales the whole suite together.
"""

from __future__ import annotations

import os

FULL = os.environ.get("COVE_RELIABILITY") == "full"


def rounds(bounded: int, full: int) -> int:
    return full if FULL else bounded
