"""``docker diff``: what a container changed, read from its overlay upper dir.

The upper dir holds every file the container added or modified (copied up whole), a
0/0 character device for each file it deleted, and ``trusted.overlay.opaque`` on a
directory it deleted and made again. Which of those are changes is decided once, for
``diff``, ``commit`` and the builder's RUN layers alike (``layers.upper_changes``): a
path also present in the image is a modification (Kind 0), otherwise an addition (1);
a whiteout is a deletion (2).
"""

from __future__ import annotations

from typing import Any

from cove.runtime.build import layers


def upper_changes(upper: str, lower_dirs: list[str]) -> list[dict[str, Any]]:
    """[{"Path", "Kind"}] in path order (dockerd's order is a map's: unspecified)."""
    return [{"Path": "/" + change.rel, "Kind": int(change.kind)}
            for change in layers.upper_changes(upper, lower_dirs)]
