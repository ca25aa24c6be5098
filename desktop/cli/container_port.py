"""``port``: a container's published ports, as the docker CLI lists them (its lines in
natural order, ``HOST_IP:PORT`` as Go's JoinHostPort writes it)."""

from __future__ import annotations

from functools import cmp_to_key

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import Namespace


def join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def natural_compare(a: str, b: str) -> int:
    """docker's order for ``port``'s lines (``sortorder.NaturalLess``): runs of digits
    compare as numbers, everything else byte by byte."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            i_end, j_end = i, j
            while i_end < len(a) and a[i_end].isdigit():
                i_end += 1
            while j_end < len(b) and b[j_end].isdigit():
                j_end += 1
            x, y = int(a[i:i_end]), int(b[j:j_end])
            if x != y:
                return -1 if x < y else 1
            if i_end - i != j_end - j:  # the same number: fewer leading zeros first
                return -1 if i_end - i < j_end - j else 1
            i, j = i_end, j_end
            continue
        if a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i, j = i + 1, j + 1
    return (len(a) - i) - (len(b) - j)


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
        lines = [join_host_port(b.get("HostIp") or "", b.get("HostPort") or "")
                 for b in bindings]
    else:
        lines = [f"{key} -> {join_host_port(b.get('HostIp') or '', b.get('HostPort') or '')}"
                 for key, bindings in published.items() for b in bindings or []]
    for line in sorted(lines, key=cmp_to_key(natural_compare)):
        cli.out(line)
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
