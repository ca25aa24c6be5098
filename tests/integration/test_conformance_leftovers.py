"""The last differences from dockerd 20.10 of issue 11, each checked with the same
assertion on coved and on the reference dockerd: the classic builder's history texts and
step output, ``Config.Image`` of built images, ``SizeRw`` in container lists, unknown
paths under an unsupported API version, the line ends of JSON progress streams, a build
without a Dockerfile, the state of a container waiting to be restarted, and dockerd's
built-in runtime names (which ``cove run --runtime`` takes as ``docker run`` does)."""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import urllib.parse
from typing import Any

import docker
import pytest

from tests.integration import test_api_conformance
from tests.integration.test_api_conformance import Daemon
from tests.support.images import busybox_archive

daemon = test_api_conformance.daemon  # the fixture: each test runs on coved and on dockerd

# 1 and 2: history texts, Config.Image and the step output of the classic builder

BUILD_DOCKERFILE = """FROM busybox
ARG A=1
WORKDIR /w
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD echo hi
SHELL ["/bin/sh", "-xc"]
RUN true
ARG B
RUN test "$B" = 2
HEALTHCHECK NONE
ENV E=1
"""

BUILD_OUTPUT = """Step 1/12 : FROM busybox
 ---> <id>
Step 2/12 : ARG A=1
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 3/12 : WORKDIR /w
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 4/12 : HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD echo hi
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 5/12 : SHELL ["/bin/sh", "-xc"]
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 6/12 : RUN true
 ---> Running in <id>
+ true
Removing intermediate container <id>
 ---> <id>
Step 7/12 : ARG B
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 8/12 : RUN test "$B" = 2
 ---> Running in <id>
+ test 2 '=' 2
Removing intermediate container <id>
 ---> <id>
Step 9/12 : HEALTHCHECK NONE
Note: overriding previous HEALTHCHECK: [CMD-SHELL echo hi]
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 10/12 : ENV E=1
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 11/12 : LABEL k=v w
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 12/12 : LABEL z=$A
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Successfully built <id>
Successfully tagged {tag}:latest
"""

BUILD_HISTORY = [
    "/bin/sh -xc #(nop)  LABEL z=$A",
    "/bin/sh -xc #(nop)  LABEL k=v w",
    "/bin/sh -xc #(nop)  ENV E=1",
    """/bin/sh -xc #(nop)  HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\\x00'}""",
    '|2 A=1 B=2 /bin/sh -xc test "$B" = 2',
    "/bin/sh -xc #(nop)  ARG B",
    "|1 A=1 /bin/sh -xc true",
    "/bin/sh -xc #(nop)  SHELL [/bin/sh -xc]",
    """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "0s" '\\x02'}""",
    "/bin/sh -c #(nop) WORKDIR /w",
    "/bin/sh -c #(nop)  ARG A=1",
]


def _without_ids(text: str) -> str:
    """The output with IDs and the colour codes around stderr taken out (each daemon cuts
    a step's stderr into its own pieces)."""
    return re.sub(r"\b[0-9a-f]{12}\b", "<id>", re.sub(r"\x1b\[[0-9]+m", "", text))


def test_classic_build_output_history_and_config_image_as_dockerd(daemon: Daemon) -> None:
    tag = daemon.name("history", "images")
    done = daemon.cli("build", "--no-cache", "--label", "z=$A", "--label", "k=v w",
                      "--build-arg", "B=2", "-t", tag, "-", stdin=BUILD_DOCKERFILE.encode())
    assert done.returncode == 0, done.stderr
    steps = done.stdout[done.stdout.index("Step 1/"):]
    assert _without_ids(steps) == BUILD_OUTPUT.replace("{tag}", tag)

    history = daemon.client.api.history(tag)
    assert [entry["CreatedBy"] for entry in history[:11]] == BUILD_HISTORY
    image = daemon.client.api.inspect_image(tag)
    # Config.Image names the image the last step started from, as the classic builder's
    assert image["Config"]["Image"] == history[1]["Id"]
    assert image["ContainerConfig"]["Image"] == history[1]["Id"]
    assert image["ContainerConfig"]["Cmd"] == ["/bin/sh", "-xc", "#(nop) ", "LABEL z=$A"]
    assert image["Config"]["Labels"] == {"k": "v w", "z": "$A"}
    # HEALTHCHECK NONE keeps the values the earlier check set (dockerd's create merges them)
    assert image["Config"]["Healthcheck"] == {"Test": ["NONE"], "Interval": 5_000_000_000,
                                              "Timeout": 3_000_000_000, "Retries": 2}
    assert daemon.client.api.history(tag) == daemon.client.api.history(image["Id"])


