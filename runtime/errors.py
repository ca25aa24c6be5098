"""The error kinds of the engine, defined once.

Every error that crosses a package boundary is one of these kinds (as moby's
``errdefs``). A class names a kind and nothing more: the API layer maps kinds to HTTP
statuses in one table (``cove.runtime.api.status``); handlers never choose status codes.
Messages use dockerd's wording, because users and scripts read them.

    EngineError           anything else: the engine failed
    ├── NotFound          no such container / image / exec
    ├── InvalidParameter  malformed request, bad flag values, bad names
    │   └── CommandNotRunnable  the container's command is missing or not executable
    ├── Conflict          name in use, image in use, container running
    ├── NotModified       start of a started container, stop of a stopped one
    ├── Unauthorized
    ├── Forbidden
    ├── Unavailable
    ├── NotImplementedByEngine
    └── SystemError_      the kernel or the disk failed us
        └── StartFailed   the container's process could not be started
"""

from __future__ import annotations

import errno

# what a full, over-quota or failing disk answers a write with
DISK_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS))


class EngineError(Exception):
    """Base of every engine error; ``message`` is what the client is shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    pass


class InvalidParameter(EngineError):
    pass


class Conflict(EngineError):
    pass


class NotModified(EngineError):
    pass


class Unauthorized(EngineError):
    pass


class Forbidden(EngineError):
    pass


class Unavailable(EngineError):
    pass


class NotImplementedByEngine(EngineError):
    pass


class SystemError_(EngineError):  # noqa: N801 - avoid shadowing the builtin SystemError
    pass


class StartFailed(SystemError_):
    """The container's process could not be started (bad working dir, setup failed...);
    ``exit_code`` is what ``docker run`` exits with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CommandNotRunnable(InvalidParameter, StartFailed):
    """The command was not found (127) or not executable (126): the request's fault, as
    dockerd sees it; the CLI then exits 127/126."""


def start_failed(message: str, exit_code: int) -> StartFailed:
    """The kind of a start failure follows the exit code docker would give it."""
    if exit_code in (126, 127):
        return CommandNotRunnable(message, exit_code)
    return StartFailed(message, exit_code)


def disk_failure(exc: OSError, doing: str) -> SystemError_:
    """A write the disk refused, as dockerd words it (Go's lower-case errno text):
    ``<doing>: write <path>: no space left on device``."""
    reason = (exc.strerror or str(exc)).lower()
    where = f"write {exc.filename}: " if exc.filename else ""
    return SystemError_(f"{doing}: {where}{reason}")


def no_such_container(ref: str) -> NotFound:
    return NotFound(f"No such container: {ref}")


def no_such_image(ref: str) -> NotFound:
    return NotFound(f"No such image: {ref}")


def no_such_exec(ref: str) -> NotFound:
    return NotFound(f"No such exec instance: {ref}")
