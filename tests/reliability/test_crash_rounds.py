"""kill -9 at any moment leaves a sound data root.

Each round starts one operation (load, pull, build, commit, rm, volume rm, rename), kills
coved at a random moment during it, and then:
- ``coved --check`` finds no problem (a torn record, a half layer, an image pointing at a
  missing blob, a tag naming nothing): leftovers of the interrupted work are all it may
  remove;
- the restarted daemon still has every container and volume the round did not remove;
- the operation's object is there whole or not at all.
A round that kills a shim instead checks that its container is not lost and starts again.
The seed is printed, so a failing round can be replayed.
"""

from __future__ import annotations

import http.client
import io
import os
import random
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.reliability.scale import rounds
from tests.support.coved import Coved
from tests.support.images import busybox_archive
from tests.support.registry import Registry, push_archive_with_skopeo

SEED = int(os.environ.get("COVE_CRASH_SEED", random.randrange(1 << 30)))


def _context() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nRUN echo built > /built\n"
                                          b"COPY payload /payload\nENV DONE=1\n"),
                           ("payload", os.urandom(256 << 10))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def check_data_root(daemon: Coved) -> list[str]:
    """``coved --check`` as a user runs it; the lines that are problems."""
    result = subprocess.run(
        [sys.executable, "-m", "cove.runtime.daemon", "--check", "--data-root",
         daemon.data_root, "--exec-root", daemon.exec_root],
        capture_output=True, text=True, timeout=120)
    problems = [line for line in result.stdout.splitlines()
                if line.startswith(("problem:", "repaired:"))]
    assert result.returncode == 0 or problems, result
    return problems


class Round:
    """One operation on objects made for it; ``whole`` says its outcome is all-or-nothing."""

    def __init__(self, daemon: Coved, registry: Registry | None, n: int) -> None:
        self.daemon = daemon
        self.registry = registry
        self.n = n

    def _ok(self, method: str, path: str, body: object = None, expect: int = 200) -> object:
        status, answer = self.daemon.request(method, path, body)
        assert status == expect, (method, path, status, answer)
        return answer

    def running_container(self, name: str) -> str:
        created = self._ok("POST", f"/containers/create?name={name}",
                           {"Image": "busybox", "Cmd": ["sh", "-c", "echo hi > /f; sleep 600"]},
                           201)
        assert isinstance(created, dict)
        self._ok("POST", f"/containers/{created['Id']}/start", expect=204)
        return str(created["Id"])

    def prepare(self, kind: str) -> tuple[Callable[[], object], Callable[[], None]]:
        """(the operation, the all-or-nothing check after the restart)."""
        n, d = self.n, self.daemon
        if kind == "load":
            tag = f"crash-load-{n}:1"
            archive = busybox_archive(tag=tag, extra_layers=[{"big": os.urandom(1 << 20)}])
            return (lambda: d.request("POST", "/images/load?quiet=1", raw=archive,
                                      headers={"Content-Type": "application/x-tar"}),
                    lambda: self.image_whole_or_absent(tag))
        if kind == "pull":
            name = f"crash-pull-{n}"
            assert self.registry is not None
            push_archive_with_skopeo(
                busybox_archive(tag=f"{name}:1", extra_layers=[{"big": os.urandom(1 << 20)}]),
                self.registry, f"{name}:1")
            ref = f"{self.registry.host}/{name}:1"
            return (lambda: d.request("POST", f"/images/create?fromImage={ref}"),
                    lambda: self.image_whole_or_absent(ref))
        if kind == "build":
            context = _context()
            return (lambda: d.request("POST", f"/build?t=crash-build-{n}:1", raw=context,
                                      headers={"Content-Type": "application/x-tar"}),
                    lambda: self.image_whole_or_absent(f"crash-build-{n}:1"))
        if kind == "commit":
            cid = self.running_container(f"crash-commit-src-{n}")
            return (lambda: d.request("POST", f"/commit?container={cid}&repo=crash-commit-{n}"
                                      "&tag=1"),
                    lambda: self.image_whole_or_absent(f"crash-commit-{n}:1"))
        if kind == "rm":
            cid = self.running_container(f"crash-rm-{n}")
            return (lambda: d.request("DELETE", f"/containers/{cid}?force=1"),
                    lambda: self.container_whole_or_absent(cid))
        if kind == "volume rm":
            volume = f"crash-vol-{n}"
            self._ok("POST", "/volumes/create", {"Name": volume}, 201)
            return (lambda: d.request("DELETE", f"/volumes/{volume}"),
                    lambda: self.volume_whole_or_absent(volume))
        assert kind == "rename"
        cid = self.running_container(f"crash-old-{n}")
        return (lambda: d.request("POST", f"/containers/{cid}/rename?name=crash-new-{n}"),
                lambda: self.renamed_once(cid, f"crash-old-{n}", f"crash-new-{n}"))

    def image_whole_or_absent(self, ref: str) -> None:
        status, image = self.daemon.request("GET", f"/images/{ref}/json")
        if status == 404:
            return
        assert status == 200, image
        made = self._ok("POST", f"/containers/create?name=crash-use-{self.n}",
                        {"Image": ref, "Cmd": ["ls", "/bin/sh"]}, 201)
        assert isinstance(made, dict)  # and every layer of it there, to run from:
        self._ok("POST", f"/containers/{made['Id']}/start", expect=204)
        waited = self._ok("POST", f"/containers/{made['Id']}/wait")
        assert isinstance(waited, dict) and waited["StatusCode"] == 0, waited
        self._ok("DELETE", f"/containers/{made['Id']}", expect=204)

    def container_whole_or_absent(self, cid: str) -> None:
        status, record = self.daemon.request("GET", f"/containers/{cid}/json")
        assert status in (200, 404), record
        if status == 200:
            self._ok("DELETE", f"/containers/{cid}?force=1", expect=204)

    def volume_whole_or_absent(self, name: str) -> None:
        status, volume = self.daemon.request("GET", f"/volumes/{name}")
        assert status in (200, 404), volume
        if status == 200:
            assert os.path.isdir(volume["Mountpoint"]), volume

    def renamed_once(self, cid: str, old: str, new: str) -> None:
        found = [name for name in (old, new)
                 if self.daemon.request("GET", f"/containers/{name}/json")[0] == 200]
        assert len(found) == 1, found
        status, record = self.daemon.request("GET", f"/containers/{cid}/json")
        assert status == 200 and record["Name"] == "/" + found[0], record
        free = new if found[0] == old else old
        made = self._ok("POST", f"/containers/create?name={free}",
                        {"Image": "busybox", "Cmd": ["true"]}, 201)
        assert isinstance(made, dict)
        self._ok("DELETE", f"/containers/{made['Id']}", expect=204)


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with Registry() as running:
        yield running


