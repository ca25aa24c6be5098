"""``cove machine``: the Linux VM the engine runs in on macOS and Windows (and on Linux on
request), with podman machine's commands, output and exit codes.

Commands import ``cove.vm`` only when they run; none imports paramiko (the forwarder
process holds the SSH connection).
"""

from __future__ import annotations

import json
import sys

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.vm.machine import QemuMachine

    from .command import FlagParser, Namespace

DEFAULT_NAME = "default"


def _machine(args: Namespace) -> QemuMachine:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths

    name = args.args[0] if args.args else DEFAULT_NAME
    return QemuMachine(MachinePaths.of(name))


def _failing(run: Any) -> Any:
    """A machine error is a failed command (exit 125, as podman's), its message as it is."""
    def handler(args: Namespace, cli: Cli) -> int | None:
        from cove.vm.errors import MachineError
        from cove.vm.settings import SettingsError

        try:
            return run(args, cli)
        except (MachineError, SettingsError) as exc:
            raise MachineFailed(f"Error: {exc}") from exc
    return handler


class MachineFailed(CommandFailed):
    """podman machine's failures exit 125."""

    @property
    def exit_code(self) -> int:
        return 125


def _lists(args: Namespace) -> dict[str, Any]:
    """The repeatable flags as settings: each given list replaces the stored one whole (an
    empty value, ``--mount ""``, clears it); a flag not given keeps it (None)."""
    from cove.vm.settings import Share

    mirrors = tuple(m for m in args.registry_mirror if m) if args.registry_mirror else None
    shares = tuple(Share.parse(m) for m in args.mount if m) if args.mount else None
    return {"registry_mirrors": mirrors, "shares": shares}


def init(args: Namespace, cli: Cli) -> int:
    from cove.vm.settings import MachineSettings, default_shares

    machine = _machine(args)
    wanted = MachineSettings(shares=default_shares()).changed(
        cpus=args.cpus, memory_mib=args.memory, disk_gib=args.disk_size, **_lists(args))
    machine.init(wanted)
    cli.out("Machine init complete")
    if args.now:
        return start(args, cli)
    suffix = f" {machine.name}" if machine.name != DEFAULT_NAME else ""
    cli.out(f"To start your machine run:\n\n\tcove machine start{suffix}\n")
    return 0


def start(args: Namespace, cli: Cli) -> int:
    machine = _machine(args)
    cli.out(f'Starting machine "{machine.name}"')
    cli.stdout.flush()
    booted = machine.start()
    if booted.accel == "tcg":
        cli.err(f"WARNING: {booted.accel_reason}")
    cli.out(f"API forwarding listening on: {machine.paths.engine_socket}")
    cli.out(f'Machine "{machine.name}" started successfully')
    return 0


def stop(args: Namespace, cli: Cli) -> int:
    machine = _machine(args)
    machine.settings()  # NoSuchMachine for a name never initialised
    machine.stop()
    cli.out(f'Machine "{machine.name}" stopped successfully')
    return 0


def restart(args: Namespace, cli: Cli) -> int:
    stop(args, cli)
    return start(args, cli)


def status(args: Namespace, cli: Cli) -> int:
    from .units import human_size

    report = _machine(args).status()
    if args.format == "json":
        cli.out(json.dumps(report, indent=4))
        return 0
    lines = [("Name", report["Name"]), ("State", report["State"])]
    if report.get("Problem"):
        lines.append(("Problem", report["Problem"]))
    if report["State"] in ("running", "paused"):
        lines += [("Accelerator", report["AcceleratorReason"]), ("Socket", report["Socket"]),
                  ("Booted", f"from {report['BootedFrom']} in {report['BootSeconds']:.2f}s")]
        if report.get("SavedState"):
            lines.append(("Saved state", report["SavedState"]))
        guest = report.get("Guest")
        if guest:
            engine = "answering" if guest.get("engine") else "not answering"
            lines += [("Guest", f"{guest.get('os')}, kernel {guest.get('kernel')}"),
                      ("Engine", f"Cove {guest.get('version')}, {engine}")]
    lines += [("CPUs", str(report["CPUs"])), ("Memory", f"{report['MemoryMiB']} MiB"),
              ("Disk", f"{human_size(report['DiskUsedBytes'])} used of "
                       f"{report['DiskGiB']} GiB"),
              ("Mirrors", ", ".join(report["RegistryMirrors"]) or "none")]
    mounted = {s.get("path"): s for s in (report.get("Guest") or {}).get("shares") or []
               if isinstance(s, dict)}
    for share in report["SharedFolders"] or ["none"]:
        seen = mounted.get(share.removesuffix(":ro"))
        note = "" if seen is None else " (mounted)" if seen.get("mounted") else \
            f" ({seen.get('note', 'not mounted')})"
        lines.append(("Shared", share + note))
    for key, value in (report.get("PendingRestart") or {}).items():
        if isinstance(value, list):
            value = ", ".join(value) or "none"
        lines.append(("Pending", f"{key} {value} at the next start"))
    for key, value in lines:
        cli.out(f"{key + ':':<13}{value}")
    return 0


