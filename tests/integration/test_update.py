"""``docker update`` / ``cove update`` on coved: limits change in the running cgroup."""

from __future__ import annotations

import json


def _limits(docker, cid):
    out = docker("exec", cid, "sh", "-c",
                 "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                 "cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                 "cat /sys/fs/cgroup/pids.max")
    return out.stdout.split()


def test_update_changes_the_running_cgroup_and_the_record(docker, cove):
    cid = docker("run", "-d", "-m", "64m", "--pids-limit", "50", "busybox",
                 "sleep", "60").stdout.strip()
    try:
        assert _limits(docker, cid) == [str(64 << 20), "50"]
        updated = docker("update", "-m", "96m", "--memory-swap", "200m", "--pids-limit", "70",
                         cid)
        assert updated.returncode == 0, updated.stderr
        assert updated.stdout == f"{cid}\n"
        assert _limits(docker, cid) == [str(96 << 20), "70"]
        ours = cove("update", "--pids-limit", "80", "--restart", "on-failure:2", cid[:12])
        assert (ours.returncode, ours.stdout) == (0, f"{cid[:12]}\n")
        host = json.loads(docker("inspect", cid).stdout)[0]["HostConfig"]
        assert (host["Memory"], host["PidsLimit"]) == (96 << 20, 80)
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        docker("restart", "-t", "0", cid)
        assert _limits(docker, cid) == [str(96 << 20), "80"]  # kept for the next start
        too_big = docker("update", "-m", "300m", cid)
        assert too_big.returncode == 1
        assert "Memory limit should be smaller than already set memoryswap limit" in \
            too_big.stderr
        nothing = cove("update", cid)
        assert nothing.returncode == 1 and "you must provide one or more flags" in nothing.stderr
        missing = cove("update", "--pids-limit", "5", "no-such-thing")
        assert missing.returncode == 1 and "No such container: no-such-thing" in missing.stderr
    finally:
        docker("rm", "-f", cid)
