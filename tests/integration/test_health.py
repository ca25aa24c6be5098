"""HEALTHCHECK on coved: status, streak, log, ps column and events, as dockerd keeps them."""

from __future__ import annotations

import json
import subprocess
import time


def _health(docker, cid):
    return json.loads(docker("inspect", "--format", "{{json .State.Health}}", cid).stdout)


def _wait_for(docker, cid, status, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = _health(docker, cid)
        if health and health["Status"] == status:
            return health
        time.sleep(0.2)
    raise AssertionError(f"{cid[:12]} never became {status}: {_health(docker, cid)}")


def test_healthcheck_goes_unhealthy_then_healthy(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\n"
        "HEALTHCHECK --interval=1s --timeout=3s --retries=2 "
        "CMD test -f /tmp/ok && echo fine || (echo not yet; exit 1)\n"
        'CMD ["sleep", "60"]\n')
    built = subprocess.run([docker.argv0[0], "build", "-q", "-t", "healthy:1", str(tmp_path)],
                           env={**docker.env, "DOCKER_BUILDKIT": "0"}, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    since = str(int(time.time()) - 1)
    cid = docker("run", "-d", "healthy:1").stdout.strip()
    try:
        assert _health(docker, cid)["Status"] == "starting"
        assert "(health: starting)" in docker("ps", "--filter", f"id={cid}").stdout
        unhealthy = _wait_for(docker, cid, "unhealthy")
        assert unhealthy["FailingStreak"] >= 2
        assert unhealthy["Log"][-1]["ExitCode"] == 1
        assert unhealthy["Log"][-1]["Output"] == "not yet\n"
        assert docker("exec", cid, "touch", "/tmp/ok").returncode == 0
        healthy = _wait_for(docker, cid, "healthy")
        assert healthy["FailingStreak"] == 0 and healthy["Log"][-1]["Output"] == "fine\n"
        assert len(healthy["Log"]) <= 5
        assert "(healthy)" in docker("ps", "--filter", f"id={cid}").stdout
        events = docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                        "--filter", f"container={cid}", "--format", "{{.Action}}").stdout
        assert "health_status: unhealthy" in events and "health_status: healthy" in events
    finally:
        docker("rm", "-f", cid)
        docker("rmi", "healthy:1")


def test_a_hanging_probe_is_killed_at_its_timeout(docker, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\n"
        "HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD sleep 30\n"
        'CMD ["sleep", "60"]\n')
    subprocess.run([docker.argv0[0], "build", "-q", "-t", "hangs:1", str(tmp_path)],
                   env={**docker.env, "DOCKER_BUILDKIT": "0"}, capture_output=True, timeout=120,
                   check=True)
    cid = docker("run", "-d", "hangs:1").stdout.strip()
    try:
        health = _wait_for(docker, cid, "unhealthy")
        assert health["Log"][-1]["ExitCode"] == -1
        assert health["Log"][-1]["Output"] == "Health check exceeded timeout (1s)"
        procs = docker("top", cid).stdout
        assert procs.count("sleep 30") <= 1  # timed-out probes do not pile up
    finally:
        docker("rm", "-f", cid)
        docker("rmi", "hangs:1")


def test_health_flags_override_and_disable(cove, docker):
    cid = cove("run", "-d", "--health-cmd", "exit 0", "--health-interval", "500ms",
               "busybox", "sleep", "60").stdout.strip()
    try:
        check = json.loads(docker("inspect", "--format", "{{json .Config.Healthcheck}}",
                                  cid).stdout)
        assert check == {"Test": ["CMD-SHELL", "exit 0"], "Interval": 500_000_000}
        _wait_for(docker, cid, "healthy")
    finally:
        docker("rm", "-f", cid)
    off = cove("run", "-d", "--no-healthcheck", "busybox", "sleep", "60").stdout.strip()
    try:
        assert _health(docker, off) is None
    finally:
        docker("rm", "-f", off)
    both = cove("run", "--no-healthcheck", "--health-cmd", "true", "busybox", "true")
    assert both.returncode == 125 and "--no-healthcheck conflicts with --health-* options" \
        in both.stderr
    bad = cove("run", "--health-interval", "soon", "busybox", "true")
    assert bad.returncode == 125 and 'time: invalid duration "soon"' in bad.stderr
