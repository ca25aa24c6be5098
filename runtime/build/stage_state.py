"""The image a build stage has made so far, and the build arguments in its scope.

Every step reads it (the config, what variables expand to) and ends with a new one, so
it sits below the steps and the builder that strings them together.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from dataclasses import dataclass, field
from typing import Any

from cove.runtime.build.dockerfile import Instruction, arg_pairs
from cove.runtime.build.substitution import expand

_DEFAULT_SHELL = ["/bin/sh", "-c"]


def _arch() -> str:
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
        config: dict[str, Any] = self.image.setdefault("config", {})
        return config

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


def command_shell(config: dict[str, Any]) -> list[str]:
    """What runs a shell-form command: the config's SHELL, or Docker's default."""
    return list(config.get("Shell") or _DEFAULT_SHELL)


def declare_args(arg_instructions: list[Instruction],
                 build_args: dict[str, str | None]) -> dict[str, str]:
    """The values of the ARGs before the first FROM: the build's value, else the default."""
    values: dict[str, str] = {}
    for inst in arg_instructions:
        for name, default in arg_pairs(inst):
            value = build_args.get(name)
            if value is None:
                value = default
            if value is not None:
                values[name] = expand_word(value, values)
    return values


def expand_word(word: str, env: dict[str, str]) -> str:
    return expand(word, env)


# dockerd never warns about these: they reach RUN steps without an ARG
PREDEFINED_ARGS = frozenset(("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                             "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
                             "ALL_PROXY", "all_proxy"))


def unconsumed_build_args(build_args: dict[str, str | None], global_args: list[Instruction],
                          stage_instructions: list[Instruction]) -> list[str]:
    """The ``--build-arg`` names no ARG of the build declares, sorted (dockerd warns of them)."""
    declared = {name for inst in global_args for name, _ in arg_pairs(inst)}
    declared |= {name for inst in stage_instructions if inst.keyword.upper() == "ARG"
                 for name, _ in arg_pairs(inst)}
    return sorted(name for name in build_args
                  if name not in declared and name not in PREDEFINED_ARGS)
