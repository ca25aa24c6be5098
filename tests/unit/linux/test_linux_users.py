"""resolve_user follows runc/Docker semantics against passwd/group files."""

from __future__ import annotations

import pytest

from cove.runtime.linux.users import ExecUser, UserError, resolve_user

PASSWD = """root:x:0:0:root:/root:/bin/sh
# comment
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
"""
GROUP = """root:x:0:root
wheel:x:10:root,user
staff:x:50:user
user:x:1000:
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    return str(tmp_path / "passwd"), str(tmp_path / "group")


def test_empty_user_is_root_with_its_home_and_groups(files):
    assert resolve_user("", *files) == ExecUser(0, 0, [0, 10], "/root")


def test_name_and_number_resolve_the_same_entry(files):
    expected = ExecUser(1000, 1000, [10, 50, 1000], "/home/user")
    assert resolve_user("user", *files) == expected
    assert resolve_user("1000", *files) == expected


def test_unknown_numeric_uid_is_allowed_without_an_entry(files):
    assert resolve_user("4242", *files) == ExecUser(4242, 0, [0], "/")


def test_explicit_group_replaces_supplementary_groups(files):
    assert resolve_user("user:staff", *files) == ExecUser(1000, 50, [50], "/home/user")
    assert resolve_user("user:77", *files) == ExecUser(1000, 77, [77], "/home/user")


def test_unknown_names_fail_with_docker_wording(files):
    with pytest.raises(UserError, match="^unable to find user ghost: no matching entries in passwd file$"):
        resolve_user("ghost", *files)
    with pytest.raises(UserError, match="^unable to find group nogrp: no matching entries in group file$"):
        resolve_user("user:nogrp", *files)


def test_missing_files_still_allow_numbers(tmp_path):
    missing = str(tmp_path / "none")
    assert resolve_user("12:34", missing, missing) == ExecUser(12, 34, [34], "/")
    with pytest.raises(UserError):
        resolve_user("root", missing, missing)


def test_out_of_range_ids_are_rejected(files):
    with pytest.raises(UserError, match="range"):
        resolve_user(str(2**31), *files)
