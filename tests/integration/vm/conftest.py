"""The guest image for the VM tests: built once per machine (cached), shared by the session."""

from __future__ import annotations

import shutil

import pytest

from tests.support.guest_vm import GuestImage, build_image


@pytest.fixture(scope="session")
def guest_image() -> GuestImage:
    for tool in ("qemu-system-x86_64", "qemu-img", "mmdebstrap"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup --test installs it)")
    return build_image()
