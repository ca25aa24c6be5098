"""The seed walk-through with the real ``docker`` CLI pointed at coved."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.support.terminal import Terminal

pytestmark = pytest.mark.docker_cli


def test_run_hello_world_prints_the_greeting(docker):
    result = docker("run", "--rm", "hello-world")
    assert result.returncode == 0, result.stderr
    assert "Hello from Cove!" in result.stdout
    assert "The Cove client contacted the Cove daemon" in result.stdout


def test_run_with_command_override_prints_its_output(docker):
    result = docker("run", "--rm", "busybox", "echo", "hello", "world")
    assert (result.returncode, result.stdout) == (0, "hello world\n")


def test_exit_status_of_the_container_is_the_cli_exit_status(docker):
    assert docker("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    # as in Docker, PID 1 ignores a SIGKILL sent from inside its own namespace
    assert docker("run", "--rm", "busybox", "sh", "-c", "kill -9 $$; exit 4").returncode == 4


def test_missing_command_exits_127_with_dockers_message(docker):
    result = docker("run", "--rm", "busybox", "no-such-command")
    assert result.returncode == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in result.stderr
    assert "Error waiting" not in result.stderr


def test_stdout_and_stderr_are_kept_apart(docker):
    result = docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_stdin_is_passed_with_dash_i(docker):
    result = docker("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert result.stdout == "SHOUT\n"


def test_container_is_isolated(docker):
    script = ("echo pid=$$; hostname; cut -d' ' -f2 /proc/mounts | grep -c '^/work'; "
              "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; "
              "ls /sys/fs >/dev/null && touch /sys/x 2>/dev/null || echo sys-ro; "
              "cat /proc/keys /proc/timer_list 2>&1 | wc -c")
    result = docker("run", "--rm", "--hostname", "island", "busybox", "sh", "-c", script)
    lines = result.stdout.splitlines()
    assert lines[0] == "pid=1"
    assert lines[1] == "island"
    assert lines[2] == "0"  # no host mount visible
    assert lines[3].split() == ["CapEff:", "00000000a80425fb"]  # Docker's default set
    assert lines[4].split() == ["NoNewPrivs:", "0"]
    assert lines[5] == "sys-ro"
    assert lines[6] == "0"  # masked /proc files read empty


def test_user_is_resolved_from_the_image(docker):
    result = docker("run", "--rm", "-u", "user", "busybox", "id")
    assert result.stdout.strip() == "uid=1000(user) gid=1000(user) groups=50(staff),1000(user)"
    unknown = docker("run", "--rm", "-u", "ghost", "busybox", "id")
    assert unknown.returncode != 0
    assert "unable to find user ghost" in unknown.stderr


def test_env_workdir_and_entrypoint_flags(docker):
    result = docker("run", "--rm", "-e", "GREETING=hi", "-w", "/tmp/new", "--entrypoint",
                    "sh", "busybox", "-c", "echo $GREETING $(pwd)")
    assert result.stdout == "hi /tmp/new\n"


def test_run_it_gives_an_interactive_shell(docker):
    term = Terminal(["docker", "run", "-it", "--rm", "busybox", "sh"], docker.env)
    term.expect("# ")
    term.send("echo $((6*7)); tty\r")
    out = term.expect("/dev/pts/0")
    assert "42" in out
    term.send("exit 5\r")
    assert term.wait() == 5


def test_create_then_start_attached(docker):
    cid = docker("create", "busybox", "echo", "from create").stdout.strip()
    try:
        assert docker("ps", "-a", "--filter", f"id={cid}", "--format",
                      "{{.Status}}").stdout.strip() == "Created"
        result = docker("start", "-a", cid)
        assert (result.returncode, result.stdout) == (0, "from create\n")
    finally:
        docker("rm", "-f", cid)


def test_ps_shows_running_and_all(docker):
    cid = docker("run", "-d", "--name", "pslist", "-l", "app=web", "busybox",
                 "sleep", "60").stdout.strip()
    done = docker("run", "--name", "psdone", "busybox", "true")
    try:
        assert done.returncode == 0
        running = docker("ps").stdout
        assert "pslist" in running and "psdone" not in running
        assert "Up " in running and '"sleep 60"' in running
        everything = docker("ps", "-a").stdout
        assert "psdone" in everything and "Exited (0)" in everything
        assert docker("ps", "-q", "--no-trunc", "--filter", "label=app=web").stdout.split() == [cid]
        assert docker("ps", "-a", "--filter", "status=exited", "--format",
                      "{{.Names}}").stdout.split().count("psdone") == 1
        assert docker("ps", "-l", "--format", "{{.Names}}").stdout.strip() == "psdone"
    finally:
        docker("rm", "-f", "pslist", "psdone")


def test_logs_follow_tail_and_timestamps(docker):
    docker("run", "-d", "--name", "logger", "busybox", "sh", "-c",
           "for i in 1 2 3; do echo line$i; done; echo oops >&2")
    try:
        assert docker("wait", "logger").stdout.strip() == "0"
        logs = docker("logs", "logger")
        assert logs.stdout == "line1\nline2\nline3\n" and logs.stderr == "oops\n"
        assert docker("logs", "--tail", "1", "logger").stderr == "oops\n"
        stamped = docker("logs", "-t", "logger").stdout.splitlines()[0]
        assert stamped.endswith(" line1") and stamped[:4].isdigit() and "T" in stamped
        follow = docker("logs", "-f", "logger", timeout=20)
        assert follow.stdout == "line1\nline2\nline3\n"
    finally:
        docker("rm", "-f", "logger")


def test_stop_sends_the_image_stop_signal(docker):
    docker("run", "-d", "--name", "stopper", "stopper")
    try:
        assert docker("stop", "stopper").returncode == 0
        # exit 42 is the image's SIGUSR1 trap: the stop signal reached it (SIGKILL gives 137)
        state = json.loads(docker("inspect", "stopper").stdout)[0]["State"]
        assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 42, False)
    finally:
        docker("rm", "-f", "stopper")


def test_stop_kills_after_the_timeout(docker):
    docker("run", "-d", "--name", "stubborn", "busybox", "sleep", "100")
    try:
        assert docker("stop", "-t", "1", "stubborn").returncode == 0
        assert docker("inspect", "-f", "{{.State.ExitCode}}", "stubborn").stdout.strip() == "137"
    finally:
        docker("rm", "-f", "stubborn")


def test_kill_with_a_signal(docker):
    docker("run", "-d", "--name", "killme", "busybox", "sh", "-c",
           "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done")
    try:
        deadline = time.monotonic() + 15  # the trap is set once it says so
        while "ready" not in docker("logs", "killme").stdout:
            assert time.monotonic() < deadline, "the container never got ready"
            time.sleep(0.05)
        assert docker("kill", "-s", "TERM", "killme").returncode == 0
        assert docker("wait", "killme").stdout.strip() == "7"
        again = docker("kill", "killme")
        assert again.returncode == 1 and "is not running" in again.stderr
    finally:
        docker("rm", "-f", "killme")


def test_exec_runs_inside_the_container(docker):
    docker("run", "-d", "--name", "exechost", "--hostname", "inner", "busybox", "sleep", "60")
    try:
        result = docker("exec", "-e", "X=1", "-w", "/tmp", "exechost", "sh", "-c",
                        "echo $X $(pwd) $(hostname); ps -o pid,comm | grep -c sleep")
        assert result.stdout == "1 /tmp inner\n1\n"
        assert docker("exec", "-u", "user", "exechost", "id", "-u").stdout == "1000\n"
        assert docker("exec", "exechost", "sh", "-c", "exit 9").returncode == 9
        assert docker("exec", "-t", "exechost", "tty").stdout.strip() == "/dev/pts/0"
        missing = docker("exec", "exechost", "no-such-tool")
        assert missing.returncode == 126  # as dockerd: the exec could not start
        assert missing.stderr.count('exec: "no-such-tool": executable file not found') == 1
        term = Terminal(["docker", "exec", "-it", "exechost", "sh"], docker.env)
        term.expect("# ")
        term.send("echo in-$((40+2))\r")
        term.expect("in-42")
        term.send("exit\r")
        assert term.wait() == 0
    finally:
        docker("rm", "-f", "exechost")


def test_container_prune_removes_stopped_containers(docker):
    """Pruned by a label of its own: the daemon is shared, others' containers are not ours."""
    mark = "cove.test=" + uuid.uuid4().hex[:8]
    gone, kept = "prune-" + uuid.uuid4().hex[:8], "keeper-" + uuid.uuid4().hex[:8]
    docker("run", "--label", mark, "--name", gone, "busybox", "true")
    docker("run", "-d", "--label", mark, "--name", kept, "busybox", "sleep", "60")
    try:
        result = docker("container", "prune", "-f", "--filter", f"label={mark}")
        assert result.returncode == 0
        assert "Total reclaimed space" in result.stdout
        names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert gone not in names and kept in names
    finally:
        docker("rm", "-f", kept, gone)


