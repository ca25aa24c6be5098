"""The last differences from dockerd 20.10 of issue 11, each checked with the same
assertion on coved and on the reference dockerd: the classic builder's history texts and
step output, ``Config.Image`` of built images, ``SizeRw`` in container lists, unknown
paths under an unsupported API version, the line ends of JSON progress streams, a build
without a Dockerfile, the state of a container waiting to be restarted, and dockerd's
built-in runtime names."""

from __future__ import annotations

import re

from tests.integration import test_api_conformance
from tests.integration.test_api_conformance import Daemon

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
