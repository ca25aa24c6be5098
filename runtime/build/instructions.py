"""What each Dockerfile instruction does to the image being built.

``StageState`` is the image so far (ID, full config JSON) plus the build arguments in
scope. ``execute`` runs one instruction and returns the next state, taking it from the
build cache when the same parent image has seen the same step before.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.build import remote
from cove.runtime.build.copy import Owner, copy_layer
from cove.runtime.build.expansion import expand_instruction
from cove.runtime.build.substitution import expand

if TYPE_CHECKING:
    from cove.runtime.build.builder import _Run

DEFAULT_SHELL = ["/bin/sh", "-c"]
_HEREDOC_ONLY = re.compile(r"\s*<<-?[\"']?\w+[\"']?\s*")
# the proxy variables Docker lets through without an ARG
PREDEFINED_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                   "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}


def _now() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def _arch() -> str:
    import platform

    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@dataclass
class StageState:
    image_id: str
    image: dict[str, Any]  # the full image config JSON
    args: dict[str, str]  # build arguments in scope (declared with ARG)
    build_args: dict[str, str | None]
    used_args: dict[str, str] = field(default_factory=dict)
    global_args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False  # CMD given in this stage: a later ENTRYPOINT keeps it

    def with_image(self, image_id: str, image: dict[str, Any]) -> StageState:
        return dataclasses.replace(self, image_id=image_id, image=image)

    def shadow(self) -> StageState:
        """A copy whose config can be changed without touching this state."""
        return self.with_image(self.image_id, json.loads(json.dumps(self.image)))

    @property
    def config(self) -> dict[str, Any]:
        return self.image.setdefault("config", {})

    @classmethod
    def start(cls, image_id: str, store: Any, global_args: dict[str, str],
              build_args: dict[str, str | None]) -> StageState:
        if image_id:
            image = json.loads(store.config_bytes(image_id))
        else:
            image = {"architecture": _arch(), "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
        # global ARGs are visible to FROM only, unless redeclared in the stage
        return cls(image_id, image, {}, build_args, {}, dict(global_args))

    def env(self) -> dict[str, str]:
        """What variable expansion sees: build args, overridden by ENV."""
        values = dict(self.args)
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            values[key] = value
        return values


def declare_args(arg_instructions: list[Any], build_args: dict[str, str | None]) -> dict[str, str]:
    values: dict[str, str] = {}
    for inst in arg_instructions:
        for name, default in _arg_pairs(inst):
            value = build_args.get(name)
            if value is None:
                value = default
            if value is not None:
                values[name] = expand_word(value, values)
    return values


def expand_word(word: str, env: dict[str, str]) -> str:
    return expand(word, env)


def _arg_pairs(inst: Any) -> list[tuple[str, str | None]]:
    pairs = []
    for item in _words(inst):
        name, eq, default = item.partition("=")
        pairs.append((name, default if eq else None))
    return pairs


def _words(inst: Any) -> list[str]:
    args = inst.args
    if isinstance(args, str):
        return shlex.split(args) if args else []
    return list(args)


def _text(inst: Any) -> str:
    args = inst.args
    return args if isinstance(args, str) else " ".join(args)


def _key_values(inst: Any) -> list[tuple[str, str]]:
    """ENV/LABEL pairs: ``k=v k2="v 2"`` or the legacy ``k v w``."""
    pairs = getattr(inst, "pairs", None)
    if pairs:
        return [(k, v) for k, v in pairs]
    words = _words(inst)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words]


def _expand_inst(run: _Run, state: StageState, inst: Any) -> Any:
    return expand_instruction(inst, state.env())


# -- committing ---------------------------------------------------------------------

def commit_config(run: _Run, state: StageState, created_by: str, cache_step: str,
                  layer_diff: str | None = None) -> StageState:
    image = json.loads(json.dumps(state.image))
    image["created"] = _now()
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
        run.builder.cache.put(run.builder.cache.key(state.image_id, cache_step), image_id)
    return state.with_image(image_id, image)


def _cached(run: _Run, state: StageState, cache_step: str) -> StageState | None:
    if run.options.no_cache:
        return None
    image_id = run.builder.cache.get(run.builder.cache.key(state.image_id, cache_step))
    if not image_id or image_id not in run.store.image_ids():
        return None
    run.say(" ---> Using cache\n")
    return state.with_image(image_id, json.loads(run.store.config_bytes(image_id)))


def _metadata(run: _Run, state: StageState, inst: Any, change: Any) -> StageState:
    step = f"{inst.keyword} {json.dumps(_words(inst) if inst.keyword != 'ENV' else _key_values(inst))}"
    cached = _cached(run, state, step)
    if cached:
        return cached
    shadow = state.shadow()
    change(shadow.config)
    if inst.keyword.upper() == "CMD":
        shadow.cmd_set = True
    text = _text(inst) if not inst.json_form else json.dumps(_words(inst))
    return commit_config(run, shadow, f"/bin/sh -c #(nop)  {inst.keyword} {text}", step)


def add_labels(run: _Run, state: StageState, labels: dict[str, str]) -> StageState:
    shadow = state.shadow()
    shadow.config.setdefault("Labels", {}).update(labels)
    return commit_config(run, shadow, "/bin/sh -c #(nop)  LABEL " + json.dumps(labels),
                         "LABEL " + json.dumps(labels, sort_keys=True))


# -- the instructions ---------------------------------------------------------------

def execute(run: _Run, state: StageState, inst: Any) -> StageState:
    keyword = inst.keyword.upper()
    if keyword == "ARG":
        for name, default in _arg_pairs(inst):
            value = state.build_args.get(name)
            if value is None:
                value = default if default is not None else state.global_args.get(name)
            if value is not None:
                state.args[name] = expand_word(value, state.env())
                state.used_args[name] = state.args[name]
        return _metadata(run, state, inst, lambda config: None)
    if keyword == "RUN":
        from cove.runtime.build.run_step import run_step

        return run_step(run, state, inst)
    if keyword in ("COPY", "ADD"):
        return _copy(run, state, _expand_inst(run, state, inst), keyword == "ADD")
    if keyword == "ONBUILD":
        return _metadata(run, state, inst, lambda c: c.setdefault("OnBuild", []).append(_text(inst)))
    inst = _expand_inst(run, state, inst) if keyword not in ("CMD", "ENTRYPOINT", "SHELL",
                                                             "HEALTHCHECK") else inst
    change = _CONFIG_CHANGES.get(keyword)
    if change is None:
        raise errors.InvalidParameter(f"unknown instruction: {keyword}")
    return _metadata(run, state, inst, lambda config: change(config, inst, state))


def _command(inst: Any, config: dict[str, Any]) -> list[str]:
    if inst.json_form:
        return _words(inst)
    return list(config.get("Shell") or DEFAULT_SHELL) + [_text(inst)]


def _set_env(config: dict[str, Any], inst: Any, state: StageState) -> None:
    env = list(config.get("Env") or [])
    for key, value in _key_values(inst):
        if not key:
            raise errors.InvalidParameter("ENV names can not be blank")
        env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
    config["Env"] = env


def _set_labels(config: dict[str, Any], inst: Any, state: StageState) -> None:
    labels = dict(config.get("Labels") or {})
    labels.update(dict(_key_values(inst)))
    config["Labels"] = labels


def _set_workdir(config: dict[str, Any], inst: Any, state: StageState) -> None:
    config["WorkingDir"] = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", _text(inst)))


def _set_entrypoint(config: dict[str, Any], inst: Any, state: StageState) -> None:
    config["Entrypoint"] = _command(inst, config)
    if not state.cmd_set:
        config["Cmd"] = None  # a new ENTRYPOINT drops a CMD inherited from the base image


def _set_cmd(config: dict[str, Any], inst: Any, state: StageState) -> None:
    config["Cmd"] = _command(inst, config)


def _set_expose(config: dict[str, Any], inst: Any, state: StageState) -> None:
    ports = dict(config.get("ExposedPorts") or {})
    for port in _words(inst):
        ports[port if "/" in port else f"{port}/tcp"] = {}
    config["ExposedPorts"] = ports


def _set_volume(config: dict[str, Any], inst: Any, state: StageState) -> None:
    volumes = dict(config.get("Volumes") or {})
    for path in _words(inst):
        volumes[path] = {}
    config["Volumes"] = volumes


def _set_healthcheck(config: dict[str, Any], inst: Any, state: StageState) -> None:
    config["Healthcheck"] = dict(inst.healthcheck or {"Test": list(_words(inst))})


_CONFIG_CHANGES = {
    "ENV": _set_env,
    "LABEL": _set_labels,
    "WORKDIR": _set_workdir,
    "USER": lambda c, i, s: c.__setitem__("User", _text(i)),
    "CMD": _set_cmd,
    "ENTRYPOINT": _set_entrypoint,
    "EXPOSE": _set_expose,
    "VOLUME": _set_volume,
    "STOPSIGNAL": lambda c, i, s: c.__setitem__("StopSignal", _text(i)),
    "SHELL": lambda c, i, s: c.__setitem__("Shell", _words(i)),
    "HEALTHCHECK": _set_healthcheck,
    "MAINTAINER": lambda c, i, s: None,
}


def _owner(run: _Run, state: StageState, spec: str | None) -> Owner:
    if not spec:
        return Owner()
    user, _, group = spec.partition(":")
    lower = run.backend.lower_dirs(state.image_id) if state.image_id else []

    def lookup(name: str, table: str) -> int:
        if name.isdigit():
            return int(name)
        for layer in lower:
            try:
                with open(posixpath.join(layer, "etc", table)) as f:
                    for line in f:
                        fields = line.strip().split(":")
                        if fields and fields[0] == name and len(fields) > 2:
                            return int(fields[2])
            except OSError:
                continue
        raise errors.InvalidParameter(f"unable to convert uid/gid chown string to host mapping: "
                                      f"no such user or group: {name}")

    uid = lookup(user, "passwd")
    gid = lookup(group, "group") if group else uid
    return Owner(uid, gid)


def _lookup(run: _Run, state: StageState, path: str) -> str | None:
    """The host path of ``path`` in the topmost layer of the image holding it (None when
    no layer does, or a layer above deleted it)."""
    rel = path.strip("/")
    if not rel:
        return "/"
    for layer in run.backend.lower_dirs(state.image_id) if state.image_id else []:
        full = posixpath.join(layer, rel)
        if posixpath.lexists(full):
            return full
        parent, name = posixpath.split(full)
        if posixpath.lexists(posixpath.join(parent, ".wh." + name)):
            return None
    return None


def _exists(run: _Run, state: StageState, path: str) -> bool:
    return _lookup(run, state, path) is not None


def _exists_as_dir(run: _Run, state: StageState, path: str) -> bool:
    found = _lookup(run, state, path)
    return found is not None and posixpath.isdir(found)


class _HeredocFiles(list):  # type: ignore[type-arg]
    """``COPY <<EOF /dest``: each document as a file named after its delimiter."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory

    def release(self) -> None:
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


