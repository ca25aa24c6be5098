"""Network benchmark: published ports on coved (its bridge, in a network lab), dockerd
(docker-proxy on 127.0.0.1) and podman, where installed.

Run: ``.venv/bin/python tests/benchmarks/bench_network.py [--runs N] [--megabytes M]`` as
root. Prints the median of N runs of each operation per engine and the ratio to dockerd,
all from this one run; an engine that is not there is skipped and says so.

    run         `run --rm busybox true`, no port (the price of the bridge itself)
    run -p      `run --rm -p 127.0.0.1:PORT:80 busybox true`
    request     one HTTP request to a busybox httpd through 127.0.0.1:PORT, from a fresh
                connection to the end of the answer (the client is a Python process on
                the engine's host: the lab's host namespace for coved)
    throughput  M MiB sent to a reader in a container through 127.0.0.1:PORT, MiB/s
    build RUN   `build --no-cache` (``DOCKER_BUILDKIT=0``) of ``FROM busybox`` and one
                ``RUN true``: the step's container on the bridge and off it again

Everything goes to loopback: coved's host is the lab's namespace, so the real machine's
network is never touched by coved (dockerd and podman publish on the real 127.0.0.1, as
they would for any user).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.benchmarks.bench_engine import cell, median_ms, sh  # noqa: E402
from tests.support.coved import Coved  # noqa: E402
from tests.support.dockerd import ensure_dockerd  # noqa: E402
from tests.support.images import busybox_archive  # noqa: E402
from tests.support.netlab import NetLab  # noqa: E402

DOCKER = shutil.which("docker") or "docker"
PORT = 18080
HTTPD = ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"]
# busybox's nc reads a few KiB at a time, which would measure nc: the host's Python (its
# /usr bound read-only) reads 1 MiB at a time and closes at the end of each stream
SINK = [
    "-v",
    "/usr:/usr:ro",
    "-v",
    "/usr/lib:/lib:ro",
    "-v",
    "/usr/lib64:/lib64:ro",
    "busybox",
    "/usr/bin/python3",
    "-c",
    "import socket\ns=socket.create_server(('',80))\nb=bytearray(1<<20)\n"
    "while True:\n c,_=s.accept()\n while c.recv_into(b): pass\n c.close()",
]

# run by the engine's host (through nsenter for the lab): prints one JSON line
CLIENT = r"""
import json, socket, statistics, sys, time
port, runs, megabytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
mode = sys.argv[4]
def ready():
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if mode == "request":
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    if s.recv(100):
                        return
                else:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the port never answered")
ready()
if mode == "request":
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while s.recv(65536):
                pass
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"ms": statistics.median(times)}))
else:
    chunk = b"x" * (1 << 20)
    rates = []
    for _ in range(runs):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            start = time.perf_counter()
            for _ in range(megabytes):
                s.sendall(chunk)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)  # the sink closes once it has read everything
            rates.append(megabytes / (time.perf_counter() - start))
    print(json.dumps({"mibs": statistics.median(rates)}))
"""


class Engine:
    """An engine driven by its CLI; ``host`` runs a command on the engine's host."""

    def __init__(
        self,
        name: str,
        cli: list[str],
        env: dict[str, str],
        host: list[str] | None = None,
        per_container: list[str] | None = None,
    ) -> None:
        self.name, self.argv, self.env = name, cli, env
        self.host = host or []
        self.per_container = per_container or []

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        if args and args[0] == "run":
            args = ("run", *self.per_container, *args[1:])
        return sh([*self.argv, *args], self.env, check)

    def client(self, mode: str, runs: int, megabytes: int) -> dict[str, float]:
        done = sh(
            [*self.host, sys.executable, "-c", CLIENT, str(PORT), str(runs), str(megabytes), mode]
        )
        result: dict[str, float] = json.loads(done.stdout)
        return result


def measure(engine: Engine, runs: int, megabytes: int) -> dict[str, float]:
    r: dict[str, float] = {}
    r["run"] = median_ms(lambda: engine.cli("run", "--rm", "busybox", "true"), runs)
    r["run -p"] = median_ms(
        lambda: engine.cli("run", "--rm", "-p", f"127.0.0.1:{PORT}:80", "busybox", "true"), runs
    )
    name = f"bench-net-{os.getpid()}"
    engine.cli("run", "-d", "--name", name, "-p", f"127.0.0.1:{PORT}:80", "busybox", *HTTPD)
    try:
        r["request"] = engine.client("request", runs * 10, 0)["ms"]
    finally:
        engine.cli("rm", "-f", name, check=False)
    engine.cli("run", "-d", "--name", name, "-p", f"127.0.0.1:{PORT}:80", *SINK)
    try:
        r["throughput"] = engine.client("throughput", max(3, runs // 3), megabytes)["mibs"]
    finally:
        engine.cli("rm", "-f", name, check=False)
    r["build RUN"] = measure_build(engine, runs)
    return r


def measure_build(engine: Engine, runs: int) -> float:
    """A one-step build's time; the images it made (only those) are removed after."""
    built: list[str] = []
    with tempfile.TemporaryDirectory() as context:
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nRUN true\n")

        def build() -> None:
            done = engine.cli("build", "-q", "--no-cache", context)
            built.append(done.stdout.decode().split()[-1])

        try:
            return median_ms(build, runs)
        finally:
            if built:
                engine.cli("rmi", *built, check=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--megabytes", type=int, default=256)
    args = parser.parse_args()
    archive = busybox_archive()
    results: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    with NetLab() as lab:
        coved = Coved(netns=lab.host_path)
        try:
            coved.start()
            coved.load(archive)
            classic = {"DOCKER_BUILDKIT": "0"}  # both build with the classic builder
            engines = [Engine("coved", [DOCKER], {**coved.env, **classic},
                              host=lab.argv(lab.host, []))]
            env = ensure_dockerd()
            if env:
                engines.append(Engine("dockerd", [DOCKER], {**env, **classic}))
            else:
                notes.append("dockerd: not available, skipped")
            if shutil.which("podman"):
                podman = Engine(
                    "podman",
                    ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"],
                    dict(os.environ),
                    per_container=["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"],
                )
                if podman.cli("image", "exists", "busybox", check=False).returncode != 0:
                    sh(["podman", "load", "-q"], input=archive)
                engines.append(podman)
            else:
                notes.append("podman: not installed, skipped")
            for engine in engines:
                try:
                    results[engine.name] = measure(engine, args.runs, args.megabytes)
                except RuntimeError as exc:
                    notes.append(f"{engine.name}: failed ({str(exc).splitlines()[-1][-120:]})")
        finally:
            coved.stop()
            coved.cleanup()

    ops = [("run", "ms"), ("run -p", "ms"), ("request", "ms"), ("throughput", "MiB/s"),
           ("build RUN", "ms")]
    names = list(results)
    print(
        f"median of {args.runs} runs (ratio = engine / dockerd; throughput: "
        f"{args.megabytes} MiB per connection)"
    )
    print(f"{'operation':<18}" + "".join(f"{n:>22}" for n in names))
    for op, unit in ops:
        row = f"{op + ' (' + unit + ')':<18}"
        base = results.get("dockerd", {}).get(op)
        row += "".join(cell(results[n].get(op), base) for n in names)
        print(row)
    if "podman" in results and "coved" in results:
        for op, _unit in ops:
            ours, theirs = results["coved"].get(op), results["podman"].get(op)
            if ours and theirs:
                print(f"coved / podman {op}: {ours / theirs:.2f}x")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
