"""The ``/networks`` service: list, inspect, create, remove, prune, connect, disconnect.

Records and bridges are the network subsystem's (``ContainerNetworks`` holds them); this
service resolves references, checks what dockerd checks (duplicates, predefined
networks, active endpoints, containers' modes) and publishes the events dockerd sends:
``network create``/``destroy`` with the network's name and type, ``connect``/``disconnect``
with the container too.
"""

from __future__ import annotations

from typing import Any

from cove.runtime import errors
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.containers import ContainerService
from cove.runtime.engine.events import EventBus
from cove.runtime.network import create_request, filters
from cove.runtime.network.records import NetworkRecord

Filters = dict[str, list[str]]
JSONList = list[dict[str, Any]]
"""(aliases: inside a class with a ``list`` method, ``list[...]`` would name the method)"""


class NetworkService:
    def __init__(self, containers: ContainerService, network: ContainerNetworks,
                 events: EventBus) -> None:
        self.containers, self.network, self.events = containers, network, events

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
        return [self.network.inspect_network(r) for r in kept]

    def inspect(self, ref: str, verbose: bool = False, scope: str | None = None) -> \
            dict[str, Any]:
        record = self.network.find(ref)
        if scope and scope != "local":
            raise errors.NotFound(f"network {ref} not found")
        return {**self.network.inspect_network(record), "Containers": self._containers_of(record)}

    def create(self, body: Any) -> dict[str, Any]:
        request = create_request.parse(body)
        warning = ""
        existing = self.network.store.by_name(request.name)
        if existing is not None:
            if request.check_duplicate:
                raise errors.Conflict(f"network with name {request.name} already exists")
            warning = f"Network with name {request.name} (id : {existing.id}) already exists"
        record = self.network.create_network(request)
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
        self.network.remove_network(record)
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