def test_a_cached_rebuild_prints_no_intermediate_containers(daemon: Daemon) -> None:
    tag = daemon.name("cached", "images")
    dockerfile = f"FROM busybox\nARG {tag.replace('-', '_')}=1\nWORKDIR /cached\n".encode()
    first = daemon.cli("build", "-t", tag, "-", stdin=dockerfile)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(" ---> Running in ") == 2
    again = daemon.cli("build", "-t", tag, "-", stdin=dockerfile)
    assert again.returncode == 0, again.stderr
    assert " ---> Running in " not in again.stdout
    assert again.stdout.count(" ---> Using cache\n") == 2


def test_build_triggers_run_before_the_from_step_shows_its_image(daemon: Daemon) -> None:
    base = daemon.name("onbuild-base", "images")
    child = daemon.name("onbuild-child", "images")
    daemon.build(base, "FROM busybox\nONBUILD LABEL triggered=1\n")
    done = daemon.cli("build", "--no-cache", "-t", child, "-", stdin=f"FROM {base}\n".encode())
    assert done.returncode == 0, done.stderr
    steps = done.stdout[done.stdout.index("Step 1/"):]
    assert _without_ids(steps) == (
        f"Step 1/1 : FROM {base}\n# Executing 1 build trigger\n ---> Running in <id>\n"
        "Removing intermediate container <id>\n ---> <id>\nSuccessfully built <id>\n"
        f"Successfully tagged {child}:latest\n")
    image = daemon.client.api.inspect_image(child)
    assert f" ---> {image['Id'][7:19]}\nSuccessfully built" in steps
    assert image["Config"]["Labels"] == {"triggered": "1"}


def test_force_rm_says_it_removes_the_failed_steps_container(daemon: Daemon) -> None:
    done = daemon.cli("build", "--no-cache", "--force-rm", "-",
                      stdin=b"FROM busybox\nRUN exit 5\n")
    assert done.returncode == 5
    assert _without_ids(done.stdout).endswith(
        "Step 2/2 : RUN exit 5\n ---> Running in <id>\nRemoving intermediate container <id>\n")
    removed = re.findall(r"Removing intermediate container ([0-9a-f]{12})", done.stdout)[0]
    assert daemon.client.api.containers(all=True, filters={"id": removed}) == []


def test_healthcheck_history_spells_durations_and_retries_as_go(daemon: Daemon) -> None:
    tag = daemon.name("health", "images")
    dockerfile = ('FROM busybox\nHEALTHCHECK --interval=90s --start-period=1500ms '
                  '--retries=9 CMD ["true"]\n')
    daemon.build(tag, dockerfile)
    assert daemon.client.api.history(tag)[0]["CreatedBy"] == (
        """/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "true"] "1m30s" "0s" "1.5s" '\\t'}""")


def test_copy_after_shell_is_recorded_with_that_shell(daemon: Daemon, tmp_path) -> None:
    tag = daemon.name("copy", "images")
    (tmp_path / "Dockerfile").write_text('FROM busybox\nSHELL ["/bin/ash", "-c"]\nCOPY f /f\n')
    (tmp_path / "f").write_text("copied\n")
    done = daemon.cli("build", "-t", tag, str(tmp_path))
    assert done.returncode == 0, done.stderr
    created_by = daemon.client.api.history(tag)[0]["CreatedBy"]
    assert re.fullmatch(r"/bin/ash -c #\(nop\) COPY file:[0-9a-f]{64} in /f ", created_by)
    # COPY makes no intermediate container, on either daemon
    assert done.stdout.count(" ---> Running in ") == 1


# 3: container lists leave SizeRw out when it is 0 (Go's omitempty); inspect keeps it

def _listed(daemon: Daemon, name: str) -> dict[str, object]:
    status, _type, raw = daemon.request(
        "GET", "/v1.41/containers/json?all=1&size=1&filters="
        + urllib.parse.quote(json.dumps({"name": [name]})))
    assert status == 200
    found = [entry for entry in json.loads(raw) if entry["Names"] == [f"/{name}"]]
    assert len(found) == 1, found
    return found[0]


