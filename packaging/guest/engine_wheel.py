"""Cove's engine in the guest: the project's own wheel, and its dependencies for the guest's arch.

The wheel is built from a copy of the sources (the repository's ``build/`` holds the
editable install's link tree, which a build there would mix in), then installed with its
dependencies into the guest's /usr/local, byte-compiled for a read-only disk.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

# the folders pyproject.toml maps into the `cove` package, and what setuptools reads
SOURCE_DIRS = ("cove", "runtime", "desktop", "vm", "guest-agent")
TOP_FILES = ("pyproject.toml",)
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
# the VM's host side (cove.vm) needs these; the guest never drives a VM
HOST_ONLY = frozenset({"paramiko", "qemu-qmp"})


def source_files(repo: Path) -> Iterator[Path]:
    """The files that make the wheel (no byte code, no caches)."""
    for name in TOP_FILES:
        yield repo / name
    for folder in SOURCE_DIRS:
        for path in (repo / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def build_wheel(repo: Path, work: Path) -> Path:
    src = work / "src"
    for path in source_files(repo):
        target = src / path.relative_to(repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    argv = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(src)]
    if importlib.util.find_spec("setuptools") is not None:
        argv.insert(5, "--no-build-isolation")  # the venv's setuptools: no download
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    (wheel,) = work.glob("cove-*.whl")
    return wheel


def requirement_name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(wheel: Path) -> list[str]:
    """Requires-Dist of the wheel, without the extras (the guest runs no tests) and HOST_ONLY."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    return [r for r in message.get_all("Requires-Dist", [])
            if "extra ==" not in r and requirement_name(r) not in HOST_ONLY]


def guest_python(root: Path) -> str:
    """The guest's Python as X.Y, from its stdlib directory."""
    (stdlib,) = [p.name for p in (root / "usr/lib").glob("python3.*") if (p / "os.py").exists()]
    return stdlib.removeprefix("python")


def target_flags(arch: str, version: str) -> list[str]:
    """pip's flags for wheels that run on the guest (bookworm's glibc 2.36), not on this host."""
    machine = MACHINES[arch]
    flags = ["--only-binary=:all:", "--implementation", "cp", "--python-version", version,
             "--abi", f"cp{version.replace('.', '')}"]
    for tag in ("manylinux_2_36", "manylinux_2_28", "manylinux_2_17", "manylinux2014"):
        flags += ["--platform", f"{tag}_{machine}"]
    return flags


def strip_libraries(site: Path, arch: str) -> None:
    """Drops the symbols of the wheels' C extensions (zstandard's: 23 MB to 2 MB)."""
    strip = shutil.which(f"{MACHINES[arch]}-linux-gnu-strip") or (
        shutil.which("strip") if MACHINES[arch] == platform.machine() else None)
    if strip is None:
        print(f"guest-image: no strip for {arch}: C extensions keep their symbols (some 20 MB; "
              f"apt-get install binutils-{MACHINES[arch]}-linux-gnu)", file=sys.stderr)
        return
    libraries = sorted(str(p) for p in site.rglob("*.so*") if p.is_file())
    if libraries:
        subprocess.run([strip, "--strip-unneeded", *libraries], check=True)


def install(repo: Path, root: Path, work: Path, arch: str) -> dict[str, str]:
    """Installs the engine and its dependencies into the guest; returns {wheel file: sha256 prefix}."""
    work.mkdir(parents=True)
    wheel = build_wheel(repo, work)
    version = guest_python(root)
    flags = target_flags(arch, version)
    deps = work / "deps"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(deps), *flags,
                    *requirements(wheel)], check=True, stdin=subprocess.DEVNULL)
    site = root / f"usr/local/lib/python{version}/dist-packages"
    wheels = [wheel, *sorted(deps.glob("*.whl"))]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-compile", "--target", str(site), *flags, *map(str, wheels)],
                   check=True, stdin=subprocess.DEVNULL)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts for the host's python
    strip_libraries(site, arch)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        # checked against nothing at import: the disk is read-only and never edited in place
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                        "--invalidation-mode", "unchecked-hash", "-s", str(root), "-p", "/",
                        str(site)], check=True, stdin=subprocess.DEVNULL)
    return {w.name: hashlib.sha256(w.read_bytes()).hexdigest()[:16] for w in wheels}
