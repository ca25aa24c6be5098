"""The exec helper joins a running container: its PID/UTS/mount namespaces, user, caps."""

from __future__ import annotations

import json
import os
import subprocess

from cove.runtime.containers.shim_launch import exec_command
from tests.support.shim import TIMEOUT


def run_exec(tmp_path, init_pid: int, args: list[str], **options: object):
    """Run the helper as the daemon would; returns (exit code, stdout, stderr, report lines)."""
    spec = {"pid": init_pid, "args": args, "env": ["PATH=/bin:/usr/bin"], "cwd": "",
            "user": "", "tty": False, "cgroup_join": [], "privileged": False}
    spec.update(options)
    spec_path = tmp_path / "exec.json"
    spec_path.write_text(json.dumps(spec))
    report_r, report_w = os.pipe()
    try:
        result = subprocess.run(exec_command(spec_path, report_w), capture_output=True,
                                timeout=TIMEOUT, pass_fds=(report_w,))
    finally:
        os.close(report_w)
    with os.fdopen(report_r, "rb") as report:
        lines = [json.loads(line) for line in report.read().splitlines()]
    return result.returncode, result.stdout.decode(), result.stderr.decode(), lines


def started(make_container, **options: object):
    container = make_container(["sleep", "30"], **options)
    first = container.start_shim()
    assert container.go() == {"started": True}
    return container, first["pid"]


def test_exec_runs_inside_the_container_pid_and_uts_namespaces(make_container, tmp_path):
    _container, pid = started(make_container, hostname="exechost")
    code, out, _err, report = run_exec(
        tmp_path, pid, ["sh", "-c", "echo $$; hostname; ps -o pid,args; cat /proc/self/status"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] != "1" and int(lines[0]) < 10
    assert lines[1] == "exechost"
    assert any(line.split()[:2] == ["1", "sleep"] for line in lines[2:])
    assert "CapEff:\t00000000a80425fb" in out and "NoNewPrivs:\t0" in out
    assert report and report[0]["pid"] > 0 and report[0]["pid"] != pid


def test_exec_as_named_user_with_exit_status(make_container, tmp_path):
    _container, pid = started(make_container)
    code, out, _err, _report = run_exec(tmp_path, pid, ["sh", "-c", "id; exit 5"], user="user")
    assert code == 5
    assert out.startswith("uid=1000(user) gid=1000(user)")


def test_exec_missing_command_reports_127(make_container, tmp_path):
    _container, pid = started(make_container)
    code, _out, err, report = run_exec(tmp_path, pid, ["nosuch"])
    assert code == 127
    assert report == [{"error": 'exec: "nosuch": executable file not found in $PATH',
                       "exit_code": 127}]
    assert "executable file not found" in err


def test_exec_sees_the_container_filesystem(make_container, tmp_path):
    container, pid = started(make_container)
    code, out, _err, _report = run_exec(tmp_path, pid, ["sh", "-c", "pwd; ls /work 2>&1; cat /etc/passwd"],
                                        cwd="/tmp")
    assert code == 0
    assert out.startswith("/tmp\n")
    assert "user:x:1000:1000" in out
    assert "No such file" in out
    assert container.request({"op": "state"})["running"] is True


def test_exec_reports_on_fd_3_by_default(make_container, tmp_path):
    _container, pid = started(make_container)
    spec_path = tmp_path / "exec3.json"
    spec_path.write_text(json.dumps({"pid": pid, "args": ["nosuch"], "env": []}))
    report_r, report_w = os.pipe()
    try:
        result = subprocess.run(exec_command(spec_path), capture_output=True, timeout=TIMEOUT,
                                close_fds=False, preexec_fn=lambda: os.dup2(report_w, 3))
    finally:
        os.close(report_w)
    with os.fdopen(report_r, "rb") as report:
        assert json.loads(report.read())["exit_code"] == 127
    assert result.returncode == 127
