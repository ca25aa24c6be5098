"""The classic (non-BuildKit) builder: a Dockerfile run step by step, as ``docker build``
with ``DOCKER_BUILDKIT=0`` shows it.

Each step yields an image: RUN runs the command in a container from the previous
image and commits the container's changes as a layer; COPY/ADD make a layer from
the selected files; every other instruction only changes the image config. A step
whose (parent image, instruction, inputs) was built before is taken from the cache.
The builder talks to the engine through ``BuildBackend`` and never imports it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

from cove.common import dockerignore
from cove.runtime import errors
from cove.runtime.build import instructions, parser
from cove.runtime.build.backend import BuildBackend, BuildOptions, Emit
from cove.runtime.build.context import BuildContext
from cove.runtime.build.copy_step import copy_step
from cove.runtime.build.dockerfile import Instruction
from cove.runtime.build.remote import remote_context
from cove.runtime.build.run_mounts import prune_cache_mounts
from cove.runtime.build.run_step import BuildCancelled, run_step
from cove.runtime.build.stage_state import (
    StageState,
    declare_args,
    expand_word,
    unconsumed_build_args,
)
from cove.runtime.build.step_cache import BuildCache
from cove.runtime.images import reference
from cove.runtime.store.layout import Layout


class Builder:
    def __init__(self, backend: BuildBackend, layout: Layout) -> None:
        self.backend = backend
        self.layout = layout
        self.cache = BuildCache(layout)

    def prune(self, everything: bool, used_before: float | None = None) -> tuple[list[str], int]:
        """``builder prune``: unused cache mounts; with ``everything`` the step cache too.

        Returns the IDs of what was deleted and the bytes freed. Steps cached before are
        images (the parents of what was built), so forgetting them frees no space itself.
        """
        removed = prune_cache_mounts(str(self.layout.build_cache_mounts), used_before)
        ids = [name for name, _size in removed]
        if everything and used_before is None:
            ids += self.cache.clear()
        return ids, sum(size for _name, size in removed)

    def build(self, context_stream: BinaryIO, options: BuildOptions, emit: Emit,
              client_gone: Callable[[], bool] = lambda: False) -> str:
        """The image built; ``client_gone`` ends the build (``BuildCancelled``) once the
        client has hung up, its running step stopped, as dockerd's cancelled context."""
        if options.remote:
            with remote_context(options.remote, options.dockerfile,
                                str(self.layout.tmp_dir)) as fetched:
                return self._build(fetched, options, emit, client_gone)
        return self._build(context_stream, options, emit, client_gone)

    def _build(self, context_stream: BinaryIO, options: BuildOptions, emit: Emit,
               client_gone: Callable[[], bool]) -> str:
        context = BuildContext(context_stream, str(self.layout.tmp_dir))
        try:
            return BuildRun(self, context, options, emit, client_gone).run()
        finally:
            context.close()


