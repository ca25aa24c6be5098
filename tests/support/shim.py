"""Helpers for driving a real shim against the real kernel: a busybox rootfs, specs, a client.

Needs root and a static busybox (Debian: busybox-static). Every shim started here
is killed (with its container) and every directory removed at teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.runtime.containers.shim_launch import shim_command
from cove.runtime.containers.spec import (
    ConsoleSize,
    ContainerSpec,
    LogSpec,
    ProcessSpec,
    RootfsSpec,
)

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOSTNAME=abc123"]
TIMEOUT = 10.0


def _busybox() -> str | None:
    for path in BUSYBOX_CANDIDATES:
        if os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, mounts)")
    busybox = _busybox()
    if busybox is None:
        pytest.skip("needs a static busybox (apt-get install busybox-static)")
    root = tmp_path_factory.mktemp("busybox") / "diff"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "tmp").mkdir(mode=0o1777)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
        "user:x:1000:1000:user:/home/user:/bin/sh\n")
    (root / "etc" / "group").write_text(
        "root:x:0:root\nwheel:x:10:root\nnogroup:x:65534:\nuser:x:1000:\n")
    (root / "notexec").write_text("#!/bin/sh\n")
    return root


class Container:
    """One shim under test, spoken to exactly as the daemon would."""

    def __init__(self, directory: Path, spec: ContainerSpec) -> None:
        self.directory = directory
        self.bundle = directory / "bundle"
        self.spec = spec
        self.shim: subprocess.Popen[bytes] | None = None
        self.init_pid: int | None = None

    @property
    def socket_path(self) -> str:
        return str(self.bundle / "shim.sock")

    def start_shim(self) -> dict:
        """Launch the shim and return its first line ({"pid"} or {"error"})."""
        (self.bundle / "spec.json").write_text(json.dumps(self.spec.to_json()))
        with open(self.bundle / "shim.log", "wb") as log:
            self.shim = subprocess.Popen(shim_command(self.bundle), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log,
                                         start_new_session=True, close_fds=True)
        first = self.read_control()
        self.init_pid = first.get("pid")
        return first

    def read_control(self) -> dict:
        assert self.shim is not None and self.shim.stdout is not None
        ready = _wait_readable(self.shim.stdout.fileno(), TIMEOUT)
        assert ready, "shim said nothing on stdout in time"
        line = self.shim.stdout.readline()
        assert line, f"shim closed stdout; log: {self.shim_log()}"
        return json.loads(line)

    def go(self) -> dict:
        assert self.shim is not None and self.shim.stdin is not None
        self.shim.stdin.write(b"go\n")
        self.shim.stdin.flush()
        return self.read_control()

    def connect(self, request: dict) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(self.socket_path)
            sock.sendall((json.dumps(request) + "\n").encode())
        except OSError:
            sock.close()
            raise
        return sock

    def attach(self, stdin: bool = False) -> socket.socket:
        return self.connect({"op": "attach", "stdin": stdin, "stdout": True, "stderr": True})

    def request(self, request: dict) -> dict:
        with self.connect(request) as sock:
            return json.loads(read_all(sock).split(b"\n", 1)[0])

    def wait(self) -> dict:
        """The exit, from the shim; or, once it has gone, from the exit file it wrote
        (what coved does too)."""
        try:
            return self.request({"op": "wait"})
        except (FileNotFoundError, ConnectionRefusedError):
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    with open(self.spec.exit_file) as f:
                        return json.load(f)
                except (OSError, ValueError):
                    time.sleep(0.05)
            raise

    def run(self, stdin_data: bytes | None = None) -> tuple[dict, dict[int, bytes], dict]:
        """start, attach, go, collect output, wait: (go reply, output by stream, exit)."""
        first = self.start_shim()
        assert "pid" in first, first
        sock = self.attach(stdin=stdin_data is not None)
        started = self.go()
        if stdin_data is not None:
            sock.sendall(stdin_data)
            sock.shutdown(socket.SHUT_WR)
        output = demux(read_all(sock))
        sock.close()
        return started, output, self.wait()

    def shim_log(self) -> str:
        try:
            return (self.bundle / "shim.log").read_text()
        except OSError:
            return ""

    def log_entries(self) -> list[dict]:
        path = Path(self.spec.log.path)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def cleanup(self) -> None:
        """Kill what is still ours: the init only while its shim (its reaper) is alive."""
        if self.shim is not None and self.shim.poll() is None:
            for pid in (self.init_pid, self.shim.pid):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                self.shim.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.shim is not None:
            for pipe in (self.shim.stdin, self.shim.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass


def _wait_readable(fd: int, timeout: float) -> bool:
    import select

    return bool(select.select([fd], [], [], timeout)[0])


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def demux(data: bytes) -> dict[int, bytes]:
    """Attach frames -> {stream: bytes}."""
    streams: dict[int, bytes] = {1: b"", 2: b""}
    while data:
        assert len(data) >= 5, f"truncated frame header: {data!r}"
        stream, length = data[0], int.from_bytes(data[1:5], "big")
        streams[stream] = streams.get(stream, b"") + data[5:5 + length]
        data = data[5 + length:]
    return streams


@pytest.fixture
def make_container(busybox_rootfs: Path, tmp_path: Path) -> Iterator:
    made: list[Container] = []

    def make(args: list[str], **options: object) -> Container:
        directory = tmp_path / f"c{len(made)}"
        for name in ("bundle", "upper", "work"):
            (directory / name).mkdir(parents=True)
        cid = f"{len(made):064x}"
        process = ProcessSpec(args, list(DEFAULT_ENV), console=ConsoleSize(24, 80))
        for key, value in options.items():
            if key in ("cwd", "user", "tty", "open_stdin", "stdin_once", "init"):
                setattr(process, key, value)
            elif key == "console":
                process.console = ConsoleSize.from_json(value)
        spec = ContainerSpec(
            id=cid,
            rootfs=RootfsSpec([str(busybox_rootfs)], str(directory / "upper"),
                              str(directory / "work"), bool(options.get("readonly", False))),
            process=process, hostname=str(options.get("hostname", "abc123")),
            mounts=list(options.get("mounts", [])),
            cgroup_join=list(options.get("cgroup_join", [])),
            log=LogSpec(str(directory / f"{cid}-json.log")),
            exit_file=str(directory / "bundle" / "exit.json"))
        container = Container(directory, spec)
        made.append(container)
        return container

    yield make
    for container in made:
        container.cleanup()
