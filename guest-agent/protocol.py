"""What the host and the guest agent say to each other: one schema, imported by both
``cove.vm`` (on macOS, Windows and Linux) and ``cove.guest_agent`` (in the guest), so it is
plain Python with no imports of either side.

The host reaches the agent through its SSH tunnel, on the guest's loopback: one JSON
object per line each way, a request and its answer.

    {"op": "time", "host_ns": N}   -> {"ok": true, "drift_ns": D, "adjusted": bool}
        the guest sets its clock to the host's when they differ by more than
        ``MAX_DRIFT_NS`` (after a laptop sleeps, the guest's clock is minutes behind)
    {"op": "status"}               -> {"ok": true, "os": "...", "kernel": "...",
                                       "uptime_s": F, "engine": bool, "version": "..."}
        ``engine``: coved answers /_ping; ``version``: Cove's, the agent's and the engine's
        (one wheel); ``shares``: [{"path", "mounted": bool, "note"}], each shared folder
        and whether init mounted it (what it said on the console)
    anything else                  -> {"ok": false, "error": "..."}

Once per boot, before that, ``machine start`` and the guest's init talk over the control
port, a virtio-serial line named ``CONTROL_PORT`` (no network, no SSH yet):

    guest: {"op": "ready"}         init is up, the engine loaded, the data disk not mounted:
                                   the host may save the VM's state now
    host:  {"op": "go", "host_ns": N, "entropy": "<hex>",
            "registry_mirrors": ["https://…"],
            "shares": [{"tag": "cove-share0", "path": "/home/me", "readonly": false}]}
                                   after a cold boot or a restore alike: set the clock,
                                   reseed the RNG (a restored guest would repeat the saved
                                   one's randomness), start sshd, mount the shared folders
                                   and the data disk, start the engine with the mirrors.
                                   The last two keys are optional (none). The mirrors ride
                                   here rather than on the command line, so changing them
                                   keeps the saved state: the engine reads them only when
                                   it is released
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENGINE_PORT = 2375  # the engine bridge: a TCP door to /run/cove.sock
AGENT_PORT = 2376  # this protocol
MAX_DRIFT_NS = 100_000_000  # 100 ms, as Lima resyncs
MAX_LINE = 64 * 1024
CONTROL_PORT = "cove.control"
ENTROPY_BYTES = 64
SHARES_REPORT = "/run/cove/shares.json"  # init's record of the shared folders it mounted


class ProtocolError(ValueError):
    """A line that is not one JSON object, or too long."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE:
        raise ProtocolError("message too long")
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    return message


def time_request(host_ns: int) -> dict[str, Any]:
    return {"op": "time", "host_ns": host_ns}


def status_request() -> dict[str, Any]:
    return {"op": "status"}


def ready_message() -> dict[str, Any]:
    return {"op": "ready"}


@dataclass(frozen=True)
class SharedFolder:
    tag: str  # the 9p mount tag QEMU gave the folder's device
    path: str  # where it is mounted in the guest: the host's own path
    readonly: bool = False


@dataclass(frozen=True)
class Go:
    """What the host's go carries."""

    host_ns: int
    entropy: bytes
    registry_mirrors: tuple[str, ...] = ()
    shares: tuple[SharedFolder, ...] = ()


def go_message(host_ns: int, entropy: bytes, registry_mirrors: tuple[str, ...] = (),
               shares: tuple[SharedFolder, ...] = ()) -> dict[str, Any]:
    message: dict[str, Any] = {"op": "go", "host_ns": host_ns, "entropy": entropy.hex()}
    if registry_mirrors:
        message["registry_mirrors"] = list(registry_mirrors)
    if shares:
        message["shares"] = [{"tag": s.tag, "path": s.path, "readonly": s.readonly}
                             for s in shares]
    return message


def read_go(message: dict[str, Any]) -> Go:
    """What a ``go`` carries; ProtocolError for anything else."""
    host_ns, entropy = message.get("host_ns"), message.get("entropy")
    if message.get("op") != "go" or not isinstance(host_ns, int) or isinstance(host_ns, bool) \
            or not isinstance(entropy, str):
        raise ProtocolError(f"expected a go message, not {message!r}"[:200])
    try:
        noise = bytes.fromhex(entropy)
    except ValueError as exc:
        raise ProtocolError(f"go: entropy is not hex: {exc}") from exc
    mirrors = message.get("registry_mirrors", [])
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        raise ProtocolError("go: registry_mirrors is not a list of strings")
    shares = message.get("shares", [])
    if not isinstance(shares, list):
        raise ProtocolError("go: shares is not a list")
    folders: list[SharedFolder] = []
    for share in shares:
        tag = share.get("tag") if isinstance(share, dict) else None
        path = share.get("path") if isinstance(share, dict) else None
        if not isinstance(tag, str) or not isinstance(path, str) or not path.startswith("/"):
            raise ProtocolError(f"go: a shared folder needs a tag and an absolute path: {share!r}")
        folders.append(SharedFolder(tag, path, bool(share.get("readonly", False))))
    return Go(host_ns, noise, tuple(mirrors), tuple(folders))
