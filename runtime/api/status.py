"""The one table from an error's kind to its HTTP status (moby's ``httpstatus.FromError``)."""

from __future__ import annotations

from cove.runtime import errors

STATUS_BY_KIND: dict[type[errors.EngineError], int] = {
    errors.NotFound: 404,
    errors.InvalidParameter: 400,
    errors.Conflict: 409,
    errors.NotModified: 304,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.Unavailable: 503,
    errors.NotImplementedByEngine: 501,
    errors.SystemError_: 500,
}


def http_status(error: BaseException) -> int:
    """The status of the error's nearest kind; anything that is no kind is a 500."""
    for kind in type(error).__mro__:
        status = STATUS_BY_KIND.get(kind)
        if status is not None:
            return status
    return 500
