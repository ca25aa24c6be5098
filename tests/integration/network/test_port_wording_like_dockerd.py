"""The port bindings dockerd refuses at create are refused by Cove's check with the same
message: the reference dockerd is asked for each (nothing is created, no port is bound)."""

from __future__ import annotations

import pytest

from cove.runtime import errors
from cove.runtime.network.ports import validate
from tests.support.coved import api_request

REFUSED_BY_BOTH = [
    {"abc/tcp": [{"HostPort": "80"}]},
    {"80-90/tcp": [{"HostPort": "80"}]},
    {"70000/tcp": [{"HostPort": "8080"}]},
    {"80/tcp": [{"HostPort": "abc"}]},
    {"80/tcp": [{"HostPort": "70000"}]},
    {"80/tcp": [{"HostPort": "8010-8000"}]},
    {"80/tcp": [{"HostPort": "-1"}]},
]


@pytest.mark.parametrize("bindings", REFUSED_BY_BOTH, ids=lambda b: repr(b))
def test_a_refused_binding_gets_dockerds_message(
    reference_dockerd: dict[str, str], bindings: dict[str, object]
) -> None:
    socket_path = reference_dockerd["DOCKER_HOST"].removeprefix("unix://")
    body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"PortBindings": bindings}}
    status, answer = api_request(socket_path, "POST", "/v1.41/containers/create", body)
    assert status == 400, answer
    with pytest.raises(errors.InvalidParameter) as refused:
        validate({}, {"PortBindings": bindings})
    assert refused.value.message == answer["message"]
