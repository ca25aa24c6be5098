"""The image service: the image store plus what only the engine knows (which
containers use an image) and the event stream."""

from __future__ import annotations

from typing import Any, BinaryIO

from cove.runtime import errors
from cove.runtime.engine.events import EventBus
from cove.runtime.images.store import ImageStore
from cove.runtime.store.layout import Layout


class ImageService:
    def __init__(self, layout: Layout, events: EventBus) -> None:
        self.events = events
        self.store = ImageStore(layout, on_event=self._publish)
        self.containers: Any = None  # set by the Engine once both exist

    def _publish(self, action: str, image_id: str, attributes: dict[str, str]) -> None:
        self.events.publish("image", action, image_id, attributes)

    def _user_of(self, image_id: str) -> str | None:
        for container in self.containers.all():
            if container.data["Image"] == image_id:
                return container.id
        return None

    def _running_user_of(self, image_id: str) -> str | None:
        for container in self.containers.all():
            if container.data["Image"] == image_id and container.running:
                return container.id
        return None

    # the store's reads, as the container service needs them
    def resolve(self, ref: str) -> str:
        return self.store.resolve(ref)

    def config(self, image_id: str) -> dict[str, Any]:
        return (self.store.config(image_id).get("config") or {})

    def lower_dirs(self, image_id: str) -> list[str]:
        return self.store.lower_dirs(image_id)

    def image_ids(self) -> list[str]:
        return self.store.image_ids()

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.store.inspect(ref)

    def list(self, all_: bool, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        summaries = self.store.list(all_, filters)
        counts: dict[str, int] = {}
        for container in self.containers.all():
            counts[container.data["Image"]] = counts.get(container.data["Image"], 0) + 1
        for summary in summaries:
            summary["Containers"] = counts.get(summary["Id"], 0)
            summary["Labels"] = summary.get("Labels") or {}
        return summaries

    def history(self, ref: str) -> list[dict[str, Any]]:
        return self.store.history(ref)

    def tag(self, ref: str, repo: str, tag: str | None) -> None:
        self.store.tag(ref, repo, tag)

    def delete(self, ref: str, force: bool) -> list[dict[str, str]]:
        return self.store.delete(ref, force, self._user_of, self._running_user_of)

    def prune(self, dangling_only: bool, filters: dict[str, list[str]]) -> dict[str, Any]:
        return self.store.prune(dangling_only, self._user_of, filters)

    def pull(self, ref: str) -> None:
        """Registries come with the next issue; until then say so, as a pull failure."""
        from cove.runtime.images.reference import parse

        name = str(parse(ref).with_default_tag()) if ref else ref
        raise errors.NotImplementedByEngine(
            f"pull access denied for {name}: this engine cannot pull from registries yet; "
            "load the image with `docker load` (or `cove load`)")

    def load(self, stream: BinaryIO, quiet: bool) -> list[str]:
        return self.store.load(stream, quiet)

    def save(self, refs: list[str], out: BinaryIO) -> None:
        self.store.save(refs, out)
