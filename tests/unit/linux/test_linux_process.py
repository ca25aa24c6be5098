"""Command lookup and exec errors carry Docker's messages and exit codes."""

from __future__ import annotations

import os

import pytest

from cove.runtime.linux import caps
from cove.runtime.linux.process import ExecError, env_dict, find_executable


def test_lookup_searches_the_given_path(tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert find_executable("tool", f"/nonexistent:{tmp_path}") == f"{tmp_path}/tool"


@pytest.mark.parametrize("name,message,code", [
    ("nosuch", 'exec: "nosuch": executable file not found in $PATH', 127),
    ("/nosuch", 'exec: "/nosuch": stat /nosuch: no such file or directory', 127),
])
def test_missing_commands_are_127(tmp_path, name, message, code):
    with pytest.raises(ExecError) as info:
        find_executable(name, str(tmp_path))
    assert (info.value.message, info.value.exit_code) == (message, code)


def test_non_executable_files_and_dirs_are_126(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    for path in (str(plain), str(tmp_path)):
        with pytest.raises(ExecError) as info:
            find_executable(path, "")
        assert info.value.exit_code == 126
        assert info.value.message == f'exec: "{path}": permission denied'
    os.chmod(plain, 0o644)
    with pytest.raises(ExecError):
        find_executable("plain", str(tmp_path))  # not executable: skipped in PATH search


def test_env_list_to_dict_keeps_last_and_skips_malformed():
    assert env_dict(["A=1", "B=x=y", "junk", "A=2"]) == {"A": "2", "B": "x=y"}


def test_default_capability_mask_is_dockers():
    assert caps.DEFAULT_MASK == 0xA80425FB
    with pytest.raises(ValueError):
        caps.capability_mask(["CAP_NOPE"])
