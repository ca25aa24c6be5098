"""The store's flock helper: one holder at a time, shared holders together, released on close."""

from __future__ import annotations

import os

from cove.runtime.store import locks


def test_a_held_lock_is_not_free_until_its_holder_closes(tmp_path):
    path = tmp_path / "data.lock"
    first = locks.hold_if_free(path)
    assert first is not None
    assert locks.hold_if_free(path) is None
    os.close(first)
    again = locks.hold_if_free(path)
    assert again is not None
    os.close(again)


def test_shared_holders_exclude_an_exclusive_one(tmp_path):
    path = tmp_path / "cache.lock"
    readers = [locks.open_lock(path) for _ in range(2)]
    for fd in readers:
        locks.hold(fd, shared=True)
    writer = locks.open_lock(path)
    try:
        assert not locks.try_hold(writer)
        for fd in readers:
            os.close(fd)
        assert locks.try_hold(writer)
    finally:
        os.close(writer)


def test_the_lock_file_is_private_to_root(tmp_path):
    fd = locks.open_lock(tmp_path / "x.lock")
    os.close(fd)
    assert (tmp_path / "x.lock").stat().st_mode & 0o777 == 0o600