def test_version_shows_the_engine_linux(docker):
    result = docker("version")
    assert result.returncode == 0
    server = result.stdout.split("Server:")[1]
    assert "linux/amd64" in server or "linux/arm64" in server
    assert "Debian" in server or "Linux" in server
    assert "KernelVersion" in server


def test_pause_unpause_top_rename_restart(docker):
    docker("run", "-d", "--name", "busy", "busybox", "sleep", "60")
    try:
        top = docker("top", "busy").stdout
        assert "sleep 60" in top and "PID" in top
        assert docker("pause", "busy").returncode == 0
        assert "(Paused)" in docker("ps", "--filter", "name=busy").stdout
        assert docker("unpause", "busy").returncode == 0
        assert docker("rename", "busy", "busier").returncode == 0
        assert docker("restart", "-t", "0", "busier").returncode == 0
        assert docker("inspect", "-f", "{{.State.Running}}", "busier").stdout.strip() == "true"
    finally:
        docker("rm", "-f", "busy", "busier")


def test_errors_read_like_dockers(docker):
    missing = docker("inspect", "nope")
    assert missing.returncode == 1 and "No such object: nope" in missing.stderr
    rm = docker("rm", "ghost")
    assert "No such container: ghost" in rm.stderr
    docker("create", "--name", "twin", "busybox", "true")
    try:
        clash = docker("create", "--name", "twin", "busybox", "true")
        assert clash.returncode == 1
        assert 'Conflict. The container name "/twin" is already in use' in clash.stderr
    finally:
        docker("rm", "-f", "twin")
    absent = docker("run", "--rm", "no-such-image:1.0", "true")
    assert absent.returncode == 125


