"""Registry client pieces without a network: auth headers, platforms, endpoints, progress."""

from __future__ import annotations

import base64
import json

import pytest

from cove.runtime.api.registry_auth import decode_registry_auth, decode_registry_config
from cove.runtime.errors import InvalidParameter, NotFound
from cove.runtime.images.reference import parse
from cove.runtime.registry import config as cfg
from cove.runtime.registry import manifests as mf
from cove.runtime.registry import progress as pg
from cove.runtime.registry.auth import AuthConfig, TokenCache, parse_challenges, repository_scope
from cove.runtime.registry.client import endpoints, normalise_server


def test_bearer_challenge_with_quoted_commas() -> None:
    [c] = parse_challenges(['Bearer realm="https://auth.docker.io/token",'
                            'service="registry.docker.io",scope="repository:library/busybox:pull,push"'])
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull,push"}


def test_two_challenges_in_one_header_and_basic() -> None:
    found = parse_challenges(['Basic realm="Registry Realm", Bearer realm="http://t/x"'])
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[0].params["realm"] == "Registry Realm"
    assert found[1].params["realm"] == "http://t/x"
    assert parse_challenges([""]) == []


def test_x_registry_auth_round_trip_and_padding() -> None:
    sent = {"username": "alice", "password": "s3cr=t", "serveraddress": "127.0.0.1:5000"}
    header = base64.urlsafe_b64encode(json.dumps(sent).encode()).decode()
    assert decode_registry_auth(header) == sent
    assert decode_registry_auth(header.rstrip("=")) == sent  # the CLI sends it unpadded
    assert AuthConfig.from_dict(decode_registry_auth(header)) == AuthConfig(
        username="alice", password="s3cr=t", serveraddress="127.0.0.1:5000")
    std = base64.b64encode(json.dumps({"Username": "bob", "Password": "x"}).encode()).decode()
    assert AuthConfig.from_dict(decode_registry_auth(std)).username == "bob"  # any case
    assert AuthConfig.from_dict(decode_registry_auth(None)).empty
    assert AuthConfig.from_dict(decode_registry_auth("e30=")).empty  # "{}"
    with pytest.raises(InvalidParameter):
        decode_registry_auth(base64.urlsafe_b64encode(b"[1]").decode())


def test_x_registry_config_keeps_only_objects() -> None:
    sent = {"127.0.0.1:5000": {"username": "a"}, "bad": "x"}
    header = base64.urlsafe_b64encode(json.dumps(sent).encode()).decode()
    assert decode_registry_config(header) == {"127.0.0.1:5000": {"username": "a"}}
    assert decode_registry_config(None) == {}


def test_scopes_and_token_cache_expiry() -> None:
    assert repository_scope("library/busybox") == "repository:library/busybox:pull"
    assert repository_scope("x/y", push=True) == "repository:x/y:pull,push"
    cache = TokenCache()
    cache.put("r", ("s",), "u", "tok", 300)
    assert cache.get("r", ("s",), "u") == "tok"
    assert cache.get("r", ("s",), "other") is None
    cache.drop("r", ("s",), "u")
    assert cache.get("r", ("s",), "u") is None


def test_platform_selection_from_an_index() -> None:
    index = {"manifests": [
        {"digest": "sha256:" + "a" * 64, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "b" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
        {"digest": "sha256:" + "c" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:" + "d" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:" + "e" * 64, "size": 1, "platform": {"os": "unknown", "architecture": "unknown"}},
    ]}
    pick = lambda text: mf.select_platform(index, mf.parse_platform(text), True).digest[7]  # noqa: E731
    assert pick("linux/amd64") == "a"
    assert pick("linux/arm64") == "d"
    assert pick("arm64") == "d"
    assert pick("linux/arm/v6") == "b"
    assert pick("linux/arm/v7") == "c"
    assert pick("linux/aarch64") == "d"
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x"):
        pick("linux/s390x")
    with pytest.raises(InvalidParameter):
        mf.parse_platform("linux/amd64/v1/x")
    assert mf.parse_platform(None).os == "linux"


def test_reference_to_endpoints_docker_hub_and_mirrors() -> None:
    config = cfg.RegistryConfig(mirrors=["http://127.0.0.1:5001"])
    hub = endpoints(parse("busybox"), config)
    assert [(e.base, e.host, e.path, e.mirror) for e in hub] == [
        ("http://127.0.0.1:5001", "127.0.0.1:5001", "library/busybox", True),
        (None, "registry-1.docker.io", "library/busybox", False)]
    assert [e.host for e in endpoints(parse("busybox"), config, push=True)] == \
        ["registry-1.docker.io"]  # never push to a mirror
    [local] = endpoints(parse("localhost:5000/ns/img@sha256:" + "f" * 64), config)
    assert (local.host, local.path) == ("localhost:5000", "ns/img")
    assert normalise_server("https://index.docker.io/v1/") == "registry-1.docker.io"
    assert normalise_server("") == "registry-1.docker.io"
    assert normalise_server("http://127.0.0.1:5000/") == "127.0.0.1:5000"


def test_insecure_defaults_and_daemon_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "daemon.json").write_text(json.dumps({
        "registry-mirrors": ["http://127.0.0.1:6000/"], "insecure-registries": ["10.0.0.0/8",
                                                                                "myreg:5000"],
        "registry-timeout": 3}))
    config = cfg.load(tmp_path, mirrors=["https://mirror.example"])
    assert config.mirrors == ["http://127.0.0.1:6000", "https://mirror.example"]
    assert config.read_timeout == 3.0
    assert config.is_insecure("127.0.0.1:5000") and config.is_insecure("localhost:5000")
    assert config.is_insecure("10.1.2.3:443") and config.is_insecure("myreg:5000")
    assert not config.is_insecure("registry-1.docker.io")
    assert not config.is_insecure("192.168.1.1:5000")
    with pytest.raises(InvalidParameter):
        cfg.load(None, mirrors=["mirror.example"])


def test_progress_message_shapes() -> None:
    assert pg.layer("Pulling fs layer", "abc") == \
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"}
    msg = pg.bar("Downloading", "abc", 1_200_000, 2_300_000)
    assert msg["progressDetail"] == {"current": 1_200_000, "total": 2_300_000}
    assert msg["progress"] == "[" + "=" * 26 + ">" + " " * 24 + "]    1.2MB/2.3MB"
    assert pg.progress_bar(0, 0) == ""
    assert pg.human_size(527) == "527B" and pg.human_size(1087949) == "1.088MB"
    assert pg.push_result("latest", "sha256:x", 527) == [
        {"status": "latest: digest: sha256:x size: 527"},
        {"progressDetail": {}, "aux": {"Tag": "latest", "Digest": "sha256:x", "Size": 527}}]
    assert pg.short_id("sha256:" + "0123456789abcdef" * 4) == "0123456789ab"


def test_schema2_manifest_is_dockerd_shaped() -> None:
    config = mf.Descriptor(mf.MEDIA_DOCKER_CONFIG, "sha256:" + "1" * 64, 10)
    layer = mf.Descriptor(mf.MEDIA_DOCKER_LAYER, "sha256:" + "2" * 64, 20)
    data = mf.schema2_manifest(config, [layer])
    assert data.startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": ')
    body = json.loads(data)
    assert body["layers"] == [layer.as_dict()] and body["config"] == config.as_dict()
    assert mf.media_type_of(body, "") == mf.MEDIA_DOCKER_MANIFEST
    with pytest.raises(InvalidParameter, match="schema 1"):
        mf.media_type_of({"schemaVersion": 1}, "")
