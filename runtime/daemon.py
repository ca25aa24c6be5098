"""``coved``: the engine daemon. Flags as dockerd names them; runs in the foreground.

Ready when the socket answers ``GET /_ping``. SIGTERM/SIGINT stop serving and
leave containers running under their shims, so a restarted daemon adopts them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cove.runtime.store.layout import Layout

DEFAULT_HOST = "unix:///run/cove.sock"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coved", description="Cove container engine daemon")
    parser.add_argument("--data-root", default="/var/lib/cove",
                        help="Root directory of persistent state")
    parser.add_argument("--exec-root", default="/run/cove",
                        help="Root directory for execution state files")
    parser.add_argument("-H", "--host", action="append", default=None,
                        help="Daemon socket to listen on (unix:///path)")
    parser.add_argument("-p", "--pidfile", default=None, help="Path to use for daemon PID file")
    parser.add_argument("-l", "--log-level", default="info",
                        choices=["debug", "info", "warn", "error", "fatal"])
    parser.add_argument("--group", default=None, help="Group for the unix socket")
    parser.add_argument("--config-file", default=None,
                        help="Daemon configuration file (default <data-root>/daemon.json)")
    parser.add_argument("--registry-mirror", action="append", default=[],
                        help="Preferred registry mirror for Docker Hub")
    parser.add_argument("--insecure-registry", action="append", default=[],
                        help="Registry to reach over HTTP or unverified TLS")
    parser.add_argument("--registry-timeout", type=float, default=None,
                        help="Seconds a registry may stay silent before a pull or push fails")
    parser.add_argument("-b", "--bridge", default=None,
                        help="Attach containers to a network bridge ('none': no default "
                             "bridge, containers get loopback only)")
    parser.add_argument("--bip", default=None,
                        help="Specify network bridge IP (an address with its prefix)")
    parser.add_argument("--default-address-pool", action="append", default=[],
                        help="Default address pools for the default bridge "
                             "(base=CIDR,size=PREFIX)")
    parser.add_argument("--check", action="store_true",
                        help="Check the data root (no daemon may be using it), remove what "
                             "interrupted work left, report inconsistencies, and exit")
    parser.add_argument("--hold-fd", type=int, default=None, metavar="FD",
                        help="A connected socket: load the engine, send one byte on it, and "
                             "wait for one byte back before opening the data root")
    parser.add_argument("-v", "--version", action="store_true", help="Print version and exit")
    return parser.parse_args(argv)


def socket_path(host: str) -> str:
    url = urlsplit(host)
    if url.scheme != "unix":
        raise SystemExit(f"coved: only unix:// sockets are supported, not {host!r}")
    return url.path


def _lock_data_root(lock_path: os.PathLike[str]) -> int | None:
    """Hold an exclusive lock on the data root for the daemon's life (two daemons on one
    store would adopt the same containers); None when another daemon has it."""
    from cove.runtime.store import locks

    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    return locks.hold_if_free(lock_path)


def _check(layout: Layout) -> int:
    """``--check``: print each finding and a summary; 1 when a problem is left."""
    from cove.runtime.engine.check import check

    report = check(layout)
    for finding in report.findings:
        print(finding.line())
    print(f"coved --check {layout.data_root}: {report.summary()}")
    return 1 if report.unrepaired else 0


def _hold(fd: int) -> list[str]:
    """``--hold-fd``: everything the daemon needs is imported before it says so and waits.

    A VM's init starts coved this way before the data disk is mounted, so the imports
    (seconds under emulation) overlap the rest of the boot, and a saved VM state can hold
    a loaded engine that has not touched its data root yet. Whatever was drawn from
    ``random`` before the wait is drawn again after a restore, so it is reseeded after.
    The bridge's netlink library (pyroute2, seconds under emulation) is not among them:
    the bridge is set up in the background once the engine serves, and loading it here
    made a VM's first boot 1.4 s longer while its later starts gained nothing measurable.

    The release may carry more flags (a JSON list after the ``G``, up to the end of the
    stream): what the host says at the go, such as the Cove machine's registry mirrors,
    which a saved state cannot have known. They are returned, to be parsed with the rest.
    """
    import json
    import random
    import socket

    import cove.runtime.api.routes
    import cove.runtime.api.server
    import cove.runtime.engine.engine
    import cove.runtime.images.hello
    import cove.runtime.registry.config
    import cove.runtime.store.layout  # noqa: F401

    release = b""
    with socket.socket(fileno=fd) as peer:
        peer.sendall(b"L")
        while chunk := peer.recv(65536):  # a G (and flags), or the end of the stream
            release += chunk
    random.seed()
    try:
        extra = json.loads(release[1:]) if len(release) > 1 else []
    except ValueError:
        extra = []
    return [str(flag) for flag in extra] if isinstance(extra, list) else []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hold_fd is not None:
        extra = _hold(args.hold_fd)
        if extra:
            args = parse_args([*(sys.argv[1:] if argv is None else argv), *extra])
    if args.version:
        from cove.common.version import VERSION

        print(f"Cove engine (coved) version {VERSION}")
        return 0
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(args.log_level, args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    log = logging.getLogger("coved")
    if os.geteuid() != 0:
        print("coved: the engine must run as root (it creates namespaces and cgroups)",
              file=sys.stderr)
        return 1

    from cove.runtime.store.layout import Layout

    layout = Layout(args.data_root, args.exec_root)
    lock = _lock_data_root(layout.daemon_lock)
    if lock is None:
        print(f"coved: another daemon is already using {args.data_root}", file=sys.stderr)
        return 1
    if args.check:
        return _check(layout)

    from cove.runtime.api.backend import Backends
    from cove.runtime.api.routes import make_router
    from cove.runtime.api.server import APIServer
    from cove.runtime.engine.engine import Engine
    from cove.runtime.engine.network_config import load_config
    from cove.runtime.errors import EngineError
    from cove.runtime.registry import config as registry_config

    try:
        network = load_config(args.data_root, args.config_file, args.bridge, args.bip,
                              args.default_address_pool)
    except EngineError as exc:
        print(f"coved: {exc.message}", file=sys.stderr)
        return 1
    engine = Engine(args.data_root, args.exec_root, registry_config.load(
        args.data_root, args.config_file, args.registry_mirror, args.insecure_registry,
        args.registry_timeout), network)
    from cove.runtime.images.hello import build_hello_world_archive

    try:
        engine.start(seed_images={"hello-world:latest": build_hello_world_archive})
    except EngineError as exc:  # an engine that cannot start says why, as dockerd does
        print(f"coved: {exc.message}", file=sys.stderr)
        return 1
    router = make_router(Backends(
        containers=engine.containers, container_updates=engine.container_updates,
        monitor=engine.monitor, execs=engine.execs, container_files=engine.container_files,
        images=engine.images, builds=engine.builds, volumes=engine.volumes,
        system=engine.system, networks=engine.networks))

    path = socket_path((args.host or [DEFAULT_HOST])[0])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = APIServer(path, router)
    os.chmod(path, 0o660)
    if args.group:
        import grp

        try:
            os.chown(path, 0, grp.getgrnam(args.group).gr_gid)
        except KeyError:
            log.warning("group %s not found; socket left owned by root", args.group)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")

    def shutdown(signum: int, _frame: object) -> None:
        log.info("received signal %d, shutting down (containers keep running)", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("API listening on %s", path)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        engine.stop()
        for file in (path, args.pidfile):
            if file:
                try:
                    os.unlink(file)
                except FileNotFoundError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