class BuildRun:
    """One build: the steps of the stages up to the target (a ``StepRun`` for each step)."""

    def __init__(self, builder: Builder, context: BuildContext, options: BuildOptions,
                 emit: Emit, client_gone: Callable[[], bool] = lambda: False) -> None:
        self.backend = builder.backend
        self.store = builder.backend.store
        self.cache = builder.cache
        self.layout = builder.layout
        self.context = context
        self.options = options
        self.emit = emit
        self.client_gone = client_gone
        self.stage_images: dict[str, str] = {}
        self.kept_containers: list[str] = []

    def say(self, text: str) -> None:
        if not self.options.quiet:
            self.emit({"stream": text})

    def run(self) -> str:
        text = self.context.read_text(self.options.dockerfile)
        if text is None and self.options.dockerfile == "Dockerfile":
            text = self.context.read_text("dockerfile")  # dockerd's fallback for the default
        if text is None:  # an error of no kind, a 500 as in dockerd 20.10 and since
            raise errors.EngineError(
                f"Cannot locate specified Dockerfile: {self.options.dockerfile}")
        ignore = self.context.read_text(".dockerignore")
        if ignore:  # read first, then hidden from COPY like everything else it lists
            try:
                patterns = dockerignore.parse_dockerignore(ignore)
            except dockerignore.DockerignoreError as exc:
                raise errors.InvalidParameter(str(exc)) from exc
            self.context.apply_ignore(lambda rel: dockerignore.is_excluded(rel, patterns))
        dockerfile = parser.parse(text)
        stages = list(dockerfile.stages)
        if self.options.target:
            names = [(s.name or "").lower() for s in stages]
            if self.options.target.lower() not in names:
                raise errors.InvalidParameter(
                    f"failed to reach build target {self.options.target} in Dockerfile")
            stages = stages[:names.index(self.options.target.lower()) + 1]
        # --label: LABEL steps dockerd adds to the last stage, one per label in key order
        label_steps = [instructions.label_option(key, self.options.labels[key])
                       for key in sorted(self.options.labels)]
        # the ARGs before the first FROM are steps too, as dockerd counts and shows them
        total = (len(dockerfile.global_args) + sum(1 + len(s.instructions) for s in stages)
                 + len(label_steps))
        global_args = declare_args(dockerfile.global_args, self.options.build_args)
        step = 0
        for inst in dockerfile.global_args:
            step += 1
            self.say(f"Step {step}/{total} : {inst.original}\n")
        image_id = ""
        for index, stage in enumerate(stages):
            step += 1
            self.say(f"Step {step}/{total} : {stage_line(stage)}\n")
            base = expand_word(stage.base, global_args)
            state = StageState.start(self._base_image(base), self.store, dict(global_args),
                                     self.options.build_args)
            triggers = state.config.get("OnBuild") or []
            if triggers:  # the base image's ONBUILD steps run first, and are not inherited
                state.config["OnBuild"] = None
                self.say(f"# Executing {len(triggers)} build trigger"
                         f"{'s' if len(triggers) > 1 else ''}\n")
                for trigger in triggers:
                    state = self._step(state, parser.parse_instruction(trigger))
            # the FROM step's image, after its triggers; empty for scratch, as dockerd's
            self.say(f" ---> {_short(state.image_id)}\n")
            last = index == len(stages) - 1
            for inst in stage.instructions + (label_steps if last else []):
                step += 1
                self.say(f"Step {step}/{total} : {inst.original}\n")
                if any(inst is label for label in label_steps):
                    state = instructions.option_label_step(self, state, inst)
                else:
                    state = self._step(state, inst)
                self.say(f" ---> {_short(state.image_id)}\n")
            if not state.image_id:  # FROM scratch and nothing else
                state = instructions.commit_config(self, state, "#(nop) FROM scratch", "")
            image_id = state.image_id
            self.stage_images[str(index)] = image_id
            if stage.name:
                self.stage_images[stage.name.lower()] = image_id
        unused = unconsumed_build_args(self.options.build_args, dockerfile.global_args,
                                       [i for s in stages for i in s.instructions])
        if unused:
            self.say(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        self.emit({"aux": {"ID": image_id}})
        if self.options.quiet:  # what `docker build -q` prints
            self.emit({"stream": image_id + "\n"})
        self.say(f"Successfully built {_short(image_id)}\n")
        for tag in self.options.tags:
            self.store.set_reference(reference.parse(tag).with_default_tag(), image_id)
            self.say(f"Successfully tagged {reference.parse(tag).with_default_tag()}\n")
        return image_id

    def _step(self, state: StageState, inst: Instruction) -> StageState:
        """One instruction: RUN and COPY/ADD add a layer, the others change the config."""
        if self.client_gone():  # dockerd checks its context before each step
            raise BuildCancelled()
        keyword = inst.keyword.upper()
        if keyword == "RUN":
            return run_step(self, state, inst)
        if keyword in ("COPY", "ADD"):
            return copy_step(self, state, inst)
        return instructions.config_step(self, state, inst)

    def _base_image(self, base: str) -> str:
        if base.lower() == "scratch":
            return ""
        if base.lower() in self.stage_images:
            return self.stage_images[base.lower()]
        return self.backend.resolve_or_pull(base, self.emit, self.options.pull,
                                            self.options.registry_auths)

    def image_for_copy_from(self, source: str) -> str:
        key = source.lower()
        if key in self.stage_images:
            return self.stage_images[key]
        return self.backend.resolve_or_pull(source, self.emit,
                                            auths=self.options.registry_auths)

    def temp_file(self) -> Any:
        return tempfile.TemporaryFile(dir=self.layout.tmp_dir)


def stage_line(stage: Any) -> str:
    return getattr(stage, "original", None) or (
        f"FROM {stage.base}" + (f" AS {stage.name}" if stage.name else ""))


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]