def test_size_rw_is_left_out_of_the_list_for_a_container_that_wrote_nothing(
        daemon: Daemon) -> None:
    idle = daemon.name("idle")
    wrote = daemon.name("wrote")
    daemon.client.api.create_container("busybox", "true", name=idle)
    done = daemon.cli("run", "--name", wrote, "busybox", "sh", "-c", "echo x > /f")
    assert done.returncode == 0, done.stderr
    listed = _listed(daemon, idle)
    assert "SizeRw" not in listed and int(str(listed["SizeRootFs"])) > 0
    assert _listed(daemon, wrote)["SizeRw"] == 2
    shown = daemon.cli("ps", "-as", "--filter", f"name={idle}", "--format", "{{.Size}}")
    assert shown.stdout.startswith("0B (virtual ")


def test_inspect_size_gives_both_sizes_even_when_nothing_was_written(daemon: Daemon) -> None:
    idle = daemon.name("idle")
    daemon.client.api.create_container("busybox", "true", name=idle)
    status, _type, raw = daemon.request("GET", f"/v1.41/containers/{idle}/json?size=1")
    inspected = json.loads(raw)
    assert status == 200 and inspected["SizeRw"] == 0 and inspected["SizeRootFs"] > 0
    plain = daemon.client.api.inspect_container(idle)
    assert "SizeRw" not in plain and "SizeRootFs" not in plain
    shown = daemon.cli("inspect", "--size", "--format", "{{.SizeRw}}", idle)
    assert shown.stdout == "0\n"


# 4: a path no route takes is a 404 whatever its API version; old versions answer in text

@pytest.mark.parametrize("path", ["/v1.99/conformance-unknown", "/v1.99/containers/x/nosuch",
                                  "/v1.41/conformance-unknown"])
def test_an_unknown_path_is_page_not_found_before_any_version_check(
        daemon: Daemon, path: str) -> None:
    status, content_type, raw = daemon.request("GET", path)
    assert (status, content_type) == (404, "application/json")
    assert json.loads(raw) == {"message": "page not found"}


def test_a_known_path_under_a_version_too_new_is_the_version_error(daemon: Daemon) -> None:
    for path in ("/v1.99/containers/json", "/v1.99/_ping", "/v1.42/containers/x/json"):
        status, content_type, raw = daemon.request("GET", path)
        version = path.split("/")[1][1:]
        assert (status, content_type) == (400, "application/json"), path
        assert json.loads(raw) == {"message": f"client version {version} is too new. "
                                              "Maximum supported API version is 1.41"}


def test_errors_under_api_versions_before_1_24_are_plain_text(daemon: Daemon) -> None:
    ghost = daemon.name("ghost")
    cases = {f"/v1.23/containers/{ghost}/json": (404, f"No such container: {ghost}"),
             "/v1.20/conformance-unknown": (404, "page not found"),
             "/v1.11/containers/json": (400, "client version 1.11 is too old. Minimum "
                                             "supported API version is 1.12, please "
                                             "upgrade your client to a newer version")}
    for path, (status, message) in cases.items():
        got = daemon.request("GET", path)
        assert got == (status, "text/plain; charset=utf-8", message.encode() + b"\n"), path
    status, content_type, raw = daemon.request("GET", f"/v1.24/containers/{ghost}/json")
    assert (status, content_type) == (404, "application/json")
    assert json.loads(raw) == {"message": f"No such container: {ghost}"}


# 5: JSON progress messages end with CRLF, as dockerd's streamformatter writes them

def test_load_and_build_stream_lines_end_with_crlf(daemon: Daemon) -> None:
    tag = daemon.name("crlf", "images")
    status, _type, raw = daemon.request(
        "POST", "/v1.41/images/load?quiet=1", busybox_archive(tag=f"{tag}:latest"),
        {"Content-Type": "application/x-tar"})
    assert status == 200
    assert raw == b'{"stream":"Loaded image: ' + tag.encode() + b':latest\\n"}\r\n'
    status, _type, raw = daemon.request(
        "POST", "/v1.41/images/load?quiet=1", b"not a tar" * 100,
        {"Content-Type": "application/x-tar"})
    assert status == 200 and raw.endswith(b"invalid tar header\"}\r\n")
    assert raw.count(b"\n") == 1

    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = b"FROM busybox\nLABEL crlf=1\n"
        member = tarfile.TarInfo("Dockerfile")
        member.size = len(dockerfile)
        tar.addfile(member, io.BytesIO(dockerfile))
    status, _type, raw = daemon.request("POST", f"/v1.41/build?t={tag}", context.getvalue(),
                                        {"Content-Type": "application/x-tar"})
    assert status == 200
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and len(lines) > 3
    assert all(b"\n" not in line for line in lines)
    assert [json.loads(line) for line in lines[:-1]][-1] == {
        "stream": f"Successfully tagged {tag}:latest\n"}


