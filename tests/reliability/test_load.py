"""Many clients at once: run/rm, exec, logs -f and events side by side, every request
answered. Prints the p99 latency of each kind (figures, not a pass/fail threshold)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.reliability.process_state import holdings, settle
from tests.reliability.scale import FULL, rounds
from tests.support.coved import Coved, UnixHTTPConnection

DURATION = 120.0 if FULL else 10.0


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.failures: list[str] = []

    def took(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def failed(self, kind: str, what: str) -> None:
        with self.lock:
            self.failures.append(f"{kind}: {what}")


def _timed(daemon: Coved, tally: Tally, kind: str, method: str, path: str,
           body: object = None, expect: int = 200) -> object:
    started = time.monotonic()
    try:
        status, answer = daemon.request(method, path, body, timeout=60)
    except OSError as exc:
        tally.failed(kind, f"{method} {path}: {exc!r}")
        return None
    tally.took(kind, time.monotonic() - started)
    if status != expect:
        tally.failed(kind, f"{method} {path}: {status} {answer!r}")
        return None
    return answer


def _run_rm(daemon: Coved, tally: Tally, worker: int, n: int) -> None:
    created = _timed(daemon, tally, "run/rm", "POST",
                     f"/containers/create?name=load-{worker}-{n}",
                     {"Image": "busybox", "Cmd": ["true"]}, 201)
    if not isinstance(created, dict):
        return
    cid = created["Id"]
    _timed(daemon, tally, "run/rm", "POST", f"/containers/{cid}/start", expect=204)
    _timed(daemon, tally, "run/rm", "POST", f"/containers/{cid}/wait")
    _timed(daemon, tally, "run/rm", "DELETE", f"/containers/{cid}", expect=204)


def _exec(daemon: Coved, tally: Tally, target: str) -> None:
    created = _timed(daemon, tally, "exec", "POST", f"/containers/{target}/exec",
                     {"Cmd": ["echo", "hi"], "AttachStdout": True}, 201)
    if isinstance(created, dict):
        _timed(daemon, tally, "exec", "POST", f"/exec/{created['Id']}/start",
               {"Detach": False, "Tty": False})


def _follow(daemon: Coved, tally: Tally, path: str, kind: str, seconds: float) -> None:
    """A streaming client that reads for a while and then hangs up, as `logs -f` and
    `events` users do with ctrl-c."""
    conn = UnixHTTPConnection(daemon.socket, timeout=seconds)
    started = time.monotonic()
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        tally.took(kind, time.monotonic() - started)
        if resp.status != 200:
            tally.failed(kind, f"GET {path}: {resp.status}")
            return
        try:
            while time.monotonic() - started < seconds and resp.read1(65536):
                pass
        except TimeoutError:
            pass
    except OSError as exc:
        tally.failed(kind, f"GET {path}: {exc!r}")
    finally:
        conn.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def test_many_clients_at_once_are_all_answered(private_coved: Coved) -> None:
    daemon = private_coved
    status, ticker = daemon.request(
        "POST", "/containers/create?name=load-ticker",
        {"Image": "busybox", "Cmd": ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]})
    assert status == 201, ticker
    target = ticker["Id"]
    assert daemon.request("POST", f"/containers/{target}/start")[0] == 204
    assert daemon.proc
    pid = daemon.proc.pid
    before = holdings(pid)

    tally = Tally()
    clients = rounds(10, 50)
    deadline = time.monotonic() + DURATION
    done = [0] * clients

    def worker(index: int) -> None:
        kinds: list[Callable[[int], None]] = [
            lambda n: _run_rm(daemon, tally, index, n),
            lambda n: _exec(daemon, tally, target),
            lambda n: _follow(daemon, tally, f"/containers/{target}/logs?stdout=1&follow=1"
                              "&tail=1", "logs -f", 1.0),
            lambda n: _follow(daemon, tally, "/events", "events", 1.0),
        ]
        n = 0
        while time.monotonic() < deadline:
            kinds[index % len(kinds)](n)
            n += 1
        done[index] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 120)
    assert not any(t.is_alive() for t in threads), "a client never got its answer"

    for kind, values in sorted(tally.latencies.items()):
        print(f"\n{kind}: {len(values)} requests, p50 {_percentile(values, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(values, 0.99) * 1000:.0f} ms", end="")
    print(f"\n{clients} clients for {DURATION:.0f} s: {len(tally.failures)} failures")
    assert tally.failures == []
    assert all(done), done
    assert daemon.request("DELETE", f"/containers/{target}?force=1")[0] == 204
    after = settle(lambda: holdings(pid), before, 40 << 10)
    assert after.threads <= before.threads and after.fds <= before.fds, (before, after)
