"""The CLI's error kinds: docker's exit code for each, and how each is shown."""

from __future__ import annotations

import pytest

from cove.desktop.cli import main as cli_main
from cove.desktop.cli.errors import (
    ArgCountError,
    CannotInvoke,
    CLIError,
    CommandFailed,
    CommandNotFound,
    InvalidOption,
    RunFailed,
    StreamError,
    UsageError,
)


@pytest.mark.parametrize(("error", "code"), [
    (CommandFailed("x"), 1),
    (ArgCountError("x"), 1),
    (UsageError("x"), 125),
    (InvalidOption("x"), 125),
    (RunFailed("x", "run"), 125),
    (CannotInvoke("x", "run"), 126),
    (CommandNotFound("x", "run"), 127),
    (StreamError("x", 7), 7),
    (StreamError("x"), 1),
])
def test_each_kind_exits_with_dockers_code(error: CLIError, code: int) -> None:
    assert error.exit_code == code


def test_usage_errors_show_the_commands_usage() -> None:
    assert UsageError("unknown flag: --x").show("stop", "[OPTIONS] CONTAINER") == (
        "unknown flag: --x\n\nUsage:  cove stop [OPTIONS] CONTAINER\n\n"
        "Run 'cove stop --help' for more information\n")
    assert ArgCountError("'cove run' requires at least 1 argument").show("run", "IMAGE") == (
        "cove: 'cove run' requires at least 1 argument\n\nUsage:  cove run IMAGE\n\n"
        "See 'cove run --help' for more information\n")
    assert ArgCountError("'cove rename' requires 2 arguments").show("rename", "OLD NEW") \
        .endswith("\n\nRun 'cove rename --help' for more information\n")


def test_run_failures_read_as_docker_run_reports_them() -> None:
    assert RunFailed("No such image: x", "create").show() == (
        "cove: No such image: x\n\nRun 'cove create --help' for more information\n")
    assert CommandNotFound("Error response from daemon: nope").show() == \
        "Error response from daemon: nope\n"
    assert InvalidOption("invalid log opt 'x'").show() == "cove: invalid log opt 'x'\n"
    assert InvalidOption("invalid argument: x", prefixed=False).show() == "invalid argument: x\n"
    assert CommandFailed().show() == ""


def test_bad_global_flags_and_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--bogus"]) == 125
    assert capsys.readouterr().err == "unknown flag: --bogus\nSee 'cove --help'.\n"
    assert cli_main.main(["-H"]) == 125
    assert capsys.readouterr().err == "flag needs an argument: -H\n"
    assert cli_main.main(["volume", "nope"]) == 1
    assert capsys.readouterr().err == ("cove: unknown command: cove volume nope\n\n"
                                       "Run 'cove volume --help' for more information\n")
