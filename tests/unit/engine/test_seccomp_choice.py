"""A container's seccomp filter from its HostConfig (runtime/engine/seccomp.py): which
profile, compiled once per distinct filter and kept under the data root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.engine import seccomp
from cove.runtime.linux import caps

pytestmark = pytest.mark.skipif(not seccomp.supported(), reason="no seccomp here")
NO_MKDIR = json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})


def test_the_last_seccomp_option_counts_as_in_dockerd():
    host = {"SecurityOpt": ["seccomp=unconfined", "no-new-privileges", "seccomp:{}"]}
    assert seccomp.profile_option(host) == "{}"
    assert seccomp.profile_option({"SecurityOpt": ["label=disable"]}) is None
    assert seccomp.profile_option({"SecurityOpt": ["seccomp="]}) == ""


@pytest.mark.parametrize("host", [
    {"SecurityOpt": ["seccomp=unconfined"]},
    {"Privileged": True},
    {"Privileged": True, "SecurityOpt": [f"seccomp={NO_MKDIR}"]},
])
def test_unconfined_and_privileged_containers_get_no_filter(tmp_path, host):
    assert seccomp.filter_path(tmp_path, host, caps.DEFAULT_MASK) == ""
    assert not (tmp_path / seccomp.FILTER_DIR).exists()


def test_a_filter_is_compiled_once_and_kept_under_the_data_root(tmp_path):
    first = seccomp.filter_path(tmp_path, {}, caps.DEFAULT_MASK)
    assert os.path.dirname(first) == str(tmp_path / seccomp.FILTER_DIR)
    written = os.stat(first)
    assert seccomp.filter_path(tmp_path, {"SecurityOpt": ["seccomp="]},
                               caps.DEFAULT_MASK) == first
    assert os.stat(first).st_mtime_ns == written.st_mtime_ns  # not written again
    admin = seccomp.filter_path(tmp_path, {}, caps.DEFAULT_MASK | caps.capability_mask(
        ["SYS_ADMIN"]))
    custom = seccomp.filter_path(tmp_path, {"SecurityOpt": [f"seccomp={NO_MKDIR}"]},
                                 caps.DEFAULT_MASK)
    assert len({first, admin, custom}) == 3
    assert sorted(os.listdir(tmp_path / seccomp.FILTER_DIR)) == sorted(
        os.path.basename(path) for path in (first, admin, custom))  # no temp files left


def test_a_removed_filter_file_is_written_again(tmp_path):
    path = seccomp.filter_path(tmp_path, {}, caps.DEFAULT_MASK)
    program = Path(path).read_bytes()
    os.unlink(path)
    assert seccomp.filter_path(tmp_path, {}, caps.DEFAULT_MASK) == path
    assert Path(path).read_bytes() == program


def test_a_bad_profile_is_a_start_failure_with_dockerds_words(tmp_path):
    with pytest.raises(errors.SystemError_, match="^Decoding seccomp profile failed: "):
        seccomp.filter_path(tmp_path, {"SecurityOpt": ["seccomp={bad"]}, caps.DEFAULT_MASK)
