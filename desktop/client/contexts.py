"""Contexts: which engine the CLI talks to.

- ``native``: the Linux engine on this machine (``unix:///run/cove.sock``);
- ``vm``: the engine in the Cove machine, through its forwarded socket;
- ``default``: what docker calls the default context: ``native`` on Linux, ``vm`` on
  macOS and Windows (where there is no native engine).

The choice is docker's: ``-H`` and ``--context`` first (both at once is an error), then
``COVE_HOST``/``DOCKER_HOST``, then ``COVE_CONTEXT``, then ``currentContext`` in the
client's config.json, then ``default``.
"""

from __future__ import annotations

import json
import os
import sys

from .transport import DEFAULT_HOST as NATIVE_HOST

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Mapping

MACHINE = "default"  # the machine the vm context reaches
NAMES = ("default", "native", "vm")


class ContextError(Exception):
    """An unknown context, or a config file that cannot name one."""


def platform_default() -> str:
    return "native" if sys.platform.startswith("linux") else "vm"


def description(name: str) -> str:
    real = _real(name)
    if real == "native":
        return "The Cove engine on this machine"
    return f"The Cove engine in the Cove machine {MACHINE!r}"


def host_of(name: str) -> str:
    """The endpoint URL of a context."""
    if _real(name) == "native":
        return NATIVE_HOST
    from cove.vm.paths import MachinePaths

    return "unix://" + str(MachinePaths.of(MACHINE).engine_socket)


def _real(name: str) -> str:
    if name not in NAMES:
        raise ContextError(f'context "{name}": context not found: '
                           f"Cove's contexts are {', '.join(NAMES)}")
    return platform_default() if name == "default" else name


def config_path() -> str:
    from .credentials import cove_config_dir

    return os.path.join(cove_config_dir(), "config.json")


def _read_config() -> dict[str, object]:
    try:
        with open(config_path()) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ContextError(f"cannot read {config_path()}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def current(environ: Mapping[str, str] | None = None) -> str:
    """The context in effect when no ``-H``/``--context``/host variable says otherwise."""
    env = os.environ if environ is None else environ
    chosen = env.get("COVE_CONTEXT") or str(_read_config().get("currentContext") or "default")
    _real(chosen)
    return chosen


def use(name: str) -> None:
    """Make ``name`` the current context (config.json's ``currentContext``), keeping the
    rest of the file; written atomically."""
    _real(name)
    data = _read_config()
    if name == "default":
        data.pop("currentContext", None)
    else:
        data["currentContext"] = name
    path = config_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent="\t")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
