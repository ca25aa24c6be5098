"""Container networking: address pools and IPAM, published ports, and the packet rules of
a bridge. Pure decisions live here; every netlink, nftables and namespace call goes
through ``cove.runtime.linux``.

    pools.py           the default bridge's subnet: ``bip``, ``default-address-pools``,
                       never one that overlaps the host's routes
    ipam.py            addresses inside a subnet, persisted (write, fsync, rename)
    ports.py           ``PortBindings``/``ExposedPorts`` as the Engine API has them,
                       validated with dockerd's words
    port_allocator.py  host ports: held, random from the ephemeral range, in-use errors
    ruleset.py         the nftables table for the bridges: MASQUERADE out, DNAT in
                       (127.0.0.1 too), hairpin
    bridge.py          the bridge driver: the default bridge and user networks' bridges,
                       attach/detach a container (all or nothing), take back live
                       endpoints after a restart, sweep the rest
    records.py         network records (user networks and the predefined ones), on disk
    create_request.py  ``POST /networks/create`` checked with dockerd's words
    filters.py         ``GET /networks`` and prune filters
"""
