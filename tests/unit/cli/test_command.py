"""The flag parser (cobra's rules without argparse) and the process entry point."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cove.desktop.cli import container_list, container_run, images
from cove.desktop.cli import main as cli_main
from cove.desktop.cli.command import parse
from cove.desktop.cli.errors import UsageError


def _run_args(argv: list[str]):  # type: ignore[no-untyped-def]
    return parse(container_run.COMMANDS["run"], "run", argv)[0]


def test_bool_flags_take_an_explicit_value_like_pflag() -> None:
    assert _run_args(["--rm=false", "busybox"]).rm is False
    assert _run_args(["--rm=true", "busybox"]).rm is True
    assert _run_args(["--rm", "busybox"]).rm is True
    with pytest.raises(UsageError, match='invalid argument "maybe" for "--rm" flag'):
        _run_args(["--rm=maybe", "busybox"])


def test_int_flag_errors_use_dockers_wording() -> None:
    with pytest.raises(UsageError) as info:
        _run_args(["-c", "x", "busybox"])
    assert str(info.value) == ('invalid argument "x" for "-c, --cpu-shares" flag: '
                               'strconv.ParseInt: parsing "x": invalid syntax')
    assert info.value.exit_code == 125
    assert _run_args(["--cpu-shares=512", "busybox"]).cpu_shares == 512


def test_values_attached_to_short_flags_and_repeated_flags() -> None:
    args = _run_args(["-m64m", "-eA=1", "-e", "B=2", "--env=C=3", "-itd", "busybox", "-x"])
    assert (args.memory, args.env) == ("64m", ["A=1", "B=2", "C=3"])
    assert (args.interactive, args.tty, args.detach) == (True, True, True)
    assert args.args == ["busybox", "-x"]


def test_repeatable_defaults_are_not_shared_between_parses() -> None:
    _run_args(["-e", "A=1", "busybox"])
    assert _run_args(["busybox"]).env == []


def test_missing_value_and_unknown_shorthand() -> None:
    with pytest.raises(UsageError, match="flag needs an argument: --name"):
        _run_args(["--name"])
    with pytest.raises(UsageError, match="unknown shorthand flag: 'Z' in -Z"):
        _run_args(["-Z", "busybox"])


def test_optional_value_flag_and_set_defaults() -> None:
    args = parse(images.COMMANDS["history"], "history", ["--human=false", "busybox"])[0]
    assert args.human == "false"
    assert parse(images.COMMANDS["history"], "history", ["-H", "busybox"])[0].human == "true"
    listed = parse(container_list.COMMANDS["ps"], "ps", ["-n", "3"])[0]
    assert listed.last == 3


def test_help_is_formatted_on_demand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  cove run [OPTIONS] IMAGE [COMMAND] [ARG...]\n")
    assert "  -m, --memory bytes " in out and "      --rm " in out


def _option_columns(text: str) -> dict[str, str]:
    """--name -> the flag column of an Options line (short form, name, value type)."""
    columns = {}
    for line in text.splitlines():
        match = re.match(r"^  (?:-\S, |    )(--[\w-]+)(?: [a-z0-9-]+)?(?=  |$)", line)
        if match:
            columns[match.group(1)] = match.group(0)
    return columns


@pytest.mark.parametrize("command", ["ps", "run", "build", "volume ls", "logs", "stop",
                                     "images", "history", "builder prune", "network create",
                                     "network ls", "network inspect", "network connect",
                                     "network prune", "network disconnect"])
def test_help_lays_out_options_as_docker_does(command: str) -> None:
    import shutil

    docker = shutil.which("docker")
    assert docker, "the docker CLI is needed: apt install docker.io"
    theirs = subprocess.run([docker, *command.split(), "--help"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=30).stdout
    ours = subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", *command.split(),
                           "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=30).stdout
    assert ours.startswith(f"Usage:  cove {command} ")
    assert theirs.split("\n\n")[2:3] == [p.replace("cove", "docker")
                                        for p in ours.split("\n\n")[2:3]] or \
        "Aliases:" not in theirs  # the aliases paragraph, when docker has one
    docker_columns, cove_columns = _option_columns(theirs), _option_columns(ours)
    shared = [name for name in cove_columns if name in docker_columns]
    assert len(shared) >= len(cove_columns) - 1  # cove's flags are docker's
    assert {name: cove_columns[name] for name in shared} == \
        {name: docker_columns[name] for name in shared}
    assert list(cove_columns) == sorted(cove_columns, key=lambda name: name.lstrip("-"))


def test_the_executable_entry_point_exits_with_flushed_output() -> None:
    code = ("import sys; sys.argv = ['cove', 'stop'];"
            "from cove.desktop.cli.main import main; print('before', end=''); main();"
            "print('not reached')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == "before"
    assert "'cove stop' requires at least 1 argument" in result.stderr
