"""The body schema of ``cove.runtime.api.validation``: it agrees with Docker's own swagger
for 1.41 on every field it covers, and it answers as Go's decoder would."""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest
import yaml

from cove.runtime import errors
from cove.runtime.api import validation as v

SWAGGER = "/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml"


@functools.lru_cache(maxsize=1)
def swagger() -> dict[str, Any]:
    if not os.path.exists(SWAGGER):
        pytest.skip(f"Docker's swagger is not installed ({SWAGGER}: apt install "
                    "golang-github-docker-docker-dev)")
    with open(SWAGGER) as f:
        return yaml.safe_load(f)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A swagger schema with its $ref and allOf folded into one set of properties."""
    definitions = swagger()["definitions"]
    if "$ref" in node:
        return _resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
    if "allOf" in node:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in node["allOf"]:
            merged["properties"].update(_resolve(part).get("properties", {}))
        return merged
    return node


_KINDS: dict[str, tuple[type[v.Shape], ...]] = {
    "string": (v.Str, v.Enum), "boolean": (v.Bool,), "integer": (v.Int,),
    "array": (v.List, v.StrSlice), "object": (v.Map, v.Obj),
}


_GO_UNSIGNED = (".IOMaximumIOps", ".IOMaximumBandwidth")
"""uint64 in moby's Go types (what the decoder takes), a plain int64 in the swagger."""


def _agree(ours: v.Shape, theirs: dict[str, Any], where: str) -> None:
    theirs = _resolve(theirs)
    kind = theirs.get("type", "object")
    assert isinstance(ours, _KINDS[kind]), f"{where}: swagger {kind}, ours {ours!r}"
    if kind == "integer" and isinstance(ours, v.Int):
        low, high = ours._bounds()
        if theirs.get("format") == "int64":  # or Go's uint64 where the swagger says int64
            assert (low, high) == (-(2**63), 2**63 - 1) or (low == 0 and (
                theirs.get("minimum") == 0 or where.endswith(_GO_UNSIGNED))), where
        if "minimum" in theirs and ours.low is None:
            assert low >= theirs["minimum"], where
    if kind == "string" and "enum" in theirs and isinstance(ours, v.Enum):
        assert set(theirs["enum"]) <= set(ours.values), where
    if kind == "array" and isinstance(ours, v.List):
        _agree(ours.item, theirs.get("items", {}), where + "[]")
    if kind == "object" and isinstance(ours, v.Map) and isinstance(
            theirs.get("additionalProperties"), dict):
        _agree(ours.value, theirs["additionalProperties"], where + "{}")
    if kind == "object" and isinstance(ours, v.Obj):
        _agree_fields(ours.fields, theirs, where)


def _agree_fields(fields: dict[str, v.Shape] | Any, theirs: dict[str, Any], where: str) -> None:
    properties = _resolve(theirs).get("properties", {})
    missing = set(properties) - set(fields)
    assert not missing, f"{where}: fields Docker has and the schema lacks: {sorted(missing)}"
    for name, prop in properties.items():
        _agree(fields[name], prop, f"{where}.{name}")


def _body_schema(path: str) -> dict[str, Any]:
    operation = swagger()["paths"][path]["post"]
    return next(p["schema"] for p in operation["parameters"] if p.get("in") == "body")


@pytest.mark.parametrize("path, fields", [
    ("/containers/{id}/update", {**v.CONTAINER_UPDATE.fields}),
    ("/containers/{id}/exec", {**v.EXEC_CONFIG.fields}),
    ("/exec/{id}/start", {**v.EXEC_START.fields}),
    ("/volumes/create", {**v.VOLUME_CREATE.fields}),
    ("/commit", {**v.CONFIG.fields}),
])
def test_the_schema_agrees_with_dockers_swagger(path: str, fields: dict[str, v.Shape]) -> None:
    _agree_fields(fields, _body_schema(path), path)


def test_the_create_schema_agrees_with_dockers_swagger() -> None:
    theirs = _body_schema("/containers/create")
    _agree_fields({**v.CONFIG_FIELDS, "HostConfig": v.HOST_CONFIG,
                   "NetworkingConfig": v.NETWORKING_CONFIG}, theirs, "create")


@pytest.mark.parametrize("body, message", [
    ({"Labels": {"a": 1}},
     "json: cannot unmarshal number into Go struct field Config.Labels of type string"),
    ({"HostConfig": {"Memory": 2**64 + 1}},
     "json: cannot unmarshal number 18446744073709551617 into Go struct field "
     "HostConfig.Memory of type int64"),
    ({"StopTimeout": 1.5},
     "json: cannot unmarshal number 1.5 into Go struct field Config.StopTimeout of type int"),
    ({"HostConfig": {"LogConfig": []}},
     "json: cannot unmarshal array into Go struct field HostConfig.LogConfig of type "
     "container.LogConfig"),
    ({"HostConfig": {"Privileged": "yes"}},
     "json: cannot unmarshal string into Go struct field HostConfig.Privileged of type bool"),
    ({"HostConfig": {"BlkioWeight": 5}}, "Range of blkio weight is from 10 to 1000"),
    ({"HostConfig": {"CgroupnsMode": "shared"}}, "invalid cgroup namespace mode: shared"),
])
def test_mismatches_are_invalid_parameters_in_gos_words(body: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(errors.InvalidParameter) as raised:
        v.container_create({"Image": "busybox", **body})
    assert raised.value.message == message


def test_names_fold_as_go_matches_them_and_unknown_keys_go() -> None:
    checked = v.container_create({"image": "busybox", "HOSTCONFIG": {"memory": 7 << 20},
                                  "Image": "busybox:1", "Nonsense": 1})
    assert checked == {"Image": "busybox:1", "HostConfig": {"Memory": 7 << 20}}


def test_lone_surrogates_become_replacement_characters_as_in_go() -> None:
    checked = v.container_create({"Image": "busybox", "Labels": {"\ud800k": "v\udfff"}})
    assert checked["Labels"] == {"\ufffdk": "v\ufffd"}
    checked["Labels"]["\ufffdk"].encode("utf-8")


def test_swappiness_minus_one_means_unset_as_the_docker_cli_sends_it() -> None:
    assert v.container_create({"Image": "b", "HostConfig": {"MemorySwappiness": -1}}) == {
        "Image": "b", "HostConfig": {"MemorySwappiness": -1}}


def test_null_elements_decode_to_zero_values_as_in_go() -> None:
    """``{"Labels": {"a": null}}`` is ``a=""`` for Go's map[string]string, never a stored
    null that a listing client would fail to decode."""
    checked = v.container_create({"Image": "b", "Labels": {"a": None}, "Env": [None],
                                  "HostConfig": {"Ulimits": [None], "Memory": None}})
    assert checked == {"Image": "b", "Labels": {"a": ""}, "Env": [""],
                       "HostConfig": {"Ulimits": [{}], "Memory": None}}
    assert v.BUILD_ARGS.check({"A": None}, "buildargs") == {"A": None}


def test_a_nul_is_refused_where_the_kernel_would_see_it_and_kept_in_labels() -> None:
    with pytest.raises(errors.InvalidParameter, match="Config.Volumes"):
        v.container_create({"Image": "b", "Volumes": {"/a\x00b": {}}})
    with pytest.raises(errors.InvalidParameter, match="Config.Cmd"):
        v.container_create({"Image": "b", "Cmd": ["sh", "-c\x00"]})
    assert v.container_create({"Image": "b", "Labels": {"k\x00": "v\x00"}})["Labels"] == {
        "k\x00": "v\x00"}
