"""The instructions that change only the image's config, and the commit every step ends with.

ARG, ENV, LABEL, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, SHELL,
HEALTHCHECK, ONBUILD and MAINTAINER each make an image without a layer of its own (but
WORKDIR, as dockerd's, makes one holding its directory when the image lacks it);
RUN and COPY/ADD (``run_step``, ``copy_step``) make a layer first. Every step's image is
committed here and remembered in the step cache under the parent image and the step's
inputs, so a later build with the same inputs takes it from there.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from cove.runtime import errors
from cove.runtime.build import image_files
from cove.runtime.build.copy import directory_layer
from cove.runtime.build.dockerfile import Instruction, arg_pairs
from cove.runtime.build.expansion import expand_instruction
from cove.runtime.build.history_text import go_list, healthcheck_text, nop_command
from cove.runtime.build.stage_state import StageState, command_shell, expand_word
from cove.runtime.build.step_run import StepRun
from cove.runtime.images.views import now_rfc3339

ConfigChange = Callable[[dict[str, Any], Instruction, StageState], None]


def commit_config(run: StepRun, state: StageState, command: list[str] | str, cache_step: str,
                  layer_diff: str | None = None) -> StageState:
    """The step's image stored (with its history entry and, if any, its layer) and
    remembered in the step cache under ``cache_step``. ``command`` is what dockerd records
    for the step (history's ``created_by`` is its words joined); the config's ``Image``
    names the parent image, as dockerd's classic builder writes it."""
    image = json.loads(json.dumps(state.image))
    image["created"] = now_rfc3339()
    created_by = command if isinstance(command, str) else " ".join(command)
    config = image.setdefault("config", {})
    config["Image"] = state.image_id
    image["container_config"] = {**config, "Cmd": [command] if isinstance(command, str)
                                 else list(command)}
    entry: dict[str, Any] = {"created": image["created"], "created_by": created_by}
    if layer_diff is None:
        entry["empty_layer"] = True
    else:
        image.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(layer_diff)
    image.setdefault("history", []).append(entry)
    image.pop("container", None)
    image_id = run.store.add_image(json.dumps(image, separators=(",", ":")).encode())
    if state.image_id:
        run.store.set_parent(image_id, state.image_id)
    if cache_step:
        run.cache.put(run.cache.key(state.image_id, cache_step), image_id)
    return state.with_image(image_id, image)


def store_layer(run: StepRun, state: StageState, layer: BinaryIO) -> str:
    """The layer tar in ``layer`` stored on top of the stage's image; its diff ID."""
    layer.seek(0)
    chain = run.store.layer_chain(state.image_id) if state.image_id else []
    _chain, result = run.store.add_layer(layer, chain[-1] if chain else None)
    diff_id: str = result.diff_id
    return diff_id


def cached(run: StepRun, state: StageState, cache_step: str) -> StageState | None:
    """The image an earlier build made for this step on this parent, if still stored (and,
    with ``--cache-from``, one of those images' own chain)."""
    if run.options.no_cache:
        return None
    image_id = run.cache.get(run.cache.key(state.image_id, cache_step))
    if not image_id or image_id not in run.store.image_ids():
        return None
    sources = _cache_sources(run)
    if sources is not None and image_id not in sources:
        return None
    run.say(" ---> Using cache\n")
    return state.with_image(image_id, json.loads(run.store.config_bytes(image_id)))


def _cache_sources(run: StepRun) -> set[str] | None:
    """``--cache-from``: the images named and their parents, the only ones a step may be
    taken from (as dockerd's classic builder); None when any cached step will do. A name
    that is not stored adds nothing."""
    if not run.options.cache_from:
        return None
    allowed: set[str] = set()
    for ref in run.options.cache_from:
        try:
            image = run.store.resolve(ref)
        except errors.NotFound:
            continue
        while image and image not in allowed:
            allowed.add(image)
            image = run.store.parent(image)
    return allowed


def config_step(run: StepRun, state: StageState, inst: Instruction) -> StageState:
    """An instruction that only changes the config: the new image, or the cached one."""
    keyword = inst.keyword.upper()
    if keyword == "ARG":
        for name, default in arg_pairs(inst):
            value = state.build_args.get(name)
            if value is None:
                value = default if default is not None else state.global_args.get(name)
            if value is not None:
                state.args[name] = expand_word(value, state.env())
                state.used_args[name] = state.args[name]
        return _commit_change(run, state, inst, lambda config: None)
    if keyword == "ONBUILD":
        return _commit_change(run, state, inst,
                              lambda c: c.setdefault("OnBuild", []).append(inst.text()))
    if keyword not in ("CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK"):
        inst = expand_instruction(inst, state.env())
    if keyword == "WORKDIR":
        return _workdir_step(run, state, inst)
    if keyword == "HEALTHCHECK":
        test = (state.config.get("Healthcheck") or {}).get("Test") or []
        if test and test[0] != "NONE":
            run.say(f"Note: overriding previous HEALTHCHECK: {go_list(test, quoted=False)}\n")
    change = _change_for(keyword)
    return _commit_change(run, state, inst, lambda config: change(config, inst, state))


def apply_to_config(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    """One config instruction (ENV, CMD, ...) applied to ``config`` as a build would
    (what ``docker commit --change`` does too)."""
    _change_for(inst.keyword.upper())(config, inst, state)


def label_option(key: str, value: str) -> Instruction:
    """``docker build --label k=v``: a ``LABEL k=v`` step dockerd adds to the last stage,
    one per label in key order; its value is taken as given (``option_label_step``)."""
    return Instruction("LABEL", [key, value], original=f"LABEL {key}={value}")


def option_label_step(run: StepRun, state: StageState, inst: Instruction) -> StageState:
    """A ``label_option`` step: LABEL without the variable expansion Dockerfile steps get."""
    return _commit_change(run, state, inst, lambda config: _set_labels(config, inst, state))


def _commit_change(run: StepRun, state: StageState, inst: Instruction,
                   change: Callable[[dict[str, Any]], None]) -> StageState:
    words = inst.pairs if inst.keyword == "ENV" else inst.words()
    step = f"{inst.keyword} {json.dumps(words)}"
    found = cached(run, state, step)
    if found:
        return found
    shadow = state.shadow()
    change(shadow.config)
    if inst.keyword.upper() == "CMD":
        shadow.cmd_set = True
    command = nop_command(shadow.config, _history_text(inst, shadow.config))
    with intermediate_container(run, state, command):
        return commit_config(run, shadow, command, step)


@contextmanager
def intermediate_container(run: StepRun, state: StageState, command: list[str]) -> Iterator[None]:
    """The container dockerd's classic builder makes for a step that commits a config:
    created (never started) on the parent image, shown as `` ---> Running in <id>``, and
    removed once the step's image is committed (unless ``--rm=false``), as dockerd shows
    it. A step on no image yet (the first after ``FROM scratch``) has none here."""
    if not state.image_id:
        yield
        return
    cid = run.backend.create_container({"Image": state.image_id, "Cmd": command})
    run.say(f" ---> Running in {cid[:12]}\n")
    try:
        yield
    except BaseException:  # a failed step's container stays, unless --force-rm (as RUN's)
        if run.options.force_remove:
            run.backend.remove_container(cid)
        raise
    if run.options.remove:
        run.backend.remove_container(cid)
        run.say(f"Removing intermediate container {cid[:12]}\n")


def _history_text(inst: Instruction, config: dict[str, Any]) -> str:
    """A config step's text after ``#(nop)`` as dockerd's dispatchers write it: ENV and
    LABEL as key=value, VOLUME and SHELL as %v lists, CMD and ENTRYPOINT as the %q list
    they set, HEALTHCHECK as the %q of the check the step gave (before the parent's
    values fill it in); the others as written."""
    keyword = inst.keyword.upper()
    if keyword in ("ENV", "LABEL"):
        text = " ".join(f"{key}={value}" for key, value in inst.pairs)
    elif keyword in ("VOLUME", "SHELL"):
        text = go_list(inst.words(), quoted=False)
    elif keyword in ("CMD", "ENTRYPOINT"):
        value = config.get("Cmd" if keyword == "CMD" else "Entrypoint") or []
        text = go_list(value, quoted=True)
    elif keyword == "HEALTHCHECK":
        return healthcheck_text(inst.healthcheck or {"Test": inst.words()})
    else:
        text = inst.text() if not inst.json_form else json.dumps(inst.words())
    return f"{keyword} {text}"


def _workdir_step(run: StepRun, state: StageState, inst: Instruction) -> StageState:
    """WORKDIR: the config's working directory, and, where the image lacks it, a layer
    making it (dockerd's WORKDIR creates the directory and commits it)."""
    step = f"{inst.keyword} {json.dumps(inst.words())}"
    found = cached(run, state, step)
    if found:
        return found
    shadow = state.shadow()
    _set_workdir(shadow.config, inst, state)
    # one space after #(nop) and the resolved path: dockerd's WORKDIR comment is one word
    command = nop_command(shadow.config, f"WORKDIR {shadow.config['WorkingDir']}",
                          one_word=True)
    layers = run.backend.lower_dirs(state.image_id) if state.image_id else []
    directory = image_files.resolve(layers, shadow.config["WorkingDir"])
    with intermediate_container(run, state, command):
        if image_files.is_dir(layers, directory):
            return commit_config(run, shadow, command, step)
        with run.temp_file() as layer:
            directory_layer(directory, layer, lambda path: image_files.stat(layers, path))
            diff_id = store_layer(run, state, layer)
        return commit_config(run, shadow, command, step, diff_id)


def _change_for(keyword: str) -> ConfigChange:
    change = _CONFIG_CHANGES.get(keyword)
    if change is None:
        raise errors.InvalidParameter(f"unknown instruction: {keyword}")
    return change


def _command(inst: Instruction, config: dict[str, Any]) -> list[str]:
    if inst.json_form:
        return inst.words()
    return command_shell(config) + [inst.text()]


def _set_env(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    env = list(config.get("Env") or [])
    for key, value in inst.pairs:
        if not key:
            raise errors.InvalidParameter("ENV names can not be blank")
        env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
    config["Env"] = env


def _set_labels(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    labels = dict(config.get("Labels") or {})
    labels.update(dict(inst.pairs))
    config["Labels"] = labels


def _set_workdir(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    config["WorkingDir"] = posixpath.normpath(
        posixpath.join(config.get("WorkingDir") or "/", inst.text()))


def _set_entrypoint(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    config["Entrypoint"] = _command(inst, config)
    if not state.cmd_set:
        config["Cmd"] = None  # a new ENTRYPOINT drops a CMD inherited from the base image


def _set_cmd(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    config["Cmd"] = _command(inst, config)


def _set_expose(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    ports = dict(config.get("ExposedPorts") or {})
    for port in inst.words():
        ports[port if "/" in port else f"{port}/tcp"] = {}
    config["ExposedPorts"] = ports


def _set_volume(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    volumes = dict(config.get("Volumes") or {})
    for path in inst.words():
        volumes[path] = {}
    config["Volumes"] = volumes


def _set_healthcheck(config: dict[str, Any], inst: Instruction, state: StageState) -> None:
    """The step's check; what it leaves unset (zero) comes from the parent's, as dockerd's
    container create merges the two before the step is committed."""
    check: dict[str, Any] = dict(inst.healthcheck or {"Test": list(inst.words())})
    previous = config.get("Healthcheck") or {}
    for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
        if not check.get(key) and previous.get(key):
            check[key] = previous[key]
    config["Healthcheck"] = check


_CONFIG_CHANGES: dict[str, ConfigChange] = {
    "ENV": _set_env,
    "LABEL": _set_labels,
    "WORKDIR": _set_workdir,
    "USER": lambda c, i, s: c.__setitem__("User", i.text()),
    "CMD": _set_cmd,
    "ENTRYPOINT": _set_entrypoint,
    "EXPOSE": _set_expose,
    "VOLUME": _set_volume,
    "STOPSIGNAL": lambda c, i, s: c.__setitem__("StopSignal", i.text()),
    "SHELL": lambda c, i, s: c.__setitem__("Shell", i.words()),
    "HEALTHCHECK": _set_healthcheck,
    "MAINTAINER": lambda c, i, s: None,
}
