"""Pull benchmark: a cold pull of one multi-layer image from a local registry, per engine.

Run: ``python tests/benchmarks/bench_pull.py [--runs N] [--layer-mb M]`` as root.

The image (busybox plus five layers of a few MB of incompressible data) is pushed once
to a local CNCF registry (``tests.support.registry``), then each engine pulls it N times,
cold: the image and its layers are removed before every run and the removal is not
timed. Prints the median per engine and its ratio to skopeo and to dockerd, from this
one run. An engine that is missing or fails prints ``<name>: failed (...)`` and the
rest still run (coved's pull may not exist yet).

    coved    `docker pull` through coved (the docker CLI, so the CLI cost is the same)
    cove     `cove pull` through coved
    dockerd  `docker pull` against the real dockerd (127.0.0.1 registries are insecure)
    podman   `podman pull --tls-verify=false` (runc, cgroupfs), `podman rmi` between runs
    skopeo   `skopeo copy docker://... dir:<tmp>`  (downloads and verifies, no unpacking)

Target (issue 3): coved cold pull <= 1.5x skopeo, faster than dockerd and podman.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.support.coved import Coved  # noqa: E402
from tests.support.dockerd import ensure_dockerd  # noqa: E402
from tests.support.images import busybox_archive  # noqa: E402
from tests.support.registry import Registry, push_archive_with_skopeo, skopeo  # noqa: E402

DOCKER = shutil.which("docker") or "docker"
PODMAN = shutil.which("podman")
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or shutil.which("cove") or "cove"


def sh(argv: list[str], env: dict[str, str] | None = None,
       check: bool = True) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, env=env, capture_output=True, timeout=600)
    if check and result.returncode != 0:
        message = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise RuntimeError(message.splitlines()[-1] if message else f"exit {result.returncode}")
    return result


def noise(size: int, seed: int) -> bytes:
    """Incompressible but reproducible bytes: gzip cannot shrink them, every run the same."""
    import hashlib

    return hashlib.shake_256(seed.to_bytes(8, "big")).digest(size)


def bench_image(layer_mb: float, layers: int) -> bytes:
    extra = [{f"data/layer{i}.bin": noise(int(layer_mb * 1_000_000), i)}
             for i in range(layers)]
    return busybox_archive(tag="bench/pull:latest", extra_layers=extra)


class Engine:
    """How one engine pulls and forgets ``ref``."""

    def __init__(self, name: str, pull: Callable[[str], object],
                 remove: Callable[[str], object]) -> None:
        self.name, self.pull, self.remove = name, pull, remove


def docker_engine(name: str, env: dict[str, str], cli: str = DOCKER) -> Engine:
    def remove(ref: str) -> None:
        sh([DOCKER, "rmi", "-f", ref], env=env, check=False)
        sh([DOCKER, "image", "prune", "-f"], env=env, check=False)

    return Engine(name, lambda ref: sh([cli, "pull", "-q", ref], env=env), remove)


def podman_engine(root: str) -> Engine:
    base = [PODMAN or "podman", "--root", os.path.join(root, "storage"), "--runroot",
            os.path.join(root, "run"), "--runtime", "runc", "--cgroup-manager", "cgroupfs",
            "--events-backend", "none"]
    return Engine("podman",
                  lambda ref: sh(base + ["pull", "-q", "--tls-verify=false", ref]),
                  lambda ref: sh(base + ["rmi", "-af"], check=False))


def skopeo_engine(root: str) -> Engine:
    target = os.path.join(root, "skopeo-dir")

    def pull(ref: str) -> None:
        result = skopeo("copy", "--quiet", f"docker://{ref}", f"dir:{target}")
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace").strip()[-300:])

    return Engine("skopeo", pull, lambda ref: shutil.rmtree(target, ignore_errors=True))


def measure(engine: Engine, ref: str, runs: int) -> float:
    """Median seconds of ``runs`` cold pulls (after one untimed warm-up pull)."""
    engine.remove(ref)
    engine.pull(ref)  # warm-up: caches of the engine itself (not of the image)
    times = []
    for _ in range(runs):
        engine.remove(ref)
        start = time.perf_counter()
        engine.pull(ref)
        times.append(time.perf_counter() - start)
    engine.remove(ref)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layer-mb", type=float, default=4.0)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--engines", default="coved,cove,dockerd,podman,skopeo")
    opts = parser.parse_args()
    wanted = opts.engines.split(",")
    work = tempfile.mkdtemp(prefix="cove-bench-pull-", dir="/tmp")
    registry = Registry().start()
    coved: Coved | None = None
    results: dict[str, float | str] = {}
    try:
        archive = bench_image(opts.layer_mb, opts.layers)
        digest = push_archive_with_skopeo(archive, registry, "bench/pull:latest")
        ref = f"{registry.host}/bench/pull:latest"
        size_mb = len(archive) / 1e6
        engines: list[Engine] = []
        if {"coved", "cove"} & set(wanted):
            try:
                coved = Coved().start()
                if "coved" in wanted:
                    engines.append(docker_engine("coved", coved.env))
                if "cove" in wanted:
                    engines.append(docker_engine("cove", coved.env, COVE))
            except Exception as exc:  # noqa: BLE001 - report, keep benchmarking the rest
                results["coved"] = f"failed ({exc})"
        if "dockerd" in wanted:
            env = ensure_dockerd()
            if env is None:
                results["dockerd"] = "failed (dockerd not available)"
            else:
                engines.append(docker_engine("dockerd", env))
        if "podman" in wanted:
            if PODMAN is None:
                results["podman"] = "failed (podman not installed)"
            else:
                engines.append(podman_engine(os.path.join(work, "podman")))
        if "skopeo" in wanted:
            engines.append(skopeo_engine(work))
        for engine in engines:
            try:
                results[engine.name] = measure(engine, ref, opts.runs)
            except Exception as exc:  # noqa: BLE001 - one engine failing must not hide the rest
                results[engine.name] = f"failed ({str(exc)[:200]})"
        print(f"cold pull of {ref} ({digest[:19]}..., {opts.layers + 1} layers, "
              f"{size_mb:.1f} MB uncompressed), median of {opts.runs} runs")
        base_skopeo = results.get("skopeo")
        base_dockerd = results.get("dockerd")
        print(f"{'engine':<10}{'seconds':>10}{'vs skopeo':>12}{'vs dockerd':>12}")
        for name in ("coved", "cove", "dockerd", "podman", "skopeo"):
            if name not in results:
                continue
            value = results[name]
            if isinstance(value, str):
                print(f"{name}: {value}")
                continue
            vs_skopeo = (f"{value / base_skopeo:.2f}x" if isinstance(base_skopeo, float)
                         else "-")
            vs_dockerd = (f"{value / base_dockerd:.2f}x" if isinstance(base_dockerd, float)
                          else "-")
            print(f"{name:<10}{value:>10.3f}{vs_skopeo:>12}{vs_dockerd:>12}")
        coved_time = results.get("coved")
        if isinstance(coved_time, float) and isinstance(base_skopeo, float):
            verdict = "met" if coved_time <= 1.5 * base_skopeo else "NOT met"
            print(f"target coved <= 1.5x skopeo: {verdict}")
    finally:
        if coved is not None:
            coved.stop()
            coved.cleanup()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
