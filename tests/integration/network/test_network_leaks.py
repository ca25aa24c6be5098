"""Hundreds of containers on a user network with a published port, each run and removed,
leave nothing behind: the issue's leak test.

coved runs in the lab's host namespace; the cycles go through docker-py (create, start,
wait, remove, as ``docker run --rm`` does) so the count is coved's work, not the CLI's
start-up. Counted before and after, in the lab's namespace and in coved's: links, nft
rules, mounts under coved's root (a network namespace kept alive by a bind mount
shows there), open files of coved (one kept by a descriptor, and DNS listeners, show
there), coved's child processes (a shim left holding one), the containers' cgroups, the
addresses IPAM hands out, and the ports held.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import docker

from cove.runtime.linux import cgroups
from tests.support.coved import Coved
from tests.support.netlab import NetLab

CYCLES = int(os.environ.get("COVE_LEAK_CYCLES", "500"))


def _links(lab: NetLab) -> set[str]:
    out = lab.run(lab.host, ["ip", "-o", "link", "show"]).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def _rules(lab: NetLab) -> list[str]:
    listed = lab.run(lab.host, ["nft", "-a", "list", "ruleset"]).stdout
    # a rule's handle changes each time Cove replaces its table: compare the rules' text
    return [line.split("# handle")[0].strip() for line in listed.splitlines()
            if "# handle" in line and not line.strip().startswith(("table", "chain"))]


def _mounts(pid: int, root: str) -> list[str]:
    """coved's mounts under its own root (its namespace is the machine's: other programs'
    mounts show there too)."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return [point for point in (line.split()[4] for line in f)
                if point.startswith(root + "/")]


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _children(pid: int) -> list[str]:
    found: list[str] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += f.read().split()
    return found


def _listening(lab: NetLab) -> str:
    return lab.run(lab.host, ["ss", "-Hlntu"]).stdout


def _fd_targets(pid: int) -> list[str]:
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found.append(os.readlink(f"/proc/{pid}/fd/{fd}").split(":[")[0])
        except OSError:
            pass
    return sorted(found)


def test_500_run_rm_cycles_on_a_user_network_with_a_port_leave_nothing(
        netlab: NetLab, lab_coved: Coved) -> None:
    assert lab_coved.proc is not None
    pid = lab_coved.proc.pid

    def client() -> docker.DockerClient:
        # closed before each count: its pool's kept-alive connections are coved's open
        # files too, and the client's, not coved's, to keep or drop
        return docker.DockerClient(base_url=lab_coved.host, version="1.41", timeout=60)

    warm = client()
    # what stays for the daemon's life (the bridge's rules, the resolver's thread and
    # sockets, the nft library) is made by a first container before the counts
    warm.containers.run("busybox", "true", remove=True, ports={"80/tcp": None})
    empty = (_links(netlab), _rules(netlab))
    warm.networks.create("leaknet", driver="bridge")
    warm.containers.run("busybox", "true", remove=True, network="leaknet",
                        ports={"80/tcp": ("127.0.0.1", None)})
    warm.close()
    before = (_links(netlab), _rules(netlab), _mounts(pid, lab_coved.root), _fd_targets(pid), _children(pid))
    listening = _listening(netlab)
    ids: set[str] = set()
    cycling = client()
    try:
        for round_ in range(CYCLES):
            container = cycling.containers.create(
                "busybox", ["true"], network="leaknet",
                ports={"80/tcp": ("127.0.0.1", None)})
            ids.add(container.id)
            container.start()
            assert container.wait(timeout=60)["StatusCode"] == 0, round_
            container.remove()
    finally:
        cycling.close()
    assert _links(netlab) == before[0]
    assert _rules(netlab) == before[1]
    more = Counter(_mounts(pid, lab_coved.root)) - Counter(before[2])
    assert not more, f"mounted in coved's namespace: {dict(more)}"
    deadline = time.monotonic() + 10  # closed connections are noticed on coved's threads
    while Counter(_fd_targets(pid)) - Counter(before[3]) and time.monotonic() < deadline:
        time.sleep(0.1)
    grown = Counter(_fd_targets(pid)) - Counter(before[3])
    assert not grown, f"coved holds more open files: {dict(grown)}"
    assert len(_children(pid)) <= len(before[4])
    assert _listening(netlab) == listening
    assert [cid for cid in ids if cgroups.manager_for(cid).exists()] == []
    with open(os.path.join(lab_coved.data_root, "network", "ipam.json")) as f:
        held = {name: entry["Addresses"] for name, entry in json.load(f)["Networks"].items()}
    assert all(addresses == {} for addresses in held.values()), held
    done = client()
    try:
        done.networks.get("leaknet").remove()
    finally:
        done.close()
    assert (_links(netlab), _rules(netlab)) == empty
