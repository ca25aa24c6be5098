"""``version``, ``info`` and ``events``."""

from __future__ import annotations

import os
import sys

from cove.common.version import VERSION

from . import formatter
from .command import Cli, Command, add_format, parse_filters
from .units import bytes_size, parse_since, parse_timestamp

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace


def _client_section() -> list[str]:
    from cove.common.version import build_time

    from .main import BUILD

    return [
        "Client:",
        f" Version:           {VERSION}",
        " API version:       1.41",
        f" Python version:    {sys.version.split()[0]}",
        f" Git commit:        {BUILD}",
        f" Built:             {_ansic(build_time())}",
        f" OS/Arch:           {sys.platform}/{_arch(_machine())}",
        f" Context:           {_context_name()}",
    ]


def _context_name() -> str:
    """The context ``version`` and ``info`` name: a host variable means docker's default."""
    if os.environ.get("COVE_HOST") or os.environ.get("DOCKER_HOST"):
        return "default"
    from ..client.contexts import ContextError, current

    try:
        return current()
    except ContextError:
        return "default"


def _ansic(stamp: float) -> str:
    """A time as docker's ``version`` shows Built (Go's ANSIC layout, local time)."""
    import time

    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(stamp))


def _reformat_date(text: str) -> str:
    """The engine's RFC 3339 BuildTime as docker shows it; anything else as it came."""
    import calendar
    import time

    try:
        parsed = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return text
    return _ansic(calendar.timegm(parsed))


def _machine() -> str:
    """The hardware name; ``platform`` (slow to import) only where ``os.uname`` is missing."""
    try:
        return os.uname().machine
    except AttributeError:
        import platform

        return platform.machine()


def _arch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine.lower(), machine.lower())


def _server_section(server: dict[str, Any]) -> list[str]:
    """docker's layout: the platform's name, the Engine, then every other component with its
    details in key order."""
    name = (server.get("Platform") or {}).get("Name", "")
    lines = [f"Server: {name}" if name else "Server:"]
    components = server.get("Components") or []
    engine = next((c for c in components if c.get("Name") == "Engine"), None)
    details = (engine or {}).get("Details") or {}
    lines += [
        " Engine:",
        f"  Version:          {server.get('Version', '')}",
        f"  API version:      {server.get('ApiVersion', '')} (minimum version {server.get('MinAPIVersion', '')})",
        f"  Go version:       {server.get('GoVersion', '')}" if server.get("GoVersion") else "",
        f"  Git commit:       {server.get('GitCommit', '')}",
        f"  Built:            {_reformat_date(details.get('BuildTime', server.get('BuildTime', '')))}",
        f"  OS/Arch:          {server.get('Os', '')}/{server.get('Arch', '')}",
        f"  Experimental:     {str(details.get('Experimental', server.get('Experimental', False))).lower()}",
    ]
    for component in components:
        if component.get("Name") == "Engine":
            continue
        lines.append(f" {component.get('Name')}:")
        lines.append(f"  Version:          {component.get('Version', '')}")
        for key, value in sorted((component.get("Details") or {}).items()):
            lines.append(f"  {key + ':':<18}{value}")
    return [line for line in lines if line]


def version(args: Namespace, cli: Cli) -> int:
    from ..client.errors import ClientError
    from .errors import CommandFailed

    try:
        server: dict[str, Any] | None = cli.client.version()
    except ClientError as exc:
        server, failure = None, exc
    if args.format:
        data = {"Client": {"Version": _client_section()[1].split()[-1], "ApiVersion": "1.41",
                           "Os": sys.platform, "Arch": _arch(_machine())},
                "Server": server}
        cli.stdout.write(formatter.render(args.format, [data], {}))
    else:
        cli.out("\n".join(_client_section()))
        if server is not None:
            cli.out()
            cli.out("\n".join(_server_section(server)))
    if server is None:
        raise CommandFailed(str(failure))
    return 0


def info(args: Namespace, cli: Cli) -> int:
    data = cli.client.info() or {}
    if args.format:
        cli.stdout.write(formatter.render(args.format, [data], {}))
        return 0
    debug = "true" if os.environ.get("DEBUG") else "false"
    lines = ["Client:", f" Version:    {VERSION}", f" Context:    {_context_name()}",
             f" Debug Mode: {debug}", "",
             "Server:", *_info_lines(data), ""]
    cli.out("\n".join(lines))
    for warning in data.get("Warnings") or []:
        cli.err(warning)
    return 0


