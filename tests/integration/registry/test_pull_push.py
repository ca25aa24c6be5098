"""Pull and push against the real CNCF registry, checked by skopeo and the docker CLI."""

from __future__ import annotations

import pytest

from tests.support.clis import CLI
from tests.support.coved import Coved
from tests.support.images import busybox_archive
from tests.support.registry import (
    Registry,
    push_archive_with_skopeo,
    push_multiarch_index,
    skopeo_inspect_digest,
)
from tests.support.registry_calls import auth_header, errors_in, image_ids, pull, push


def _inspect(coved: Coved, ref: str) -> dict:
    status, body = coved.request("GET", f"/images/{ref}/json")
    assert status == 200, body
    return body


def test_pull_from_plain_registry_then_run(coved: Coved, registry: Registry, docker: CLI) -> None:
    archive = busybox_archive(tag="bb:latest", extra_layers=[{"marker": b"plain\n"}])
    digest = push_archive_with_skopeo(archive, registry, "plain/bb")
    status, msgs = pull(coved, f"{registry.host}/plain/bb")
    assert status == 200, msgs
    statuses = [m.get("status") for m in msgs]
    assert statuses[0] == "Pulling from plain/bb" and msgs[0]["id"] == "latest"
    assert statuses[1] == "Already exists"  # the busybox base layer is in the store
    assert "Pulling fs layer" in statuses and "Download complete" in statuses
    assert "Pull complete" in statuses
    assert f"Digest: {digest}" in statuses
    assert statuses[-1] == f"Status: Downloaded newer image for {registry.host}/plain/bb:latest"
    info = _inspect(coved, f"{registry.host}/plain/bb:latest")
    assert info["RepoDigests"] == [f"{registry.host}/plain/bb@{digest}"]
    run = docker("run", "--rm", f"{registry.host}/plain/bb", "cat", "/marker")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "plain"
    # a second pull changes nothing and says so
    status, again = pull(coved, f"{registry.host}/plain/bb")
    assert status == 200
    assert again[-1]["status"] == \
        f"Status: Image is up to date for {registry.host}/plain/bb:latest"
    assert not any(m.get("status") == "Pull complete" for m in again)


def test_pull_by_digest_and_missing_repo(coved: Coved, registry: Registry) -> None:
    digest = push_archive_with_skopeo(busybox_archive(tag="bd:latest"), registry, "digest/bb")
    status, msgs = pull(coved, f"{registry.host}/digest/bb@{digest}", tag=None)
    assert status == 200, msgs
    assert msgs[0]["id"] == digest
    status, body = pull(coved, f"{registry.host}/no/such")
    assert status == 404
    # distribution 2.8 answers MANIFEST_UNKNOWN for a missing repository; dockerd says:
    assert body["message"] == f"manifest for {registry.host}/no/such:latest not found: " \
        "manifest unknown: manifest unknown"
    status, body = pull(coved, f"{registry.host}/digest/bb", tag="nosuchtag")
    assert status == 404 and "not found" in body["message"], body
    status, body = pull(coved, "library/UPPER")
    assert status == 400
    assert body["message"] == "invalid reference format: repository name must be lowercase"


def test_push_then_skopeo_agrees_repush_and_mount(coved: Coved, registry: Registry) -> None:
    name = f"{registry.host}/pushed/bb"
    assert coved.request("POST", f"/images/busybox:latest/tag?repo={name}&tag=v1")[0] == 201
    status, msgs = push(coved, name, "v1")
    assert status == 200, msgs
    assert msgs[0] == {"status": f"The push refers to repository [{name}]"}
    assert not errors_in(msgs)
    assert any(m.get("status") == "Pushed" for m in msgs)
    final = msgs[-1]
    assert final["aux"]["Tag"] == "v1"
    digest = final["aux"]["Digest"]
    assert msgs[-2] == {"status": f"v1: digest: {digest} size: {final['aux']['Size']}"}
    assert skopeo_inspect_digest(registry, "pushed/bb:v1") == digest
    assert f"{name}@{digest}" in _inspect(coved, f"{name}:v1")["RepoDigests"]
    # again: every layer is already there
    status, again = push(coved, name, "v1")
    layer_states = {m["status"] for m in again if "id" in m and m["status"] != "Preparing"}
    assert layer_states == {"Layer already exists"}, again
    assert again[-1]["aux"]["Digest"] == digest
    # another repository of the same registry: mounted, not uploaded
    other = f"{registry.host}/other/bb"
    coved.request("POST", f"/images/busybox:latest/tag?repo={other}&tag=v1")
    status, mounted = push(coved, other, "v1")
    assert "Mounted from pushed/bb" in {m.get("status") for m in mounted}, mounted
    assert skopeo_inspect_digest(registry, "other/bb:v1") == digest
    # the reverse: coved pulls what it pushed into a fresh name, same digest
    status, body = push(coved, f"{registry.host}/nothere/x", "v1")
    assert status == 404
    assert body["message"] == \
        f"An image does not exist locally with the tag: {registry.host}/nothere/x"


def test_platform_from_multiarch_index(coved: Coved, registry: Registry, docker: CLI) -> None:
    index_digest = push_multiarch_index(registry, "multi/img:latest")
    status, msgs = pull(coved, f"{registry.host}/multi/img", platform="linux/arm64")
    assert status == 200, msgs
    info = _inspect(coved, f"{registry.host}/multi/img:latest")
    assert info["Architecture"] == "arm64"
    assert info["RepoDigests"] == [f"{registry.host}/multi/img@{index_digest}"]
    status, body = pull(coved, f"{registry.host}/multi/img", platform="linux/s390x")
    assert status == 404 and "no matching manifest for linux/s390x" in body["message"]
    status, dist = coved.request("GET", f"/distribution/{registry.host}/multi/img:latest/json")
    assert status == 200, dist
    assert dist["Descriptor"]["digest"] == index_digest
    assert {p["architecture"] for p in dist["Platforms"]} == {"amd64", "arm64"}


