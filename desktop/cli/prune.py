"""What every ``prune`` command prints, as the docker CLI prints it: the question (unless
``-f``), a "Deleted ...:" section per kind of object removed, then the space reclaimed."""

from __future__ import annotations

import sys

from .units import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .command import Cli


def confirmed(cli: Cli, warning: str, force: bool, separator: str = "\n") -> bool:
    """``warning`` and docker's [y/N] question, unless ``force``; True to go on. (docker
    asks ``builder prune``'s on the warning's own line: ``separator=" "``.)"""
    if force:
        return True
    cli.stdout.write(f"{warning}{separator}Are you sure you want to continue? [y/N] ")
    cli.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def section(title: str, items: list[str]) -> str:
    """``title`` and one line per item, or "" when nothing was deleted."""
    return f"{title}\n" + "".join(f"{item}\n" for item in items) if items else ""


def image_lines(report: dict[str, Any]) -> list[str]:
    """``ImagesDeleted`` as docker lists it: untagged references, then deleted IDs."""
    lines = []
    for item in report.get("ImagesDeleted") or []:
        if item.get("Untagged"):
            lines.append(f"untagged: {item['Untagged']}")
        if item.get("Deleted"):
            lines.append(f"deleted: {item['Deleted']}")
    return lines


def finish(cli: Cli, sections: list[str], reclaimed: int) -> int:
    """Each non-empty section followed by a blank line, then the total."""
    for text in sections:
        if text:
            cli.out(text)
    cli.out(f"Total reclaimed space: {human_size(reclaimed, 4)}")
    return 0
