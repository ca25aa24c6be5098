"""Fixtures of the runtime integration tests; the helpers live in ``shim_harness``."""

from shim_harness import busybox_rootfs, make_container  # noqa: F401