def ls(args: Namespace, cli: Cli) -> int:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths, data_dir

    root = data_dir() / "machines"
    names = sorted(p.name for p in root.iterdir() if (p / "machine.json").exists()) \
        if root.is_dir() else []
    rows = []
    for name in names:
        machine = QemuMachine(MachinePaths.of(name))
        report = machine.status()
        running = report["State"] == "running"
        rows.append({"Name": name + ("*" if name == DEFAULT_NAME else ""),
                     "VMType": "qemu", "Running": running,
                     "CPUs": report["CPUs"], "Memory": f"{report['MemoryMiB']}MiB",
                     "DiskSize": f"{report['DiskGiB']}GiB",
                     "LastUp": "Currently running" if running else "Stopped"})
    if args.format == "json":
        cli.out(json.dumps(rows, indent=4))
        return 0
    if args.quiet:
        for row in rows:
            cli.out(str(row["Name"]).rstrip("*"))
        return 0
    template = "{:<14}{:<9}{:<20}{:<6}{:<10}{}"
    cli.out(template.format("NAME", "VM TYPE", "LAST UP", "CPUS", "MEMORY", "DISK SIZE"))
    for row in rows:
        cli.out(template.format(row["Name"], row["VMType"], row["LastUp"], row["CPUs"],
                                row["Memory"], row["DiskSize"]))
    return 0


def inspect(args: Namespace, cli: Cli) -> int:
    found: list[dict[str, Any]] = []
    for name in args.args or [DEFAULT_NAME]:
        from cove.vm.machine import QemuMachine
        from cove.vm.paths import MachinePaths

        machine = QemuMachine(MachinePaths.of(name))
        report = machine.status()
        wanted = machine.settings()
        found.append({
            "ConfigDir": {"Path": str(machine.paths.root)},
            "ConnectionInfo": {"DockerSocket": {"Path": str(machine.paths.engine_socket)}},
            "Name": name,
            "Resources": {"CPUs": wanted.cpus, "DiskSize": wanted.disk_gib,
                          "Memory": wanted.memory_mib},
            "Mounts": [{"Source": s.path, "Target": s.path, "ReadOnly": s.readonly}
                       for s in wanted.shares],
            "RegistryMirrors": list(wanted.registry_mirrors),
            "SSHConfig": {"IdentityPath": str(machine.paths.client_key),
                          "Port": report.get("SSHPort", 0), "RemoteUsername": "root"},
            "State": report["State"],
            "Accelerator": report.get("Accelerator", ""),
        })
    cli.out(json.dumps(found, indent=4))
    return 0


def set_(args: Namespace, cli: Cli) -> int:
    machine = _machine(args)
    before = machine.settings()
    after = machine.set(cpus=args.cpus, memory_mib=args.memory, disk_gib=args.disk_size,
                        **_lists(args))
    if machine.booted() is not None and (
            before.cpus, before.memory_mib, before.registry_mirrors, before.shares) != (
            after.cpus, after.memory_mib, after.registry_mirrors, after.shares):
        cli.err(f"the new settings apply at the next start of {machine.name!r} "
                "(cove machine restart)")
    return 0


def rm(args: Namespace, cli: Cli) -> int:
    machine = _machine(args)
    machine.settings()
    if not args.force:
        cli.out("The following files will be deleted:\n")
        cli.out(str(machine.paths.root))
        cli.out(str(machine.paths.sockets))
        cli.stdout.write("Are you sure you want to continue? [y/N] ")
        cli.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    machine.remove()
    cli.out(f'Machine "{machine.name}" removed')
    return 0


def logs(args: Namespace, cli: Cli) -> int:
    """The guest's console (boot stages, the init's messages)."""
    machine = _machine(args)
    machine.settings()
    try:
        cli.stdout.write(machine.paths.console_log.read_text(errors="replace"))
    except FileNotFoundError:
        pass
    return 0


