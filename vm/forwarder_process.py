"""The forwarder as its own process: ``cove machine start`` runs it detached, ``stop``
ends it with SIGTERM. It serves the machine's engine socket for as long as it runs,
reconnecting to the guest when the tunnel drops; clients get a 503 with a message while
the guest cannot be reached."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from cove.vm import agent_client, keys, ssh
from cove.vm.errors import GuestUnreachable, MachineError
from cove.vm.forwarder import Forwarder
from cove.vm.paths import MachinePaths

log = logging.getLogger("cove.vm.forwarder")


def keep_watch(forwarder: Forwarder, report: Path) -> None:
    """Every ``CLOCK_PERIOD`` (every second until the guest first answers): the guest's
    clock set to the host's when it drifted (after the host slept, the guest's clock is
    behind, and TLS, apt and make fail oddly), and the agent's status report written to
    ``report`` for ``machine status``."""
    # not before a client made the first tunnel: until then the guest may be at its hold
    # point, and no connection should be in QEMU's user network while its state is saved
    while not forwarder.has_tunnel:
        time.sleep(0.2)
    answered = False
    while True:
        try:
            answer = agent_client.sync_clock(forwarder.open_channel)
            if answer.get("adjusted"):
                log.info("guest clock was %.3f s off; set", answer["drift_ns"] / 1e9)
            guest = agent_client.status(forwarder.open_channel)
            _write_report(report, {**{k: v for k, v in guest.items() if k != "ok"},
                                   "reported_at": time.time()})
            answered = True
        except Exception as exc:  # noqa: BLE001 - a booting or rebooting guest fails in many ways; the next round retries
            log.debug("guest watch skipped: %s", exc)
        time.sleep(agent_client.CLOCK_PERIOD if answered else 1.0)


def _write_report(path: Path, report: dict[str, object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cove-forwarder")
    parser.add_argument("--machine-root", required=True, type=Path)
    parser.add_argument("--sockets", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root: Path = args.machine_root
    paths = MachinePaths.of(root.name, root=root.parent, sockets=args.sockets)
    state_path = root / "state.json"
    host_key = keys.read_public_line(paths.host_key)

    def connect() -> ssh.SSHTunnel:
        try:  # the port of the current boot: a restart picks a new one
            port = int(json.loads(state_path.read_text())["ssh_port"])
        except (OSError, ValueError, KeyError) as exc:
            raise GuestUnreachable(f"the Cove machine {paths.name!r} is not running") from exc
        return ssh.connect(ssh.Endpoint(port, paths.client_key, host_key))

    forwarder = Forwarder(paths.engine_socket, connect)
    forwarder.listen()
    paths.guest_report.unlink(missing_ok=True)  # a report of an earlier boot
    threading.Thread(target=keep_watch, args=(forwarder, paths.guest_report),
                     daemon=True).start()

    def stop(_signum: int, _frame: object) -> None:
        forwarder.stop()  # the socket goes, the tunnel closes
        os._exit(0)  # a thread blocked in accept() must not keep the process alive

    def power_off() -> None:
        try:
            port = int(json.loads(state_path.read_text())["ssh_port"])
            ssh.power_off(ssh.Endpoint(port, paths.client_key, host_key))
        except (OSError, ValueError, KeyError, MachineError) as exc:
            log.warning("powering the guest off failed: %s", exc)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # `cove machine stop` asks through us: this process holds the keys and paramiko, the
    # CLI imports neither
    signal.signal(signal.SIGUSR1,
                  lambda _s, _f: threading.Thread(target=power_off, daemon=True).start())
    log.info("serving %s", paths.engine_socket)
    forwarder.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