# 6: a build without a Dockerfile, or from a body that is no tar: dockerd's 500 and words
# (newer dockerd's classic builder answers the same: moby's detect.go gives no error kind)

def _tar_of(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        member = tarfile.TarInfo(name)
        member.size = len(content)
        tar.addfile(member, io.BytesIO(content))
    return out.getvalue()


BAD_CONTEXTS = {
    "no Dockerfile": (_tar_of("Other", b"FROM busybox\n"), "",
                      "Cannot locate specified Dockerfile: Dockerfile"),
    "no such -f": (_tar_of("Dockerfile", b"FROM busybox\n"), "&dockerfile=sub/Nope",
                   "Cannot locate specified Dockerfile: sub/Nope"),
    "empty body": (b"", "", "Cannot locate specified Dockerfile: Dockerfile"),
    "short garbage": (b"not a tar", "", "unexpected EOF"),
    "garbage": (b"not a tar" * 200, "", "archive/tar: invalid tar header"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTEXTS))
def test_a_build_without_a_dockerfile_or_tar_is_dockerds_500(daemon: Daemon, case: str) -> None:
    body, query, message = BAD_CONTEXTS[case]
    status, content_type, raw = daemon.request("POST", f"/v1.41/build?rm=1{query}", body,
                                               {"Content-Type": "application/x-tar"})
    assert (status, content_type) == (500, "application/json")
    assert json.loads(raw) == {"message": message}


def test_a_lowercase_dockerfile_stands_in_for_the_default_name(daemon: Daemon) -> None:
    tag = daemon.name("lowercase", "images")
    status, _type, raw = daemon.request(
        "POST", f"/v1.41/build?t={tag}", _tar_of("dockerfile", b"FROM busybox\nLABEL lc=1\n"),
        {"Content-Type": "application/x-tar"})
    assert status == 200 and b"Successfully tagged" in raw
    assert daemon.client.api.inspect_image(tag)["Config"]["Labels"] == {"lc": "1"}


def test_docker_py_gets_the_500_for_a_missing_dockerfile(daemon: Daemon) -> None:
    context = io.BytesIO(_tar_of("NotIt", b"FROM busybox\n"))
    with pytest.raises(docker.errors.APIError) as raised:
        list(daemon.client.api.build(fileobj=context, custom_context=True,
                                     dockerfile="Missing"))
    assert raised.value.response.status_code == 500
    assert raised.value.explanation == "Cannot locate specified Dockerfile: Missing"


# 7: between a restart policy's restarts inspect says Restarting and Running

def test_a_container_waiting_for_its_restart_reads_restarting_and_running(
        daemon: Daemon) -> None:
    name = daemon.name("restarting")
    done = daemon.cli("run", "-d", "--name", name, "--restart", "always", "busybox",
                      "sh", "-c", "exit 3")
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 60
    inspected: dict[str, Any] = {"State": {}}
    while time.monotonic() < deadline:  # the delay doubles after each quick exit
        inspected = daemon.client.api.inspect_container(name)
        if inspected["State"]["Restarting"]:
            break
        time.sleep(0.05)
    state = inspected["State"]
    assert state["Restarting"] is True, state
    assert inspected["RestartCount"] >= 1  # counted as the wait begins, not at the start
    assert (state["Status"], state["Running"], state["Pid"], state["ExitCode"]) == (
        "restarting", True, 0, 3)
    status = ""
    while time.monotonic() < deadline:
        status = daemon.cli("ps", "-a", "--filter", f"name={name}",
                            "--format", "{{.Status}}|{{.State}}").stdout.strip()
        if status.startswith("Restarting"):
            break
        time.sleep(0.05)
    assert re.fullmatch(r"Restarting \(3\) (Less than a second|\d+ seconds?) ago\|restarting",
                        status), status
    listed = ""
    while time.monotonic() < deadline:  # docker ps without -a lists it, as a running one
        listed = daemon.cli("ps", "--filter", f"name={name}", "--format", "{{.State}}").stdout
        if listed == "restarting\n":
            break
        time.sleep(0.05)
    assert listed == "restarting\n"


def _wait_restarting(daemon: Daemon, name: str, deadline: float) -> None:
    """Until the container waits for a restart. The count goes up as the wait begins,
    and after a few the delay (doubling from 100 ms) is far longer than the moment the
    command runs."""
    while time.monotonic() < deadline:
        inspected = daemon.client.api.inspect_container(name)
        if inspected["State"]["Restarting"] and inspected["RestartCount"] >= 4:
            return
        time.sleep(0.05)
    pytest.fail(f"{name} was never seen restarting")


def test_what_needs_the_process_waits_for_a_restart_and_kill_calls_it_off(
        daemon: Daemon) -> None:
    name = daemon.name("restart-off")
    done = daemon.cli("run", "-d", "--name", name, "--restart", "always", "busybox",
                      "sh", "-c", "exit 3")
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 60
    cid = daemon.client.api.inspect_container(name)["Id"]
    waiting = f"Container {cid} is restarting, wait until the container is running"
    def exec_in(ref: str) -> object:
        return daemon.client.api.exec_create(ref, ["true"])

    for call in (daemon.client.api.pause, daemon.client.api.top, exec_in):
        _wait_restarting(daemon, name, deadline)
        with pytest.raises(docker.errors.APIError) as raised:
            call(name)
        assert (raised.value.response.status_code, raised.value.explanation) == (409, waiting)
    _wait_restarting(daemon, name, deadline)
    with pytest.raises(docker.errors.APIError) as raised:
        daemon.client.api.remove_container(name)
    assert raised.value.response.status_code == 409
    assert raised.value.explanation == (
        f"You cannot remove a restarting container {cid}. Stop the container before "
        "attempting removal or force remove")
    _wait_restarting(daemon, name, deadline)
    daemon.client.api.kill(name)
    state: dict[str, object] = {}
    while time.monotonic() < deadline:  # the restart is called off: it stays exited
        state = daemon.client.api.inspect_container(name)["State"]
        if state["Status"] == "exited":
            break
        time.sleep(0.05)
    assert (state["Status"], state["Running"], state["Restarting"], state["ExitCode"]) == (
        "exited", False, False, 3)


# 8: dockerd's built-in runtime names are accepted and listed; others stay unknown

RUNTIMES = ["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc"]


def test_dockerds_builtin_runtime_names_are_accepted_and_listed(daemon: Daemon) -> None:
    info = daemon.client.info()
    assert sorted(info["Runtimes"]) == RUNTIMES and info["DefaultRuntime"] == "runc"
    shown = daemon.cli("info", "--format", "{{json .Runtimes}}")
    assert json.loads(shown.stdout) == {name: {"path": "runc"} for name in RUNTIMES}
    for runtime in RUNTIMES:
        name = daemon.name("runtime")
        done = daemon.cli("run", "--name", name, "--runtime", runtime, "busybox", "echo", "ran")
        assert (done.returncode, done.stdout) == (0, "ran\n"), done.stderr
        assert daemon.client.api.inspect_container(name)["HostConfig"]["Runtime"] == runtime
        deprecated = runtime == "io.containerd.runtime.v1.linux"
        assert (f'Configured runtime "{runtime}" is deprecated' in done.stderr) == deprecated
    done = daemon.cli("run", "--rm", "--runtime", "io.containerd.nosuch.v9", "busybox", "true")
    assert done.returncode == 125
    assert "Unknown runtime specified io.containerd.nosuch.v9" in done.stderr


def test_cove_run_takes_the_runtime_flag_as_docker_run_does(cove, docker) -> None:
    args = ("run", "--rm", "--runtime", "io.containerd.runtime.v1.linux", "busybox", "echo", "ok")
    ours, theirs = cove(*args), docker(*args)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode, theirs.stdout, theirs.stderr) == (
        0, "ok\n", 'WARNING: Configured runtime "io.containerd.runtime.v1.linux" is '
                   "deprecated and will be removed in the next release.\n")
    args = ("run", "--rm", "--runtime", "nosuch", "busybox", "true")
    ours, theirs = cove(*args), docker(*args)
    assert ours.returncode == theirs.returncode == 125
    assert ours.stderr == theirs.stderr.replace("docker", "cove")
    assert "Unknown runtime specified nosuch" in ours.stderr
