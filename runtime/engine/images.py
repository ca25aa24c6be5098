"""The image service: the image store plus what only the engine knows (which
containers use an image) and the event stream."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from cove.runtime import errors
from cove.runtime.engine.events import EventBus
from cove.runtime.images.reference import Reference, parse
from cove.runtime.images.store import ImageStore
from cove.runtime.store.layout import Layout

if TYPE_CHECKING:
    from cove.runtime.containers.record import Container
    from cove.runtime.engine.containers import ContainerService
    from cove.runtime.registry.auth import AuthConfig
    from cove.runtime.registry.config import RegistryConfig


def pull_reference(image: str, tag: str | None) -> Reference:
    """``fromImage`` + ``tag`` as dockerd combines them (a ``tag`` may be a digest)."""
    if not image:
        raise errors.InvalidParameter("invalid reference format")
    ref = parse(image)
    if tag:
        if tag.startswith("sha256:") or ":" in tag:
            ref = parse(f"{ref.name}@{tag}")
        else:
            ref = ref.with_tag(tag)
    return ref.with_default_tag()


def _credentials(auth: dict[str, Any]) -> AuthConfig:
    from cove.runtime.registry.auth import AuthConfig

    return AuthConfig.from_dict(auth)


class ImageService:
    def __init__(self, layout: Layout, events: EventBus,
                 registry_config: RegistryConfig | None = None) -> None:
        self.events = events
        self.store = ImageStore(layout, on_event=self._publish)
        self.containers: ContainerService | None = None  # set by the Engine once both exist
        self._registry_config = registry_config
        from cove.runtime.registry.transfer import remove_leftovers

        remove_leftovers(layout.tmp_dir)

    @property
    def registry_config(self) -> RegistryConfig:
        if self._registry_config is None:
            from cove.runtime.registry.config import load

            self._registry_config = load(self.store.layout.data_root)
        return self._registry_config

    def _publish_ref(self, action: str, name: str) -> None:
        """Pull and push events name the reference, as dockerd's do."""
        self.events.publish("image", action, name, {"name": name})

    def _publish(self, action: str, image_id: str, attributes: dict[str, str]) -> None:
        self.events.publish("image", action, image_id, attributes)

    def _containers(self) -> builtins.list[Container]:
        return self.containers.all() if self.containers is not None else []

    def _user_of(self, image_id: str) -> str | None:
        for container in self._containers():
            if container.data["Image"] == image_id:
                return container.id
        return None

    def _running_user_of(self, image_id: str) -> str | None:
        for container in self._containers():
            if container.data["Image"] == image_id and container.running:
                return container.id
        return None

    # the store's reads, as the container service needs them
    def resolve(self, ref: str) -> str:
        return self.store.resolve(ref)

    def config(self, image_id: str) -> dict[str, Any]:
        return (self.store.config(image_id).get("config") or {})

    def lower_dirs(self, image_id: str) -> builtins.list[str]:
        return self.store.lower_dirs(image_id)

    def image_ids(self) -> builtins.list[str]:
        return self.store.image_ids()

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.store.inspect(ref)

    def list(self, all_: bool, filters: dict[str, builtins.list[str]]) -> builtins.list[dict[str, Any]]:
        summaries = self.store.list(all_, filters)
        counts: dict[str, int] = {}
        for container in self._containers():
            counts[container.data["Image"]] = counts.get(container.data["Image"], 0) + 1
        for summary in summaries:
            summary["Containers"] = counts.get(summary["Id"], 0)
            summary["Labels"] = summary.get("Labels") or {}
        return summaries

    def history(self, ref: str) -> builtins.list[dict[str, Any]]:
        return self.store.history(ref)

    def tag(self, ref: str, repo: str, tag: str | None) -> None:
        self.store.tag(ref, repo, tag)

    def delete(self, ref: str, force: bool) -> builtins.list[dict[str, str]]:
        return self.store.delete(ref, force, self._user_of, self._running_user_of)

    def prune(self, dangling_only: bool, filters: dict[str, builtins.list[str]]) -> dict[str, Any]:
        return self.store.prune(dangling_only, self._user_of, filters)

    # registries (imported lazily: requests is slow to import and most calls never need it);
    # ``auth`` is the client's credentials as the JSON object it sent
    def pull(self, image: str, tag: str | None, platform: str | None,
             auth: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return self.pull_as(image, tag, platform, _credentials(auth))

    def pull_as(self, image: str, tag: str | None, platform: str | None,
                auth: AuthConfig) -> Iterator[dict[str, Any]]:
        """A pull with credentials the engine already holds (a build's, for its FROM)."""
        from cove.runtime.registry.pull import Puller

        ref = pull_reference(image, tag)
        return Puller(self.store, self.registry_config, self._publish_ref).pull(
            ref, platform, auth)

    def push(self, name: str, tag: str | None,
             auth: dict[str, Any]) -> Iterator[dict[str, Any]]:
        from cove.runtime.registry.push import Pusher

        return Pusher(self.store, self.registry_config, self._publish_ref).push(
            name, tag, _credentials(auth))

    def login(self, auth: dict[str, Any]) -> dict[str, str]:
        from cove.runtime.registry.login import login

        return login(self.registry_config, _credentials(auth))

    def search(self, term: str, limit: int | None, filters: dict[str, builtins.list[str]],
               auth: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        from cove.runtime.registry.search import search

        return search(self.registry_config, term, limit, filters, _credentials(auth))

    def distribution(self, name: str, auth: dict[str, Any]) -> dict[str, Any]:
        from cove.runtime.registry.login import distribution_inspect

        return distribution_inspect(self.registry_config, parse(name), _credentials(auth))

    def import_image(self, body: BinaryIO, source: str, repo: str | None,
                     tag: str | None, message: str | None, changes: builtins.list[str],
                     platform: str | None) -> Iterator[dict[str, Any]]:
        """``POST /images/create?fromSrc=``: a root filesystem tar (the body or a URL)."""
        from cove.runtime.engine.image_import import import_image

        return import_image(self, body, source, repo, tag, message, changes, platform)

    def load(self, stream: BinaryIO, quiet: bool) -> builtins.list[str]:
        return self.store.load(stream, quiet)

    def save(self, refs: builtins.list[str], out: BinaryIO) -> None:
        self.store.save(refs, out)
