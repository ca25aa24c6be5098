"""``docker system prune`` against coved: stopped containers, dangling images, build cache."""

from __future__ import annotations

import subprocess
import uuid


def test_docker_system_prune(docker, tmp_path):
    """Pruned by a label of its own: the daemon is shared, others' objects are not ours."""
    mark = "cove.test=" + uuid.uuid4().hex[:8]
    stopped = docker("run", "-d", "--label", mark, "busybox", "true").stdout.strip()
    docker("wait", stopped)
    running = docker("run", "-d", "--label", mark, "busybox", "sleep", "60").stdout.strip()
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo one > /f\n")
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    build = [docker.argv0[0], "build", "-q", "--label", mark, "-t", "prune-me:1", str(tmp_path)]
    first = subprocess.run(build, env=env, capture_output=True, text=True, timeout=120)
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo two > /f\n")
    subprocess.run(build, env=env, capture_output=True, text=True, timeout=120, check=True)
    dangling = first.stdout.strip().split(":")[1][:12]  # untagged by the second build
    try:
        pruned = docker("system", "prune", "-f", "--filter", f"label={mark}")
        assert pruned.returncode == 0, pruned.stderr
        section = pruned.stdout.split("Deleted Containers:\n", 1)[1].split("\n\n", 1)[0]
        assert stopped in section.splitlines()
        assert f"deleted: sha256:{dangling}" in pruned.stdout
        assert pruned.stdout.splitlines()[-1].startswith("Total reclaimed space: ")
        assert docker("inspect", "-f", "{{.State.Running}}", running).stdout == "true\n"
        assert docker("inspect", stopped).returncode == 1
        assert docker("image", "inspect", "prune-me:1").returncode == 0
    finally:
        docker("rm", "-f", running)
        docker("rmi", "prune-me:1")


def _state(docker, tmp_path, tag):
    """A stopped container with a 5 kB layer and an anonymous volume, and a dangling image."""
    docker("run", "-v", "/anon", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /f")
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    for text in ("one", "two"):
        (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo {text}-{tag} > /f\n")
        subprocess.run([docker.argv0[0], "build", "-q", "-t", f"prune-df:{tag}", str(tmp_path)],
                       env=env, capture_output=True, timeout=120, check=True)


def _shape(text):
    import re

    return re.sub(r"[0-9a-f]{64}|\b[0-9a-f]{12}\b", "<id>", text)


def test_cove_system_df_and_prune_match_docker(private_clis, tmp_path):
    """On a daemon of its own: df and prune speak of everything the daemon has."""
    docker, cove = private_clis
    _state(docker, tmp_path, "a")
    ours, theirs = cove("system", "df"), docker("system", "df")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout.splitlines()[2].split()[:3] == ["Containers", "1", "0"]
    pruned = cove("system", "prune", "-f", "--volumes")
    assert pruned.returncode == 0, pruned.stderr
    _state(docker, tmp_path, "b")
    reference = docker("system", "prune", "-f", "--volumes")
    assert _shape(pruned.stdout) == _shape(reference.stdout)
    assert "Deleted Containers:" in pruned.stdout and "Deleted Volumes:" in pruned.stdout
    assert "Deleted Images:" in pruned.stdout
    docker("rmi", "prune-df:a", "prune-df:b")
