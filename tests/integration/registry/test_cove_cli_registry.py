"""The ``cove`` CLI's registry commands end to end: coved, the real registry, skopeo."""

from __future__ import annotations

from tests.support.registry import Registry, skopeo_inspect_digest


def _cove(cove, home, *args, input=None):
    cove.env["COVE_CONFIG"] = str(home)
    return cove(*args, input=input)


def test_cove_login_push_pull_and_run_with_auth(cove, docker, tmp_path,
                                                htpasswd_registry: Registry) -> None:
    reg = htpasswd_registry.host
    image = f"{reg}/team/app:v1"
    assert docker("tag", "busybox", image).returncode == 0
    denied = _cove(cove, tmp_path, "push", image)
    assert denied.returncode == 1 and "unauthorized" in denied.stderr.lower()
    bad = _cove(cove, tmp_path, "login", "-u", "alice", "--password-stdin", reg, input="wrong\n")
    assert bad.returncode == 1
    good = _cove(cove, tmp_path, "login", "-u", "alice", "--password-stdin", reg, input="secret\n")
    assert good.returncode == 0 and "Login Succeeded" in good.stdout
    assert reg in (tmp_path / "config.json").read_text()
    pushed = _cove(cove, tmp_path, "push", image)
    assert pushed.returncode == 0, pushed.stderr
    digest_line = [line for line in pushed.stdout.splitlines() if "digest: sha256:" in line][0]
    digest = digest_line.split("digest: ")[1].split()[0]
    assert skopeo_inspect_digest(htpasswd_registry, "team/app:v1", creds="alice:secret") == digest
    docker("rmi", image)
    pulled = _cove(cove, tmp_path, "pull", image)
    assert pulled.returncode == 0 and f"Digest: {digest}" in pulled.stdout
    docker("rmi", image)
    run = _cove(cove, tmp_path, "run", "--rm", image, "echo", "pulled-and-ran")
    assert run.returncode == 0 and run.stdout.endswith("pulled-and-ran\n")
    assert "Unable to find image" in run.stderr
    out = _cove(cove, tmp_path, "logout", reg)
    assert out.returncode == 0 and reg not in (tmp_path / "config.json").read_text()
    docker("rmi", image)


def test_cove_pull_without_auth_and_pull_never(cove, docker, tmp_path, registry: Registry) -> None:
    image = f"{registry.host}/open/box:1"
    docker("tag", "busybox", image)
    assert _cove(cove, tmp_path, "push", image).returncode == 0
    docker("rmi", image)
    never = _cove(cove, tmp_path, "run", "--rm", "--pull", "never", image, "true")
    assert never.returncode == 125 and "No such image" in never.stderr
    assert _cove(cove, tmp_path, "pull", "-q", image).stdout.strip() == image
    docker("rmi", image)


def test_build_from_an_image_only_in_a_registry_pulls_it(cove, docker, tmp_path,
                                                         registry: Registry) -> None:
    base = f"{registry.host}/bases/bb:1"
    docker("tag", "busybox", base)
    assert _cove(cove, tmp_path, "push", base).returncode == 0
    docker("rmi", base)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base}\nRUN echo on-pulled-base > /x\n")
    built = _cove(cove, tmp_path, "build", "-t", "frompulled:1", str(context))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Pulling from bases/bb" in built.stdout
    assert docker("run", "--rm", "frompulled:1", "cat", "/x").stdout == "on-pulled-base\n"
    docker("rmi", "frompulled:1", base)


def test_build_from_a_private_registry_uses_the_client_s_login(cove, docker, tmp_path,
                                                               htpasswd_registry: Registry) -> None:
    """FROM an image behind auth: the CLI's logins travel in X-Registry-Config, as docker's do."""
    reg = htpasswd_registry.host
    base = f"{reg}/private/bb:1"
    home = tmp_path / "home"
    assert _cove(cove, home, "login", "-u", "alice", "--password-stdin", reg,
                 input="secret\n").returncode == 0
    docker("tag", "busybox", base)
    assert _cove(cove, home, "push", base).returncode == 0
    docker("rmi", base)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base}\nRUN echo private-base > /x\n")
    anonymous = _cove(cove, tmp_path / "nobody", "build", "-t", "fromprivate:1", str(context))
    assert anonymous.returncode == 1
    assert "unauthorized" in anonymous.stderr.lower(), anonymous.stderr
    built = _cove(cove, home, "build", "-t", "fromprivate:1", str(context))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Pulling from private/bb" in built.stdout
    assert docker("run", "--rm", "fromprivate:1", "cat", "/x").stdout == "private-base\n"
    docker("rmi", "fromprivate:1", base)
    # the docker CLI's legacy builder sends its logins the same way
    docker.env = {**docker.env, "DOCKER_CONFIG": str(tmp_path / "docker-home"),
                  "DOCKER_BUILDKIT": "0"}
    assert docker("login", "-u", "alice", "--password-stdin", reg,
                  input="secret\n").returncode == 0
    built = docker("build", "-t", "fromprivate:2", str(context))
    assert built.returncode == 0, built.stdout + built.stderr
    docker("rmi", "fromprivate:2", base)
