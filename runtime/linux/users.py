"""Resolve a Docker ``--user`` value against the container's /etc/passwd and /etc/group.

Follows runc's ``GetExecUser``: names must exist in the files, numbers need not;
supplementary groups come from /etc/group membership only when the group was not
given explicitly; HOME comes from the passwd entry (else "/"). The error wording is
Docker's, because scripts match on it.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1


class UserError(Exception):
    """The user or group cannot be resolved; the message is Docker's."""


class ExecUser:
    """Who the container process runs as."""

    __slots__ = ("uid", "gid", "groups", "home")

    def __init__(self, uid: int, gid: int, groups: list[int], home: str) -> None:
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExecUser) and (
            (self.uid, self.gid, self.groups, self.home)
            == (other.uid, other.gid, other.groups, other.home))

    def __repr__(self) -> str:
        return f"ExecUser(uid={self.uid}, gid={self.gid}, groups={self.groups}, home={self.home!r})"


def _read_entries(path: str, fields: int) -> list[list[str]]:
    """Colon-separated records, skipping comments and short lines; a missing file is empty."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < fields:
            parts += [""] * (fields - len(parts))
        entries.append(parts)
    return entries


def _numeric(value: str) -> int | None:
    if not value.isdigit():
        return None
    number = int(value)
    if number > MAX_ID:
        raise UserError(f"uids and gids must be in range 0-{MAX_ID}")
    return number


def _entry_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def resolve_user(spec: str, passwd_path: str = "/etc/passwd",
                 group_path: str = "/etc/group") -> ExecUser:
    """``spec`` is "", "name", "uid", "name:group", "uid:gid"... as ``docker run --user``."""
    user_part, _, group_part = spec.partition(":")
    user_part = user_part or "0"
    uid, gid, home, user_name = 0, 0, "/", ""

    wanted_uid = _numeric(user_part)
    for entry in _read_entries(passwd_path, 7):
        if (entry[0] == user_part if wanted_uid is None
                else _entry_id(entry[2]) == wanted_uid):
            user_name = entry[0]
            uid = _entry_id(entry[2]) or 0
            gid = _entry_id(entry[3]) or 0
            home = entry[5] or "/"
            break
    else:
        if wanted_uid is None:
            raise UserError(
                f"unable to find user {user_part}: no matching entries in passwd file")
        uid = wanted_uid

    groups = _read_entries(group_path, 4)
    supplementary: list[int] = []
    if group_part:
        wanted_gid = _numeric(group_part)
        for entry in groups:
            if entry[0] == group_part or (wanted_gid is not None
                                          and _entry_id(entry[2]) == wanted_gid):
                gid = _entry_id(entry[2]) or 0
                break
        else:
            if wanted_gid is None:
                raise UserError(
                    f"unable to find group {group_part}: no matching entries in group file")
            gid = wanted_gid
    elif user_name:
        for entry in groups:
            members = [m.strip() for m in entry[3].split(",")]
            group_id = _entry_id(entry[2])
            if user_name in members and group_id is not None and group_id not in supplementary:
                supplementary.append(group_id)
    if gid not in supplementary:  # dockerd lists the primary group last, as `id` then shows
        supplementary.append(gid)
    return ExecUser(uid, gid, supplementary, home)
