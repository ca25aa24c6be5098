"""A network lab that never touches the real machine's network.

A ``NetLab`` is two network namespaces made for one test: ``cove-h-XXXX``, the engine's
"host", and ``cove-o-XXXX``, the "outside" world, joined by one veth pair (``uplink`` in
each) numbered from 198.18.0.0/15, the benchmarking range no real network uses. Both
have ``lo`` up. Processes started through the lab (coved, a busybox httpd) run inside a
namespace through ``nsenter --net=`` (not ``ip netns exec``, which remounts /sys and
breaks a daemon's cgroup mounts), and ``close`` ends them and deletes both namespaces,
which takes every link, address, route and nft table made inside them along.

The lab drives ``ip`` itself, not Cove's kernel layer: it is the ground the kernel layer's
tests stand on, so it must not depend on what they test.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Interface
from types import TracebackType
from typing import Any

import pytest

NETNS_DIR = "/run/netns"
UPLINK = "uplink"
HOST_UPLINK_ADDRESS = IPv4Interface("198.18.0.1/24")
OUTSIDE_UPLINK_ADDRESS = IPv4Interface("198.18.0.2/24")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class NetLab:
    """Two namespaces and the link between them; use as a context manager or ``close()``."""

    def __init__(self) -> None:
        self.suffix = secrets.token_hex(2)
        self.host = f"cove-h-{self.suffix}"
        self.outside = f"cove-o-{self.suffix}"
        self._processes: list[subprocess.Popen[bytes]] = []
        self._made: list[str] = []
        try:
            for name in (self.host, self.outside):
                _ip("netns", "add", name)
                self._made.append(name)
                _ip("-n", name, "link", "set", "lo", "up")
            # made inside the host namespace, the peer straight in the outside one: no link
            # ever appears in the real machine's namespace, even for a moment
            _ip(
                "-n",
                self.host,
                "link",
                "add",
                UPLINK,
                "type",
                "veth",
                "peer",
                "name",
                UPLINK,
                "netns",
                self.outside,
            )
            _ip("-n", self.host, "addr", "add", str(HOST_UPLINK_ADDRESS), "dev", UPLINK)
            _ip("-n", self.outside, "addr", "add", str(OUTSIDE_UPLINK_ADDRESS), "dev", UPLINK)
            _ip("-n", self.host, "link", "set", UPLINK, "up")
            _ip("-n", self.outside, "link", "set", UPLINK, "up")
        except BaseException:
            self.close()
            raise

    @property
    def host_path(self) -> str:
        """The host namespace's file, for ``nsenter --net=`` or ``setns``."""
        return os.path.join(NETNS_DIR, self.host)

    @property
    def outside_path(self) -> str:
        return os.path.join(NETNS_DIR, self.outside)

    def path(self, namespace: str) -> str:
        return os.path.join(NETNS_DIR, namespace)

    def argv(self, namespace: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside ``namespace`` (the lab's host or outside, or one a test
        made with ``add_namespace``)."""
        return ["nsenter", f"--net={self.path(namespace)}", "--", *argv]

    def run(
        self, namespace: str, argv: Sequence[str], timeout: float = 30, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to its end inside ``namespace``; its output as text."""
        return subprocess.run(
            self.argv(namespace, argv), capture_output=True, text=True, timeout=timeout, **kwargs
        )

    def start(self, namespace: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` (coved, a server...) inside ``namespace`` in a session of its
        own; ``close`` ends its whole process group."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(self.argv(namespace, argv), start_new_session=True, **kwargs)
        self._processes.append(proc)
        # until nsenter has joined, /proc/<pid>/ns/net is still the real machine's
        target = os.stat(self.path(namespace))
        wait_for(lambda: proc.poll() is not None or _same_file(f"/proc/{proc.pid}/ns/net", target))
        return proc

    def http_get(self, namespace: str, url: str) -> str:
        """The body busybox ``wget`` gets for ``url`` from inside ``namespace``, or "" if it
        got nothing within 5 s (no ``-T``: busybox 1.35's wget crashes with it)."""
        try:
            done = self.run(namespace, ["busybox", "wget", "-q", "-O", "-", url], timeout=5)
        except subprocess.TimeoutExpired:
            return ""
        return done.stdout if done.returncode == 0 else ""

    def add_namespace(self, role: str) -> str:
        """One more namespace (a stand-in for a container's), deleted with the lab."""
        name = f"cove-{role}-{self.suffix}"
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def close(self) -> None:
        """End every process started here, then delete every namespace; idempotent."""
        for proc in self._processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=30)
        self._processes.clear()
        failures = []
        for name in reversed(self._made):
            done = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
            if done.returncode != 0 and os.path.exists(self.path(name)):
                failures.append(f"{name}: {done.stderr.strip()}")
        self._made.clear()
        if failures:
            raise RuntimeError("lab namespaces not deleted: " + "; ".join(failures))

    def __enter__(self) -> NetLab:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _same_file(path: str, target: os.stat_result) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    return (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino)


def wait_for(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check()`` until it returns something true, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {check}")
        time.sleep(interval)


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    """A fresh lab for one test, deleted after it whatever the test did."""
    if os.geteuid() != 0:
        pytest.skip("the network lab needs root (network namespaces)")
    with NetLab() as lab:
        yield lab
