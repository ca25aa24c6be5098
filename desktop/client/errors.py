"""Typed errors of the API client, raised at one chokepoint (``APIClient._raise_for_status``).

    ClientError
    ├── DaemonUnreachable      the socket or host could not be reached
    └── APIError(status, message)   the daemon answered with a non-2xx status
        ├── NotModified        304
        ├── InvalidParameter   400
        ├── NotFound           404
        ├── Conflict           409
        ├── NotImplementedByDaemon 501
        └── ServerError        500 and anything else >= 500
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of everything the client raises."""


class DaemonUnreachable(ClientError):
    """The daemon's socket could not be opened; the message follows docker's wording."""


class APIError(ClientError):
    """The daemon answered with an error; ``message`` is its ``{"message": ...}`` text."""

    status: int = 0

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"Error response from daemon: {self.message}"


class NotModified(APIError):
    pass


class InvalidParameter(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class NotImplementedByDaemon(APIError):
    pass


class ServerError(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    304: NotModified,
    400: InvalidParameter,
    404: NotFound,
    409: Conflict,
    501: NotImplementedByDaemon,
}


def error_for_status(status: int, message: str) -> APIError:
    """The one mapping from an HTTP status to an exception class."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(status, message)


def error_message(raw: bytes) -> str:
    """The daemon's ``{"message": ...}`` text from an error body, else the body itself."""
    import json

    message = raw.decode("utf-8", "replace").strip()
    try:
        decoded = json.loads(message)
    except ValueError:
        return message
    if isinstance(decoded, dict) and "message" in decoded:
        return str(decoded["message"])
    return message
