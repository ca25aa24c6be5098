"""run/rm cycles leave nothing behind: no mount, cgroup, file, fd, thread or process.

Counted on a daemon of the test's own, so nothing else's activity moves the numbers;
the cycles go through the docker CLI and the API as users drive them.
"""

from __future__ import annotations

from tests.reliability.process_state import holdings, settle, traces_of
from tests.reliability.scale import rounds
from tests.support.clis import CLI
from tests.support.coved import Coved

RSS_SLACK_KIB = 40 << 10


def _cycle(daemon: Coved, n: int) -> str:
    status, created = daemon.request("POST", f"/containers/create?name=leak-cycle-{n}",
                                     {"Image": "busybox", "Cmd": ["sh", "-c", "echo $$"]})
    assert status == 201, created
    cid = created["Id"]
    status, _ = daemon.request("POST", f"/containers/{cid}/start")
    assert status == 204
    status, waited = daemon.request("POST", f"/containers/{cid}/wait")
    assert (status, waited["StatusCode"]) == (200, 0)
    status, logs = daemon.request("GET", f"/containers/{cid}/logs?stdout=1")
    assert status == 200 and logs
    status, _ = daemon.request("DELETE", f"/containers/{cid}")
    assert status == 204
    return cid


def test_run_rm_cycles_leak_nothing(private_coved: Coved) -> None:
    assert private_coved.proc
    pid = private_coved.proc.pid
    _cycle(private_coved, -1)  # warm: first-use caches are not leaks
    before = holdings(pid)
    cycles = rounds(30, 1000)
    ids = [_cycle(private_coved, n) for n in range(cycles)]
    after = settle(lambda: holdings(pid), before, RSS_SLACK_KIB)
    left = [t for cid in ids for t in traces_of(cid, private_coved.root)]
    print(f"\n{cycles} run/rm cycles: fds {before.fds}->{after.fds}, threads "
          f"{before.threads}->{after.threads}, children {before.children}->{after.children}, "
          f"RSS {before.rss_kib}->{after.rss_kib} KiB, traces left {len(left)}")
    assert left == []
    assert after.fds <= before.fds and after.threads <= before.threads, (before, after)
    assert after.children <= before.children, (before, after)
    assert after.rss_kib <= before.rss_kib + RSS_SLACK_KIB, (before, after)


def test_docker_run_rm_cycles_leak_nothing(private_clis: tuple[CLI, CLI],
                                           private_coved: Coved) -> None:
    docker, _cove = private_clis
    assert private_coved.proc
    pid = private_coved.proc.pid
    docker("run", "--rm", "--name", "leak-cli-warm", "busybox", "true")
    before = holdings(pid)
    cycles = rounds(10, 200)
    for n in range(cycles):
        result = docker("run", "--rm", "--name", f"leak-cli-{n}", "busybox",
                        "sh", "-c", "echo hello")
        assert (result.returncode, result.stdout) == (0, "hello\n"), result
    after = settle(lambda: holdings(pid), before, RSS_SLACK_KIB)
    _, listed = private_coved.request("GET", "/containers/json?all=1")
    assert [c["Names"] for c in listed if c["Names"][0].startswith("/leak-cli-")] == []
    assert after.fds <= before.fds and after.threads <= before.threads, (before, after)
    assert after.children <= before.children, (before, after)
