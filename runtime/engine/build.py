"""The engine side of ``docker build``: the builder's backend, made of the engine's
container and image services (moby's builder.Backend)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, BinaryIO

from cove.runtime import errors
from cove.runtime.build.backend import BuildOptions, Emit
from cove.runtime.engine import attach

if TYPE_CHECKING:
    from cove.runtime.build.builder import Builder
    from cove.runtime.engine.engine import Engine


class EngineBuildBackend:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.images.store

    def resolve_or_pull(self, ref: str, emit: Emit, always_pull: bool = False,
                        auths: dict[str, Any] | None = None) -> str:
        """A local image, else (or with ``--pull``) pulled with the client's login for its
        registry (anonymously without one), its progress in the build's stream."""
        from cove.runtime.images.reference import parse
        from cove.runtime.registry.auth import resolve_auth

        if not always_pull:
            try:
                return self.engine.images.resolve(ref)
            except errors.NotFound:
                pass
        named = parse(ref).with_default_tag()
        for message in self.engine.images.pull_as(named.familiar_name, named.tag or named.digest,
                                                  None, resolve_auth(auths or {}, named.domain)):
            emit(message)
        return self.engine.images.resolve(str(named))

    def create_container(self, body: dict[str, Any]) -> str:
        """A step's container that is never started (a config step's, as dockerd makes)."""
        return str(self.engine.containers.create(body, None)["Id"])

    def start_container(self, cid: str) -> None:
        self.engine.containers.start(cid)

    def container_output(self, cid: str,
                         client_gone: Callable[[], bool]) -> Iterator[tuple[int, bytes]]:
        _tty, chunks = attach.logs(self.engine.containers, cid, follow=True, stdout=True,
                                   stderr=True, since=None, until=None, timestamps=False,
                                   tail=None, client_gone=client_gone)
        return chunks

    def wait_container(self, cid: str) -> int:
        return int(self.engine.containers.prepare_wait(cid, "not-running")()["StatusCode"])

    def remove_container(self, cid: str) -> None:
        try:
            self.engine.containers.remove(cid, force=True, volumes=True)
        except errors.NotFound:
            pass

    def container_upper(self, cid: str) -> str:
        return str(self.engine.layout.container_upper(cid))

    def lower_dirs(self, image_id: str) -> list[str]:
        return self.engine.images.lower_dirs(image_id)


class BuildService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._builder: Builder | None = None
        self._builder_lock = threading.Lock()
        self.store = engine.images.store
        self.events = engine.events

    @property
    def builder(self) -> Builder:
        """Made at the first build or prune: the builder's modules are a tenth of coved's
        start, which a VM under emulation pays ten times over."""
        with self._builder_lock:
            if self._builder is None:
                from cove.runtime.build.builder import Builder

                self._builder = Builder(EngineBuildBackend(self._engine), self._engine.layout)
            return self._builder

    def prune(self, everything: bool, filters: dict[str, list[str]]) -> dict[str, Any]:
        """``POST /build/prune``: ``until`` selects by age; no cache entry carries labels, so
        a ``label`` filter selects none of them and ``label!`` all (``system prune
        --filter label=...`` sends its filters here too)."""
        from cove.runtime.images.views import parse_until

        for key in filters:
            if key not in ("until", "label", "label!"):
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        if filters.get("label"):
            return {"CachesDeleted": None, "SpaceReclaimed": 0}
        until = parse_until(filters["until"][-1]) if filters.get("until") else None
        deleted, space = self.builder.prune(everything, until)
        return {"CachesDeleted": deleted, "SpaceReclaimed": space}

    def prepare(self, **options: Any) -> BuildJob:
        """A build whose request is checked (a bad tag is a 400 before any output);
        ``registry_auths`` come as the client sent them, server -> credentials."""
        from cove.runtime.images.reference import parse
        from cove.runtime.registry.auth import AuthConfig

        auths = {server: AuthConfig.from_dict(value)
                 for server, value in (options.pop("registry_auths", None) or {}).items()}
        _check_build_platform(options.pop("platform", None))
        build_options = BuildOptions(**options, registry_auths=auths)
        for tag in build_options.tags:
            parse(tag)
        return BuildJob(self, build_options)


def _check_build_platform(platform: str | None) -> None:
    """``--platform``: the host's own is what a build gets anyway; another one would need
    emulation, which this engine does not have, so it is refused rather than ignored."""
    if not platform:
        return
    from cove.runtime.registry.manifests import host_platform, parse_platform

    want, host = parse_platform(platform), host_platform()
    if (want.os, want.architecture) != (host.os, host.architecture):
        raise errors.InvalidParameter(
            f"platform {platform} is not supported by Cove: no emulation, builds run as "
            f"{host.os}/{host.architecture}")


class BuildJob:
    def __init__(self, service: BuildService, options: BuildOptions) -> None:
        self._service = service
        self._options = options

    def run(self, context: BinaryIO, emit: Emit,
            client_gone: Callable[[], bool] = lambda: False) -> str:
        """Build, sending the progress to ``emit``. A quiet build (``-q``) holds every
        message back, as dockerd's notVerboseBuffer does: the client gets the image ID,
        or, when the build fails, what was held and then the error. Either way a build
        that fails before its first step has sent nothing, and is answered as an HTTP
        error (a Dockerfile parse error is a 400, as dockerd's)."""
        if not self._options.quiet:
            image_id = self._service.builder.build(context, self._options, emit, client_gone)
        else:
            held: list[dict[str, Any]] = []

            def hold(message: dict[str, Any]) -> None:
                if "aux" in message:  # dockerd writes its result past the buffer
                    emit(message)
                else:
                    held.append(message)

            try:
                image_id = self._service.builder.build(
                    context, replace(self._options, quiet=False), hold, client_gone)
            except Exception:
                for message in held:
                    emit(message)
                raise
            emit({"stream": image_id + "\n"})
        if self._options.tags:
            self._service.store.record_tag_time(image_id)
        self._service.events.publish("image", "build", image_id, {"name": image_id})
        return image_id