def ssh(args: Namespace, cli: Cli) -> int:
    """A shell (or one command) in the guest, through the system's ssh with the pinned
    host key: no first-use prompt, and no other key accepted."""
    import os
    import shutil
    import tempfile

    from cove.vm import keys
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths

    words = list(args.args)
    name = DEFAULT_NAME  # a first word naming a machine is its name, else the command's
    if words and MachinePaths.of(words[0]).settings.exists():
        name = words.pop(0)
    machine = QemuMachine(MachinePaths.of(name))
    machine.settings()
    booted = machine.booted()
    if booted is None:
        raise MachineFailed(f"Error: vm {machine.name!r} is not running")
    client = shutil.which("ssh")
    if client is None:
        raise MachineFailed("Error: no ssh client found on this host")
    host_key = keys.read_public_line(machine.paths.host_key).split()
    known = tempfile.NamedTemporaryFile("w", prefix="cove-known-", suffix=".hosts",
                                        delete=False)
    with known:
        known.write(f"[127.0.0.1]:{booted.ssh_port} {host_key[0]} {host_key[1]}\n")
    argv = [client, "-i", str(machine.paths.client_key), "-p", str(booted.ssh_port),
            "-o", f"UserKnownHostsFile={known.name}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "root@127.0.0.1", *words]
    import subprocess

    try:
        return subprocess.call(argv)
    finally:
        os.unlink(known.name)


def _size_flags(parser: FlagParser, defaults: bool) -> None:
    from cove.vm.settings import DEFAULT_CPUS, DEFAULT_DISK_GIB, DEFAULT_MEMORY_MIB

    parser.add_argument("--cpus", type=int, default=None, value_type="uint",
                        help=f"Number of CPUs (default {DEFAULT_CPUS})" if defaults else
                        "Number of CPUs")
    parser.add_argument("-m", "--memory", type=int, default=None, value_type="uint",
                        help=f"Memory in MiB (default {DEFAULT_MEMORY_MIB})" if defaults else
                        "Memory in MiB")
    parser.add_argument("--disk-size", type=int, default=None, value_type="uint",
                        help=f"Disk size in GiB (default {DEFAULT_DISK_GIB})" if defaults else
                        "Disk size in GiB (it can only grow)")


def _list_flags(parser: FlagParser, init: bool) -> None:
    """Lima's and colima's ``--mount PATH[:w]`` (the folder keeps its host path in the
    guest, which is what bind mounts through the machine need; podman's ``-v SRC:DST``
    would allow a DST that ``docker run -v`` on the host could not use), writable unless
    ``:ro``, as Docker Desktop's file sharing is."""
    home = " (default: your home folder)" if init else ""
    parser.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                        help="Registry mirror for Docker Hub (http:// or https://); "
                             "repeat for more; the given list replaces the stored one, "
                             'and --registry-mirror "" clears it')
    parser.add_argument("--mount", action="append", default=[], value_type="list",
                        help="Host folder shared into the machine at the same path, so "
                             f"that docker run -v PATH:... works{home}; repeat for more; "
                             'the given list replaces the stored one, and --mount "" '
                             "shares none (not on Windows: its QEMU has no virtio-9p)")


def _init_flags(parser: FlagParser) -> None:
    _size_flags(parser, True)
    _list_flags(parser, True)
    parser.add_argument("--now", action="store_true", help="Start the machine now")


def _set_flags(parser: FlagParser) -> None:
    _size_flags(parser, False)
    _list_flags(parser, False)


def _format_flag(parser: FlagParser) -> None:
    parser.add_argument("--format", default=None, help='Format output ("json")')


def _ls_flags(parser: FlagParser) -> None:
    _format_flag(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="Show only machine names")


def _rm_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt")


def _command(name: str, usage: str, summary: str, handler: Any,
             configure: Any = None, max_args: int | None = 1, **kw: Any) -> Command:
    return Command(f"machine {name}", usage, summary, _failing(handler), configure,
                   max_args=max_args, **kw)


COMMANDS = {
    "machine init": _command("init", "[OPTIONS] [NAME]", "Initialize a virtual machine", init,
                             _init_flags),
    "machine start": _command("start", "[NAME]", "Start an existing machine", start),
    "machine stop": _command("stop", "[NAME]", "Stop an existing machine", stop),
    "machine restart": _command("restart", "[NAME]", "Restart an existing machine", restart),
    "machine status": _command("status", "[OPTIONS] [NAME]",
                               "Show a machine's state, accelerator, resources and socket",
                               status, _format_flag),
    "machine ls": _command("ls", "[OPTIONS]", "List machines", ls, _ls_flags, max_args=0,
                           aliases=["list"]),
    "machine inspect": _command("inspect", "[NAME...]", "Inspect an existing machine",
                                inspect, max_args=None),
    "machine set": _command("set", "[OPTIONS] [NAME]",
                            "Set a virtual machine setting (applied at the next start)", set_,
                            _set_flags),
    "machine rm": _command("rm", "[OPTIONS] [NAME]", "Remove an existing machine", rm,
                           _rm_flags, aliases=["remove"]),
    "machine logs": _command("logs", "[NAME]", "Show the machine's console log", logs),
    "machine ssh": _command("ssh", "[NAME] [COMMAND [ARG...]]", "SSH into an existing machine",
                            ssh, max_args=None, interspersed=False),
}
