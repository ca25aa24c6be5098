"""How a create request is checked and merged with the image config (dockerd's rules)."""

from __future__ import annotations

import pytest

from cove.runtime import errors
from cove.runtime.engine.create_config import (
    merge_image_config,
    normalize_host_config,
    validate,
    validate_restart_policy,
)

IMAGE = {"Cmd": ["sh"], "Entrypoint": None, "Env": ["PATH=/bin", "A=image"],
         "WorkingDir": "/srv", "User": "daemon", "StopSignal": "SIGUSR1",
         "Labels": {"from": "image", "shared": "image"}}


def test_request_overrides_image_defaults():
    merged = merge_image_config({"Image": "x", "Cmd": ["echo", "hi"], "Env": ["A=request", "B=1"],
                                 "Labels": {"shared": "request"}}, IMAGE)
    assert merged["Cmd"] == ["echo", "hi"]
    assert merged["Env"] == ["PATH=/bin", "A=request", "B=1"]
    assert merged["Labels"] == {"from": "image", "shared": "request"}
    assert (merged["WorkingDir"], merged["User"], merged["StopSignal"]) == ("/srv", "daemon", "SIGUSR1")


def test_an_entrypoint_from_the_request_drops_the_image_cmd():
    merged = merge_image_config({"Image": "x", "Entrypoint": ["sh"]}, IMAGE)
    assert (merged["Entrypoint"], merged["Cmd"]) == (["sh"], None)


def test_string_commands_are_split_like_a_shell():
    merged = merge_image_config({"Image": "x", "Cmd": "echo 'a b'"}, IMAGE)
    assert merged["Cmd"] == ["echo", "a b"]


def test_no_command_at_all_is_refused():
    with pytest.raises(errors.InvalidParameter, match="No command specified"):
        merge_image_config({"Image": "x"}, {"Cmd": None})


@pytest.mark.parametrize("body, message", [
    ({"Image": "x", "Tty": "yes"}, "Config.Tty of type bool"),
    ({"Image": "x", "Cmd": 5}, "Config.Cmd"),
    ({"Image": "x", "Env": ["A=1", 2]}, "Config.Env"),
    ({"Image": "x", "HostConfig": {"NanoCpus": -1}}, "Range of CPUs"),
    ({"Image": "x", "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}}},
     "AutoRemove"),
    ({"Image": "x", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}},
     "maximum retry count cannot be used"),
    ({}, "No image specified"),
    ([], "must be an object"),
])
def test_bad_requests_are_refused_with_dockers_words(body, message):
    with pytest.raises(errors.InvalidParameter, match=message):
        validate(body)


@pytest.mark.parametrize("policy, message", [
    ({"Name": "sometimes"}, "invalid restart policy 'sometimes'"),
    ({"Name": "unless-stopped", "MaximumRetryCount": 1},
     "maximum retry count cannot be used with restart policy 'unless-stopped'"),
    ({"Name": "on-failure", "MaximumRetryCount": -1}, "maximum retry count cannot be negative"),
])
def test_restart_policies_are_checked_as_dockerd_does_on_create_and_update(policy, message):
    with pytest.raises(errors.InvalidParameter, match=message):
        validate_restart_policy(policy)


@pytest.mark.parametrize("policy", [{}, {"Name": "no"}, {"Name": "always"},
                                    {"Name": "on-failure", "MaximumRetryCount": 3}])
def test_valid_restart_policies_pass(policy):
    validate_restart_policy(policy)


def test_host_config_defaults_are_filled():
    host = normalize_host_config({"Memory": 1 << 20})
    assert host["Memory"] == 1 << 20
    assert host["RestartPolicy"] == {"Name": "", "MaximumRetryCount": 0}
    assert host["LogConfig"]["Type"] == "json-file"
