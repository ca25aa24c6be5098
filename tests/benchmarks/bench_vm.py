"""VM benchmark: the Cove machine against the native engine, from one run.

Run: ``.venv/bin/python tests/benchmarks/bench_vm.py [--runs N] [--boots N]`` as root
(it builds the guest image if the cache lacks it). Prints:

    start      `cove machine start` until the engine answers: cold (the saved state
               removed first; the start saves a new one) and restored from the saved
               state, each taken apart by the guest's console stages
    ping       GET /_ping through the forwarded socket vs the native coved's socket,
               the same client, after connecting: the forwarder's cost per request
    run        `docker run --rm busybox true` through the VM vs on the native coved
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.support.coved import Coved  # noqa: E402
from tests.support.images import busybox_archive  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker") or "docker"
STAGE = re.compile(r"cove-init: ([0-9.]+)s (.+)")


def cove(env: dict[str, str], *args: str, input: bytes | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", *args], env=env,
                            input=input, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"cove {' '.join(args)}: {result.stderr.decode()[-2000:]}")
    return result


def ping_ms(path: str, runs: int) -> float:
    """Median of ``runs`` GET /_ping on one kept-alive connection."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    request = b"GET /_ping HTTP/1.1\r\nHost: cove\r\n\r\n"
    times = []
    for _ in range(runs + 3):
        started = time.perf_counter()
        sock.sendall(request)
        answer = b""
        while not answer.endswith(b"OK"):
            answer += sock.recv(4096)
        times.append((time.perf_counter() - started) * 1000)
    sock.close()
    return statistics.median(times[3:])


def docker_run_ms(env: dict[str, str], runs: int) -> float:
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([DOCKER, "run", "--rm", "busybox", "true"], env=env, check=True,
                       capture_output=True, timeout=300)
        if i:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def stages(console: str) -> list[tuple[float, str]]:
    return [(float(m.group(1)), m.group(2)) for m in STAGE.finditer(console)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--boots", type=int, default=3)
    args = parser.parse_args()
    built = subprocess.run([str(ROOT / "packaging" / "guest" / "build")], capture_output=True,
                           text=True, check=True)
    image = Path(built.stdout.strip().splitlines()[-1])
    manifest = json.loads((image / "manifest.json").read_text())
    base = Path(tempfile.mkdtemp(prefix="cove-bench-vm-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "COVE_HOST")}
    env.update(XDG_DATA_HOME=str(base / "data"), XDG_RUNTIME_DIR=str(base),
               COVE_CONFIG=str(base / "config"), COVE_GUEST_IMAGES=str(image.parent))
    console = base / "data" / "cove" / "machines" / "default" / "console.log"
    socket_path = base / "cove" / "default" / "cove.sock"
    native = Coved().start()
    try:
        native.load(busybox_archive())
        cove(env, "machine", "init", "--disk-size", "4")  # default CPUs and memory
        boots: dict[str, list[float]] = {"cold": [], "restored": []}
        split: dict[str, list[list[tuple[float, str]]]] = {"cold": [], "restored": []}
        saves: list[str] = []
        for _ in range(args.boots):
            (console.parent / "saved-state.key").unlink(missing_ok=True)
            for kind in ("cold", "restored"):
                started = time.perf_counter()
                cove(env, "machine", "start")
                boots[kind].append(time.perf_counter() - started)
                split[kind].append(stages(console.read_text(errors="replace")))
                report = json.loads(cove(env, "machine", "status", "--format", "json").stdout)
                assert report["BootedFrom"] == {"cold": "cold boot",
                                                "restored": "saved state"}[kind], report
                if kind == "cold":
                    saves.append(str(report.get("SavedState", "")))
                cove(env, "machine", "stop")
        cove(env, "machine", "start")
        cove(env, "--context", "vm", "load", input=busybox_archive())
        vm_env = {**env, "DOCKER_HOST": f"unix://{socket_path}"}
        native_env = {**env, "DOCKER_HOST": native.host}
        # runs first: the engine's bridge setup (in the background after a start) is done
        # by the time the first container ran, and the pings measure the path alone
        vm_run = docker_run_ms(vm_env, max(3, args.runs // 4))
        native_run = docker_run_ms(native_env, max(3, args.runs // 4))
        vm_ping = ping_ms(str(socket_path), args.runs)
        native_ping = ping_ms(native.socket, args.runs)
    finally:
        subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", "machine", "rm", "-f"],
                       env=env, capture_output=True, timeout=120)
        native.stop()
        native.cleanup()
        shutil.rmtree(base, ignore_errors=True)

    accel = "tcg" if "vmx" not in Path("/proc/cpuinfo").read_text() else "kvm?"
    print(f"guest image {image.name}: kernel {manifest['kernel_version']}, "
          f"system.img {manifest['sizes']['system.img'] / 1e6:.0f} MB; accelerator {accel}")
    for kind, what in (("cold", "cold boot, saving the state"),
                       ("restored", "restored from the saved state")):
        times = boots[kind]
        print(f"machine start to /_ping, {what} ({args.boots}): median "
              f"{statistics.median(times):.2f} s (each: {', '.join(f'{b:.2f}' for b in times)})")
        middle = split[kind][len(times) // 2]
        previous = middle[0][0] if kind == "restored" and middle else 0.0
        for at, stage in middle:
            print(f"    {at:6.2f} s  (+{at - previous:5.2f})  {stage}")
            previous = at
    print(f"saving the state at the cold boots: {'; '.join(saves)}")
    print(f"GET /_ping, kept-alive: VM {vm_ping:.2f} ms, native {native_ping:.2f} ms, "
          f"forwarder overhead {vm_ping - native_ping:.2f} ms")
    print(f"docker run --rm busybox true: VM {vm_run:.0f} ms, native {native_run:.0f} ms "
          f"({vm_run / native_run:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
