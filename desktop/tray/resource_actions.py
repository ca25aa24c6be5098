"""The images and volumes pages' side of the controller: their lists, read again on the
engine's image and volume events, and remove, prune and pull."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from .resources import image_rows, pull_line, reclaimed, volume_rows

if TYPE_CHECKING:
    from .controller import Controller

RELIST_TRIES = 3


class ResourceActions(QObject):
    pull_progress = Signal(str)  # emitted from the pull's worker thread (queued here)

    def __init__(self, app: Controller) -> None:
        super().__init__(app)
        self.app = app
        app.dashboard.images.action_requested.connect(self.image_action)
        app.dashboard.volumes.action_requested.connect(self.volume_action)
        self.pull_progress.connect(app.dashboard.images.progress.setText)

    def reload_images(self, tries: int = RELIST_TRIES) -> None:
        self.app.call(
            lambda: image_rows(self.app.client.images()),
            self.app.dashboard.images.replace_all,
            self.app.relist_failed(self.reload_images, tries),
        )

    def reload_volumes(self, tries: int = RELIST_TRIES) -> None:
        self.app.call(
            lambda: volume_rows(self.app.client.volumes()),
            self.app.dashboard.volumes.replace_all,
            self.app.relist_failed(self.reload_volumes, tries),
        )

    @Slot(str, str)
    def image_action(self, action: str, key: str) -> None:
        page = self.app.dashboard.images
        if action == "remove":
            self.app.call(lambda: self.app.client.remove_image(key), lambda _: None)
        elif action == "prune":
            self.app.call(lambda: reclaimed(self.app.client.prune_images()), page.progress.setText)
        elif action == "pull":
            if not key:
                self.app.error.emit("Say which image to pull, e.g. busybox:latest")
                return
            page.progress.setText(f"Pulling {key}…")
            self.app.call(lambda: self._pull(key), page.progress.setText)

    def _pull(self, reference: str) -> str:
        """Runs on a worker: each progress line goes to the page as it comes. The stored
        credentials of the image's registry go with it (``cove login``/``docker login``)."""
        from cove.desktop.client.credentials import auth_header_for_image

        auth = auth_header_for_image(reference)
        for message in self.app.client.pull(reference, registry_auth=auth):
            if not isinstance(message, dict):
                continue
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("errorDetail")
                text = detail.get("message") if isinstance(detail, dict) else None
                raise RuntimeError(str(text or message.get("error")))
            self.pull_progress.emit(pull_line(message))
        return f"Pulled {reference}"

    @Slot(str, str)
    def volume_action(self, action: str, key: str) -> None:
        page = self.app.dashboard.volumes
        if action == "remove":
            self.app.call(lambda: self.app.client.remove_volume(key), lambda _: None)
        elif action == "prune":
            self.app.call(lambda: reclaimed(self.app.client.prune_volumes()), page.progress.setText)
