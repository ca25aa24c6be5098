"""``--log-opt max-size/max-file`` and ``--log-driver none`` on coved."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest


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
                           (["--log-driver", "local", "--log-opt", "colour=blue"],
                            "unknown log opt 'colour' for log driver local")):
        result = cove("run", "--rm", *flags, "busybox", "true")
        assert result.returncode == 125 and message in result.stderr, result.stderr


@pytest.fixture(params=["coved", "dockerd"])
def engine(request, docker):
    from tests.support.clis import CLI

    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


def test_an_unknown_log_driver_is_dockerds_plugin_error(engine):
    result = engine("run", "--rm", "--log-driver", "cove-nosuch", "busybox", "true")
    assert result.returncode == 125
    assert ('error looking up logging plugin cove-nosuch: plugin "cove-nosuch" not found'
            in result.stderr)


def test_the_local_driver_keeps_logs_that_docker_logs_reads(engine):
    name = "cove-local-" + uuid.uuid4().hex[:8]
    ran = engine("run", "--name", name, "--log-driver", "local", "busybox", "echo", "kept")
    try:
        assert (ran.returncode, ran.stdout) == (0, "kept\n"), ran.stderr
        assert engine("logs", name).stdout == "kept\n"
        shown = engine("inspect", "-f", "{{.HostConfig.LogConfig.Type}}", name).stdout.strip()
        assert shown == "local"
    finally:
        engine("rm", "-f", name)


def test_max_file_without_max_size_is_accepted(engine):
    result = engine("run", "--rm", "--log-opt", "max-file=3", "busybox", "echo", "ok")
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


def test_logs_timestamps_have_a_fixed_width(engine):
    name = "cove-stamp-" + uuid.uuid4().hex[:8]
    engine("run", "--name", name, "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo $i; done")
    try:
        lines = engine("logs", "-t", name).stdout.splitlines()
        assert len(lines) == 5
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \d", line)
                   for line in lines), lines
    finally:
        engine("rm", "-f", name)
