"""Route tables, one module per API resource (as moby's routers), each over its backend."""

from __future__ import annotations

from cove.runtime.api.backend import Backends
from cove.runtime.api.routes import (
    build,
    container_files,
    containers,
    distribution,
    images,
    networks,
    plugins,
    swarm,
    system,
    volumes,
)
from cove.runtime.api.server import Router


def make_router(backends: Backends) -> Router:
    """Every route of the Engine API this server answers, bound to its backend."""
    router = Router()
    router.add(system.routes(backends.system))
    router.add(build.routes(backends.builds))
    router.add(containers.routes(backends.containers, backends.container_updates,
                                 backends.monitor, backends.execs))
    router.add(container_files.routes(backends.container_files))
    router.add(images.routes(backends.images))
    router.add(distribution.routes(backends.images))
    router.add(volumes.routes(backends.volumes))
    router.add(networks.routes(backends.networks))
    router.add(swarm.routes())
    router.add(plugins.routes())
    return router
