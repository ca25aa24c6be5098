"""What a build is handed: the request's options, the engine's side, where progress goes.

The builder calls the engine only through ``BuildBackend`` (moby's builder.Backend, in
small), so nothing in the build package imports the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Emit = Callable[[dict[str, Any]], None]


class BuildBackend(Protocol):
    """What the builder needs from the engine (moby's builder.Backend, in small)."""

    store: Any  # the ImageStore

    def resolve_or_pull(self, ref: str, emit: Emit, always_pull: bool = False,
                        auths: dict[str, Any] | None = None) -> str: ...

    def create_container(self, body: dict[str, Any]) -> str: ...

    def start_container(self, cid: str) -> None:
        """Start a step's container: its network (the build's ``--network``) is set up
        before its command runs, and taken down when it exits, however it exits."""

    def container_output(self, cid: str,
                         client_gone: Callable[[], bool]) -> Iterator[tuple[int, bytes]]:
        """The step's output until it exits, or until ``client_gone()`` says so."""

    def wait_container(self, cid: str) -> int: ...

    def remove_container(self, cid: str) -> None: ...

    def container_upper(self, cid: str) -> str: ...

    def lower_dirs(self, image_id: str) -> list[str]: ...


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    remove: bool = True
    force_remove: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    quiet: bool = False
    pull: bool = False
    registry_auths: dict[str, Any] = field(default_factory=dict)
    """The client's logins (``X-Registry-Config``), for pulling FROM and COPY --from."""
    remote: str | None = None
    """A git repository or URL to fetch the context from, instead of the request body."""
    extra_hosts: list[str] = field(default_factory=list)
    """``--add-host`` entries (``name:ip``) for the /etc/hosts of RUN steps."""
    run_host_config: dict[str, Any] = field(default_factory=dict)
    """HostConfig fields every RUN step's container gets (``--memory``, ``--cpu-shares``,
    ``--ulimit``, ``--network``...)."""
    cache_from: list[str] = field(default_factory=list)
    """``--cache-from``: when given, only these images (and their parents) give cache hits."""
