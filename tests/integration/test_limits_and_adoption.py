"""cgroup limits that bite, restart policies, and containers outliving a killed daemon."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable


def test_pids_limit_stops_a_fork_bomb(docker):
    script = "for i in $(seq 1 40); do echo $i; sleep 5 & done; echo all-forked"
    result = docker("run", "--rm", "--pids-limit", "10", "busybox", "sh", "-c", script, timeout=60)
    assert "can't fork" in result.stderr
    attempts = result.stdout.split()
    assert "all-forked" not in attempts and 0 < len(attempts) <= 10


def test_memory_limit_gets_the_process_oom_killed(docker):
    result = docker("run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c",
                    "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", timeout=120)
    try:
        state = json.loads(docker("inspect", "hog").stdout)[0]["State"]
        assert state["OOMKilled"] is True, (result.stdout, state)
        assert "survived" not in result.stdout
    finally:
        docker("rm", "-f", "hog")


def test_the_container_reads_its_own_limits_from_a_read_only_cgroupfs(docker):
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max "
              "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; "
              "touch /sys/fs/cgroup/x 2>/dev/null || echo read-only")
    result = docker("run", "--rm", "-m", "64m", "--pids-limit", "20", "busybox", "sh", "-c", script)
    assert result.stdout.split() == ["67108864", "20", "read-only"]


def test_cpu_and_memory_limits_are_visible_in_inspect(docker):
    docker("create", "--name", "limited", "--cpus", "0.5", "-m", "64m", "busybox", "true")
    try:
        host = json.loads(docker("inspect", "limited").stdout)[0]["HostConfig"]
        assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 64 * 1024 * 1024
    finally:
        docker("rm", "-f", "limited")


def test_on_failure_restart_policy_retries(docker):
    docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c",
           "exit 1")
    try:
        deadline = time.monotonic() + 20
        count = 0
        while time.monotonic() < deadline:
            info = json.loads(docker("inspect", "flaky").stdout)[0]
            count = info["RestartCount"]
            if count == 2 and not info["State"]["Running"] and info["State"]["Status"] == "exited":
                break
            time.sleep(0.2)
        assert count == 2
    finally:
        docker("rm", "-f", "flaky")


def test_containers_outlive_a_killed_daemon_and_are_adopted(private_coved):
    from tests.support.clis import CLI

    docker = CLI(["docker"], private_coved.env)
    cid = docker("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
                 "trap 'exit 3' TERM; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done"
                 ).stdout.strip()
    docker("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "600")
    log = os.path.join(private_coved.data_root, "containers", cid, f"{cid}-json.log")
    _until(lambda: "tick1" in _read(log), "the container's first ticks")
    pid = json.loads(docker("inspect", "survivor").stdout)[0]["State"]["Pid"]
    private_coved.kill9()
    logged = len(_read(log))
    # the container did not die with the daemon: its shim goes on logging its ticks
    _until(lambda: len(_read(log)) > logged, "ticks logged after the daemon died")
    assert _alive(pid)
    private_coved.start()
    listing = docker("ps", "--format", "{{.Names}} {{.Status}}").stdout
    assert "survivor Up" in listing and "always Up" in listing
    assert "tick" in docker("logs", "--tail", "2", "survivor").stdout
    assert docker("exec", "survivor", "echo", "inside").stdout == "inside\n"
    assert docker("stop", "survivor").returncode == 0
    state = json.loads(docker("inspect", cid).stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 3)


def test_a_container_that_exits_while_the_daemon_is_down_keeps_its_exit_code(private_coved):
    from tests.support.clis import CLI

    docker = CLI(["docker"], private_coved.env)
    docker("run", "-d", "--name", "brief", "busybox", "sh", "-c", "sleep 1; exit 6")
    pid = json.loads(docker("inspect", "brief").stdout)[0]["State"]["Pid"]
    private_coved.kill9()
    _until(lambda: not _alive(pid), "the container's exit while the daemon is down")
    private_coved.start()
    state = json.loads(docker("inspect", "brief").stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 6)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_the_warm_shim_goes_away_with_its_daemon(private_coved):
    def warm_children() -> list[int]:
        import os

        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if ppid == private_coved.proc.pid and b"read(0, 1)" in cmdline:
                found.append(int(entry))
        return found

    deadline = time.monotonic() + 10
    while not warm_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    warm = warm_children()
    assert len(warm) == 1  # one shim is kept started ahead of need
    private_coved.kill9()
    deadline = time.monotonic() + 10
    while _alive(warm[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(warm[0])
    private_coved.start()


def test_a_second_daemon_on_the_same_data_root_is_refused(private_coved):
    import subprocess
    import sys

    second = subprocess.run(
        [sys.executable, "-m", "cove.runtime.daemon", "--data-root", private_coved.data_root,
         "--exec-root", private_coved.exec_root, "-H", f"unix://{private_coved.socket}2"],
        capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "another daemon is already using" in second.stderr
    assert private_coved.request("GET", "/_ping")[0] == 200
