"""Reference parsing and normalisation follow distribution/reference and dockerd's messages."""

from __future__ import annotations

import pytest

from cove.runtime.errors import InvalidParameter
from cove.runtime.images.reference import familiar_match, is_image_id_prefix, parse, path_match

DIGEST = "sha256:" + "ab" * 32

VALID = [
    # ref, domain, path, tag, digest, familiar name, str()
    ("busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox"),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None, "busybox", "busybox:1.36"),
    ("user/app:v1", "docker.io", "user/app", "v1", None, "user/app", "user/app:v1"),
    ("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", None,
     "busybox", "busybox:latest"),
    ("index.docker.io/user/app", "docker.io", "user/app", None, None, "user/app", "user/app"),
    ("docker.io/busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox"),
    ("localhost:5000/x", "localhost:5000", "x", None, None, "localhost:5000/x",
     "localhost:5000/x"),
    ("localhost/x:t", "localhost", "x", "t", None, "localhost/x", "localhost/x:t"),
    ("Registry.Example.com/a/b", "Registry.Example.com", "a/b", None, None,
     "Registry.Example.com/a/b", "Registry.Example.com/a/b"),
    ("UPPER/lower", "UPPER", "lower", None, None, "UPPER/lower", "UPPER/lower"),
    ("[::1]:5000/app", "[::1]:5000", "app", None, None, "[::1]:5000/app", "[::1]:5000/app"),
    ("a__b-c---d/f_g.h", "docker.io", "a__b-c---d/f_g.h", None, None, "a__b-c---d/f_g.h",
     "a__b-c---d/f_g.h"),
    ("a.b/c", "a.b", "c", None, None, "a.b/c", "a.b/c"),
    ("busybox:Tag_1.0-rc", "docker.io", "library/busybox", "Tag_1.0-rc", None, "busybox",
     "busybox:Tag_1.0-rc"),
    (f"busybox@{DIGEST}", "docker.io", "library/busybox", None, DIGEST, "busybox",
     f"busybox@{DIGEST}"),
    (f"ghcr.io/o/r:v2@{DIGEST}", "ghcr.io", "o/r", "v2", DIGEST, "ghcr.io/o/r",
     f"ghcr.io/o/r:v2@{DIGEST}"),
    ("library/busybox/extra", "docker.io", "library/busybox/extra", None, None,
     "library/busybox/extra", "library/busybox/extra"),
]


@pytest.mark.parametrize("ref,domain,path,tag,digest,familiar,text", VALID)
def test_valid_references_normalise_like_docker(ref, domain, path, tag, digest, familiar, text):
    parsed = parse(ref)
    assert (parsed.domain, parsed.path, parsed.tag, parsed.digest) == (domain, path, tag, digest)
    assert parsed.familiar_name == familiar
    assert parsed.name == f"{domain}/{path}"
    assert str(parsed) == text


INVALID = [
    ("", "invalid reference format"),
    ("Busybox", "invalid reference format: repository name must be lowercase"),
    ("user/App:v1", "invalid reference format: repository name must be lowercase"),
    ("busybox:", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("a_-b", "invalid reference format"),
    ("-abc", "invalid reference format"),
    ("abc-", "invalid reference format"),
    ("a/", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("busybox:" + "t" * 129, "invalid reference format"),
    ("busybox:-tag", "invalid reference format"),
    ("busybox@sha256:abc", "invalid reference format"),
    ("busy box", "invalid reference format"),
    ("localhost:port/x", "invalid reference format"),
]


@pytest.mark.parametrize("ref,message", INVALID)
def test_invalid_references_raise_dockers_message(ref, message):
    with pytest.raises(InvalidParameter) as info:
        parse(ref)
    assert str(info.value) == message


def test_full_hex_id_is_not_a_repository_name():
    with pytest.raises(InvalidParameter, match="cannot specify 64-byte hexadecimal strings"):
        parse("a" * 64)


def test_name_longer_than_255_is_refused():
    with pytest.raises(InvalidParameter, match="must not be more than 255 characters"):
        parse("a" * 256)


def test_with_default_tag_adds_latest_only_when_untagged():
    assert str(parse("busybox").with_default_tag()) == "busybox:latest"
    assert parse("busybox:1").with_default_tag().tag == "1"
    assert parse(f"busybox@{DIGEST}").with_default_tag().tag is None
    assert parse("localhost:5000/x").with_default_tag().full == "localhost:5000/x:latest"


def test_references_compare_by_normalised_form():
    assert parse("busybox") == parse("docker.io/library/busybox")
    assert parse("busybox:latest") != parse("busybox")


def test_image_id_prefix_detection():
    image_id = "sha256:" + "0123abcd" * 8
    assert is_image_id_prefix(image_id, "0123")
    assert is_image_id_prefix(image_id, "sha256:0123")
    assert not is_image_id_prefix(image_id, "busybox")
    assert not is_image_id_prefix(image_id, "")


def test_path_match_is_go_style():
    assert path_match("busy*", "busybox")
    assert not path_match("*", "user/app")
    assert path_match("*/*", "user/app")
    assert path_match("busybox:[0-9]*", "busybox:1.36")
    assert not path_match("busybox:[^0-9]*", "busybox:1.36")
    assert familiar_match("busybox", parse("busybox:1.36"))
    assert not familiar_match("busybox:2*", parse("busybox:1.36"))
