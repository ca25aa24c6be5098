"""The shim and the container init on the real kernel, driven through the daemon contract."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from tests.support.shim import TIMEOUT, demux, read_all


def test_echo_arrives_through_attach_and_in_json_log(make_container):
    container = make_container(["sh", "-c", "echo hi; echo oops >&2; printf tail"])
    started, output, exited = container.run()
    assert started == {"started": True}
    assert output[1] == b"hi\ntail"
    assert output[2] == b"oops\n"
    assert exited["exit_code"] == 0 and exited["oom_killed"] is False
    entries = container.log_entries()
    assert [(e["log"], e["stream"]) for e in entries if e["stream"] == "stdout"] == [
        ("hi\n", "stdout"), ("tail", "stdout")]
    assert ("oops\n", "stderr") in [(e["log"], e["stream"]) for e in entries]
    assert all(e["time"].endswith("Z") and "T" in e["time"] for e in entries)
    exit_file = json.loads((container.bundle / "exit.json").read_text())
    assert exit_file["exit_code"] == 0 and exit_file["finished_at"] == exited["finished_at"]


def test_init_is_pid_1_with_the_spec_hostname_and_loopback_up(make_container):
    container = make_container(["sh", "-c", "echo $$; hostname; cat /sys/class/net/lo/operstate;"
                                " ip -o link | grep -c ': lo:'"], hostname="myhost")
    _started, output, _exited = container.run()
    lines = output[1].decode().split()
    assert lines[0] == "1"
    assert lines[1] == "myhost"
    assert lines[2] in ("unknown", "up")
    assert lines[3] == "1"  # only lo: a fresh network namespace


def test_proc_mounts_show_only_the_container_tree(make_container):
    container = make_container(["cat", "/proc/mounts"])
    _started, output, _exited = container.run()
    mounts = output[1].decode().splitlines()
    points = [line.split()[1] for line in mounts]
    assert points[0] == "/"
    assert {"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"} <= set(points)
    assert not any(p.startswith(("/work", "/tmp", "/root")) for p in points), points
    assert "/work/main" not in output[1].decode()
    sys_line = next(line for line in mounts if line.split()[1] == "/sys")
    assert sys_line.split()[3].startswith("ro,")
    assert any(line.split()[1] == "/proc/sys" and line.split()[3].startswith("ro,")
               for line in mounts)


def test_root_gets_docker_default_capabilities_and_no_new_privs(make_container):
    container = make_container(["cat", "/proc/self/status"])
    _started, output, _exited = container.run()
    status = dict(line.split(":\t", 1) for line in output[1].decode().splitlines()
                  if ":\t" in line)
    assert status["CapEff"] == "00000000a80425fb"
    assert status["CapPrm"] == "00000000a80425fb"
    assert status["CapBnd"] == "00000000a80425fb"
    assert status["CapInh"] == "0000000000000000"
    assert status["NoNewPrivs"] == "0"  # as in Docker, unless --security-opt asks


def test_numeric_and_named_users_resolve_from_the_container_passwd(make_container):
    for user in ("1000", "user"):
        container = make_container(["sh", "-c", "id; echo $HOME; grep CapEff /proc/self/status"],
                                   user=user)
        _started, output, _exited = container.run()
        text = output[1].decode()
        assert "uid=1000(user) gid=1000(user)" in text
        assert "/home/user" in text
        assert "CapEff:\t0000000000000000" in text
    container = make_container(["id"], user="4242:50")
    _started, output, _exited = container.run()
    assert output[1].decode().startswith("uid=4242 gid=50")


def test_unknown_user_fails_before_start_with_docker_message(make_container):
    container = make_container(["id"], user="ghost")
    first = container.start_shim()
    assert first["error"] == "unable to find user ghost: no matching entries in passwd file"
    assert container.shim is not None
    assert container.shim.wait(TIMEOUT) != 0


def test_exit_codes_match_docker(make_container):
    assert make_container(["sh", "-c", "exit 3"]).run()[2]["exit_code"] == 3
    # PID 1 ignores signals it has no handler for, as in docker: `kill -9 $$` inside is a no-op
    assert make_container(["sh", "-c", "kill -9 $$; exit 4"]).run()[2]["exit_code"] == 4


def test_missing_and_unexecutable_commands_report_127_and_126(make_container):
    cases = [(["nosuchcmd"], 127, 'exec: "nosuchcmd": executable file not found in $PATH'),
             (["/nope"], 127, 'exec: "/nope": stat /nope: no such file or directory'),
             (["/notexec"], 126, 'exec: "/notexec": permission denied')]
    for args, code, message in cases:
        container = make_container(args)
        assert "pid" in container.start_shim()
        reply = container.go()
        assert reply == {"error": message, "exit_code": code}
        assert container.wait()["exit_code"] == code


def test_tty_mode_gives_a_pty_from_the_container_devpts(make_container):
    container = make_container(["sh", "-c", "tty; stty size"], tty=True,
                               console={"height": 33, "width": 101})
    _started, output, exited = container.run()
    text = output[1].decode()
    assert "/dev/pts/0\r\n" in text
    assert "33 101" in text
    assert output[2] == b""
    assert exited["exit_code"] == 0


def test_resize_reaches_the_container_terminal(make_container):
    container = make_container(["sh", "-c", "sleep 0.5; stty size"], tty=True)
    assert "pid" in container.start_shim()
    sock = container.attach()
    container.go()
    assert container.request({"op": "resize", "height": 40, "width": 120}) == {}
    with sock:
        assert b"40 120" in demux(read_all(sock))[1]
    assert container.wait()["exit_code"] == 0


def test_stdin_pipe_feeds_the_container_and_eof_ends_it(make_container):
    container = make_container(["cat"], open_stdin=True, stdin_once=True)
    started, output, exited = container.run(stdin_data=b"hello\nworld\n")
    assert started == {"started": True}
    assert output[1] == b"hello\nworld\n"
    assert exited["exit_code"] == 0


def test_state_reports_running_then_stopped(make_container):
    container = make_container(["sleep", "30"])
    first = container.start_shim()
    container.go()
    assert container.request({"op": "state"}) == {"pid": first["pid"], "running": True}
    os.kill(first["pid"], signal.SIGKILL)
    assert container.wait()["exit_code"] == 137


def test_bind_mounts_and_readonly_rootfs(make_container, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost special\n")
    container = make_container(
        ["sh", "-c", "cat /etc/hosts; touch /x 2>/dev/null && echo writable || echo readonly"],
        mounts=[{"source": str(hosts), "destination": "/etc/hosts", "readonly": False}],
        readonly=True)
    _started, output, _exited = container.run()
    assert output[1] == b"127.0.0.1 localhost special\nreadonly\n"


def test_missing_workdir_is_created(make_container):
    container = make_container(["pwd"], cwd="/srv/app")
    assert container.run()[1][1] == b"/srv/app\n"


def test_eof_on_control_before_go_kills_the_init(make_container):
    container = make_container(["sleep", "30"])
    first = container.start_shim()
    assert container.shim is not None and container.shim.stdin is not None
    container.shim.stdin.close()
    assert container.shim.wait(TIMEOUT) == 0
    assert not os.path.exists(f"/proc/{first['pid']}")
    assert not os.path.exists(container.socket_path)


def test_shim_outlives_a_sigkilled_daemon(make_container):
    container = make_container(["sh", "-c", "read line; echo got $line; exit 7"],
                               open_stdin=True, stdin_once=True)
    (container.bundle / "spec.json").write_text(json.dumps(container.spec.to_json()))
    daemon_code = (
        "import subprocess, sys, time\n"
        "from cove.runtime.containers.shim_launch import shim_command\n"
        f"p = subprocess.Popen(shim_command({str(container.bundle)!r}), stdin=subprocess.PIPE,"
        " stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,"
        " close_fds=True)\n"
        "sys.stdout.write(p.stdout.readline().decode()); sys.stdout.flush()\n"
        "p.stdin.write(b'go\\n'); p.stdin.flush()\n"
        "sys.stdout.write(p.stdout.readline().decode()); sys.stdout.flush()\n"
        "time.sleep(60)\n")
    daemon = subprocess.Popen([sys.executable, "-c", daemon_code], stdout=subprocess.PIPE)
    shim_pid = None
    try:
        assert daemon.stdout is not None
        first = json.loads(daemon.stdout.readline())
        assert json.loads(daemon.stdout.readline()) == {"started": True}
        container.init_pid = first["pid"]
        shim_pid = int((container.bundle / "shim.pid").read_text())
        daemon.kill()
        daemon.wait(TIMEOUT)
        assert os.path.exists(f"/proc/{shim_pid}")  # and it answers below: it outlived its parent
        assert container.request({"op": "state"})["running"] is True
        sock = container.attach(stdin=True)
        sock.sendall(b"there\n")
        sock.shutdown(socket.SHUT_WR)
        with sock:
            assert demux(read_all(sock))[1] == b"got there\n"
        assert container.wait()["exit_code"] == 7
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(TIMEOUT)
        if daemon.stdout is not None:
            daemon.stdout.close()
        if shim_pid and _is_our_shim(shim_pid, str(container.bundle)):
            os.kill(shim_pid, signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT
    while shim_pid and os.path.exists(f"/proc/{shim_pid}") and time.monotonic() < deadline:
        time.sleep(0.05)  # the shim exits on its own after answering the last waiter
    assert not _is_our_shim(shim_pid or 0, str(container.bundle))


def _is_our_shim(pid: int, bundle: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return bundle.encode() in f.read()
    except OSError:
        return False


def test_many_long_layer_paths_still_mount(make_container, busybox_rootfs, tmp_path):
    layers = []
    for i in range(60):
        layer = tmp_path / "layers" / f"{i:064x}" / "diff"
        layer.mkdir(parents=True)
        layers.append(str(layer))
    (tmp_path / "layers" / f"{0:064x}" / "diff" / "top").write_text("from the top layer\n")
    container = make_container(["cat", "/top"])
    container.spec.rootfs.lower = layers + [str(busybox_rootfs)]
    _started, output, exited = container.run()
    assert output[1] == b"from the top layer\n", container.shim_log()
    assert exited["exit_code"] == 0


def test_init_joins_the_cgroup_before_unsharing(make_container):
    group = f"/sys/fs/cgroup/pids/cove-shim-test-{os.getpid()}"
    if not os.path.isdir("/sys/fs/cgroup/pids"):
        import pytest
        pytest.skip("no cgroup v1 pids hierarchy")
    os.mkdir(group)
    try:
        container = make_container(["sh", "-c", "cat /proc/self/cgroup; sleep 30"],
                                   cgroup_join=[f"{group}/cgroup.procs"])
        first = container.start_shim()
        with open(f"{group}/cgroup.procs") as procs:
            assert str(first["pid"]) in procs.read().split()
        sock = container.attach()
        container.go()
        with sock:
            received = b""
            while b"pids" not in received:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            os.kill(first["pid"], signal.SIGKILL)
            received += read_all(sock)
        text = demux(received)[1].decode()
        assert container.wait()["exit_code"] == 137
        assert any(line.endswith(":pids:/") for line in text.splitlines()), text
    finally:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.05)