KINDS = ("load", "pull", "build", "commit", "rm", "volume rm", "rename")


def _survivors(daemon: Coved) -> tuple[set[str], set[str]]:
    _, containers = daemon.request("GET", "/containers/json?all=1")
    _, volumes = daemon.request("GET", "/volumes")
    return ({c["Id"] for c in containers},
            {v["Name"] for v in volumes["Volumes"] or [] if v["Name"].startswith("crash-")})


def test_kill_9_of_coved_at_any_moment_leaves_a_sound_data_root(
        private_coved: Coved, registry: Registry) -> None:
    daemon = private_coved
    rng = random.Random(SEED)
    total = rounds(len(KINDS) * 2, 105)
    print(f"\ncrash rounds: seed {SEED} (COVE_CRASH_SEED replays it)")
    for n in range(total):
        kind = KINDS[n % len(KINDS)]
        work = Round(daemon, registry, n)
        operation, whole = work.prepare(kind)
        before_containers, before_volumes = _survivors(daemon)
        runner = threading.Thread(target=_swallow, args=(operation,), daemon=True)
        runner.start()
        time.sleep(rng.uniform(0.0, 0.4))  # the crash's moment, not a wait for a result
        daemon.kill9()
        runner.join(30)
        problems = check_data_root(daemon)
        assert problems == [], (n, kind, SEED, problems)
        daemon.start()
        after_containers, after_volumes = _survivors(daemon)
        removed_by_round = {"rm", "volume rm"}
        if kind not in removed_by_round:
            assert before_containers <= after_containers, (n, kind, SEED)
            assert before_volumes <= after_volumes, (n, kind, SEED)
        whole()
    print(f"crash rounds: {total} rounds survived, 0 problems found")


def test_kill_9_of_a_shim_loses_no_container(private_coved: Coved) -> None:
    daemon = private_coved
    for n in range(rounds(2, 20)):
        cid = Round(daemon, None, n).running_container(f"crash-shim-{n}")
        with open(os.path.join(daemon.exec_root, "containers", cid, "shim.pid")) as f:
            os.kill(int(f.read()), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status, record = daemon.request("GET", f"/containers/{cid}/json")
            if not record["State"]["Running"]:
                break
            time.sleep(0.05)
        assert (status, record["State"]["Running"]) == (200, False), record
        assert daemon.request("POST", f"/containers/{cid}/start")[0] == 204
        assert daemon.request("DELETE", f"/containers/{cid}?force=1")[0] == 204
    daemon.stop()
    assert check_data_root(daemon) == []
    daemon.start()


def _swallow(operation: Callable[[], object]) -> None:
    try:
        operation()
    except (OSError, http.client.HTTPException):
        pass  # the daemon died mid-request (refused, reset, or an answer cut short): the point
