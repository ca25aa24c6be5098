"""A real ``coved`` subprocess on a temporary data root and socket, for tests and benchmarks.

Stopping it removes every container it made (their shims, cgroups and mounts go
with them) before the daemon itself is stopped.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from cove.runtime.linux import cgroups


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Coved:
    """One daemon. ``root`` holds data/, exec/ and the socket (short paths: AF_UNIX limit).

    It runs without a default bridge (``--bridge none``: the real machine's network is
    never touched) unless ``netns`` names a network namespace to run it in (a network
    lab's host), where it gets its bridge; ``args`` are more daemon flags."""

    def __init__(self, root: str | None = None, netns: str | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.netns = netns
        self.args = args
        self.root = root or tempfile.mkdtemp(prefix="cove-", dir="/tmp")
        self.data_root = os.path.join(self.root, "data")
        self.exec_root = os.path.join(self.root, "exec")
        self.socket = os.path.join(self.root, "sock")
        self.log_path = os.path.join(self.root, "coved.log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return client_env(self.host)

    def start(self, timeout: float = 30.0) -> Coved:
        log = open(self.log_path, "ab")
        where = ["nsenter", f"--net={self.netns}", "--"] if self.netns else []
        bridge = [] if self.netns else ["--bridge", "none"]
        self.proc = subprocess.Popen(
            [*where, sys.executable, "-m", "cove.runtime.daemon", "--data-root",
             self.data_root, "--exec-root", self.exec_root, "-H", self.host, "--log-level",
             "debug", *bridge, *self.args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coved exited {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                status, _ = self.request("GET", "/_ping", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("coved did not answer /_ping in time:\n" + self.log()[-2000:])

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, Any]:
        return api_request(self.socket, method, path, body, raw, headers, timeout)

    def load(self, archive: bytes) -> None:
        status, body = self.request("POST", "/images/load?quiet=1", raw=archive,
                                    headers={"Content-Type": "application/x-tar"})
        text = body if isinstance(body, bytes) else json.dumps(body).encode()
        failed = status != 200 or b'"errorDetail"' in text
        if failed:  # a load's errors arrive in its 200 stream, as dockerd sends them
            raise RuntimeError(f"load failed: {status} {body!r}")

    def kill9(self) -> None:
        """What a crash looks like: the daemon dies, the shims do not."""
        assert self.proc
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, remove_containers: bool = True) -> None:
        if self.proc and self.proc.poll() is None:
            if remove_containers:
                try:
                    _, containers = self.request("GET", "/containers/json?all=1", timeout=10)
                    for c in containers if isinstance(containers, list) else []:
                        self.request("DELETE", f"/containers/{c['Id']}?force=1", timeout=30)
                except OSError:
                    pass
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self) -> None:
        """Kill whatever is left (shims of a killed daemon), then remove every trace."""
        containers = os.path.join(self.data_root, "containers")
        ids = os.listdir(containers) if os.path.isdir(containers) else []
        for pidfile in glob.glob(os.path.join(self.exec_root, "containers", "*", "shim.pid")):
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for cid in ids:
            try:
                cgroups.manager_for(cid).destroy()
            except Exception:  # noqa: BLE001 - best effort in teardown
                pass
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if self.root in line]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def client_env(host: str) -> dict[str, str]:
    """This process's environment with the docker and cove CLIs pointed at ``host``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "COVE_HOST")}
    env["DOCKER_HOST"] = host
    env["COVE_HOST"] = host
    return env


def api_request(socket_path: str, method: str, path: str, body: Any = None,
                raw: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[int, Any]:
    """One Engine API call on a Unix socket (coved's or the reference dockerd's): the status
    and the body, decoded when it is JSON."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        if resp.getheader("Content-Type", "").startswith("application/json") and payload:
            try:
                return resp.status, json.loads(payload)
            except ValueError:
                return resp.status, payload
        return resp.status, payload
    finally:
        conn.close()
