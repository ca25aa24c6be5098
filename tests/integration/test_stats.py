"""``docker stats`` and ``cove stats`` against coved: the numbers come from the cgroup."""

from __future__ import annotations

import json
import re

import pytest


@pytest.fixture
def busy(docker):
    """A container using memory it holds (a tmpfs-free 20 MB shell variable) and 5 PIDs."""
    cid = docker("run", "-d", "-m", "256m", "busybox", "sh", "-c",
                 "x=$(head -c 20000000 /dev/zero | tr '\\0' a); "
                 "for i in 1 2 3 4; do sleep 60 & done; sleep 60; echo ${#x}").stdout.strip()
    try:
        yield cid
    finally:
        docker("rm", "-f", cid)


def _settled(docker, cid):
    """The stats row once the shell holds its string and its five children (bounded)."""
    for _ in range(20):
        out = docker("stats", "--no-stream", "--format", "{{json .}}", cid)
        assert out.returncode == 0, out.stderr
        row = json.loads(out.stdout)
        if row["PIDs"] == "6":
            return row
    return row


def test_docker_stats_no_stream_shows_the_cgroup(docker, busy):
    row = _settled(docker, busy)
    assert row["ID"] == busy[:12]
    assert row["PIDs"] == "6"
    used, limit = row["MemUsage"].split(" / ")
    assert limit == "256MiB"
    assert used.endswith("MiB") and 15 < float(used[:-3]) < 120
    assert re.fullmatch(r"\d+\.\d\d%", row["CPUPerc"])
    assert row["NetIO"] == "0B / 0B"


def test_cove_stats_table_matches_docker_columns(docker, cove, busy):
    _settled(docker, busy)
    ours = cove("stats", "--no-stream", busy)
    assert ours.returncode == 0, ours.stderr
    header, line = ours.stdout.splitlines()
    assert header.split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/",
                              "LIMIT", "MEM", "%", "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    assert line.startswith(busy[:12]) and line.split()[-1] == "6"
    theirs = docker("stats", "--no-stream", busy)
    assert theirs.stdout.splitlines()[0] == header


def test_stats_api_one_shot_and_stopped(coved, docker):
    cid = docker("create", "busybox", "true").stdout.strip()
    try:
        status, sample = coved.request("GET", f"/containers/{cid}/stats?stream=0")
        assert status == 200
        assert sample["read"] == "0001-01-01T00:00:00Z"
        assert sample["name"].startswith("/") and sample["id"] == cid
        missing = docker("stats", "--no-stream", "nope-not-here")
        assert missing.returncode == 1 and "No such container: nope-not-here" in missing.stderr
    finally:
        docker("rm", "-f", cid)
