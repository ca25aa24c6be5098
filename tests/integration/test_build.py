"""``docker build`` (the classic builder, DOCKER_BUILDKIT=0) against coved."""

from __future__ import annotations

import pytest


@pytest.fixture
def build(docker, tmp_path):
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}

    def run(files: dict[str, str], *args: str):
        context = tmp_path / "ctx"
        context.mkdir(exist_ok=True)
        for name, text in files.items():
            path = context / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        import subprocess

        return subprocess.run([docker.argv0[0], "build", *args, str(context)], env=env,
                              capture_output=True, text=True, timeout=120)

    return run


APP = {
    "Dockerfile": (
        "FROM busybox\n"
        "RUN mkdir -p /app && echo 'echo serving $GREETING' > /app/server.sh\n"
        "COPY hello.txt /app/\n"
        "ENV GREETING=hi\n"
        "WORKDIR /app\n"
        'CMD ["sh", "/app/server.sh"]\n'),
    "hello.txt": "hello\n",
}


def test_build_runs_each_step_and_the_image_works(build, docker):
    before = set(docker("images", "-q").stdout.split())
    result = build(APP, "-t", "app:1")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Step 1/6 : FROM busybox" in out and "Step 6/6 : CMD" in out
    assert " ---> Running in " in out and "Successfully tagged app:1" in out
    assert docker("run", "--rm", "app:1").stdout == "serving hi\n"
    assert docker("run", "--rm", "app:1", "cat", "hello.txt").stdout == "hello\n"
    history = docker("history", "--no-trunc", "app:1").stdout
    assert "mkdir -p /app" in history
    new = set(docker("images", "-q").stdout.split()) - before
    assert len(new) == 1  # the steps' intermediate images are hidden
    docker("rmi", "app:1")


def test_unchanged_rebuild_comes_from_the_cache(build, docker):
    first = build(APP, "-t", "app:2")
    second = build(APP, "-t", "app:2")
    assert second.returncode == 0
    assert second.stdout.count("Using cache") == 5
    assert _built(first.stdout) == _built(second.stdout)
    changed = build({**APP, "hello.txt": "changed\n"}, "-t", "app:2")
    assert changed.stdout.count("Using cache") == 1  # RUN is cached, COPY onwards is not
    assert docker("run", "--rm", "app:2", "cat", "hello.txt").stdout == "changed\n"
    docker("rmi", "app:2")


def test_a_failing_run_reports_its_exit_code(build, docker):
    before = set(docker("ps", "-aq").stdout.split())
    result = build({"Dockerfile": "FROM busybox\nRUN exit 3\n"})
    assert result.returncode == 3  # the CLI exits with the failing command's code
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in result.stderr
    kept = set(docker("ps", "-aq").stdout.split()) - before
    assert len(kept) == 1  # as Docker: the failed step's container stays for inspection
    docker("rm", *kept)
    clean = build({"Dockerfile": "FROM busybox\nRUN exit 3\n"}, "--force-rm")
    assert clean.returncode == 3 and set(docker("ps", "-aq").stdout.split()) == before


def test_multi_stage_target_args_and_dockerignore(build, docker):
    files = {
        "Dockerfile": (
            "ARG BASE=busybox\n"
            "FROM $BASE AS builder\n"
            "ARG MESSAGE=default\n"
            "RUN echo $MESSAGE > /made.txt\n"
            "FROM busybox AS final\n"
            "COPY --from=builder /made.txt /made.txt\n"
            "COPY . /ctx/\n"
            "FROM final AS extra\n"
            "RUN false\n"),
        ".dockerignore": "secret*\n!secret-ok\n",
        "secret.key": "no\n",
        "secret-ok": "yes\n",
    }
    result = build(files, "--target", "final", "--build-arg", "MESSAGE=from-arg", "-t", "ms:1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert docker("run", "--rm", "ms:1", "cat", "/made.txt").stdout == "from-arg\n"
    listing = docker("run", "--rm", "ms:1", "ls", "/ctx").stdout.split()
    assert "secret-ok" in listing and "secret.key" not in listing
    docker("rmi", "ms:1")


def test_bad_dockerfiles_fail_clearly(build, docker):
    before = docker("ps", "-aq").stdout.split(), docker("images", "-aq").stdout.split()
    unknown = build({"Dockerfile": "FROM busybox\nFLY away\n"})
    assert unknown.returncode == 1 and "unknown instruction" in unknown.stderr.lower()
    escape = build({"Dockerfile": "FROM busybox\nCOPY ../outside /x\n"})
    assert escape.returncode == 1 and "outside the build context" in escape.stderr
    missing = build({"Dockerfile": "FROM busybox\nCOPY nothing-here /x\n"})
    assert missing.returncode == 1 and "nothing-here" in missing.stderr
    after = docker("ps", "-aq").stdout.split(), docker("images", "-aq").stdout.split()
    assert after == before  # no containers or images left behind


def _built(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Successfully built")]


def test_heredocs_and_onbuild_triggers(build, docker):
    base = build({"Dockerfile": (
        "FROM busybox\n"
        "RUN <<EOF\n"
        "mkdir -p /etc/app\n"
        "echo from-heredoc > /etc/app/run.txt\n"
        "EOF\n"
        "COPY <<CONF /etc/app/app.conf\n"
        "port=8080\n"
        "CONF\n"
        "ONBUILD RUN echo triggered > /etc/app/onbuild.txt\n")}, "-t", "onbase:1")
    assert base.returncode == 0, base.stdout + base.stderr
    assert docker("run", "--rm", "onbase:1", "cat", "/etc/app/run.txt",
                  "/etc/app/app.conf").stdout == "from-heredoc\nport=8080\n"
    child = build({"Dockerfile": "FROM onbase:1\nCMD [\"cat\", \"/etc/app/onbuild.txt\"]\n"},
                  "-t", "onchild:1")
    assert child.returncode == 0, child.stdout + child.stderr
    assert "# Executing 1 build trigger" in child.stdout
    assert docker("run", "--rm", "onchild:1").stdout == "triggered\n"
    inherited = docker("inspect", "-f", "{{json .Config.OnBuild}}", "onchild:1").stdout.strip()
    assert inherited in ("null", "[]")
    docker("rmi", "onchild:1", "onbase:1")


def test_docker_py_builds_through_the_api(coved, tmp_path):
    import io

    import docker as docker_py

    client = docker_py.DockerClient(base_url=coved.host, version="1.41", timeout=60)
    try:
        dockerfile = io.BytesIO(b"FROM busybox\nRUN echo py > /py.txt\nCMD [\"cat\", \"/py.txt\"]\n")
        image, logs = client.images.build(fileobj=dockerfile, tag="pybuilt:1", rm=True)
        assert "pybuilt:1" in image.tags
        assert any("Step 2/3" in chunk.get("stream", "") for chunk in logs)
        assert client.containers.run("pybuilt:1", remove=True) == b"py\n"
        client.images.remove("pybuilt:1")
    finally:
        client.close()
