"""The CLI's errors; ``main`` turns each into docker's message and exit code in one place.

    CLIError
    ├── UsageError     bad or unknown flag          -> usage + exit 125
    ├── ArgCountError  wrong number of arguments    -> usage + exit 1
    └── StatusError    anything with its own status (run's 125/126/127, the container's code)
"""

from __future__ import annotations


class CLIError(Exception):
    exit_code = 1


class UsageError(CLIError):
    """A flag docker would reject: printed with the command's usage, exit 125."""

    exit_code = 125


class ArgCountError(CLIError):
    """``'cove run' requires at least 1 argument``: docker exits 1 for these."""

    exit_code = 1


class StatusError(CLIError):
    """Exit with ``status``; ``message`` (may be empty) goes to stderr first."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.exit_code = status
        self.message = message
