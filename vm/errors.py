"""What can go wrong with a machine, as kinds the CLI maps to messages and exit codes once.

Lower-layer errors (``OSError``, ``paramiko.SSHException``, QMP's) are translated into
these at the boundary where they happen, keeping the cause (``raise … from exc``).
"""

from __future__ import annotations


class MachineError(Exception):
    """Base of every machine failure."""


class GuestUnreachable(MachineError):
    """The guest does not answer SSH (stopped, crashed, or still booting)."""


class EngineNotAnswering(MachineError):
    """The guest is up, but nothing serves its engine port (the engine is starting, or
    its bridge died): the tunnel itself is fine."""


class HostKeyMismatch(MachineError):
    """The guest answered with a host key other than the one made for it.

    Its message starts with ``MARK``, which is how ``machine start`` recognises it in the
    forwarder's 503 and fails at once instead of waiting out the boot timeout."""

    MARK = "refused the guest's host key"


class NoSuchMachine(MachineError):
    """No machine of that name was initialised."""


class MachineExists(MachineError):
    """``init`` of a name that is taken."""


class MachineBusy(MachineError):
    """Another ``start`` or ``stop`` of the same machine holds its lock."""


class BootFailed(MachineError):
    """QEMU started but the guest never became ready; carries the console's tail."""


class QemuMissing(MachineError):
    """No usable QEMU on this host (missing or too old)."""
