"""A container's seccomp filter, as dockerd chooses it, compiled once and kept.

``--security-opt seccomp=<profile JSON>`` (the docker CLI sends a file's content),
``seccomp=unconfined`` or nothing (Cove's default profile, Docker's semantics);
``--privileged`` is unconfined. As in dockerd the profile is read at each start, so a bad
one fails the start (a 500), not the create. The filter depends on the profile, the
container's bounding set and the machine, so its BPF is compiled once per distinct
(profile, capabilities) and kept: in memory, and in ``<data-root>/seccomp/<hash>.bpf``
(the filter's key and the compiler's id; written atomically), so a restarted daemon
compiles nothing it already has. The shim and the exec helper read that file; they never
load libseccomp.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from cove.runtime import errors
from cove.runtime.linux import caps, seccomp, seccomp_compile, seccomp_profile
from cove.runtime.store.layout import atomic_write

FILTER_DIR = "seccomp"  # under the data root
UNCONFINED = "unconfined"
SECURITY_OPTION = "name=seccomp,profile=default"  # what dockerd 20.10's info shows

_known: dict[tuple[Path, str, int], str] = {}  # (data root, profile digest, caps) -> BPF
_lock = threading.Lock()


@cache
def supported() -> bool:
    """The kernel filters syscalls and libseccomp is there to compile filters."""
    return seccomp.kernel_supports_filters() and seccomp_compile.available()


def profile_option(host: dict[str, Any]) -> str | None:
    """The value of the last ``seccomp=`` security option (dockerd keeps the last one);
    None without one. "" asks for the default profile, as in dockerd."""
    value = None
    for option in host.get("SecurityOpt") or []:
        text = str(option)
        key, sep, rest = text.partition("=" if "=" in text else ":")
        if key == "seccomp" and sep:
            value = rest
    return value


def filter_path(data_root: Path, host: dict[str, Any], capabilities: int) -> str:
    """The compiled filter for a container with this HostConfig and bounding set; ""
    when it runs unconfined."""
    option = profile_option(host)
    if host.get("Privileged") or option == UNCONFINED:
        return ""
    if not supported():
        if option:
            raise errors.SystemError_("seccomp is not enabled in your kernel, cannot run a "
                                      "custom seccomp profile")
        return ""  # dockerd too runs without a filter where the kernel has none
    digest = hashlib.sha256(option.encode()).hexdigest() if option else "default"
    with _lock:
        path = _known.get((data_root, digest, capabilities))
        if path and os.path.exists(path):
            return path
        path = _compile(data_root, option, capabilities)
        _known[(data_root, digest, capabilities)] = path
        return path


def capability_names(mask: int) -> frozenset[str]:
    """A bounding set as profiles name its capabilities: ``CAP_SYS_ADMIN``..."""
    return frozenset(f"CAP_{name}" for name, bit in caps.CAPABILITY_NUMBERS.items()
                     if mask & (1 << bit))


def _compile(data_root: Path, option: str | None, capabilities: int) -> str:
    try:
        profile = (seccomp_profile.parse_profile(option) if option
                   else seccomp_profile.default_profile())
        spec = seccomp_profile.select(profile, capability_names(capabilities),
                                      os.uname().machine, os.uname().release)
        name = hashlib.sha256(f"{spec.key} {seccomp_compile.compiler_id()}".encode())
        path = data_root / FILTER_DIR / f"{name.hexdigest()}.bpf"
        if path.exists():
            return str(path)
        program = seccomp_compile.compile_bpf(spec)
    except seccomp_profile.ProfileError as exc:
        raise errors.SystemError_(str(exc)) from exc
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, program, 0o644)
    return str(path)
