"""Images and volumes as the dashboard's rows: one row per tag of an image (``docker
images``' rows, keyed so that Remove untags that tag), and one per volume."""

from __future__ import annotations

import time
from collections.abc import Mapping

from .resource_page import Row, human_size


def image_rows(summaries: list[object]) -> list[Row]:
    rows = []
    for raw in summaries:
        if not isinstance(raw, Mapping):
            continue
        image_id = str(raw.get("Id", ""))
        short = image_id.removeprefix("sha256:")[:12]
        created = raw.get("Created")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if isinstance(
            created, int) else ""  # fmt: skip
        size = human_size(raw.get("Size"))
        tags = [t for t in raw.get("RepoTags") or [] if isinstance(t, str) and t != "<none>:<none>"]
        if not tags:
            rows.append(Row(image_id, ("<none>", "<none>", short, when, size)))
        for tag in tags:
            repository, _, name = tag.rpartition(":")
            rows.append(Row(tag, (repository, name, short, when, size)))
    return rows


def volume_rows(listing: object) -> list[Row]:
    volumes = listing.get("Volumes") if isinstance(listing, Mapping) else None
    rows = []
    for raw in volumes or []:
        if isinstance(raw, Mapping):
            name = str(raw.get("Name", ""))
            rows.append(
                Row(name, (name, str(raw.get("Driver", "")), str(raw.get("Mountpoint", ""))))
            )
    return rows


def reclaimed(report: object) -> str:
    """A prune's answer as a sentence."""
    space = report.get("SpaceReclaimed") if isinstance(report, Mapping) else None
    return f"Total reclaimed space: {human_size(space or 0)}"


def pull_line(message: Mapping[str, object]) -> str:
    """One progress message of a pull as ``docker pull`` prints its line."""
    parts = [str(message[k]) for k in ("id", "status", "progress") if message.get(k)]
    return ": ".join(parts[:2]) + (f" {parts[2]}" if len(parts) > 2 else "")
