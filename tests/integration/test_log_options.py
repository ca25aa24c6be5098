"""``--log-opt max-size/max-file`` and ``--log-driver none`` on coved."""

from __future__ import annotations

import json
import os


def _wait_exit(docker, cid):
    docker("wait", cid)


def test_json_file_rotation_keeps_max_file_files_and_logs_reads_them_all(docker):
    cid = docker("run", "-d", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox",
                 "sh", "-c", "for i in $(seq 1 200); do echo line-$i; done").stdout.strip()
    try:
        _wait_exit(docker, cid)
        log_path = json.loads(docker("inspect", cid).stdout)[0]["LogPath"]
        names = sorted(os.listdir(os.path.dirname(log_path)))
        base = os.path.basename(log_path)
        assert [n for n in names if n.startswith(base)] == [base, base + ".1", base + ".2"]
        for name in (base, base + ".1", base + ".2"):
            assert os.path.getsize(os.path.join(os.path.dirname(log_path), name)) <= 2000
        lines = docker("logs", cid).stdout.splitlines()
        assert lines[-1] == "line-200"
        assert lines == [f"line-{i}" for i in range(201 - len(lines), 201)]  # in order
        assert 30 < len(lines) < 200  # the oldest were dropped with the fourth file
        assert docker("logs", "--tail", "3", cid).stdout.splitlines() == \
            ["line-198", "line-199", "line-200"]
    finally:
        docker("rm", "-f", cid)


def test_follow_goes_on_across_a_rotation(docker):
    """A burst rotates several times while the follower sleeps; with room for all of it
    in max-file files, the follower walks the rotated files in order and loses nothing."""
    cid = docker("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=6", "busybox",
                 "sh", "-c", "sleep 1; for i in $(seq 1 60); do echo row-$i; done; sleep 1")\
        .stdout.strip()
    try:
        followed = docker("logs", "-f", cid).stdout.splitlines()
        assert followed[-1] == "row-60"
        assert followed == [f"row-{i}" for i in range(1, 61)]
    finally:
        docker("rm", "-f", cid)


def test_none_driver_and_refused_options(docker, cove):
    cid = docker("run", "-d", "--log-driver", "none", "busybox", "echo", "quiet").stdout.strip()
    try:
        _wait_exit(docker, cid)
        out = docker("logs", cid)
        assert out.returncode == 1
        assert "configured logging driver does not support reading" in out.stderr
    finally:
        docker("rm", "-f", cid)
    for flags, message in ((["--log-opt", "colour=blue"],
                            "unknown log opt 'colour' for json-file log driver"),
                           (["--log-driver", "syslog"], "logging driver 'syslog' is not supported"),
                           (["--log-opt", "max-file=2"], "max-file cannot be set without max-size")):
        result = cove("run", "--rm", *flags, "busybox", "true")
        assert result.returncode == 125 and message in result.stderr, result.stderr