def test_htpasswd_registry(coved: Coved, htpasswd_registry: Registry) -> None:
    reg = htpasswd_registry
    digest = push_archive_with_skopeo(busybox_archive(tag="hb:latest"), reg, "secret/bb",
                                      creds="alice:secret")
    status, body = pull(coved, f"{reg.host}/secret/bb")
    assert status == 404 and "pull access denied" in body["message"], body
    status, msgs = pull(coved, f"{reg.host}/secret/bb",
                        headers=auth_header("alice", "secret", reg.host))
    assert status == 200 and f"Digest: {digest}" in [m.get("status") for m in msgs], msgs
    coved.request("POST", f"/images/busybox:latest/tag?repo={reg.host}/secret/pushed&tag=v1")
    status, msgs = push(coved, f"{reg.host}/secret/pushed", "v1")
    assert errors_in(msgs) == ["unauthorized: authentication required"], msgs
    status, msgs = push(coved, f"{reg.host}/secret/pushed", "v1",
                        headers=auth_header("alice", "secret", reg.host))
    assert not errors_in(msgs), msgs
    assert skopeo_inspect_digest(reg, "secret/pushed:v1", creds="alice:secret") == \
        msgs[-1]["aux"]["Digest"]
    ok = coved.request("POST", "/auth", body={"username": "alice", "password": "secret",
                                              "serveraddress": reg.host})
    assert ok == (200, {"Status": "Login Succeeded", "IdentityToken": ""})
    status, body = coved.request("POST", "/auth", body={"username": "alice", "password": "nope",
                                                        "serveraddress": reg.host})
    assert status == 401 and "401 Unauthorized" in body["message"]


def test_token_registry(coved: Coved, token_registry: Registry) -> None:
    reg = token_registry
    push_archive_with_skopeo(busybox_archive(tag="pb:latest"), reg, "public/bb",
                             creds="alice:secret")
    push_archive_with_skopeo(busybox_archive(tag="sb:latest"), reg, "private/bb",
                             creds="alice:secret")
    status, msgs = pull(coved, f"{reg.host}/public/bb")  # anonymous token
    assert status == 200 and not errors_in(msgs), msgs
    status, body = pull(coved, f"{reg.host}/private/bb")
    assert status == 404 and "pull access denied" in body["message"], body
    status, msgs = pull(coved, f"{reg.host}/private/bb",
                        headers=auth_header("alice", "secret", reg.host))
    assert status == 200 and not errors_in(msgs), msgs
    coved.request("POST", f"/images/busybox:latest/tag?repo={reg.host}/private/pushed&tag=v1")
    status, msgs = push(coved, f"{reg.host}/private/pushed", "v1")
    assert errors_in(msgs) and "unauthorized" in errors_in(msgs)[0], msgs
    status, msgs = push(coved, f"{reg.host}/private/pushed", "v1",
                        headers=auth_header("alice", "secret", reg.host))
    assert not errors_in(msgs), msgs
    assert skopeo_inspect_digest(reg, "private/pushed:v1", creds="alice:secret") == \
        msgs[-1]["aux"]["Digest"]
    assert coved.request("POST", "/auth", body={
        "username": "alice", "password": "secret", "serveraddress": reg.host})[0] == 200
    status, body = coved.request("POST", "/auth", body={
        "username": "alice", "password": "bad", "serveraddress": reg.host})
    assert status == 401 and "unauthorized" in body["message"]


@pytest.mark.docker_cli
def test_docker_cli_pull_push_login(coved: Coved, htpasswd_registry: Registry, docker: CLI,
                                    tmp_path) -> None:  # type: ignore[no-untyped-def]
    reg = htpasswd_registry
    docker.env = {**docker.env, "DOCKER_CONFIG": str(tmp_path)}
    bad = docker("login", "-u", "alice", "--password-stdin", reg.host, input="wrong\n")
    assert bad.returncode != 0 and "401" in bad.stderr, bad.stderr
    login = docker("login", "-u", "alice", "--password-stdin", reg.host, input="secret\n")
    assert login.returncode == 0 and "Login Succeeded" in login.stdout, login.stderr
    assert docker("tag", "busybox:latest", f"{reg.host}/cli/bb:v2").returncode == 0
    pushed = docker("push", f"{reg.host}/cli/bb:v2")
    assert pushed.returncode == 0, pushed.stderr
    digest = skopeo_inspect_digest(reg, "cli/bb:v2", creds="alice:secret")
    assert f"v2: digest: {digest}" in pushed.stdout
    assert docker("rmi", f"{reg.host}/cli/bb:v2").returncode == 0
    pulled = docker("pull", f"{reg.host}/cli/bb:v2")
    assert pulled.returncode == 0, pulled.stderr
    assert f"Digest: {digest}" in pulled.stdout
    assert f"{reg.host}/cli/bb:v2" in pulled.stdout
    gone = docker("pull", f"{reg.host}/cli/none:v2")
    assert gone.returncode != 0 and "manifest unknown" in gone.stderr
    assert image_ids(coved)  # the daemon still answers
