"""rlimits applied in a real forked process, as the shim applies a container's ulimits."""

from __future__ import annotations

import os
import resource

from cove.runtime.linux import process


def test_apply_rlimits_sets_soft_and_hard_in_a_child():
    pid = os.fork()
    if pid == 0:
        try:
            process.apply_rlimits([[process.RLIMIT_NUMBERS["nofile"], 100, 200]])
            ok = resource.getrlimit(resource.RLIMIT_NOFILE) == (100, 200)
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
