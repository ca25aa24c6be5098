"""The Engine: every service the API calls, built once per daemon."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cove.runtime.containers import shim_client
from cove.runtime.engine import recovery
from cove.runtime.engine.build import BuildService
from cove.runtime.engine.container_files import ContainerFilesService
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.container_update import ContainerUpdater
from cove.runtime.engine.containers import ContainerService
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.exec import ExecService
from cove.runtime.engine.health import HealthMonitor
from cove.runtime.engine.images import ImageService
from cove.runtime.engine.monitor import ContainerMonitor
from cove.runtime.engine.network_config import DISABLED, NetworkConfig
from cove.runtime.engine.networks import NetworkService
from cove.runtime.engine.system import SystemService
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.store.layout import Layout, atomic_write

if TYPE_CHECKING:
    from cove.runtime.registry.config import RegistryConfig


class Engine:
    def __init__(self, data_root: str | Path, exec_root: str | Path,
                 registry_config: RegistryConfig | None = None,
                 network_config: NetworkConfig = DISABLED) -> None:
        self.layout = Layout(data_root, exec_root)
        self.layout.ensure()
        self.engine_id = self._engine_id()
        self.events = EventBus()
        self.images = ImageService(self.layout, self.events, registry_config)
        self.volumes = VolumeService(self.layout, self.events)
        network = ContainerNetworks(self.layout, network_config)
        self.containers = ContainerService(self.layout, self.images, self.events, self.volumes,
                                           network)
        self.networks = NetworkService(self.containers, network, self.events)
        self.images.containers = self.containers
        self.execs = ExecService(self.containers)
        self.builds = BuildService(self)
        self.container_files = ContainerFilesService(self)
        self.container_updates = ContainerUpdater(self.containers)
        self.monitor = ContainerMonitor(self.containers)
        self.system = SystemService(self)
        self.health = HealthMonitor(self.containers, self.execs)

    def _engine_id(self) -> str:
        path = self.layout.data_root / "engine-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            value = secrets.token_hex(16)
            atomic_write(path, value.encode())
            return value

    def start(self, seed_images: dict[str, Callable[[], bytes]] | None = None) -> None:
        """Clear what interrupted work left, adopt containers left by a previous daemon;
        load the seed images not yet stored.

        ``seed_images`` maps a reference to a function making its docker-archive: the
        daemon passes hello-world, so that the first ``run hello-world`` works offline.
        The archive is made only when the image is missing.
        """
        recovery.remove_interrupted_work(self.layout)
        self.containers.adopt_all()
        for ref, make_archive in (seed_images or {}).items():
            self._ensure_image(ref, make_archive)
        self.health.watch(self.events)
        shim_client.warm_shims.enable()

    def stop(self) -> None:
        self.health.close()
        self.networks.network.dns.close()
        shim_client.warm_shims.close()

    def _ensure_image(self, ref: str, make_archive: Callable[[], bytes]) -> None:
        try:
            self.images.resolve(ref)
            return
        except Exception:  # noqa: BLE001 - any lookup failure means "not there yet"
            pass
        import io

        self.images.load(io.BytesIO(make_archive()), quiet=True)
