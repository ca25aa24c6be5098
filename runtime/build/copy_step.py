"""COPY and ADD as a build step: the sources chosen, the step cache asked, the layer made.

Sources come from the build context, another stage or image (``--from``), heredoc
documents, or, for ADD, URLs. The cache key is what the files are (a checksum), not
where they came from, so an unchanged context reuses the step.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable

from cove.runtime import errors
from cove.runtime.build import image_files, remote
from cove.runtime.build.copy import copy_layer
from cove.runtime.build.copy_from import select_from_image
from cove.runtime.build.dockerfile import Instruction
from cove.runtime.build.expansion import expand_instruction
from cove.runtime.build.history_text import nop_command
from cove.runtime.build.instructions import cached, commit_config, store_layer
from cove.runtime.build.stage_state import StageState
from cove.runtime.build.step_run import StepRun


class _TempSources(list[tuple[str, str]]):
    """Sources written to a directory of their own (heredoc documents, fetched URLs);
    ``release()`` deletes it."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory

    def release(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def copy_step(run: StepRun, state: StageState, inst: Instruction) -> StageState:
    """COPY or ADD: the selected files laid out at the destination, as a new layer."""
    inst = expand_instruction(inst, state.env())
    is_add = inst.keyword.upper() == "ADD"
    words = inst.words()
    if len(words) < 2:
        raise errors.InvalidParameter(f"{inst.keyword} requires at least two arguments")
    flags = inst.flags
    *patterns, dest = words
    if not dest.startswith("/"):
        dest = posixpath.join(state.config.get("WorkingDir") or "/", dest) + \
            ("/" if dest.endswith("/") else "")
    from_ref = flags.get("from")
    sources: list[tuple[str, str]]
    release: Callable[[], None] | None = None
    if from_ref:
        source_image = run.image_for_copy_from(str(from_ref))
        image_sources, checksum = select_from_image(
            run.backend.lower_dirs(source_image), source_image, patterns,
            str(run.layout.tmp_dir))
        sources, release = image_sources, image_sources.release
        origin = f"from:{source_image}"
    elif inst.heredocs and all(p.startswith("<<") for p in patterns):
        documents, checksum = _heredoc_sources(run, inst)
        sources, release = documents, documents.release
        origin = "heredoc"
    elif is_add and any(remote.is_url(p) for p in patterns):
        fetched, checksum = _url_sources(run, patterns)
        sources, release = fetched, fetched.release
        origin = "url"
    else:
        rels = [rel for pattern in patterns for rel in run.context.select(pattern)]
        sources = [(run.context.source(rel), rel) for rel in rels]
        checksum = run.context.checksum(rels)
        origin = "context"
    try:
        chmod = int(str(flags["chmod"]), 8) if flags.get("chmod") else None
        step = f"{inst.keyword} " + json.dumps([origin, checksum, dest, flags.get("chown"),
                                                flags.get("chmod")])
        found = cached(run, state, step)
        if found:
            return found
        layers = run.backend.lower_dirs(state.image_id) if state.image_id else []
        chown = flags.get("chown")
        target = image_files.resolve(layers, dest)  # links followed in the image, as dockerd
        if dest.endswith("/") and not target.endswith("/"):
            target += "/"
        with run.temp_file() as layer:
            copy_layer(sources, target, layer, image_stat=lambda path: image_files.stat(layers, path),
                       dest_is_dir=lambda path: image_files.is_dir(layers, path),
                       owner=image_files.owner(layers, chown if isinstance(chown, str) else None),
                       chmod=chmod, extract_archives=is_add and not from_ref,
                       keyword=inst.keyword.upper())
            diff_id = store_layer(run, state, layer)
    finally:
        if release is not None:
            release()
    kind = "dir" if len(sources) == 1 and posixpath.isdir(sources[0][0]) else "file"
    command = nop_command(state.config, f"{inst.keyword} {kind}:{checksum} in {dest} ",
                          one_word=True)
    return commit_config(run, state, command, step, diff_id)


def _heredoc_sources(run: StepRun, inst: Instruction) -> tuple[_TempSources, str]:
    """``COPY <<EOF /dest``: each document as a file named after its delimiter."""
    files = _TempSources(tempfile.mkdtemp(prefix="heredoc-", dir=run.layout.tmp_dir))
    digest = hashlib.sha256()
    for doc in inst.heredocs:
        path = posixpath.join(files.directory, doc.name)
        with open(path, "w") as f:
            f.write(doc.content)
        files.append((path, doc.name))
        digest.update(f"{doc.name}\0{doc.content}\0".encode())
    return files, digest.hexdigest()


def _url_sources(run: StepRun, patterns: list[str]) -> tuple[_TempSources, str]:
    """ADD's sources when URLs are among them: each fetched into a temporary directory
    of its own (two URLs may end in the same name); context files selected as usual."""
    files = _TempSources(tempfile.mkdtemp(prefix="add-url-", dir=run.layout.tmp_dir))
    digest = hashlib.sha256()
    try:
        for number, pattern in enumerate(patterns):
            if remote.is_url(pattern):
                directory = posixpath.join(files.directory, str(number))
                os.mkdir(directory)
                path, content = remote.download(pattern, directory)
                files.append((path, pattern))
                digest.update(f"url\0{pattern}\0{content}\0".encode())
            else:
                rels = run.context.select(pattern)
                files.extend((run.context.source(rel), rel) for rel in rels)
                digest.update(f"context\0{run.context.checksum(rels)}\0".encode())
    except BaseException:
        files.release()
        raise
    return files, digest.hexdigest()
