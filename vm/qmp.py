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


def save_state(address: QMPAddress, uri: str, fd: int | None, timeout: float) -> float:
    """Pauses the VM, migrates its state to ``uri`` (``fd`` first handed to QEMU by
    ``getfd`` when the URI names one), and resumes it, in one QMP session; returns the
    seconds the migration took. QMPError when it fails or outlasts ``timeout``."""
    try:
        return asyncio.run(asyncio.wait_for(_save_state(address, uri, fd), timeout))
    except TimeoutError as exc:
        raise QMPError(f"saving the VM's state: not done in {timeout:g}s") from exc
    except QMPError:
        raise
    except Exception as exc:  # OSError, EOFError, qemu.qmp's own
        raise QMPError(f"saving the VM's state: {exc}") from exc


async def _save_state(address: QMPAddress, uri: str, fd: int | None) -> float:
    import time

    from qemu.qmp import QMPClient

    client = QMPClient("cove")
    await client.connect(str(address) if isinstance(address, Path) else address)
    try:
        if fd is not None:
            client.send_fd_scm(fd)
            await client.execute("getfd", {"fdname": uri.partition(":")[2]})
        # a paused guest is saved in one pass: nothing to copy again
        await client.execute("stop")
        try:
            await client.execute("migrate-set-parameters", {"max-bandwidth": 1 << 40})
            started = time.monotonic()
            await client.execute("migrate", {"uri": uri})
            while True:
                answer = await client.execute("query-migrate")
                status = answer.get("status") if isinstance(answer, dict) else None
                if status == "completed":
                    return time.monotonic() - started
                if status in ("failed", "cancelled"):
                    reason = answer.get("error-desc", status) if isinstance(answer, dict) else status
                    raise QMPError(f"saving the VM's state failed: {reason}")
                await asyncio.sleep(0.02)
        finally:
            await client.execute("cont")
    finally:
        await client.disconnect()


def resume_restored(address: QMPAddress, timeout: float) -> None:
    """Runs a VM restored with ``-incoming`` once its state is loaded: it was saved paused,
    and QEMU keeps a restored VM in the state it was saved in."""
    try:
        asyncio.run(asyncio.wait_for(_resume_restored(address), timeout))
    except TimeoutError as exc:
        raise QMPError(f"the saved state was not loaded in {timeout:g}s") from exc
    except QMPError:
        raise
    except Exception as exc:  # OSError, EOFError, qemu.qmp's own
        raise QMPError(f"restoring the saved state: {exc}") from exc


async def _resume_restored(address: QMPAddress) -> None:
    from qemu.qmp import QMPClient

    client = QMPClient("cove")
    await client.connect(str(address) if isinstance(address, Path) else address)
    try:
        while True:
            answer = await client.execute("query-status")
            status = answer.get("status") if isinstance(answer, dict) else None
            if status == "running":
                return
            if status != "inmigrate":
                await client.execute("cont")
                return
            await asyncio.sleep(0.01)
    finally:
        await client.disconnect()
