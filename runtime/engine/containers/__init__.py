"""Containers: one lifecycle operation per module, behind ``ContainerService``.

``create``; ``start`` (and the monitor thread after it); ``stop`` (stop, kill);
``pause``; ``wait``; ``remove`` (remove, prune); ``exits``; ``restart_policy``;
``adopt`` (after a daemon restart); ``console`` (resize), ``top``, ``listing``; and
``shim_spec``, what the shim is told at each start. They share ``ContainerContext``
(the table, the stores) and each container's record. Streams (attach, logs) are in
``engine/attach.py``.
"""

from cove.runtime.engine.containers.service import ContainerService

__all__ = ["ContainerService"]
