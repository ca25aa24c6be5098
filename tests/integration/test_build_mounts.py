"""``RUN --mount`` through ``DOCKER_BUILDKIT=0 docker build`` and ``cove build`` on coved.

dockerd's classic builder refuses these ("requires BuildKit"); coved gives RUN the
mounts BuildKit would, and leaves nothing of them in the layer.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest


@pytest.fixture
def build(docker, tmp_path):
    return _builder(docker, tmp_path)


def _builder(docker, tmp_path):
    """``build(dockerfile, *args, files=...)``: a classic build of a fresh context."""
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    context = tmp_path / "ctx"
    context.mkdir()

    def run(dockerfile: str, *args: str, files: dict[str, str] | None = None):
        (context / "Dockerfile").write_text(dockerfile)
        for name, text in (files or {}).items():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            (context / name).write_text(text)
        return subprocess.run([docker.argv0[0], "build", *args, str(context)], env=env,
                              capture_output=True, text=True, timeout=120)

    return run


def _cat(docker, image: str, path: str) -> str:
    return docker("run", "--rm", image, "cat", path).stdout


def _absent(docker, image: str, path: str) -> bool:
    probe = docker("run", "--rm", image, "sh", "-c", f"test -e {path} || echo absent")
    return probe.stdout == "absent\n"


def test_cache_mount_keeps_its_files_across_builds_and_stays_out_of_the_image(build, docker):
    cache_id = uuid.uuid4().hex[:8]  # a cache no other test run has filled
    dockerfile = ("FROM busybox\n"
                  f"RUN --mount=type=cache,id={cache_id},target=/root/.cache/tool "
                  "sh -c 'echo run >> /root/.cache/tool/log; wc -l < /root/.cache/tool/log > /runs'\n")
    first = build(dockerfile, "--no-cache", "-t", "mnt-cache:1")
    assert first.returncode == 0, first.stdout + first.stderr
    second = build(dockerfile, "--no-cache", "-t", "mnt-cache:2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _cat(docker, "mnt-cache:1", "/runs").strip() == "1"
    assert _cat(docker, "mnt-cache:2", "/runs").strip() == "2"
    assert _absent(docker, "mnt-cache:2", "/root/.cache")  # mount point and parent removed
    docker("rmi", "mnt-cache:1", "mnt-cache:2")


def test_bind_mount_of_the_context_is_read_only_and_keys_the_cache(build, docker):
    dockerfile = "FROM busybox\nRUN --mount=target=/src cp /src/conf.txt /conf.txt\n"
    first = build(dockerfile, "-t", "mnt-bind:1", files={"conf.txt": "v1\n"})
    assert first.returncode == 0, first.stdout + first.stderr
    assert _cat(docker, "mnt-bind:1", "/conf.txt") == "v1\n"
    assert _absent(docker, "mnt-bind:1", "/src")
    again = build(dockerfile, "-t", "mnt-bind:1")
    assert "Using cache" in again.stdout
    changed = build(dockerfile, "-t", "mnt-bind:2", files={"conf.txt": "v2\n"})
    assert "Using cache" not in changed.stdout  # the bound file changed: the step reruns
    assert _cat(docker, "mnt-bind:2", "/conf.txt") == "v2\n"
    refused = build("FROM busybox\nRUN --mount=target=/src touch /src/new\n", "--no-cache",
                    "--force-rm")
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stdout + refused.stderr
    writable = build("FROM busybox\nRUN --mount=target=/src,rw sh -c "
                     "'echo changed > /src/conf.txt && cat /src/conf.txt > /seen'\n",
                     "--no-cache", "-t", "mnt-bind:3")
    assert writable.returncode == 0, writable.stdout + writable.stderr
    assert _cat(docker, "mnt-bind:3", "/seen") == "changed\n"
    after = build(dockerfile, "--no-cache", "-t", "mnt-bind:4")  # the write was to a copy
    assert after.returncode == 0
    assert _cat(docker, "mnt-bind:4", "/conf.txt") == "v2\n"
    docker("rmi", "mnt-bind:1", "mnt-bind:2", "mnt-bind:3", "mnt-bind:4")


def test_bind_mount_from_a_stage_tmpfs_and_secrets(build, docker):
    dockerfile = (
        "FROM busybox AS maker\n"
        "RUN mkdir /out && echo artifact > /out/file\n"
        "FROM busybox\n"
        "RUN --mount=from=maker,source=/out,target=/in cat /in/file > /copied\n"
        "RUN --mount=type=tmpfs,target=/scratch,size=1m "
        "sh -c 'grep \" /scratch \" /proc/mounts | cut -d\" \" -f3 > /fstype'\n"
        "RUN --mount=type=secret,id=token "
        "sh -c 'test -e /run/secrets/token && echo present > /secret || echo none > /secret'\n")
    result = build(dockerfile, "-t", "mnt-misc:1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _cat(docker, "mnt-misc:1", "/copied") == "artifact\n"
    assert _cat(docker, "mnt-misc:1", "/fstype") == "tmpfs\n"
    assert _cat(docker, "mnt-misc:1", "/secret") == "none\n"
    assert _absent(docker, "mnt-misc:1", "/in") and _absent(docker, "mnt-misc:1", "/scratch")
    docker("rmi", "mnt-misc:1")


@pytest.mark.parametrize(("line", "message"), [
    ("RUN --mount=type=secret,id=token,required true",
     "secret token not found: the build API carries no secrets"),
    ("RUN --mount=type=bind,source=missing,target=/m true",
     "RUN --mount: source missing not found in the build context"),
    ("RUN --mount=type=bind,source=../up,target=/m true",
     "RUN --mount: source ../up is outside the build context"),
    ("RUN --mount=type=volume,target=/m true", "unsupported mount type 'volume'"),
    ("RUN --network=host true", "RUN --network=host: not allowed"),
    ("RUN --security=insecure true", "RUN --security=insecure: not allowed"),
])
def test_what_cannot_be_mounted_is_a_clear_error(build, docker, line, message) -> None:
    result = build(f"FROM busybox\n{line}\n", "--no-cache")
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    leftovers = docker("ps", "-a", "-q", "--filter", "status=created").stdout.split()
    assert leftovers == []


def test_cove_build_with_a_cache_mount(cove, docker, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nWORKDIR /app\n"
        "RUN --mount=type=cache,target=deps,sharing=locked sh -c 'pwd > /where; "
        "grep -c deps /proc/mounts > /mounted'\n")
    built = cove("build", "-t", "mnt-cove:1", str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    assert _cat(docker, "mnt-cove:1", "/mounted").strip() == "1"  # target relative to WORKDIR
    assert _absent(docker, "mnt-cove:1", "/app/deps")
    docker("rmi", "mnt-cove:1")


def test_builder_prune_empties_cache_mounts_and_with_all_the_step_cache(private_clis, tmp_path):
    """On a daemon of its own: builder prune empties every cache mount the daemon has."""
    docker, cove = private_clis
    build = _builder(docker, tmp_path)
    cache_id = uuid.uuid4().hex[:8]
    dockerfile = ("FROM busybox\n"
                  f"RUN --mount=type=cache,id={cache_id},target=/c "
                  "sh -c 'head -c 300000 /dev/zero > /c/blob; ls /c | wc -l > /n'\n"
                  "RUN echo step > /step\n")
    assert build(dockerfile, "-t", "mnt-prune:1").returncode == 0
    pruned = docker("builder", "prune", "-f")
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("Deleted build cache objects:\n")
    assert pruned.stdout.endswith("\n\nTotal reclaimed space: 300kB\n")
    assert cove("builder", "prune", "-f").stdout == "Total reclaimed space: 0B\n"
    again = build(dockerfile, "-t", "mnt-prune:1")
    assert again.stdout.count("Using cache") == 2  # the steps themselves are still cached
    everything = cove("builder", "prune", "-af")
    assert everything.returncode == 0 and "Deleted build cache objects:" in everything.stdout
    rebuilt = build(dockerfile, "-t", "mnt-prune:1")
    assert rebuilt.returncode == 0 and "Using cache" not in rebuilt.stdout
    bad = docker("builder", "prune", "-f", "--filter", "colour=blue")
    assert bad.returncode == 1 and "Invalid filter 'colour'" in bad.stderr
    docker("rmi", "mnt-prune:1")
