"""``docker system prune`` against coved: stopped containers, dangling images, build cache."""

from __future__ import annotations

import subprocess


def test_docker_system_prune(docker, tmp_path):
    stopped = docker("run", "-d", "busybox", "true").stdout.strip()
    docker("wait", stopped)
    running = docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo one > /f\n")
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    build = [docker.argv0[0], "build", "-q", "-t", "prune-me:1", str(tmp_path)]
    first = subprocess.run(build, env=env, capture_output=True, text=True, timeout=120)
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo two > /f\n")
    subprocess.run(build, env=env, capture_output=True, text=True, timeout=120, check=True)
    dangling = first.stdout.strip().split(":")[1][:12]  # untagged by the second build
    try:
        pruned = docker("system", "prune", "-f")
        assert pruned.returncode == 0, pruned.stderr
        assert f"Deleted Containers:\n{stopped}\n" in pruned.stdout
        assert f"deleted: sha256:{dangling}" in pruned.stdout
        assert pruned.stdout.splitlines()[-1].startswith("Total reclaimed space: ")
        assert docker("inspect", "-f", "{{.State.Running}}", running).stdout == "true\n"
        assert docker("inspect", stopped).returncode == 1
        assert docker("image", "inspect", "prune-me:1").returncode == 0
    finally:
        docker("rm", "-f", running)
        docker("rmi", "prune-me:1")
