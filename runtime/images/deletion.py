"""``docker rmi`` and ``docker image prune`` with dockerd's rules and wording.

Deleting by name only untags while other references remain; deleting by ID
removes every reference but refuses (unless forced) when the image is in several
repositories; a container using the image is a soft conflict (stopped) or a hard
one (running), and so is a child image built on it (hard). The structure follows moby's ``daemon/images/image_delete.go``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Conflict, EngineError, InvalidParameter
from .reference import Reference, is_image_id_prefix, parse
from .views import bool_filter, label_filters_match, parse_time, parse_until

if TYPE_CHECKING:
    from .store import ContainerLookup, ImageStore

PRUNE_FILTERS = {"dangling", "until", "label", "label!"}


def _short(image_id: str) -> str:
    return image_id.partition(":")[2][:12]


def _user(lookup: ContainerLookup | None, image_id: str) -> str | None:
    """The container using ``image_id`` according to ``lookup`` ("" if unnamed)."""
    if lookup is None:
        return None
    found = lookup(image_id)
    if not found:
        return None
    return found[:12] if isinstance(found, str) else ""


def _is_single_reference(refs: list[Reference]) -> bool:
    """At most one tag, and every reference within one repository."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for ref in refs:
        if ref.digest is not None:
            canonical.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    if single is None:
        single = refs[0]
    return len(canonical) == 1 and single.name in canonical


def _untag(store: ImageStore, ref: Reference, image_id: str,
           records: list[dict[str, str]], event: bool = True) -> None:
    store.remove_reference(ref)
    records.append({"Untagged": str(ref)})
    if event:
        store.emit("untag", image_id)


def _conflict(store: ImageStore, image_id: str, in_use: ContainerLookup,
              running: ContainerLookup | None, active_refs: bool,
              stopped: bool) -> tuple[str, bool] | None:
    """(message, image-is-used) of the first conflict, as ``checkImageDeleteConflict``.
    Children and running containers are hard conflicts: even a forced delete stops there
    (a child's layers stand on this image's)."""
    prefix = f"conflict: unable to delete {_short(image_id)}"
    if store.children(image_id):
        return f"{prefix} (cannot be forced) - image has dependent child images", False
    user = _user(running, image_id)
    if user is not None:
        return f"{prefix} (cannot be forced) - image is being used by running container {user}", True
    if active_refs and store.references(image_id):
        return f"{prefix} (must be forced) - image is referenced in multiple repositories", False
    if stopped:
        user = _user(in_use, image_id)
        if user is not None:
            return (f"{prefix} (must be forced) - image is being used by stopped container "
                    f"{user}", True)
    return None


def delete(store: ImageStore, ref: str, force: bool, in_use: ContainerLookup,
           running: ContainerLookup | None) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    image_id = store.resolve(ref)
    refs = store.references(image_id)
    quiet = False
    if not is_image_id_prefix(image_id, ref):
        if not force and _is_single_reference(refs):
            user = _user(in_use, image_id)
            if user is not None:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - '
                    f"container {user} is using its referenced image {_short(image_id)}")
        named = parse(ref).with_default_tag()
        _untag(store, named, image_id, records)
        refs = store.references(image_id)
        if named.digest is None and not any(
                r.digest is None and r.name == named.name for r in refs):
            for other in [r for r in refs if r.digest is not None and r.name == named.name]:
                _untag(store, other, image_id, records, event=False)
            refs = store.references(image_id)
        if refs:
            return records
        quiet = True
    elif _is_single_reference(refs):
        conflict = _conflict(store, image_id, in_use, running, active_refs=False,
                             stopped=not force)
        if conflict is not None:
            raise Conflict(conflict[0])
        for other in refs:
            _untag(store, other, image_id, records)
    _delete_image(store, image_id, records, force, quiet, in_use, running)
    return records


def _delete_image(store: ImageStore, image_id: str, records: list[dict[str, str]], force: bool,
                  quiet: bool, in_use: ContainerLookup, running: ContainerLookup | None) -> None:
    conflict = _conflict(store, image_id, in_use, running, active_refs=not force,
                         stopped=not force)
    if conflict is not None:
        message, used = conflict
        if quiet and (store.references(image_id) or store.children(image_id) or used):
            return  # untagged by name; an image that is not dangling stays (imageIsDangling)
        raise Conflict(message)
    for other in store.references(image_id):
        _untag(store, other, image_id, records)
    still_used = _user(in_use, image_id) is not None  # forced: the container keeps its layers
    parent = store.parent(image_id)
    removed = store.forget_image(image_id, keep_layers=still_used)
    store.emit("delete", image_id)
    records.append({"Deleted": image_id})
    records.extend({"Deleted": chain} for chain in removed)
    # a build's intermediate images go with the last image built on them (as dockerd's rmi)
    while (parent and parent in store.image_ids() and not store.references(parent)
           and not store.children(parent) and _user(in_use, parent) is None):
        image_id, parent = parent, store.parent(parent)
        removed = store.forget_image(image_id, keep_layers=False)
        store.emit("delete", image_id)
        records.append({"Deleted": image_id})
        records.extend({"Deleted": chain} for chain in removed)


def prune(store: ImageStore, dangling_only: bool, in_use: ContainerLookup,
          filters: dict[str, list[str]]) -> dict[str, Any]:
    """``ImagesPrune``: delete dangling (or all unused) images, ignoring conflicts."""
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise InvalidParameter(f"Invalid filter '{key}'")
    dangling_only = bool_filter(filters, "dangling", dangling_only)
    until = parse_until(filters["until"][-1]) if filters.get("until") else None
    sizes: dict[str, int] = {}
    candidates = []
    for image_id in store.image_ids():
        config = store.config(image_id)
        for chain in store.layer_chain(image_id):
            sizes[chain] = store.layer_size(chain)
        if until is not None and parse_time(config.get("created")) >= until:
            continue
        if not label_filters_match(filters, (config.get("config") or {}).get("Labels") or {}):
            continue
        if _user(in_use, image_id) is not None:
            continue
        candidates.append(image_id)
    deleted: list[dict[str, str]] = []
    for image_id in candidates:
        refs = store.references(image_id)
        if refs:
            if dangling_only and any(r.tag is not None for r in refs):
                continue
            targets = [str(r) for r in refs]
        else:
            targets = [image_id[7:]]
        for target in targets:
            try:
                deleted.extend(delete(store, target, False, in_use, None))
            except EngineError:
                continue
    reclaimed = sum(sizes.get(d["Deleted"], 0) for d in deleted if "Deleted" in d)
    return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