def test_images_tag_history_rmi(docker):
    assert "busybox" in docker("images").stdout
    assert docker("tag", "busybox", "mybox:v1").returncode == 0
    assert docker("images", "--format", "{{.Repository}}:{{.Tag}}", "mybox").stdout.split() == ["mybox:v1"]
    assert docker("history", "mybox:v1").returncode == 0
    rmi = docker("rmi", "mybox:v1")
    assert "Untagged: mybox:v1" in rmi.stdout
    assert "busybox" in docker("images").stdout


def test_save_and_load_round_trip_through_the_docker_cli(docker, tmp_path):
    archive = tmp_path / "box.tar"
    assert docker("tag", "busybox", "roundtrip:1").returncode == 0
    assert docker("save", "-o", str(archive), "roundtrip:1").returncode == 0
    assert docker("rmi", "roundtrip:1").returncode == 0
    loaded = docker("load", "-i", str(archive))
    assert "Loaded image: roundtrip:1" in loaded.stdout
    assert docker("run", "--rm", "roundtrip:1", "echo", "back").stdout == "back\n"
    docker("rmi", "roundtrip:1")


def test_read_only_root_filesystem(docker):
    result = docker("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert result.returncode != 0 and "Read-only file system" in result.stderr
    assert docker("run", "--rm", "busybox", "touch", "/x").returncode == 0


def test_rmi_of_an_image_in_use_is_a_conflict(docker):
    docker("create", "--name", "user-of-image", "busybox", "true")
    docker("tag", "busybox", "held:1")
    try:
        image_id = docker("inspect", "-f", "{{.Id}}", "busybox").stdout.strip()
        held = docker("rmi", image_id)
        assert held.returncode == 1 and "conflict" in held.stderr.lower()
    finally:
        docker("rm", "-f", "user-of-image")
        docker("rmi", "held:1")


def test_init_reaps_and_forwards_signals(docker):
    result = docker("run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; ps -o pid,comm")
    lines = result.stdout.split()
    assert lines[0] != "1" and "cove-init" in lines
    docker("run", "-d", "--init", "--name", "inited", "busybox", "sleep", "100")
    try:
        docker("stop", "inited")
        # 143: SIGTERM reached sleep through the init (a SIGKILL after the timeout gives 137)
        assert docker("inspect", "-f", "{{.State.ExitCode}}", "inited").stdout.strip() == "143"
    finally:
        docker("rm", "-f", "inited")
