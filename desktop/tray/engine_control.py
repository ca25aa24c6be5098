"""Starting and stopping the engine: the Cove machine through ``cove.vm`` (the code
``cove machine start``/``stop`` runs), or nothing for the native ``coved``, which runs as
root under whatever the user started it with; the app says so rather than pretend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cove.desktop.client import contexts

if TYPE_CHECKING:
    from cove.vm.machine import QemuMachine

NATIVE_REASON = (
    "The engine on this machine is coved, run as root by its owner "
    "(sudo coved); use the vm context to have Cove start and stop its machine"
)


@dataclass(frozen=True)
class MachineLists:
    """A machine's registry mirrors and shared folders ((path, read-only) pairs)."""

    registry_mirrors: tuple[str, ...] = ()
    shares: tuple[tuple[str, bool], ...] = ()


class EngineControl(Protocol):
    """What the tray's start, stop and restart call; each blocks (run it on a worker)."""

    @property
    def controllable(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why it is not controllable (shown as the menu entries' tool tip)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class MachineControl:
    """The Cove machine of the ``vm`` context."""

    def __init__(self, name: str = contexts.MACHINE, root: Path | None = None) -> None:
        self.name = name
        self.root = root  # the machines' directory (tests); cove.vm's default otherwise

    @property
    def controllable(self) -> bool:
        return True

    @property
    def reason(self) -> str:
        return ""

    def _machine(self) -> QemuMachine:
        """Imported when used: the app starts without loading the VM code."""
        from cove.vm.machine import QemuMachine
        from cove.vm.paths import MachinePaths

        return QemuMachine(MachinePaths.of(self.name, root=self.root))

    def start(self) -> None:
        self._machine().start()

    def stop(self) -> None:
        self._machine().stop()

    def running(self) -> bool:
        """Whether the machine's QEMU runs (booting or up), from cove.vm's state file."""
        machine = self._machine()
        return machine.exists() and machine.booted() is not None

    def console(self) -> str:
        """The end of the machine's console log (the guest kernel's and init's lines)."""
        return self._machine().console_tail()

    def reset(self) -> None:
        """Factory reset: the machine and its disk go, a fresh one with the same settings
        takes its place (not started)."""
        machine = self._machine()
        kept = machine.settings()
        machine.remove()
        from cove.vm.settings import MachineSettings

        fresh = self._machine()
        fresh.init(MachineSettings(cpus=kept.cpus, memory_mib=kept.memory_mib,
                                   disk_gib=kept.disk_gib, registry_mirrors=kept.registry_mirrors,
                                   shares=kept.shares))  # fmt: skip

    def resources(self) -> tuple[int, int, int] | None:
        """(CPUs, memory MiB, disk GiB) the machine starts with; None without a machine."""
        machine = self._machine()
        if not machine.exists():
            return None
        wanted = machine.settings()
        return wanted.cpus, wanted.memory_mib, wanted.disk_gib

    def set_resources(self, cpus: int, memory_mib: int, disk_gib: int) -> bool:
        """Save them for the next start (``cove machine set``'s code); True when the
        machine is running, so they apply only once it restarts."""
        machine = self._machine()
        machine.set(cpus=cpus, memory_mib=memory_mib, disk_gib=disk_gib)
        return machine.booted() is not None


    def lists(self) -> MachineLists | None:
        """The registry mirrors and shared folders the machine starts with; None without
        a machine."""
        machine = self._machine()
        if not machine.exists():
            return None
        wanted = machine.settings()
        return MachineLists(wanted.registry_mirrors,
                            tuple((s.path, s.readonly) for s in wanted.shares))

    def set_lists(self, lists: MachineLists) -> bool:
        """Save them for the next start (``cove machine set``'s code, which validates
        them); True when the machine is running, so they apply only once it restarts."""
        from cove.vm.settings import Share

        machine = self._machine()
        machine.set(registry_mirrors=lists.registry_mirrors,
                    shares=tuple(Share(path, readonly) for path, readonly in lists.shares))
        return machine.booted() is not None


class NativeEngine:
    """The native ``coved``: watched, not driven."""

    @property
    def controllable(self) -> bool:
        return False

    @property
    def reason(self) -> str:
        return NATIVE_REASON

    def start(self) -> None:
        raise PermissionError(NATIVE_REASON)

    def stop(self) -> None:
        raise PermissionError(NATIVE_REASON)


def control_for(host: str) -> EngineControl:
    """The machine's control when ``host`` is the machine's engine socket, else none."""
    if host == contexts.host_of("vm"):
        return MachineControl()
    return NativeEngine()
