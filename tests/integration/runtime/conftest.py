"""Fixtures of the runtime integration tests; the helpers live in ``tests.support.shim``."""

from tests.support.shim import busybox_rootfs, make_container  # noqa: F401
