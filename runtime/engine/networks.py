"""The ``/networks`` service: list, inspect, create, remove, prune, connect, disconnect.

Records and bridges are the network subsystem's (``ContainerNetworks`` holds them); this
service resolves references, checks what dockerd checks (duplicates, predefined
networks, active endpoints, containers' modes) and publishes the events dockerd sends:
``network create``/``destroy`` with the network's name and type, ``connect``/``disconnect``
with the container too.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import now_rfc3339
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.containers import ContainerService
from cove.runtime.engine.events import EventBus
from cove.runtime.network import create_request, filters
from cove.runtime.network.create_request import CreateRequest
from cove.runtime.network.records import IpamPool, NetworkRecord, new_id

Filters = dict[str, list[str]]
JSONList = list[dict[str, Any]]
"""(aliases: inside a class with a ``list`` method, ``list[...]`` would name the method)"""


_DEFAULT_BRIDGE_OPTIONS = {
    "com.docker.network.bridge.default_bridge": "true",
    "com.docker.network.bridge.enable_icc": "true",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
    "com.docker.network.driver.mtu": "1500",
}


class NetworkService:
    def __init__(self, containers: ContainerService, network: ContainerNetworks,
                 events: EventBus) -> None:
        self.containers, self.network, self.events = containers, network, events
        self._lock = threading.Lock()  # one network create or remove at a time

    def _inspected(self, record: NetworkRecord) -> dict[str, Any]:
        """The record as dockerd shows it; the default bridge with its live subnet and
        options."""
        bridge = self.network.bridge
        if record.predefined and record.name == "bridge" and bridge is not None:
            gateway = bridge.gateway
            record = replace(record, pools=(IpamPool(gateway.network, gateway.ip),),
                             options={**_DEFAULT_BRIDGE_OPTIONS,
                                      "com.docker.network.bridge.name": bridge.name})
        return record.inspect()

    def _create(self, request: CreateRequest) -> NetworkRecord:
        """A user network: its record, then its bridge and rules (the record goes again
        if they fail). Without ``--subnet``, the first subnet of the default address pools
        that no route of the host and no other network covers."""
        from cove.runtime.network.bridge import segment_of
        from cove.runtime.network.pools import DEFAULT_POOLS, choose_subnet

        driver = self.network.driver()
        store = self.network.store
        with self._lock:
            if request.pool.subnet is not None:
                taken = list(driver.ipam.subnets().values())
                if create_request.overlapping(request.pool.subnet, taken):
                    raise errors.Forbidden(
                        "Pool overlaps with other one on this address space")
                subnet = request.pool.subnet
            else:
                subnet = choose_subnet(self.network.config.pools or DEFAULT_POOLS,
                                       driver.routed_networks())
            record = NetworkRecord(
                id=new_id(), name=request.name, driver="bridge", created=now_rfc3339(),
                internal=request.internal, attachable=request.attachable,
                labels=dict(request.labels), options=dict(request.options),
                ipam_options=request.ipam_options,
                pools=create_request.pools(request.pool, subnet),
                user_subnet=request.pool.subnet is not None)
            if any(r.link == record.link for r in store.all() if r.bridged):
                raise errors.Conflict(f"bridge name {record.link} is used by another network")
            store.add(record)
            try:
                driver.add_network(segment_of(record))
            except BaseException:
                store.remove(record.id)
                raise
        return record

    def _remove(self, record: NetworkRecord) -> None:
        """A user network without endpoints: its bridge and rules, then its record (a
        crash in between leaves a record, whose bridge the next start makes again)."""
        with self._lock:
            bridge = self.network.bridge
            if bridge is not None:
                bridge.remove_network(record.id)
            self.network.store.remove(record.id)

    def _containers_of(self, record: NetworkRecord) -> dict[str, Any]:
        """``Containers`` of an inspected network: its live endpoints."""
        shown: dict[str, Any] = {}
        if record.driver in ("host", "null"):  # containers in that mode, while they run
            for container in self.containers.all():
                entry = ((container.data.get("NetworkSettings") or {}).get("Networks")
                         or {}).get(record.name) or {}
                if container.running and entry.get("EndpointID"):
                    shown[container.id] = {"Name": container.name,
                                           "EndpointID": entry["EndpointID"],
                                           "MacAddress": "", "IPv4Address": "",
                                           "IPv6Address": ""}
            return shown
        for owner, endpoint in sorted(self.network.endpoints_on(record).items()):
            try:
                name = self.containers.get(owner).name
            except errors.NotFound:
                continue  # a build step's, not a container's
            shown[owner] = {
                "Name": name,
                "EndpointID": endpoint.endpoint_id,
                "MacAddress": endpoint.mac_address,
                "IPv4Address": str(endpoint.address),
                "IPv6Address": "",
            }
        return shown

    def _in_use(self, record: NetworkRecord) -> bool:
        return bool(self._containers_of(record))

    def list(self, filter_args: Filters) -> JSONList:
        """As dockerd 20.10 lists them: without their containers (``Containers`` is
        empty), and so ``dangling=true`` keeps every user network, in use or not."""
        records = sorted(self.network.networks(), key=lambda r: r.created)
        kept = filters.select(records, filter_args, lambda record: False)
        return [self._inspected(r) for r in kept]

    def inspect(self, ref: str, verbose: bool = False, scope: str | None = None) -> \
            dict[str, Any]:
        record = self.network.find(ref)
        if scope and scope != "local":
            raise errors.NotFound(f"network {ref} not found")
        return {**self._inspected(record), "Containers": self._containers_of(record)}

    def create(self, body: Any) -> dict[str, Any]:
        request = create_request.parse(body)
        warning = ""
        existing = self.network.store.by_name(request.name)
        if existing is not None:
            if request.check_duplicate:
                raise errors.Conflict(f"network with name {request.name} already exists")
            warning = f"Network with name {request.name} (id : {existing.id}) already exists"
        record = self._create(request)
        self.events.publish("network", "create", record.id,
                            {"name": record.name, "type": record.driver})
        return {"Id": record.id, "Warning": warning}

    def remove(self, ref: str) -> None:
        record = self.network.find(ref)
        if record.predefined:
            raise errors.Forbidden(f"{record.name} is a pre-defined network and cannot be removed")
        if self._in_use(record):
            raise errors.Forbidden(
                f"error while removing network: network {record.name} id {record.id} has "
                "active endpoints")
        self._remove(record)
        self.events.publish("network", "destroy", record.id,
                            {"name": record.name, "type": record.driver})

    def prune(self, filter_args: Filters) -> dict[str, Any]:
        filters.check(filter_args, filters.PRUNE_FILTERS)
        cutoff = filters.until_cutoff(filter_args)
        deleted = []
        for record in sorted(self.network.networks(), key=lambda r: r.created):
            if not filters.prunable(record, filter_args, cutoff) or self._in_use(record):
                continue
            try:
                self.remove(record.id)
            except errors.EngineError:
                continue  # in use by now
            deleted.append(record.name)
        return {"NetworksDeleted": deleted or None}

    def connect(self, ref: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise errors.InvalidParameter("invalid JSON: the connect request must be an object")
        container = self.containers.get(str(body.get("Container") or ""))
        config = body.get("EndpointConfig") or {}
        if not isinstance(config, dict):
            raise errors.InvalidParameter("invalid EndpointConfig")
        with container.op_lock:
            running = container.running
            record: NetworkRecord | None = None
            try:
                record = self.network.find(ref)
            except errors.NotFound:
                if running:
                    raise
            pid = int(container.state.get("Pid") or 0) if running else None
            self.network.connect(container, record, ref, config, pid or None)
            container.save()

    def disconnect(self, ref: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise errors.InvalidParameter(
                "invalid JSON: the disconnect request must be an object")
        container = self.containers.get(str(body.get("Container") or ""))
        with container.op_lock:
            try:
                record = self.network.find(ref)
            except errors.NotFound:
                if container.running:
                    raise
                # dockerd: a network it cannot find is one the container is not on,
                # unless forced, which drops it from the record
                if not body.get("Force") or not self.network.forget(container, ref):
                    raise errors.SystemError_(
                        f"container {container.id} is not connected to the network "
                        f"{ref}") from None
                container.save()
                return
            self.network.disconnect(container, record, container.running)
            container.save()
