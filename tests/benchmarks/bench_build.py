"""Build benchmark: a cold build and an unchanged rebuild of one 6-step Dockerfile, per engine.

Run: ``python tests/benchmarks/bench_build.py [--runs N]`` as root. Prints the median of
N runs of each per engine and its ratio to the dockerd legacy builder, all from this one
run. Every engine builds the same Dockerfile from the same context directory::

    FROM busybox / RUN (writes a file) / COPY two files / ENV / WORKDIR / CMD

    cold     the image is removed (untimed) and built again with --no-cache (checked: new ID)
    rebuild  the same build, unchanged, every step from the cache (checked: same image ID)

Engines (one that is missing or cannot build here prints why and is skipped):

    coved     `docker build` (DOCKER_BUILDKIT=0) against a coved started for this run
    cove      `cove build` against that coved
    legacy    `docker build` (DOCKER_BUILDKIT=0) against the real dockerd
    buildkit  `docker build` (DOCKER_BUILDKIT=1) against the real dockerd (needs buildx)
    podman    `podman build --layers` (runc, cgroupfs, rlimits it may set, its own store)

Targets (issue 4): cached rebuild at most the legacy builder's, cold build faster than podman.
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

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.support.coved import Coved  # noqa: E402
from tests.support.dockerd import ensure_dockerd  # noqa: E402
from tests.support.images import busybox_archive  # noqa: E402

DOCKER = shutil.which("docker") or "docker"
PODMAN = shutil.which("podman")
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or shutil.which("cove") or "cove"

DOCKERFILE = """\
FROM busybox
RUN echo built > /built.txt && mkdir -p /app
COPY a.txt b.txt /app/
ENV GREETING=hello
WORKDIR /app
CMD ["cat", "/app/a.txt"]
"""

# the "download" a package manager would do, kept in a cache mount between builds
CACHE_MOUNT_DOCKERFILE = """\
FROM busybox
RUN --mount=type=cache,id=bench-deps,target=/var/cache/deps \\
    sh -c 'test -f /var/cache/deps/blob || dd if=/dev/urandom of=/var/cache/deps/blob bs=1M count=16 2>/dev/null; wc -c < /var/cache/deps/blob > /size'
