"""``docker commit``: a container's upper dir as a new layer on its image.

The layer is made as the builder makes a RUN step's (``layers.diff_tar``); the config is
the container's, with the request body's non-empty fields over it and then the
``changes`` (Dockerfile instructions, applied by the builder's own functions). The
image records ``container``, ``container_config``, author and comment as dockerd's do.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cove.runtime import errors
from cove.runtime.images.views import now_rfc3339
from cove.runtime.store.layout import atomic_write

# the Dockerfile instructions ``--change`` accepts, as dockerd's commit
COMMIT_CHANGES = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME",
                  "WORKDIR", "STOPSIGNAL", "HEALTHCHECK")


@contextmanager
def paused_for_commit(containers: Any, container: Any, layout: Any, pause: bool) -> Iterator[None]:
    """Hold a running container paused while its commit reads it (``pause``). A marker
    is written before the pause and removed after the unpause, so a daemon that crashed
    in between thaws the container when it starts again (``containers.adopt``)."""
    if not (pause and container.running and not container.state.get("Paused")):
        yield
        return
    marker = layout.commit_pause_marker(container.id)
    try:
        atomic_write(marker, container.id.encode())
    except OSError as exc:
        raise errors.disk_failure(exc, f"Error committing container {container.id}") from exc
    try:
        containers.pause(container.id)
        try:
            yield
        finally:
            try:
                containers.unpause(container.id)
            except errors.EngineError:
                pass
    finally:
        marker.unlink(missing_ok=True)


def merged_config(container_config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The body's config over the container's: set fields win; Env merges by name."""
    config = copy.deepcopy(container_config)
    for key, value in overrides.items():
        if value in (None, "", [], {}):
            continue
        if key == "Env":
            names = {item.partition("=")[0] for item in value}
            config["Env"] = [e for e in config.get("Env") or []
                             if e.partition("=")[0] not in names] + list(value)
        elif key in ("ExposedPorts", "Volumes", "Labels") and isinstance(value, dict):
            config[key] = {**(config.get(key) or {}), **value}
        else:
            config[key] = copy.deepcopy(value)
    return config


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """``--change`` lines, as the builder would apply them to an image's config."""
    from cove.runtime.build import instructions, parser
    from cove.runtime.build.expansion import expand_instruction
    from cove.runtime.build.stage_state import StageState

    for line in changes:
        if not line.strip():
            continue
        keyword = line.strip().split(None, 1)[0].upper()
        if keyword not in COMMIT_CHANGES:
            raise errors.InvalidParameter(f"{keyword.lower()} is not a valid change command")
        inst = parser.parse_instruction(line.strip())
        state = StageState("", {"config": config}, {}, {})
        if keyword == "ONBUILD":
            config.setdefault("OnBuild", []).append(inst.text())
            config["OnBuild"] = config["OnBuild"] or None
            continue
        if keyword not in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            inst = expand_instruction(inst, state.env())
        instructions.apply_to_config(config, inst, state)
    return config


def commit_container(store: Any, container: Any, layout: Any, comment: str, author: str,
                     changes: list[str], overrides: dict[str, Any]) -> str:
    """Store the layer and the image; return the new image ID. A disk that refuses the
    layer or the image fails the commit with dockerd's words, nothing half stored named."""
    try:
        return _commit(store, container, layout, comment, author, changes, overrides)
    except OSError as exc:
        if exc.errno not in errors.DISK_ERRNOS:
            raise
        raise errors.disk_failure(exc, f"Error committing container {container.id}") from exc


def _commit(store: Any, container: Any, layout: Any, comment: str, author: str,
            changes: list[str], overrides: dict[str, Any]) -> str:
    from cove.runtime.build.layers import diff_tar, upper_changes

    config = apply_changes(merged_config(container.config, overrides), changes)
    parent_id = container.data["Image"]
    image = json.loads(store.config_bytes(parent_id))
    upper = str(layout.container_upper(container.id))
    created = now_rfc3339()
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    entry["created_by"] = " ".join([container.data["Path"], *container.data["Args"]])
    if comment:
        entry["comment"] = comment
    lower_dirs = store.lower_dirs(parent_id)
    if upper_changes(upper, lower_dirs, for_layer=True):
        chains = store.layer_chain(parent_id)
        with tempfile.TemporaryFile(dir=layout.tmp_dir) as layer:
            diff_tar(upper, layer, lower_dirs)
            layer.seek(0)
            _chain, result = store.add_layer(layer, chains[-1] if chains else None)
        image.setdefault("rootfs", {"type": "layers", "diff_ids": []}).setdefault(
            "diff_ids", []).append(result.diff_id)
    else:
        entry["empty_layer"] = True
    image.update(config=config, container=container.id,
                 container_config=copy.deepcopy(container.config), created=created)
    for key, value in (("author", author), ("comment", comment)):
        if value:
            image[key] = value
        else:
            image.pop(key, None)
    image.setdefault("history", []).append(entry)
    image_id: str = store.add_image(json.dumps(image, separators=(",", ":")).encode())
    store.set_parent(image_id, parent_id)
    return image_id
