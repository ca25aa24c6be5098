"""``docker ps`` filters and its COMMAND column, the same on coved and on dockerd."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.clis import CLI


@pytest.fixture(params=["coved", "dockerd"])
def engine(request, docker: CLI) -> CLI:
    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


@pytest.fixture
def target(engine: CLI, tmp_path) -> Iterator[tuple[CLI, str, str]]:
    """A running container that exposes 8080 and binds ``tmp_path`` at /hostt."""
    name = f"cove-ps-{uuid.uuid4().hex[:10]}"
    made = engine("run", "-d", "--name", name, "--expose", "8080", "-v", f"{tmp_path}:/hostt",
                  "busybox", "sleep", "60")
    assert made.returncode == 0, made.stderr
    try:
        yield engine, name, str(tmp_path)
    finally:
        engine("rm", "-f", name)


def _names(engine: CLI, name: str, *filters: str) -> list[str]:
    args = ["ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}"]
    for selector in filters:
        args += ["--filter", selector]
    result = engine(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_filters_by_exposed_port_volume_health_isolation_and_task(target) -> None:
    engine, name, source = target
    for selector in ("expose=8080", "expose=8080/tcp", "expose=8000-8090", "volume=/hostt",
                     f"volume={source}", "health=none", "isolation=default", "is-task=false"):
        assert _names(engine, name, selector) == [name], selector
    for selector in ("expose=9000", "expose=8080/udp", "volume=/elsewhere", "health=healthy",
                     "is-task=true", "publish=8080"):
        assert _names(engine, name, selector) == [], selector


@pytest.mark.parametrize(("selector", "message"), [
    ("bogus=1", "Invalid filter 'bogus'"),
    ("status=bogus", "Invalid filter 'status=bogus'"),
    ("health=bogus", "Unrecognised filter value for health: bogus"),
    ("is-task=maybe", "Invalid filter 'is-task=[maybe]'"),
    ("expose=abc", 'error while looking up for expose abc: strconv.ParseUint: parsing "abc": '
                   "invalid syntax"),
    ("exited=abc", 'strconv.Atoi: parsing "abc": invalid syntax'),
])
def test_bad_filters_are_refused_in_dockerds_words(engine: CLI, selector: str,
                                                   message: str) -> None:
    result = engine("ps", "--filter", selector)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error response from daemon: {message}"


def test_the_command_column_quotes_arguments_with_spaces(engine: CLI) -> None:
    name = f"cove-cmd-{uuid.uuid4().hex[:10]}"
    engine("run", "--name", name, "busybox", "sh", "-c", "exit 3")
    try:
        shown = engine("ps", "-a", "--filter", f"name={name}", "--format", "{{.Command}}")
        assert shown.stdout.strip() == "\"sh -c 'exit 3'\""
    finally:
        engine("rm", "-f", name)


def test_cove_ps_shows_the_command_as_docker_ps_does(docker: CLI, cove: CLI) -> None:
    name = f"cove-cmd-{uuid.uuid4().hex[:10]}"
    docker("run", "--name", name, "busybox", "sh", "-c", "exit 3")
    try:
        args = ("ps", "-a", "--filter", f"name={name}", "--format", "{{.Command}}")
        assert cove(*args).stdout == docker(*args).stdout == "\"sh -c 'exit 3'\"\n"
        table = ("ps", "-a", "--filter", f"name={name}", "--format", "table {{.Command}}")
        assert cove(*table).stdout == docker(*table).stdout
    finally:
        docker("rm", "-f", name)
