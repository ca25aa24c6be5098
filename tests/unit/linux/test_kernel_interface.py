"""The real kernel and the tests' fake keep the ``Kernel`` protocol's exact signatures."""

from __future__ import annotations

import inspect

import pytest

from cove.runtime.linux.kernel_interface import Kernel
from cove.runtime.linux.syscalls import LibcKernel
from tests.support.kernel import RecordingKernel

METHODS = sorted(name for name, value in vars(Kernel).items()
                 if inspect.isfunction(value) and not name.startswith("_"))


@pytest.mark.parametrize("implementation", [LibcKernel, RecordingKernel])
@pytest.mark.parametrize("name", METHODS)
def test_each_kernel_method_has_the_protocols_signature(implementation, name):
    assert inspect.signature(getattr(implementation, name)) == \
        inspect.signature(getattr(Kernel, name))
    assert getattr(implementation, name) is not getattr(Kernel, name)


def test_the_fake_records_calls_in_order_and_keeps_capabilities():
    kernel = RecordingKernel(capabilities=(1, 3, 0))
    kernel.sethostname("box")
    kernel.capset(1, 1, 0)
    assert [type(call).__name__ for call in kernel.calls] == ["Hostname", "Capset"]
    assert kernel.capget() == (1, 1, 0)
