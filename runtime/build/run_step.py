"""RUN: a step's command runs in a real container of the engine, with the step's
``--mount``s, and the container's upper directory becomes the step's layer."""

from __future__ import annotations

import json
import re
from typing import Any

from cove.runtime import errors
from cove.runtime.build import image_files, run_mounts
from cove.runtime.build.dockerfile import Instruction
from cove.runtime.build.instructions import cached, commit_config, store_layer
from cove.runtime.build.layers import diff_tar, upper_changes
from cove.runtime.build.stage_state import StageState, command_shell, expand_word
from cove.runtime.build.step_run import StepRun

_HEREDOC_ONLY = re.compile(r"\s*<<-?[\"']?\w+[\"']?\s*")


class BuildFailed(errors.InvalidParameter):
    """A step's command failed; ``code`` is its exit code (errorDetail.code)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class BuildCancelled(errors.EngineError):
    """The client hung up: the build stops, as dockerd's does when its context is
    cancelled (its step's container killed and removed)."""

    def __init__(self) -> None:
        super().__init__("build cancelled")


def run_step(run: StepRun, state: StageState, inst: Instruction) -> StageState:
    """RUN: the command in a container on the image so far; its changes become a layer."""
    config = state.config
    if inst.json_form:
        command = inst.words()
    else:
        script = inst.text()
        heredocs = inst.heredocs
        if heredocs and _HEREDOC_ONLY.fullmatch(script):
            script = heredocs[0].content  # `RUN <<EOF`: the document is the script
        else:  # `RUN cat <<EOF >file`: the shell reads the document itself
            for heredoc in heredocs:
                script += "\n" + heredoc.content + ("" if heredoc.content.endswith("\n")
                                                    else "\n") + heredoc.name
        command = command_shell(config) + [script]
    env_names = {e.partition("=")[0] for e in config.get("Env") or []}
    arg_env = [f"{k}={v}" for k, v in sorted(state.args.items()) if k not in env_names]
    mounts = _run_mounts(run, state, inst)
    try:
        return _run_command(run, state, command, arg_env, mounts, _step_network(inst))
    finally:
        if mounts is not None:
            mounts.release()


def _step_network(inst: Instruction) -> str | None:
    """``RUN --network``: ``default`` is the build's network (``docker build --network``,
    the default bridge without one), ``none`` loopback only (the step's own
    ``NetworkMode``, None for ``default``); ``host`` is the entitlement BuildKit asks
    for (``--allow network.host``), which no classic build grants, so it is refused."""
    network = str(inst.flags.get("network") or "default")
    if network not in ("default", "none"):
        raise errors.InvalidParameter(
            f"RUN --network={network}: not allowed" if network == "host" else
            f"RUN --network: unsupported value {network!r} (default, none or host)")
    return "none" if network == "none" else None


def _run_mounts(run: StepRun, state: StageState,
                inst: Instruction) -> run_mounts.PreparedMounts | None:
    """The step's ``--mount``s prepared (None without any); ``--security`` checked: the
    entitlement BuildKit asks for (insecure) is refused."""
    flags = inst.flags
    security = str(flags.get("security") or "sandbox")
    if security != "sandbox":
        raise errors.InvalidParameter(f"RUN --security={security}: not allowed")
    specs = flags.get("mount") or []
    if not specs:
        return None
    env = state.env()
    workdir = state.config.get("WorkingDir") or "/"
    parsed = [run_mounts.parse_mount(expand_word(str(spec), env), workdir) for spec in specs]
    sources = run_mounts.MountSources(
        run.context, run.image_for_copy_from, run.backend.lower_dirs,
        str(run.layout.tmp_dir), str(run.layout.build_cache_mounts))
    return run_mounts.prepare(parsed, sources)


def _run_command(run: StepRun, state: StageState, command: list[str], arg_env: list[str],
                 mounts: run_mounts.PreparedMounts | None, network: str | None) -> StageState:
    config = state.config
    step = "RUN " + json.dumps([command, arg_env] + ([mounts.cache_key] if mounts else [])
                               + ([{"network": network}] if network else []))
    found = cached(run, state, step)
    if found:
        return found
    body: dict[str, Any] = {"Image": state.image_id or "", "Cmd": command, "Entrypoint": [],
            "Env": list(config.get("Env") or []) + arg_env,
            "WorkingDir": config.get("WorkingDir") or "", "User": config.get("User") or "",
            "Labels": {}, "AttachStdout": True, "AttachStderr": True}
    if mounts is not None and mounts.host_mounts:
        body.setdefault("HostConfig", {})["Mounts"] = mounts.host_mounts
    if run.options.extra_hosts:
        body.setdefault("HostConfig", {})["ExtraHosts"] = list(run.options.extra_hosts)
    if run.options.run_host_config:
        body.setdefault("HostConfig", {}).update(run.options.run_host_config)
    if network:
        body.setdefault("HostConfig", {})["NetworkMode"] = network
    cid = run.backend.create_container(body)
    try:
        run.say(f" ---> Running in {cid[:12]}\n")
        run.backend.start_container(cid)
    except errors.EngineError:  # an unknown --network, as dockerd: the container stays
        _failed(run, cid)
        raise
    except BaseException:  # the client gone before the start: nothing of it is kept
        run.backend.remove_container(cid)
        raise
    try:
        for stream, data in run.backend.container_output(cid, run.client_gone):
            text = data.decode("utf-8", "replace")
            # stderr in red, as dockerd's classic builder sends it
            run.say(f"\x1b[91m{text}\x1b[0m" if stream == 2 else text)
        if run.client_gone():
            raise BuildCancelled()
        code = run.backend.wait_container(cid)
    except BaseException:
        # the client gone (or a failure here): the step's process and its network end now,
        # not when the command would have, as dockerd kills and removes it on cancel
        run.backend.remove_container(cid)
        raise
    if code != 0:
        _failed(run, cid)
        raise BuildFailed(
            f"The command '{' '.join(command)}' returned a non-zero code: {code}", code)
    layers = run.backend.lower_dirs(state.image_id) if state.image_id else []
    if mounts is not None:
        run_mounts.remove_stubs(run.backend.container_upper(cid), mounts.targets,
                                lambda path: image_files.exists(layers, path))
    upper = run.backend.container_upper(cid)
    diff_id = None  # a step that changed nothing adds no layer, as dockerd's
    if upper_changes(upper, layers, for_layer=True):
        with run.temp_file() as layer:
            diff_tar(upper, layer, layers)
            diff_id = store_layer(run, state, layer)
    if run.options.remove:
        run.backend.remove_container(cid)
        run.say(f"Removing intermediate container {cid[:12]}\n")
    prefix = [f"|{len(arg_env)}", *arg_env] if arg_env else []
    return commit_config(run, state, prefix + command, step, diff_id)


def _failed(run: StepRun, cid: str) -> None:
    """A failed step's container stays for the user to look at, unless ``--force-rm``."""
    if run.options.force_remove:
        run.backend.remove_container(cid)
        run.say(f"Removing intermediate container {cid[:12]}\n")
