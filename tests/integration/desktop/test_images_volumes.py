"""The images and volumes pages against a real coved: lists that follow the engine's
image and volume events, and remove, prune and pull from the app (a failed pull shows
the registry's error; a pull from a registry the user logged in to uses that login)."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from tests.support.coved import Coved
from tests.support.images import busybox_archive
from tests.support.registry import Registry, push_archive_with_skopeo


def _settled(controller: Controller) -> bool:
    return controller.workers.busy == 0


def test_images_are_listed_and_follow_tag_and_remove(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.images
    qtbot.waitUntil(lambda: "busybox:latest" in page.keys(), timeout=5000)
    row = page.column(0).index("busybox")
    assert page.column(1)[row] == "latest"
    repo = f"desk-{uuid.uuid4().hex[:8]}"
    status, _ = private_coved.request("POST", f"/images/busybox:latest/tag?repo={repo}&tag=v1")
    assert status == 201
    qtbot.waitUntil(lambda: f"{repo}:v1" in page.keys(), timeout=2000)

    page.select(f"{repo}:v1")
    qtbot.waitUntil(lambda: _settled(controller) and page.buttons["remove"].isEnabled())
    page.buttons["remove"].click()
    qtbot.waitUntil(lambda: f"{repo}:v1" not in page.keys(), timeout=5000)
    status, _ = private_coved.request("GET", f"/images/{repo}:v1/json")
    assert status == 404
    assert "busybox:latest" in page.keys()  # untagging left the image's other name


def test_prune_says_what_it_reclaimed(qtbot: QtBot, controller: Controller) -> None:
    page = controller.dashboard.images
    page.buttons["prune"].click()
    qtbot.waitUntil(lambda: page.progress.text().startswith("Total reclaimed space:"))


def test_a_failed_pull_shows_the_error(qtbot: QtBot, controller: Controller) -> None:
    page = controller.dashboard.images
    page.entry.setText("127.0.0.1:1/nope:latest")  # nothing listens on port 1
    page.buttons["pull"].click()
    assert page.progress.text() == "Pulling 127.0.0.1:1/nope:latest…"
    messages = controller.dashboard.messages
    qtbot.waitUntil(lambda: "127.0.0.1:1" in messages.text, timeout=30000)


def test_a_pull_from_a_registry_with_a_login_uses_the_stored_credentials(
    qtbot: QtBot, controller: Controller, private_coved: Coved, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page, messages = controller.dashboard.images, controller.dashboard.messages
    with Registry(auth="htpasswd") as registry:
        image = f"{registry.host}/team/desk:v1"
        push_archive_with_skopeo(busybox_archive(), registry, "team/desk:v1",
                                 creds="alice:secret")
        monkeypatch.setenv("COVE_CONFIG", str(tmp_path))  # no login yet: refused
        page.entry.setText(image)
        page.buttons["pull"].click()
        qtbot.waitUntil(lambda: "unauthorized" in messages.text.lower(), timeout=30000)
        login = base64.b64encode(b"alice:secret").decode()
        (tmp_path / "config.json").write_text(
            json.dumps({"auths": {registry.host: {"auth": login}}}))
        page.buttons["pull"].click()
        qtbot.waitUntil(lambda: image in page.keys(), timeout=30000)
        qtbot.waitUntil(lambda: page.progress.text() == f"Pulled {image}", timeout=5000)
    status, _ = private_coved.request("DELETE", f"/images/{image}")
    assert status == 200


def test_a_pull_without_a_name_asks_for_one(qtbot: QtBot, controller: Controller) -> None:
    controller.dashboard.images.buttons["pull"].click()
    assert "Say which image to pull" in controller.dashboard.messages.text


def test_volumes_follow_create_and_remove(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.volumes
    name = f"desk-{uuid.uuid4().hex[:8]}"
    status, _ = private_coved.request("POST", "/volumes/create", {"Name": name})
    assert status == 201
    qtbot.waitUntil(lambda: name in page.keys(), timeout=2000)
    assert page.column(1)[page.keys().index(name)] == "local"

    page.select(name)
    qtbot.waitUntil(lambda: _settled(controller) and page.buttons["remove"].isEnabled())
    page.buttons["remove"].click()
    qtbot.waitUntil(lambda: name not in page.keys(), timeout=5000)
    status, _ = private_coved.request("GET", f"/volumes/{name}")
    assert status == 404

    status, _ = private_coved.request("POST", "/volumes/create", {"Name": name + "-2"})
    assert status == 201
    qtbot.waitUntil(lambda: name + "-2" in page.keys(), timeout=2000)
    page.buttons["prune"].click()
    qtbot.waitUntil(lambda: page.progress.text().startswith("Total reclaimed space:"))
