"""The CLI's error kinds, and the one table that gives each kind docker's exit code.

A command raises the kind of what went wrong; ``main`` writes the error's ``show()`` text
and exits with its ``exit_code``. No raise site picks a number.

    CLIError                 its message (may be empty) goes to stderr
    ├── CommandFailed        the command could not do its work                      1
    │   └── BadTemplate      an inspect ``--format`` that does not parse            64
    ├── ArgCountError        wrong number of arguments, shown with the usage        1
    ├── UsageError           a flag docker's parser rejects, shown with the usage   125
    ├── InvalidOption        an option value the command refuses: ``cove: ...``     125
    ├── RunFailed            the container could not be created or started          125
    │   ├── CannotInvoke     its command cannot be invoked                          126
    │   └── CommandNotFound  its command was not found                              127
    └── StreamError          an ``errorDetail`` in a progress stream: its own code (1 if none)

A container's own exit status is not an error: ``run``/``start -a`` return it.
"""

from __future__ import annotations


class CLIError(Exception):
    """Base of the kinds; ``str()`` is the message."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def exit_code(self) -> int:
        return exit_code_of(self)

    def show(self, command: str = "", usage: str = "") -> str:
        """The text for stderr; ``command`` and ``usage`` name the command that failed."""
        return f"{self.message}\n" if self.message else ""


class CommandFailed(CLIError):
    """A general failure, e.g. ``rm`` or ``inspect`` of an object that is not there."""


class BadTemplate(CommandFailed):
    """``inspect --format`` with a template that does not parse (docker exits 64)."""


class ArgCountError(CLIError):
    """``'cove run' requires at least 1 argument``."""

    def show(self, command: str = "", usage: str = "") -> str:
        hint = "See" if "at least" in self.message else "Run"
        return (f"cove: {self.message}\n\nUsage:  cove {command} {usage}\n\n"
                f"{hint} 'cove {command} --help' for more information\n")


class UsageError(CLIError):
    """A flag docker's parser would reject: an unknown flag, a value of the wrong type."""

    def show(self, command: str = "", usage: str = "") -> str:
        if not command:  # a global flag: there is no command's usage to show
            return f"{self.message}\n"
        return (f"{self.message}\n\nUsage:  cove {command} {usage}\n\n"
                f"Run 'cove {command} --help' for more information\n")


class InvalidOption(CLIError):
    """An option value the command itself refuses after parsing.

    docker names itself before these (``docker: conflicting options: ...``); ``prefixed``
    is False for the one message cove has always shown bare (``update``'s sizes).
    """

    def __init__(self, message: str, prefixed: bool = True) -> None:
        super().__init__(message)
        self.prefixed = prefixed

    def show(self, command: str = "", usage: str = "") -> str:
        return f"cove: {self.message}\n" if self.prefixed else f"{self.message}\n"


class RunFailed(CLIError):
    """``run``/``create``/``start`` could not get the container going.

    With ``verb`` the error reads as docker's ``run`` reports it (``cove: ...`` and the
    help hint); ``start -a`` shows the bare message.
    """

    def __init__(self, message: str, verb: str | None = None) -> None:
        super().__init__(message)
        self.verb = verb

    def show(self, command: str = "", usage: str = "") -> str:
        if self.verb is None:
            return f"{self.message}\n"
        return f"cove: {self.message}\n\nRun 'cove {self.verb} --help' for more information\n"


class CannotInvoke(RunFailed):
    """The container's command exists but cannot be run (permission denied, a directory)."""


class CommandNotFound(RunFailed):
    """The container's command does not exist."""


class StreamError(CLIError):
    """An ``errorDetail`` in a daemon's progress stream: docker exits with its ``code``."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code or 1


EXIT_CODES: dict[type[CLIError], int] = {
    CLIError: 1,
    CommandFailed: 1,
    BadTemplate: 64,
    ArgCountError: 1,
    UsageError: 125,
    InvalidOption: 125,
    RunFailed: 125,
    CannotInvoke: 126,
    CommandNotFound: 127,
}
"""docker's exit code of each kind; ``StreamError`` carries the daemon's own."""

INTERRUPTED = 130
"""Ctrl-C: the shell's status for a process ended by SIGINT."""


def exit_code_of(error: CLIError) -> int:
    if isinstance(error, StreamError):
        return error.code
    return next(EXIT_CODES[kind] for kind in type(error).__mro__ if kind in EXIT_CODES)
