"""``cove build`` end to end, beside ``DOCKER_BUILDKIT=0 docker build`` on the same coved."""

from __future__ import annotations

import io
import re
import subprocess
import tarfile

DOCKERFILE = ('FROM busybox\nRUN echo built > /built.txt\nCOPY a.txt /a.txt\n'
              'CMD ["cat", "/built.txt", "/a.txt"]\n')


def _without_ids(output: str) -> list[str]:
    """The lines with image/container IDs and the context size taken out."""
    output = re.sub(r"daemon +\S+\r\r\n", "daemon <size>\n", output)
    return [re.sub(r"\b[0-9a-f]{12}\b", "<id>", line) for line in output.splitlines()]


def _docker_build(docker, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    return subprocess.run([docker.argv0[0], "build", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=120)


def _context(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "a.txt").write_text("from-context\n")
    (tmp_path / "x.key").write_text("secret\n")
    (tmp_path / ".dockerignore").write_text("*.key\n")
    return tmp_path


def test_cove_build_prints_what_docker_build_prints(cove, docker, tmp_path):
    context = _context(tmp_path)
    ours = cove("build", "--no-cache", "-t", "cb:1", str(context))
    assert ours.returncode == 0, ours.stderr
    theirs = _docker_build(docker, "--no-cache", "-t", "cb:1", str(context))
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout.startswith("Sending build context to Docker daemon  ")
    assert _without_ids(ours.stdout) == _without_ids(theirs.stdout)
    assert " ---> Running in <id>" in _without_ids(ours.stdout)
    assert "Successfully tagged cb:1" in ours.stdout
    assert docker("run", "--rm", "cb:1").stdout == "built\nfrom-context\n"
    # a rebuild is all cache hits, printed as docker prints them
    cached = cove("build", "-t", "cb:1", str(context))
    assert cached.returncode == 0, cached.stderr
    assert _without_ids(cached.stdout) == _without_ids(_docker_build(docker, "-t", "cb:1",
                                                                     str(context)).stdout)
    assert cached.stdout.count(" ---> Using cache") == 3
    docker("rmi", "cb:1")


def test_quiet_and_iidfile(cove, docker, tmp_path):
    context = _context(tmp_path / "ctx") if (tmp_path / "ctx").mkdir() is None else None
    iid = tmp_path / "iid"
    quiet = cove("build", "-q", "--iidfile", str(iid), "-t", "cb:q", str(context))
    assert quiet.returncode == 0, quiet.stderr
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet.stdout)
    assert iid.read_text().strip() == quiet.stdout.strip()
    assert docker("image", "inspect", "-f", "{{.Id}}", "cb:q").stdout == quiet.stdout
    docker("rmi", "cb:q")


def test_failing_run_exits_with_its_code(cove, docker):
    failing = cove("build", "-", input="FROM busybox\nRUN exit 4\n")
    assert failing.returncode == 4
    assert failing.stderr.endswith("The command '/bin/sh -c exit 4' returned a non-zero code: 4\n")
    theirs = _docker_build(docker, "-", input="FROM busybox\nRUN exit 4\n")
    assert theirs.returncode == 4
    assert _without_ids(failing.stdout) == _without_ids(theirs.stdout)


def test_dockerfile_elsewhere_and_stdin_contexts(cove, docker, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "f.txt").write_text("in-context\n")
    outside = tmp_path / "Other.dockerfile"
    outside.write_text('FROM busybox\nCOPY f.txt /c/\nCMD ["cat", "/c/f.txt"]\n')
    built = cove("build", "-f", str(outside), "-t", "cb:2", str(context))
    assert built.returncode == 0, built.stderr
    assert docker("run", "--rm", "cb:2").stdout == "in-context\n"
    outside.write_text('FROM busybox\nCOPY f.txt /c/\nCMD ["echo", "from-stdin"]\n')
    from_stdin = cove("build", "-f", "-", "-t", "cb:3", str(context), input=outside.read_text())
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert docker("run", "--rm", "cb:3").stdout == "from-stdin\n"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(outside, "Dockerfile")
        tar.add(context / "f.txt", "f.txt")
    tar_stdin = subprocess.run(cove.argv0 + ["build", "-t", "cb:4", "-"], input=archive.getvalue(),
                               env=cove.env, capture_output=True, timeout=60)
    assert tar_stdin.returncode == 0, tar_stdin.stderr
    assert docker("run", "--rm", "cb:4").stdout == "from-stdin\n"
    docker("rmi", "cb:2", "cb:3", "cb:4")


def test_copy_does_not_see_an_outside_dockerfile(cove, docker, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "f.txt").write_text("in-context\n")
    outside = tmp_path / "Other.dockerfile"
    outside.write_text('FROM busybox\nCOPY . /c/\nCMD ["ls", "-A", "/c"]\n')
    built = cove("build", "-f", str(outside), "-t", "cb:5", str(context))
    assert built.returncode == 0, built.stderr
    try:
        # the client lists the generated name (and a new .dockerignore itself) in .dockerignore
        assert docker("run", "--rm", "cb:5").stdout == "f.txt\n"
    finally:
        docker("rmi", "cb:5")
