"""The desktop app's tests against a real coved, with Qt on the ``offscreen`` platform."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
