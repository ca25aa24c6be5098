"""The nftables table inside a container's namespace that leads port 53 to the resolver.

As Docker does: the resolver's sockets sit on 127.0.0.11 at ports the kernel picked, and
the container's queries to 127.0.0.11:53 are DNATed to them (the container's own program
may still bind :53); replies leave with source port 53 again. The table lives in the
container's namespace and goes with it.
"""

from __future__ import annotations

from cove.runtime.linux.nftables import Chain, Hook, Rule, Table
from cove.runtime.network.embedded_dns.resolv_conf import RESOLVER_ADDRESS

TABLE = "cove_dns"


def redirect_table(udp_port: int, tcp_port: int, address: str = RESOLVER_ADDRESS) -> Table:
    """The table that turns ``address``:53 into the resolver's two ports and back."""
    ports = (("udp", udp_port), ("tcp", tcp_port))
    return Table(
        TABLE,
        chains=(
            Chain(
                "output",
                tuple(
                    Rule(f"ip daddr {address} {proto} dport 53 dnat to {address}:{port}")
                    for proto, port in ports
                ),
                Hook("nat", "output", -100),
            ),
            Chain(
                "postrouting",
                tuple(
                    Rule(f"ip saddr {address} {proto} sport {port} snat to :53")
                    for proto, port in ports
                ),
                Hook("nat", "postrouting", 100),
            ),
        ),
    )
