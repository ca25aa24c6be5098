"""``cove build`` end to end, beside ``DOCKER_BUILDKIT=0 docker build`` on the same coved."""

from __future__ import annotations

import re
import subprocess


def _steps(output: str) -> list[str]:
    """The step lines with the IDs taken out."""
    keep = ("Step ", " ---> Using cache", "Successfully tagged")
    return [re.sub(r"[0-9a-f]{12}", "<id>", line) for line in output.splitlines()
            if line.startswith(keep)]


def test_cove_build_prints_what_docker_build_prints(cove, docker, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        'FROM busybox\nRUN echo built > /built.txt\nCOPY a.txt /a.txt\nCMD ["cat", "/built.txt", "/a.txt"]\n')
    (tmp_path / "a.txt").write_text("from-context\n")
    (tmp_path / "x.key").write_text("secret\n")
    (tmp_path / ".dockerignore").write_text("*.key\n")
    ours = cove("build", "-t", "cb:1", str(tmp_path))
    assert ours.returncode == 0, ours.stderr
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    theirs = subprocess.run([docker.argv0[0], "build", "-t", "cb:1", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    # the second build (docker's) is all cache hits: same steps, same tag
    assert [s for s in _steps(theirs.stdout) if not s.startswith(" --->")] == \
        [s for s in _steps(ours.stdout) if not s.startswith(" --->")]
    assert ours.stdout.startswith("Sending build context to Docker daemon")
    assert docker("run", "--rm", "cb:1").stdout == "built\nfrom-context\n"
    quiet = cove("build", "-q", "-t", "cb:1", str(tmp_path))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet.stdout)
    docker("rmi", "cb:1")


def test_cove_build_failures_stdin_and_outside_dockerfile(cove, docker, tmp_path):
    failing = cove("build", "-", input="FROM busybox\nRUN exit 4\n")
    assert failing.returncode == 4
    assert "returned a non-zero code: 4" in failing.stderr + failing.stdout
    context = tmp_path / "ctx"
    context.mkdir()
    outside = tmp_path / "Other.dockerfile"
    outside.write_text('FROM busybox\nCMD ["echo", "outside"]\n')
    built = cove("build", "-f", str(outside), "-t", "cb:2", str(context))
    assert built.returncode == 0, built.stderr
    assert docker("run", "--rm", "cb:2").stdout == "outside\n"
    docker("rmi", "cb:2")
