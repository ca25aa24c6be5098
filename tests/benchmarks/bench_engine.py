"""Engine benchmark: the same container work on coved, dockerd, podman and crun.

Run: ``.venv/bin/python tests/benchmarks/bench_engine.py [--runs N]`` as root. Prints
the median of N runs of each operation per engine and the ratio to dockerd, all
from this one run. Engines that are not installed are skipped and say so.

    run      `docker run --rm busybox true` (podman run, crun run)
    cove-run `cove run --rm busybox true`
    exec     `docker exec <c> true` in a running container
    create+start  `docker create` then `docker start` (a detached `true`)
    ps100    `docker ps -a` with 100 containers
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from cove.runtime.images.busybox import busybox_rootfs_tar
from tests.support.coved import Coved  # noqa: E402
from tests.support.dockerd import ensure_dockerd  # noqa: E402
from tests.support.images import busybox_archive

DOCKER = shutil.which("docker") or "docker"
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or shutil.which("cove") or "cove"


def sh(argv: list[str], env: dict[str, str] | None = None, check: bool = True,
       input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, env=env, capture_output=True, input=input, timeout=300)
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv} failed: {result.stderr.decode(errors='replace')[-500:]}")
    return result


def cell(value: float | None, base: float | None) -> str:
    """One engine's figure in a results row, with its ratio to dockerd's when there is one."""
    if value is None:
        return f"{'-':>22}"
    if base:
        return f"{value:>12.1f} ({value / base:>5.2f}x)"
    return f"{value:>22.1f}"


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class DockerAPIEngine:
    """An engine driven by the docker CLI (coved and dockerd both)."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name, self.env = name, env
        self.created: list[str] = []

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return sh([DOCKER, *args], self.env, check)

    def load(self, archive: bytes) -> None:
        sh([DOCKER, "load", "-q"], self.env, input=archive)

    def run(self, *flags: str) -> None:
        self.cli("run", "--rm", *flags, "busybox", "true")

    def start_sleeper(self) -> str:
        return self.cli("run", "-d", "busybox", "sleep", "3600").stdout.decode().strip()

    def exec(self, cid: str) -> None:
        self.cli("exec", cid, "true")

    def create_start(self) -> None:
        cid = self.cli("create", "busybox", "true").stdout.decode().strip()
        self.cli("start", cid)
        self.created.append(cid)

    def ps(self) -> None:
        self.cli("ps", "-a")

    def remove(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 50):
            self.cli("rm", "-f", *ids[i:i + 50], check=False)


class PodmanEngine(DockerAPIEngine):
    """Podman as root. On a hybrid-cgroup host crun refuses to run and the sandbox
    forbids raising rlimits, so podman gets runc, cgroupfs and rlimits it may set."""

    GLOBAL = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
    PER_CONTAINER = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    def __init__(self) -> None:
        super().__init__("podman", dict(os.environ))

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        if args and args[0] in ("run", "create"):
            args = (args[0], *self.PER_CONTAINER, *args[1:])
        return sh(["podman", *self.GLOBAL, *args], self.env, check)

    def load(self, archive: bytes) -> None:
        with tempfile.NamedTemporaryFile(suffix=".tar") as f:
            f.write(archive)
            f.flush()
            sh(["podman", "load", "-q", "-i", f.name])


class OCIRuntimeEngine:
    """An OCI runtime alone (crun, else runc): no daemon, no image store, a prepared bundle."""

    def __init__(self, name: str, root: str) -> None:
        self.name = name
        self.bundle = os.path.join(root, "bundle")
        rootfs = os.path.join(self.bundle, "rootfs")
        os.makedirs(rootfs)
        sh(["tar", "-x", "-C", rootfs], input=busybox_rootfs_tar())
        subprocess.run([name, "spec"], cwd=self.bundle, check=True, capture_output=True)
        with open(os.path.join(self.bundle, "config.json")) as f:
            config = json.load(f)
        config["process"]["terminal"] = False
        config["process"]["args"] = ["true"]
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(config, f)
        self.count = 0

    def run(self) -> None:
        self.count += 1
        sh([self.name, "run", "--bundle", self.bundle, f"bench-{os.getpid()}-{self.count}"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ps-containers", type=int, default=100)
    args = parser.parse_args()
    runs = args.runs
    archive = busybox_archive()

    coved = Coved().start()
    engines: list[DockerAPIEngine] = []
    results: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    crun_root = tempfile.mkdtemp(prefix="bench-crun-")
    bind_dir = os.path.join(crun_root, "bind")
    os.makedirs(bind_dir)
    try:
        engines.append(DockerAPIEngine("coved", coved.env))
        env = ensure_dockerd()
        if env:
            engines.append(DockerAPIEngine("dockerd", env))
        else:
            notes.append("dockerd: not available, skipped")
        if shutil.which("podman"):
            engines.append(PodmanEngine())
        else:
            notes.append("podman: not installed, skipped")
        for engine in engines:
            engine.load(archive)
            r: dict[str, float] = results.setdefault(engine.name, {})
            r["run"] = median_ms(engine.run, runs)
            r["run -v"] = median_ms(lambda e=engine: e.run("-v", f"{bind_dir}:/data",
                                                            "-v", f"{bind_dir}:/ro:ro"), runs)
            r["run --tmpfs"] = median_ms(lambda e=engine: e.run("--tmpfs", "/scratch"), runs)
            volume = f"cove-bench-{os.getpid()}"
            r["run -v volume"] = median_ms(lambda e=engine, v=volume: e.run("-v", f"{v}:/data"),
                                           runs)
            engine.cli("volume", "rm", "-f", volume, check=False)
            sleeper = engine.start_sleeper()
            r["exec"] = median_ms(lambda e=engine, c=sleeper: e.exec(c), runs)
            engine.remove([sleeper])
            r["create+start"] = median_ms(engine.create_start, runs)
            engine.remove(engine.created)
            made = [engine.cli("create", "busybox", "true").stdout.decode().strip()
                    for _ in range(args.ps_containers)]
            r["ps100"] = median_ms(engine.ps, runs)
            engine.remove(made)
        results["coved"]["cove-run"] = median_ms(
            lambda: sh([COVE, "run", "--rm", "busybox", "true"], coved.env), runs)
        for name in ("crun", "runc"):
            if not shutil.which(name):
                notes.append(f"{name}: not installed")
                continue
            oci = OCIRuntimeEngine(name, os.path.join(crun_root, name))
            try:
                oci.run()
            except RuntimeError as exc:
                notes.append(f"{name}: cannot run here ({str(exc).splitlines()[-1][-90:]})")
                continue
            results.setdefault(name, {})["run"] = median_ms(oci.run, runs)
    finally:
        coved.stop()
        coved.cleanup()
        shutil.rmtree(crun_root, ignore_errors=True)

    ops = ["run", "cove-run", "run -v", "run --tmpfs", "run -v volume", "exec", "create+start",
           "ps100"]
    names = list(results)
    print(f"median of {runs} runs, milliseconds (ratio = engine / dockerd)")
    print(f"{'operation':<14}" + "".join(f"{n:>22}" for n in names))
    for op in ops:
        row = f"{op:<14}"
        base = results.get("dockerd", {}).get("run" if op == "cove-run" else op)
        row += "".join(cell(results[n].get(op), base) for n in names)
        print(row)
    if "podman" in results:
        print(f"coved run / podman run: {results['coved']['run'] / results['podman']['run']:.2f}x")
    for name in ("crun", "runc"):
        if name in results:
            print(f"coved run / {name} run:   "
                  f"{results['coved']['run'] / results[name]['run']:.2f}x")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
