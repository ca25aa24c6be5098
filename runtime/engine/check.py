"""``coved --check``: read the whole data root, report what is inconsistent, repair what
can be repaired without losing anything a user made.

Run with no daemon on the data root (the caller holds its lock). Two kinds of finding:

- **leftovers**, the traces a crash is allowed to leave because every store writes its
  real state last (temp files of ``atomic_write``, ``tmp/`` work, a layer directory never
  given its ``meta.json``, a container directory whose record was never renamed into
  place, a volume without its record). The daemon ignores them; the check deletes them.
- **problems**, which a crash must never leave, since they mean a write was not atomic
  or an order was wrong: a record that does not parse, an image config whose digest is
  not its name, a tag naming a missing image, an image whose layer is missing, a
  container whose image is gone. The check reports them; it repairs only those whose
  repair loses nothing (a tag pointing nowhere is dropped), and the exit code says
  whether any is left.

The crash tests run it after every kill -9: a sound engine gives no problems at all.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cove.runtime.engine import recovery
from cove.runtime.images.store import chain_ids
from cove.runtime.store.layout import Layout, atomic_write_json

_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Finding:
    kind: str  # "leftover" or "problem"
    what: str
    repaired: bool

    def line(self) -> str:
        verb = "removed" if self.kind == "leftover" else (
            "repaired" if self.repaired else "problem")
        return f"{verb}: {self.what}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "problem"]

    @property
    def unrepaired(self) -> list[Finding]:
        return [f for f in self.problems if not f.repaired]

    def summary(self) -> str:
        leftovers = len(self.findings) - len(self.problems)
        return (f"{leftovers} leftovers removed, {len(self.problems)} problems "
                f"({len(self.unrepaired)} not repaired)")


class _Checker:
    def __init__(self, layout: Layout, repair: bool) -> None:
        self.layout = layout
        self.repair = repair
        self.report = Report()

    def leftover(self, path: Path, what: str) -> None:
        if self.repair:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
        self.report.findings.append(Finding("leftover", f"{what}: {path}", self.repair))

    def problem(self, what: str, fix: Callable[[], None] | None = None) -> None:
        repaired = False
        if fix is not None and self.repair:
            fix()
            repaired = True
        self.report.findings.append(Finding("problem", what, repaired))

    def json_file(self, path: Path) -> Any:
        """The parsed file, or None (reported) when it is torn."""
        try:
            with open(path, "rb") as f:
                return json.load(f)
        except ValueError as exc:
            self.problem(f"torn record {path}: {exc}")
        except OSError as exc:
            self.problem(f"unreadable record {path}: {exc.strerror or exc}")
        return None


def check(layout: Layout, repair: bool = True) -> Report:
    checker = _Checker(layout, repair)
    _check_temp_files(checker)
    configs = _check_image_configs(checker)
    layers = _check_layers(checker)
    _check_images(checker, configs, layers)
    _check_containers(checker, set(configs))
    _check_volumes(checker)
    return checker.report


def _check_temp_files(c: _Checker) -> None:
    if not c.repair:
        for path in recovery.interrupted_work(c.layout):
            c.report.findings.append(Finding("leftover", f"interrupted work: {path}", False))
        return
    for path in recovery.remove_interrupted_work(c.layout):
        c.report.findings.append(Finding("leftover", f"interrupted work: {path}", True))


def _check_image_configs(c: _Checker) -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {}
    root = c.layout.configs_dir
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if not _HEX.match(entry.name):
            continue
        data = entry.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.name:
            c.problem(f"image config {entry.name} does not match its digest (torn)")
            continue
        try:
            configs["sha256:" + entry.name] = json.loads(data)
        except ValueError as exc:
            c.problem(f"image config {entry.name} does not parse: {exc}")
    return configs


def _check_layers(c: _Checker) -> set[str]:
    """The chain IDs of whole layers (a meta.json and a diff)."""
    whole: set[str] = set()
    root = c.layout.layers_dir
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        meta_path = c.layout.layer_meta(entry.name)
        if not meta_path.exists():
            c.leftover(entry, "layer never registered (no meta.json)")
            continue
        meta = c.json_file(meta_path)
        if meta is None:
            continue
        if not c.layout.layer_diff(entry.name).is_dir():
            c.problem(f"layer {entry.name} has a meta.json but no content")
            continue
        whole.add("sha256:" + entry.name)
    return whole


def _check_images(c: _Checker, configs: dict[str, dict[str, Any]], layers: set[str]) -> None:
    for image_id, config in sorted(configs.items()):
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        missing = [chain for chain in chain_ids(diff_ids) if chain not in layers]
        if missing:
            c.problem(f"image {image_id} lacks layer {missing[0]}")
    path = c.layout.repositories_path
    if not path.exists():
        return
    refs = c.json_file(path)
    if not isinstance(refs, dict):
        return
    repos = refs.get("Repositories") or {}
    dangling = [(repo, name) for repo, names in repos.items() for name, image_id in names.items()
                if image_id not in configs]

    def drop() -> None:
        for repo, name in dangling:
            del repos[repo][name]
            if not repos[repo]:
                del repos[repo]
        atomic_write_json(path, refs)

    if dangling:
        names = ", ".join(name for _repo, name in dangling)
        c.problem(f"tags naming a missing image: {names}", drop)


def _check_containers(c: _Checker, images: set[str]) -> None:
    root = c.layout.containers_dir
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        record_path = c.layout.container_config(entry.name)
        if not record_path.exists():
            c.leftover(entry, "container never created (no record)")
            continue
        record = c.json_file(record_path)
        if not isinstance(record, dict):
            continue
        if record.get("Id") != entry.name:
            c.problem(f"container record {record_path} names another container")
        elif record.get("Image") not in images:
            c.problem(f"container {entry.name} uses missing image {record.get('Image')}")


def _check_volumes(c: _Checker) -> None:
    root = c.layout.volumes_dir
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        record_path = c.layout.volume_record(entry.name)
        if not record_path.exists():
            c.leftover(entry, "volume never created (no record)")
        else:
            c.json_file(record_path)
