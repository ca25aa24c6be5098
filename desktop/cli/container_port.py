"""``port``: a container's published ports, as the docker CLI lists them (sorted by
container port, then protocol; ``HOST_IP:PORT`` as Go's JoinHostPort writes it)."""

from __future__ import annotations

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import Namespace


def join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _order(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    return (int(port) if port.isdigit() else 0, proto)


def port(args: Namespace, cli: Cli) -> int:
    ref = args.args[0]
    info = cli.client.inspect_container(ref)
    published: dict[str, list[dict[str, Any]] | None] = (info.get("NetworkSettings") or {}).get(
        "Ports"
    ) or {}
    if len(args.args) > 1:
        from .publish_options import split_proto_port

        proto, number = split_proto_port(args.args[1])
        key = f"{number}/{proto or 'tcp'}"
        bindings = published.get(key)
        if not bindings:
            raise CommandFailed(f"Error: No public port '{key}' published for {ref}")
        for binding in bindings:
            cli.out(join_host_port(binding.get("HostIp") or "", binding.get("HostPort") or ""))
        return 0
    for key in sorted(published, key=_order):
        for binding in published[key] or []:
            cli.out(
                f"{key} -> "
                f"{join_host_port(binding.get('HostIp') or '', binding.get('HostPort') or '')}"
            )
    return 0


COMMANDS = {
    "port": Command(
        "port",
        "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container",
        port,
        min_args=1,
        max_args=2,
    ),
}