def _heredoc_sources(run: _Run, inst: Any) -> tuple[_HeredocFiles, str]:
    import hashlib
    import tempfile

    files = _HeredocFiles(tempfile.mkdtemp(prefix="heredoc-", dir=run.builder.layout.tmp_dir))
    digest = hashlib.sha256()
    for doc in inst.heredocs:
        path = posixpath.join(files.directory, doc.name)
        with open(path, "w") as f:
            f.write(doc.content)
        files.append((path, doc.name))
        digest.update(f"{doc.name}\0{doc.content}\0".encode())
    return files, digest.hexdigest()


def _url_sources(run: _Run, patterns: list[str]) -> tuple[_HeredocFiles, str]:
    """ADD's sources when URLs are among them: each fetched into a temporary directory
    of its own (two URLs may end in the same name); context files selected as usual."""
    import hashlib
    import tempfile

    files = _HeredocFiles(tempfile.mkdtemp(prefix="add-url-", dir=run.builder.layout.tmp_dir))
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
                files.extend((run.context.path(rel), rel) for rel in rels)
                digest.update(f"context\0{run.context.checksum(rels)}\0".encode())
    except BaseException:
        files.release()
        raise
    return files, digest.hexdigest()


def _copy(run: _Run, state: StageState, inst: Any, is_add: bool) -> StageState:
    words = _words(inst)
    if len(words) < 2:
        raise errors.InvalidParameter(f"{inst.keyword} requires at least two arguments")
    flags = getattr(inst, "flags", {}) or {}
    *patterns, dest = words
    if not dest.startswith("/"):
        dest = posixpath.join(state.config.get("WorkingDir") or "/", dest) + \
            ("/" if dest.endswith("/") else "")
    from_ref = flags.get("from")
    if from_ref:
        source_image = run.image_for_copy_from(str(from_ref))
        from cove.runtime.build.copy_from import select_from_image

        sources, checksum = select_from_image(run.backend.lower_dirs(source_image), source_image,
                                              patterns, str(run.builder.layout.tmp_dir))
        origin = f"from:{source_image}"
    elif getattr(inst, "heredocs", None) and all(p.startswith("<<") for p in patterns):
        sources, checksum = _heredoc_sources(run, inst)
        origin = "heredoc"
    elif is_add and any(remote.is_url(p) for p in patterns):
        sources, checksum = _url_sources(run, patterns)
        origin = "url"
    else:
        rels = [rel for pattern in patterns for rel in run.context.select(pattern)]
        sources = [(run.context.path(rel), rel) for rel in rels]
        checksum = run.context.checksum(rels)
        origin = "context"
    chmod = int(str(flags["chmod"]), 8) if flags.get("chmod") else None
    step = f"{inst.keyword} " + json.dumps([origin, checksum, dest, flags.get("chown"),
                                            flags.get("chmod")])
    cached = _cached(run, state, step)
    if cached:
        return cached
    try:
        with run.temp_file() as layer:
            copy_layer(sources, dest, layer, dest_is_dir=lambda p: _exists_as_dir(run, state, p),
                       owner=_owner(run, state, flags.get("chown")), chmod=chmod,
                       extract_archives=is_add and not from_ref,
                       many=len(sources) > 1 or any(
                           ch in p for p in patterns if not remote.is_url(p) for ch in "*?["))
            layer.seek(0)
            chain = run.store.layer_chain(state.image_id) if state.image_id else []
            _chain, result = run.store.add_layer(layer, chain[-1] if chain else None)
    finally:
        release = getattr(sources, "release", None)
        if release:
            release()
    kind = "dir" if len(sources) == 1 and posixpath.isdir(sources[0][0]) else "file"
    created_by = f"/bin/sh -c #(nop) {inst.keyword} {kind}:{checksum} in {dest} "
    return commit_config(run, state, created_by, step, result.diff_id)


class BuildFailed(errors.EngineError):
    """A step's command failed; ``code`` is its exit code (errorDetail.code)."""

    status = 400

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
