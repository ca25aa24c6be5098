"""A container's details from ``GET /containers/{id}/json``, as sections of (name, value)
rows: what ``docker inspect`` says, in the order a user looks for it."""

from __future__ import annotations

from collections.abc import Mapping

Section = tuple[str, list[tuple[str, str]]]


def _map(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def sections(inspected: Mapping[str, object]) -> list[Section]:
    config, state, host = (_map(inspected.get(k)) for k in ("Config", "State", "HostConfig"))
    command = [str(p) for p in _list(config.get("Entrypoint")) + _list(config.get("Cmd"))]
    restart = _map(host.get("RestartPolicy"))
    overview = [
        ("ID", str(inspected.get("Id", ""))),
        ("Name", str(inspected.get("Name", "")).lstrip("/")),
        ("Image", str(config.get("Image", ""))),
        ("Command", " ".join(command)),
        ("State", str(state.get("Status", ""))),
        ("Exit code", str(state.get("ExitCode", ""))),
        ("Created", str(inspected.get("Created", ""))),
        ("Started", str(state.get("StartedAt", ""))),
        ("Restart policy", str(restart.get("Name") or "no")),
    ]
    ports = []
    for port, bindings in sorted(_map(_map(inspected.get("NetworkSettings")).get("Ports")).items()):
        shown = [f"{_map(b).get('HostIp') or '0.0.0.0'}:{_map(b).get('HostPort')}"
                 for b in _list(bindings)]  # fmt: skip
        ports.append((port, ", ".join(shown) or "not published"))
    mounts = [
        (str(_map(m).get("Destination", "")),
         f"{_map(m).get('Type', '')} {_map(m).get('Name') or _map(m).get('Source', '')}"
         f"{'' if _map(m).get('RW', True) else ' (read-only)'}")
        for m in _list(inspected.get("Mounts"))
    ]  # fmt: skip
    env = [tuple(str(e).partition("=")[::2]) for e in _list(config.get("Env"))]
    labels = sorted((str(k), str(v)) for k, v in _map(config.get("Labels")).items())
    return [
        ("Overview", overview),
        ("Ports", ports),
        ("Mounts", mounts),
        ("Environment", [(k, v) for k, v in env]),
        ("Labels", labels),
    ]
