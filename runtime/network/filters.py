"""``GET /networks`` and ``POST /networks/prune`` filters, as dockerd 20.10 applies them.

``name`` and ``id`` match exactly or as a regular expression (Docker's ``Match``: so an ID
prefix matches), ``driver`` and ``scope`` exactly, ``label`` as ``key`` or ``key=value``;
``dangling`` keeps the networks no container uses (never the predefined ones) or, false,
those in use and the predefined; ``type`` is ``custom`` or ``builtin``. Pure logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cove.runtime import errors
from cove.runtime.network.records import NetworkRecord

Filters = dict[str, list[str]]
LIST_FILTERS = ("driver", "id", "label", "name", "scope", "type", "dangling")
PRUNE_FILTERS = ("until", "label", "label!")


def check(filters: Filters, accepted: tuple[str, ...]) -> None:
    for key in filters:
        if key not in accepted:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")


def _match(values: list[str], source: str) -> bool:
    for value in values:
        if value == source:
            return True
        try:
            if re.search(value, source):
                return True
        except re.error:
            continue
    return False


def labels_match(values: list[str], labels: dict[str, str]) -> bool:
    """Every ``key`` or ``key=value`` in ``values`` holds (Docker's MatchKVList)."""
    for value in values:
        key, sep, want = value.partition("=")
        if key not in labels or (sep and labels[key] != want):
            return False
    return True


def dangling_only(filters: Filters) -> bool | None:
    values = filters.get("dangling") or []
    if not values:
        return None
    if len(values) > 1:
        raise errors.InvalidParameter('got more than one value for filter key "dangling"')
    if values[0] in ("1", "true"):
        return True
    if values[0] in ("0", "false"):
        return False
    raise errors.InvalidParameter(
        "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" "
        "(or \"0\")")


def select(records: list[NetworkRecord], filters: Filters,
           in_use: Callable[[NetworkRecord], bool]) -> list[NetworkRecord]:
    """The records ``filters`` keep, in their order."""
    check(filters, LIST_FILTERS)
    for kind in filters.get("type") or []:
        if kind not in ("custom", "builtin"):
            raise errors.SystemError_(f"invalid filter: 'type'='{kind}'")
    dangling = dangling_only(filters)
    kept = []
    for record in records:
        if filters.get("driver") and record.driver not in filters["driver"]:
            continue
        if filters.get("name") and not _match(filters["name"], record.name):
            continue
        if filters.get("id") and not _match(filters["id"], record.id):
            continue
        if filters.get("label") and not labels_match(filters["label"], record.labels):
            continue
        if filters.get("scope") and "local" not in filters["scope"]:
            continue
        if dangling is not None:
            used = record.predefined or in_use(record)
            if dangling == used:
                continue
        kinds = filters.get("type")
        if kinds and ("builtin" if record.predefined else "custom") not in kinds:
            continue
        kept.append(record)
    return kept


def until_cutoff(filters: Filters, now: datetime | None = None) -> datetime | None:
    """``until``: a timestamp (RFC 3339, or Unix seconds) or a duration before now."""
    values = filters.get("until") or []
    if not values:
        return None
    if len(values) > 1:
        raise errors.InvalidParameter("more than one until filter specified")
    text = values[0]
    now = now or datetime.now(UTC)
    duration = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if duration:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
        return now - timedelta(seconds=float(duration.group(1)) * scale[duration.group(2)])
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.SystemError_(
            f'failed to parse value as time or duration: "{text}"') from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def created_at(record: NetworkRecord) -> datetime:
    text = record.created.replace("Z", "+00:00")
    # Python 3.11 takes at most 6 fractional digits: dockerd's have 9
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text)


def prunable(record: NetworkRecord, filters: Filters, cutoff: datetime | None) -> bool:
    """A user network the prune filters select (whether it is in use is the caller's)."""
    if record.predefined:
        return False
    if cutoff is not None and created_at(record) >= cutoff:
        return False
    if filters.get("label") and not labels_match(filters["label"], record.labels):
        return False
    if filters.get("label!") and any(
            labels_match([value], record.labels) for value in filters["label!"]):
        return False
    return True
