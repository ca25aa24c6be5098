"""Docker's embedded DNS for containers on user networks: 127.0.0.11 inside each one.

    resolv_conf.py  the container's resolv.conf (``nameserver 127.0.0.11``, ``ndots:0``)
                    and its upstreams, as dockerd 20.10 writes them
    answers.py      what the resolver answers itself: container names, aliases, PTR
    upstream.py     forwarding the rest; the host's servers, followed as resolv.conf changes
    rules.py        the nft table in the container's namespace that leads :53 to it
    queries.py      one query in, one reply out: local names, else upstream, else SERVFAIL
    server.py       ``EmbeddedDns``: listeners in each namespace, one selector thread
"""

from cove.runtime.network.embedded_dns.resolv_conf import (
    RESOLVER_ADDRESS,
    ContainerDns,
    ResolvConf,
    container_dns,
    parse_resolv_conf,
)
from cove.runtime.network.embedded_dns.server import EmbeddedDns

__all__ = [
    "RESOLVER_ADDRESS",
    "ContainerDns",
    "EmbeddedDns",
    "ResolvConf",
    "container_dns",
    "parse_resolv_conf",
]
