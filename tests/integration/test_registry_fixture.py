"""The registry fixture itself: each auth mode starts, skopeo pushes and reads, auth is enforced.

Later tests trust this fixture to tell right from wrong, so it is checked against the
real registry's behaviour here, with skopeo as the client.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.images import busybox_archive
from tests.support.registry import (
    OCI_INDEX,
    Registry,
    grant,
    libtrust_key_id,
    multiarch_layout,
    push_archive_with_skopeo,
    push_multiarch_index,
    skopeo,
    skopeo_inspect_digest,
    skopeo_inspect_raw,
)

CREDS = "alice:secret"


@pytest.fixture(params=[None, "htpasswd", "token"], ids=["anonymous", "htpasswd", "token"])
def registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    with Registry(auth=request.param) as reg:
        yield reg


def _creds(registry: Registry) -> str | None:
    return None if registry.auth is None else CREDS


def test_push_then_inspect_agrees_on_digest(registry: Registry) -> None:
    digest = push_archive_with_skopeo(busybox_archive(), registry, "public/bb:v1",
                                      _creds(registry))
    assert digest.startswith("sha256:") and len(digest) == 71
    assert skopeo_inspect_digest(registry, "public/bb:v1", _creds(registry)) == digest
    manifest = json.loads(skopeo_inspect_raw(registry, "public/bb:v1", _creds(registry)))
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert len(manifest["layers"]) == 1


def test_multiarch_index_is_pushed_as_built(registry: Registry) -> None:
    _, expected = multiarch_layout((("linux", "amd64"), ("linux", "arm64")))
    digest = push_multiarch_index(registry, "multi:latest", creds=_creds(registry))
    assert digest == expected
    index = json.loads(skopeo_inspect_raw(registry, "multi:latest", _creds(registry)))
    assert index["mediaType"] == OCI_INDEX
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    # each platform manifest is fetchable by digest and has a config of its architecture
    for entry in index["manifests"]:
        ref = f"multi@{entry['digest']}"
        result = skopeo("inspect", "--config", *(["--creds", CREDS] if registry.auth else []),
                        f"docker://{registry.host}/{ref}")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["architecture"] == entry["platform"]["architecture"]


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_wrong_and_missing_credentials_are_rejected(mode: str) -> None:
    with Registry(auth=mode) as reg:
        push_archive_with_skopeo(busybox_archive(), reg, "private/bb:latest", CREDS)
        wrong = skopeo("inspect", "--raw", "--creds", "alice:wrong",
                       f"docker://{reg.host}/private/bb:latest")
        assert wrong.returncode != 0
        assert b"unauthorized" in wrong.stderr or b"denied" in wrong.stderr
        anonymous = skopeo("inspect", "--raw", "--no-creds",
                           f"docker://{reg.host}/private/bb:latest")
        assert anonymous.returncode != 0
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(reg.url + "/v2/", timeout=5)
        raised.value.close()
        assert raised.value.code == 401
        challenge = raised.value.headers["WWW-Authenticate"]
        if mode == "token":
            assert challenge.startswith("Bearer ") and reg.token_url in challenge
        else:
            assert challenge.startswith("Basic ")
        ok = skopeo("inspect", "--raw", "--creds", CREDS, f"docker://{reg.host}/private/bb:latest")
        assert ok.returncode == 0, ok.stderr


def test_anonymous_token_pulls_public_only() -> None:
    with Registry(auth="token") as reg:
        push_archive_with_skopeo(busybox_archive(), reg, "public/bb:latest", CREDS)
        push_archive_with_skopeo(busybox_archive(), reg, "private/bb:latest", CREDS)
        public = skopeo("inspect", "--raw", "--no-creds", f"docker://{reg.host}/public/bb:latest")
        assert public.returncode == 0, public.stderr
        private = skopeo("inspect", "--raw", "--no-creds",
                         f"docker://{reg.host}/private/bb:latest")
        assert private.returncode != 0
        # anonymous push, even to public/, is refused
        push = skopeo("copy", "--dest-no-creds", f"docker://{reg.host}/public/bb:latest",
                      f"docker://{reg.host}/public/copy:latest")
        assert push.returncode != 0
        # the token server drops what it will not grant instead of failing
        token = reg.token(["repository:private/bb:pull,push"])
        claims = json.loads(base64.urlsafe_b64decode(token["token"].split(".")[1] + "=="))
        assert claims["access"] == [{"type": "repository", "name": "private/bb", "actions": []}]
        with pytest.raises(urllib.error.HTTPError) as raised:
            reg.token(["repository:private/bb:pull"], creds="alice:nope")
        raised.value.close()
        assert raised.value.code == 401


def test_grant_rules() -> None:
    assert grant("alice", ["repository:a/b:pull,push"]) == [
        {"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]
    assert grant(None, ["repository:public/x:pull,push"]) == [
        {"type": "repository", "name": "public/x", "actions": ["pull"]}]
    assert grant(None, ["repository:x:pull"])[0]["actions"] == []
    assert grant("alice", ["registry:catalog:*"])[0]["actions"] == ["*"]


def test_libtrust_key_id_shape() -> None:
    kid = libtrust_key_id(b"any der bytes")
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)


def test_stop_removes_process_and_files() -> None:
    reg = Registry(auth="token").start()
    proc, root = reg.proc, reg.root
    assert proc is not None and proc.poll() is None
    reg.stop()
    assert proc.poll() is not None
    assert not os.path.exists(root)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{reg.port}/v2/", timeout=2)
