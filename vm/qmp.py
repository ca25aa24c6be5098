"""QMP, QEMU's control protocol, through ``qemu.qmp``: one short connection per command.

The machine's lifecycle needs only a few commands (``query-status``,
``system_powerdown``, ``quit``), each with a deadline, so a synchronous call that opens,
runs and closes is simpler than a client kept alive between CLI invocations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from cove.vm.errors import MachineError

QMPAddress = Path | tuple[str, int]  # a Unix socket, or loopback TCP on Windows


class QMPError(MachineError):
    """QEMU's control socket refused, failed or did not answer in time."""


def execute(address: QMPAddress, command: str, arguments: Mapping[str, object] | None = None,
            timeout: float = 5.0) -> object:
    try:
        return asyncio.run(asyncio.wait_for(_execute(address, command, arguments), timeout))
    except TimeoutError as exc:
        raise QMPError(f"QMP {command}: no answer in {timeout:g}s") from exc
    except (OSError, EOFError) as exc:
        raise QMPError(f"QMP {command}: {exc}") from exc
    except Exception as exc:  # qemu.qmp's own errors have no common public base
        raise QMPError(f"QMP {command}: {exc}") from exc


async def _execute(address: QMPAddress, command: str,
                   arguments: Mapping[str, object] | None) -> object:
    from qemu.qmp import QMPClient

    client = QMPClient("cove")
    await client.connect(str(address) if isinstance(address, Path) else address)
    try:
        return await client.execute(command, arguments)
    finally:
        await client.disconnect()


def run_state(address: QMPAddress) -> str:
    """``running``, ``paused``, ``shutdown``… as QEMU reports it."""
    answer = execute(address, "query-status")
    return str(answer["status"]) if isinstance(answer, dict) else "unknown"
