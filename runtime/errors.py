"""The error kinds of the engine, defined once.

Every error that crosses a package boundary is one of these kinds (as moby's
``errdefs``). The API layer turns a kind into an HTTP status in exactly one place
(``http_status``); handlers never choose status codes. Messages use dockerd's
wording, because users and scripts read them.

    EngineError
    ├── NotFound          404  no such container / image / exec
    ├── InvalidParameter  400  malformed request, bad flag values, bad names
    ├── Conflict          409  name in use, image in use, container running
    ├── NotModified       304  start of a started container, stop of a stopped one
    ├── Unauthorized      401
    ├── Forbidden         403
    ├── Unavailable       503
    ├── NotImplemented    501
    └── SystemError       500  the kernel or the disk failed us
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every engine error; ``status`` is read only by ``http_status``."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    status = 404


class InvalidParameter(EngineError):
    status = 400


class Conflict(EngineError):
    status = 409


class NotModified(EngineError):
    status = 304


class Unauthorized(EngineError):
    status = 401


class Forbidden(EngineError):
    status = 403


class Unavailable(EngineError):
    status = 503


class NotImplementedByEngine(EngineError):
    status = 501


class SystemError_(EngineError):  # noqa: N801 - avoid shadowing the builtin SystemError
    status = 500


class StartFailed(EngineError):
    """The container's process could not be started (exec failed, bad working dir...).

    dockerd answers these with 400 for "not found"/"permission denied" of the
    command (the CLI then exits 127/126) and 500 otherwise.
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = 400 if exit_code in (126, 127) else 500


def http_status(error: BaseException) -> int:
    """The one mapping from an error to an HTTP status."""
    if isinstance(error, EngineError):
        return error.status
    return 500


def no_such_container(ref: str) -> NotFound:
    return NotFound(f"No such container: {ref}")


def no_such_image(ref: str) -> NotFound:
    return NotFound(f"No such image: {ref}")


def no_such_exec(ref: str) -> NotFound:
    return NotFound(f"No such exec instance: {ref}")