"""

ENGINES = ("coved", "cove", "legacy", "buildkit", "podman")


def sh(argv: list[str], env: dict[str, str] | None = None, check: bool = True,
       input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, env=env, capture_output=True, input=input, timeout=300)
    if check and result.returncode != 0:
        message = (result.stderr or result.stdout).decode(errors="replace").strip()
        lines = [line for line in message.splitlines() if line.strip()]
        raise RuntimeError(lines[-1][-200:] if lines else f"exit {result.returncode}")
    return result


def make_context(root: str) -> str:
    """The build context: the Dockerfile and the two files it copies."""
    context = os.path.join(root, "context")
    os.makedirs(context)
    for name, data in (("Dockerfile", DOCKERFILE), ("a.txt", "file a\n"),
                       ("b.txt", "file b\n" * 100)):
        with open(os.path.join(context, name), "w") as f:
            f.write(data)
    return context


class Engine:
    """How one engine builds, identifies and forgets the benchmark image."""

    def __init__(self, name: str, tag: str) -> None:
        self.name, self.tag = name, tag

    def build(self, context: str, no_cache: bool) -> None:
        raise NotImplementedError

    def image_id(self) -> str:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError


class DockerCLIEngine(Engine):
    """`docker build` against a daemon (coved or dockerd), legacy builder or BuildKit."""

    def __init__(self, name: str, tag: str, env: dict[str, str], buildkit: bool = False,
                 build_cli: list[str] | None = None) -> None:
        super().__init__(name, tag)
        self.env = {**env, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
        self.build_cli = build_cli or [DOCKER, "build"]

    def build(self, context: str, no_cache: bool) -> None:
        flags = ["--no-cache"] if no_cache else []
        sh([*self.build_cli, *flags, "-t", self.tag, context], self.env)

    def image_id(self) -> str:
        return sh([DOCKER, "image", "inspect", "-f", "{{.Id}}", self.tag],
                  self.env).stdout.decode().strip()

    def remove(self) -> None:
        sh([DOCKER, "rmi", "-f", self.tag], self.env, check=False)


class PodmanEngine(Engine):
    """Podman as root in a store of its own. On this hybrid-cgroup host crun refuses to
    run and the sandbox forbids raising rlimits: runc, cgroupfs and rlimits it may set."""

    def __init__(self, tag: str, root: str) -> None:
        super().__init__("podman", tag)
        self.root = root
        self.base = [PODMAN or "podman", "--root", os.path.join(root, "storage"),
                     "--runroot", os.path.join(root, "run"), "--runtime", "runc",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

    def load(self, archive: bytes) -> None:
        path = os.path.join(self.root, "busybox.tar")
        os.makedirs(self.root, exist_ok=True)
        with open(path, "wb") as f:
            f.write(archive)
        sh([*self.base, "load", "-q", "-i", path])

    def build(self, context: str, no_cache: bool) -> None:
        flags = ["--no-cache"] if no_cache else []
        sh([*self.base, "build", "--layers", *flags, "--ulimit", "nofile=1024:1024",
            "--ulimit", "nproc=4096:4096", "-t", self.tag, context])

    def image_id(self) -> str:
        return sh([*self.base, "image", "inspect", "-f", "{{.Id}}", self.tag]
                  ).stdout.decode().strip()

    def remove(self) -> None:
        sh([*self.base, "rmi", "-f", self.tag], check=False)

    def destroy(self) -> None:
        """Every image, then any mount left under the store, then the store itself."""
        sh([*self.base, "rmi", "-af"], check=False)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if self.root in line.split()[4]]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


Result = tuple[float, float, bool, bool]


def make_cache_mount_context(root: str) -> str:
    context = os.path.join(root, "cache-mount-context")
    os.makedirs(context)
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write(CACHE_MOUNT_DOCKERFILE)
    return context


def measure_cache_mount(engine: Engine, context: str, runs: int) -> float:
    """Median ms of ``--no-cache`` builds whose RUN finds its cache mount already filled."""
    engine.build(context, no_cache=True)  # fills the cache mount
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.build(context, no_cache=True)
        times.append((time.perf_counter() - start) * 1000)
    engine.remove()
    return statistics.median(times)


def measure(engine: Engine, context: str, runs: int) -> Result:
    """Median ms of ``runs`` cold builds and of ``runs`` rebuilds; whether every cold build
    made a new image (so nothing came from a cache) and every rebuild gave the image ID of
    the build before it (so everything came from the cache)."""
    engine.remove()
    engine.build(context, no_cache=True)  # warm-up: the engine's own caches, not the image's
    ids = {engine.image_id()}
    cold = []
    for _ in range(runs):
        engine.remove()
        start = time.perf_counter()
        engine.build(context, no_cache=True)
        cold.append((time.perf_counter() - start) * 1000)
        ids.add(engine.image_id())
    fresh = len(ids) == runs + 1
    expected = engine.image_id()
    engine.build(context, no_cache=False)  # warm-up rebuild
    cached = engine.image_id() == expected
    rebuild = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.build(context, no_cache=False)
        rebuild.append((time.perf_counter() - start) * 1000)
        cached = cached and engine.image_id() == expected
    return statistics.median(cold), statistics.median(rebuild), fresh, cached


def buildkit_problem(env: dict[str, str], context: str) -> str | None:
    """Why BuildKit cannot build here (the docker 28 CLI needs buildx), or None."""
    if sh([DOCKER, "buildx", "version"], env, check=False).returncode == 0:
        return None
    probe = sh([DOCKER, "build", "-q", context], {**env, "DOCKER_BUILDKIT": "1"}, check=False)
    if probe.returncode == 0:
        return None
    lines = [line.strip() for line in probe.stderr.decode(errors="replace").splitlines()
             if line.strip()]
    return f"docker buildx missing, DOCKER_BUILDKIT=1 build fails ({lines[0] if lines else '?'})"


def report_cache_mount(timings: dict[str, float], runs: int) -> None:
    if not timings:
        return
    base = timings.get("podman")
    print(f"\nRUN --mount=type=cache with a filled cache, --no-cache build, median of {runs}, "
          "ms (ratio = engine / podman)")
    for name, value in timings.items():
        print(f"{name:<10}{value:>10.1f}{f'{value / base:.2f}x' if base else '-':>9}")


def report(results: dict[str, Result], notes: list[str], runs: int) -> None:
    base = results.get("legacy")
    print(f"6-step Dockerfile, median of {runs} runs, milliseconds "
          f"(ratio = engine / dockerd legacy builder)")
    print(f"{'engine':<10}{'cold':>10}{'ratio':>9}{'rebuild':>11}{'ratio':>9}  checks")
    for name in ENGINES:
        if name not in results:
            continue
        cold, rebuild, fresh, cached = results[name]
        cold_ratio = f"{cold / base[0]:.2f}x" if base else "-"
        rebuild_ratio = f"{rebuild / base[1]:.2f}x" if base else "-"
        print(f"{name:<10}{cold:>10.1f}{cold_ratio:>9}{rebuild:>11.1f}{rebuild_ratio:>9}  "
              f"{'ok' if fresh and cached else ''}"
              f"{'' if fresh else ' COLD REUSED AN IMAGE'}"
              f"{'' if cached else ' REBUILD CHANGED THE IMAGE'}")
    podman = results.get("podman")
    for name in ("coved", "cove"):
        if name not in results:
            continue
        cold, rebuild, fresh, cached = results[name]
        if base:
            verdict = "met" if rebuild <= base[1] and cached else "NOT met"
            print(f"target {name} rebuild <= legacy rebuild ({rebuild:.1f} vs "
                  f"{base[1]:.1f} ms): {verdict}")
        if podman:
            verdict = "met" if cold < podman[0] and fresh else "NOT met"
            print(f"target {name} cold < podman cold ({cold:.1f} vs {podman[0]:.1f} ms): "
                  f"{verdict}")
    for note in notes:
        print(note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default=",".join(ENGINES))
    opts = parser.parse_args()
    wanted = opts.engines.split(",")
    work = tempfile.mkdtemp(prefix="cove-bench-build-", dir="/tmp")
    context = make_context(work)
    archive = busybox_archive()
    tag = f"bench/build-{os.getpid()}"
    coved: Coved | None = None
    engines: list[Engine] = []
    results: dict[str, Result] = {}
    notes: list[str] = []
    try:
        if {"coved", "cove"} & set(wanted):
            coved = Coved().start()
            coved.load(archive)
            if "coved" in wanted:
                engines.append(DockerCLIEngine("coved", f"{tag}-coved", coved.env))
            if "cove" in wanted:
                if sh([COVE, "build", "--help"], coved.env, check=False).returncode == 0:
                    engines.append(DockerCLIEngine("cove", f"{tag}-cove", coved.env,
                                                   build_cli=[COVE, "build"]))
                else:
                    notes.append("cove: build command not available")
        if {"legacy", "buildkit"} & set(wanted):
            env = ensure_dockerd()
            if env is None:
                notes.append("legacy, buildkit: dockerd not available, skipped")
            else:
                sh([DOCKER, "load", "-q"], env, input=archive)
                if "legacy" in wanted:
                    engines.append(DockerCLIEngine("legacy", f"{tag}-legacy", env))
                if "buildkit" in wanted:
                    problem = buildkit_problem(env, context)
                    if problem:
                        notes.append(f"buildkit: skipped: {problem}")
                    else:
                        engines.append(DockerCLIEngine("buildkit", f"{tag}-buildkit", env,
                                                       buildkit=True))
        if "podman" in wanted:
            if PODMAN is None:
                notes.append("podman: not installed, skipped")
            else:
                podman = PodmanEngine(f"{tag}-podman", os.path.join(work, "podman"))
                podman.load(archive)
                engines.append(podman)
        for engine in engines:
            try:
                results[engine.name] = measure(engine, context, opts.runs)
            except Exception as exc:  # noqa: BLE001 - one engine failing must not hide the rest
                notes.append(f"{engine.name}: failed ({str(exc)[:200]})")
        cache_context = make_cache_mount_context(work)
        cache_mount: dict[str, float] = {}
        for engine in engines:
            if engine.name in ("legacy", "buildkit"):
                continue  # the legacy builder refuses --mount; BuildKit is not here
            try:
                cache_mount[engine.name] = measure_cache_mount(engine, cache_context, opts.runs)
            except Exception as exc:  # noqa: BLE001 - as above
                notes.append(f"{engine.name}: cache-mount build failed ({str(exc)[:200]})")
        report(results, notes, opts.runs)
        report_cache_mount(cache_mount, opts.runs)
        if "legacy" in results:
            print("legacy: RUN --mount is refused by dockerd's classic builder "
                  "(\"the --mount option requires BuildKit\")")
    finally:
        for engine in engines:
            if isinstance(engine, PodmanEngine):
                engine.destroy()
            else:
                engine.remove()
        if coved is not None:
            coved.stop()
            coved.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
