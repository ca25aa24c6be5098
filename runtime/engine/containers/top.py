"""``docker top``: the host's ``ps`` output, kept to the processes of the container's cgroup."""

from __future__ import annotations

import subprocess
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine.containers import restart_policy
from cove.runtime.engine.containers.context import ContainerContext

PS_TIMEOUT = 10


def top(ctx: ContainerContext, container: Container, ps_args: str | None) -> dict[str, Any]:
    restart_policy.refuse_while_restarting(container)
    if not container.running:
        raise errors.Conflict(f"Container {container.id} is not running")
    pids = set(ctx.cgroup(container).pids())
    args = (ps_args or "-ef").split()
    try:
        out = subprocess.run(["ps", *args], capture_output=True, text=True, timeout=PS_TIMEOUT)
    except OSError as exc:
        raise errors.SystemError_(f"ps: {exc}") from exc
    if out.returncode != 0:
        raise errors.InvalidParameter(f"Error running ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    titles = lines[0].split()
    if "PID" not in titles:
        raise errors.InvalidParameter("Couldn't find PID field in ps output")
    pid_col = titles.index("PID")
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}