def _info_lines(data: dict[str, Any]) -> list[str]:
    """The server part of ``info`` in the docker CLI's layout and order; sections the
    engine has nothing for are left out as docker leaves them out."""
    lines = [f" Containers: {data.get('Containers', 0)}",
             f"  Running: {data.get('ContainersRunning', 0)}",
             f"  Paused: {data.get('ContainersPaused', 0)}",
             f"  Stopped: {data.get('ContainersStopped', 0)}",
             f" Images: {data.get('Images', 0)}",
             f" Server Version: {data.get('ServerVersion', '')}",
             f" Storage Driver: {data.get('Driver', '')}"]
    lines += [f"  {key}: {value}" for key, value in data.get("DriverStatus") or []]
    lines += [f" Logging Driver: {data.get('LoggingDriver', '')}",
              f" Cgroup Driver: {data.get('CgroupDriver', '')}",
              f" Cgroup Version: {data.get('CgroupVersion', '')}"]
    plugins = data.get("Plugins") or {}
    lines += [" Plugins:", f"  Volume: {' '.join(plugins.get('Volume') or [])}",
              f"  Network: {' '.join(plugins.get('Network') or [])}"]
    if plugins.get("Authorization"):
        lines.append(f"  Authorization: {' '.join(plugins['Authorization'])}")
    lines.append(f"  Log: {' '.join(plugins.get('Log') or [])}")
    lines.append(f" Swarm: {(data.get('Swarm') or {}).get('LocalNodeState', '')}")
    if data.get("Runtimes"):
        lines.append(f" Runtimes: {' '.join(data['Runtimes'])}")
        lines.append(f" Default Runtime: {data.get('DefaultRuntime', '')}")
    if data.get("OSType") == "linux":
        lines += [f" Init Binary: {data.get('InitBinary', '')}",
                  f" containerd version: {(data.get('ContainerdCommit') or {}).get('ID', '')}",
                  f" runc version: {(data.get('RuncCommit') or {}).get('ID', '')}",
                  f" init version: {(data.get('InitCommit') or {}).get('ID', '')}"]
    if data.get("SecurityOptions"):
        lines.append(" Security Options:")
        for option in data["SecurityOptions"]:
            fields = dict(part.split("=", 1) for part in option.split(",") if "=" in part)
            lines.append(f"  {fields.pop('name', option)}")
            lines += [f"   {key.title()}: {value}" for key, value in fields.items()]
    lines += [f" Kernel Version: {data.get('KernelVersion', '')}",
              f" Operating System: {data.get('OperatingSystem', '')}",
              f" OSType: {data.get('OSType', '')}",
              f" Architecture: {data.get('Architecture', '')}",
              f" CPUs: {data.get('NCPU', 0)}",
              f" Total Memory: {bytes_size(data.get('MemTotal') or 0)}",
              f" Name: {data.get('Name', '')}",
              f" ID: {data.get('ID', '')}",
              f" Docker Root Dir: {data.get('DockerRootDir', '')}",
              f" Debug Mode: {str(bool(data.get('Debug'))).lower()}"]
    for label, key in (("HTTP Proxy", "HttpProxy"), ("HTTPS Proxy", "HttpsProxy"),
                       ("No Proxy", "NoProxy")):
        if data.get(key):
            lines.append(f" {label}: {data[key]}")
    if data.get("Labels"):
        lines.append(" Labels:")
        lines += [f"  {label}" for label in data["Labels"]]
    lines.append(f" Experimental: {str(bool(data.get('ExperimentalBuild'))).lower()}")
    registry = data.get("RegistryConfig") or {}
    insecure = sorted(name for name, index in (registry.get("IndexConfigs") or {}).items()
                      if not index.get("Secure"))
    insecure += registry.get("InsecureRegistryCIDRs") or []
    if insecure:
        lines.append(" Insecure Registries:")
        lines += [f"  {name}" for name in insecure]
    if registry.get("Mirrors"):
        lines.append(" Registry Mirrors:")
        lines += [f"  {mirror}" for mirror in registry["Mirrors"]]
    lines.append(f" Live Restore Enabled: {str(bool(data.get('LiveRestoreEnabled'))).lower()}")
    return lines


def _event_line(event: dict[str, Any]) -> str:
    """docker's default event line: time, type, action, id, (attributes)."""
    nano = event.get("timeNano")
    stamp = (nano / 1e9) if nano else parse_timestamp(event.get("time")) or 0.0
    import time

    whole = int(stamp)
    frac = int(round((stamp - whole) * 1e9)) if not nano else nano % 1_000_000_000
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(whole)) + f".{frac:09d}"
    offset = time.strftime("%z", time.localtime(whole))
    text += "Z" if offset == "+0000" else offset[:3] + ":" + offset[3:]
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    line = f"{text} {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    if attributes:
        line += " (" + ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes)) + ")"
    return line


def events(args: Namespace, cli: Cli) -> int:
    since = parse_since(args.since) if args.since else None
    until = parse_since(args.until) if args.until else None
    template = None
    if args.format:
        from .template import Template

        source = "{{json .}}" if args.format == "json" else args.format
        template = Template(source.replace("\\t", "\t").replace("\\n", "\n"))
    for event in cli.client.events(since, until, parse_filters(args.filter)):
        cli.out(template.execute(event) if template else _event_line(event))
        cli.stdout.flush()
    return 0


def _format_only(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a custom template")


def _events_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    add_format(parser)
    parser.add_argument("--since", default=None, help="Show all events created since timestamp")
    parser.add_argument("--until", default=None, help="Stream events until this timestamp")


COMMANDS = {
    "version": Command("version", "[OPTIONS]", "Show the Cove version information", version, _format_only, max_args=0),
    "info": Command("info", "[OPTIONS]", "Display system-wide information", info, _format_only, max_args=0),
    "events": Command("events", "[OPTIONS]", "Get real time events from the server", events, _events_flags, max_args=0),
}
