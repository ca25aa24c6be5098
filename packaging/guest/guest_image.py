"""Builds Cove's guest image, or finds it in the cache: run as root on Debian 12 (see ./build).

Outputs, in ``platformdirs.user_cache_dir("cove")/guest/image-<hash of the inputs>/``:
``vmlinuz`` (Debian's kernel), ``initramfs.img`` (busybox-static and the virtio and ext4
modules), ``system.img`` (the read-only ext4 system disk: Debian's python3, dropbear,
busybox, Cove's engine and agent from the project's own wheel) and ``manifest.json``.
The last line of stdout is that directory; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import boot_files
import engine_wheel

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SUITE = "bookworm"
# nftables: the engine's bridge networking writes its one table with `nft -f -`
PACKAGES = ("python3", "dropbear-bin", "busybox", "iproute2", "libseccomp2", "e2fsprogs",
            "ca-certificates", "nftables")
# what nobody reads in an appliance (iconv's charsets: Python has its own codecs); copyright
# files stay
PATH_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*",
                 "/usr/share/info/*", "/usr/share/lintian/*", "/usr/share/bash-completion/*",
                 "/usr/lib/*/gconv/*")
PATH_INCLUDES = ("/usr/share/doc/*/copyright", "/usr/lib/*/gconv/gconv-modules*")
# Essential, but only dpkg's and debconf's maintainer scripts use it, and they never run in
# the read-only guest: 9 MB
DROPPED_ESSENTIAL = ("perl-base",)
ARCHES = {"amd64": "x86_64", "arm64": "aarch64"}
# What shortens a boot under emulation, none of it weakening the guest: no self-tests of
# the crypto algorithms (0.2-0.3 s under TCG), no clocksource watchdog or timer check (the
# TSC is the host's clock), no audit (nothing reads it), no PS/2 mouse or PnP probing.
FAST_BOOT = ("cryptomgr.notests tsc=reliable no_timer_check audit=0 "
             "i8042.noaux i8042.nomux i8042.nopnp")
KERNEL_CMDLINE = {"amd64": f"console=ttyS0 quiet panic=-1 {FAST_BOOT}",
                  "arm64": "console=ttyAMA0 quiet panic=-1 cryptomgr.notests audit=0"}
# fixed times where the tools take them: the kernel and initramfs come out bit for bit the
# same from the same inputs; the system image not yet (pip's file times, mkfs's walk order)
SOURCE_DATE_EPOCH = "1700000000"


def log(text: str) -> None:
    print(f"guest-image: {text}", file=sys.stderr, flush=True)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Runs a build step; a failure says which command failed and shows its output."""
    try:
        return subprocess.run(argv, check=True, text=True, stdin=subprocess.DEVNULL,
                              capture_output=True, **kwargs)  # type: ignore[call-overload, no-any-return]
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"guest-image: {' '.join(argv[:3])}... failed ({exc.returncode}):\n"
                         f"{exc.stdout[-3000:]}{exc.stderr[-3000:]}") from exc


def check_host(arch: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit("guest-image: run as root (mmdebstrap makes device nodes and owners)")
    missing = [tool for tool in ("mmdebstrap", "mkfs.ext4", "depmod", "apt-cache", "dpkg-query")
               if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"guest-image: missing {', '.join(missing)}: "
                         "apt-get install mmdebstrap e2fsprogs kmod (or scripts/setup --test)")
    native = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine())
    if arch != native:
        check_foreign(arch, native)


def check_foreign(arch: str, native: str | None) -> None:
    """A foreign arch's maintainer scripts run under qemu-user, which the kernel starts for
    that arch's binaries through binfmt_misc (registered with the F flag by Debian's
    qemu-user-static, so it works inside mmdebstrap's chroot); mmdebstrap checks it with
    arch-test before it begins."""
    machine = ARCHES[arch]
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    missing = [tool for tool in (f"qemu-{machine}-static", "arch-test")
               if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"guest-image: building for {arch} on {native} runs {arch}'s maintainer "
                         f"scripts under emulation; missing {', '.join(missing)}: apt-get install "
                         "qemu-user-static binfmt-support arch-test (or scripts/setup --test); "
                         "no image was built")
    if not (binfmt / "register").exists():
        raise SystemExit(f"guest-image: building for {arch} needs binfmt_misc, which is not "
                         f"mounted: mount -t binfmt_misc binfmt_misc {binfmt} (scripts/setup "
                         "--test does it); no image was built")
    if not (binfmt / f"qemu-{machine}").exists():
        raise SystemExit(f"guest-image: qemu-{machine} is not registered with binfmt_misc: "
                         f"update-binfmts --enable qemu-{machine} (scripts/setup --test does "
                         "it); no image was built")


def file_digest(paths: Iterable[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def candidate_versions(arch: str, packages: Sequence[str]) -> dict[str, str]:
    """The versions apt would install now (cheap: no download), so a Debian update makes a new key."""
    names = [*packages, "busybox-static", boot_files.kernel_package(arch)]
    out = run(["apt-cache", "policy", *[f"{n}:{arch}" for n in names]]).stdout
    versions: dict[str, str] = {}
    current = ""
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = line.rstrip(":").split(":")[0]
        elif line.strip().startswith("Candidate:"):
            versions[current] = line.split(":", 1)[1].strip()
    return versions


def input_keys(arch: str, packages: Sequence[str]) -> tuple[str, str, dict[str, object]]:
    """Two cache keys: the Debian base (this build's files, packages and their versions), and
    the image (the base and the engine's sources), so an engine change rebuilds only the top."""
    inputs: dict[str, object] = {
        "arch": arch,
        "suite": SUITE,
        "packages": list(packages),
        "build_files": file_digest((p for p in HERE.iterdir() if p.is_file()), HERE),
        "debian_versions": candidate_versions(arch, packages),
    }
    base_key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    inputs["engine_sources"] = file_digest(engine_wheel.source_files(REPO), REPO)
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return base_key, key, inputs


def bootstrap(root: Path, arch: str, packages: Sequence[str]) -> None:
    """Debian's essential set plus ``packages``; merged /usr without usrmerge (which pulls in
    perl)."""
    argv = ["mmdebstrap", "--variant=essential", f"--architectures={arch}", "--quiet",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            f"--include={','.join(packages)}"]
    argv += [f"--dpkgopt=path-exclude={p}" for p in PATH_EXCLUDES]
    argv += [f"--dpkgopt=path-include={p}" for p in PATH_INCLUDES]
    run([*argv, SUITE, str(root)], env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    run(["dpkg", f"--root={root}", "--force-remove-essential", "--force-depends", "--purge",
         *DROPPED_ESSENTIAL])


def finish_root(root: Path) -> None:
    """What makes the tree a read-only appliance: writable places are links into /run."""
    for name in ("etc/resolv.conf", "root/.ssh"):
        target = root / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
    (root / "etc/resolv.conf").symlink_to("../run/cove/resolv.conf")
    (root / "root/.ssh").symlink_to("/run/cove/ssh")
    (root / "etc/hostname").write_text("cove\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost cove\n::1\tlocalhost ip6-localhost\n")
    (root / "var/lib/cove").mkdir(parents=True, exist_ok=True)
    # where a macOS host's shared folders are (/Users/me): init mounts a tmpfs on the one
    # it shares under, to make the folder's own mount point in the read-only tree
    for top in ("Users", "Volumes", "private"):
        (root / top).mkdir(exist_ok=True)
    (root / "usr/sbin/modprobe").symlink_to("../bin/busybox")  # the kernel's module loader
    tools = root / "usr/lib/cove"
    tools.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "udhcpc.script", tools / "udhcpc.script")
    (tools / "udhcpc.script").chmod(0o755)
    for leftover in ("var/cache/apt", "var/lib/apt/lists", "var/log"):
        for path in (root / leftover).glob("*"):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def tree_size(path: Path) -> int:
    """Bytes in the files under path (each hard-linked file once)."""
    seen: set[int] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def room(root: Path) -> dict[str, int]:
    """What takes the room in the system image, largest first (MB to one decimal in the README)."""
    parts = ["usr/lib/python3*", "usr/local/lib/python3*", "usr/lib/modules", "usr/lib/*-linux-gnu",
             "usr/bin", "usr/sbin", "usr/share", "var/lib/dpkg", "etc"]
    sizes: dict[str, int] = {}
    for pattern in parts:
        for path in root.glob(pattern):
            sizes["/" + str(path.relative_to(root))] = tree_size(path)
    sizes["everything else"] = tree_size(root) - sum(sizes.values())
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def blocks_needed(root: Path, block: int = 4096) -> int:
    """Blocks the tree takes on ext4: every file and directory rounds up to whole blocks."""
    seen: set[int] = set()
    blocks = 0
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                blocks += -(-st.st_size // block) if not os.path.islink(os.path.join(dirpath, name)) else 0
    return blocks


def make_system_image(root: Path, image: Path, key: str) -> None:
    """An ext4 filled from the tree (no loop mount), no journal: it is only ever mounted read-only.

    Sized to the tree plus 5% and 8 MB for the inode tables and bitmaps: nothing writes to it.
    """
    size_mb = blocks_needed(root) * 4096 * 105 // 100 // 2**20 + 8
    fixed = str(uuid.UUID(hashlib.sha256(key.encode()).hexdigest()[:32]))
    run(["mkfs.ext4", "-q", "-F", "-d", str(root), "-L", "cove-system", "-U", fixed,
         "-E", f"hash_seed={fixed},root_owner=0:0", "-O", "^has_journal", "-m", "0",
         "-b", "4096", "-i", "8192", str(image), f"{size_mb}M"],
        env={**os.environ, "E2FSPROGS_FAKE_TIME": SOURCE_DATE_EPOCH})


def installed_packages(root: Path) -> dict[str, str]:
    out = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
               "-f=${Package}\t${Version}\n"]).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def build_base(arch: str, base: Path, work: Path, packages: Sequence[str]) -> None:
    """The Debian part, engine aside: the root tree with the kernel's modules, the kernel and busybox."""
    root = base / "root"
    log(f"bootstrapping Debian {SUITE} ({arch}) into {root}")
    bootstrap(root, arch, packages)
    log("fetching the kernel and busybox-static")
    kernel = boot_files.fetch(work / "boot", arch, SUITE)
    for warning in boot_files.install_modules(kernel, root):
        log(f"depmod: {warning}")
    finish_root(root)
    shutil.copy(kernel.vmlinuz, base / "vmlinuz")
    shutil.copy(kernel.busybox, base / "busybox")
    (base / "kernel_version").write_text(kernel.version)


def build(arch: str, base: Path, key: str, inputs: dict[str, object], out: Path, work: Path) -> None:
    started = time.monotonic()
    versions = inputs["debian_versions"]
    assert isinstance(versions, dict)
    root = work / "root"
    run(["cp", "-a", str(base / "root"), str(root)])
    log("building the engine's wheel and fetching its dependencies")
    wheels = engine_wheel.install(REPO, root, work / "wheels", arch)
    log("writing the initramfs and the system image")
    out.mkdir()
    shutil.copy(base / "vmlinuz", out / "vmlinuz")
    kernel_version = (base / "kernel_version").read_text()
    load_order = boot_files.write_initramfs(arch, kernel_version, base / "busybox", root,
                                             HERE / "initramfs-init", out / "initramfs.img")
    make_system_image(root, out / "system.img", key)
    manifest = {
        "arch": arch,
        "inputs_hash": key,
        "kernel_version": kernel_version,
        "kernel_cmdline": KERNEL_CMDLINE[arch],
        "initramfs_modules": load_order,
        "disks": {"system": "cove-system", "data": "cove-data", "seed": "cove-seed"},
        "packages": installed_packages(root),
        "requested_packages": inputs["packages"],
        "boot_packages": {name: version for name, version in versions.items()
                          if name in ("busybox-static", boot_files.kernel_package(arch))},
        "wheels": wheels,
        "sizes": {name: (out / name).stat().st_size
                  for name in ("system.img", "vmlinuz", "initramfs.img")},
        "system_tree_bytes": tree_size(root),
        "room": room(root),
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": inputs,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def entry_arch(entry: Path) -> str:
    """The arch an image or base in the cache was built for ("" if it is not whole)."""
    try:
        if entry.name.startswith("image-"):
            return str(json.loads((entry / "manifest.json").read_text())["arch"])
        return (entry / "kernel_version").read_text().rsplit("-", 1)[1]  # 6.1.0-28-arm64
    except (OSError, ValueError, KeyError, IndexError):
        return ""


def prune(cache: Path, arch: str, keep: int = 2) -> None:
    """Keeps the newest few images and bases of this arch (each is some 200 MB, and sources
    change often); another arch's are not this build's to drop."""
    for prefix in ("base-", "image-"):
        entries = sorted((p for p in cache.glob(f"{prefix}*") if entry_arch(p) in (arch, "")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[keep:]:
            shutil.rmtree(old, ignore_errors=True)


def cache_root() -> Path:
    """platformdirs' user cache dir, as Cove's own code finds it (the XDG default without it)."""
    try:
        import platformdirs
    except ImportError:  # run by a python3 without the project's venv
        default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return default / "cove" / "guest"
    return Path(platformdirs.user_cache_dir("cove")) / "guest"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/guest/build", description=__doc__)
    parser.add_argument("--arch", choices=sorted(ARCHES), default="amd64")
    parser.add_argument("--rebuild", action="store_true", help="build even if the cache has it")
    parser.add_argument("--with", dest="extra", action="append", default=[], metavar="PACKAGE",
                        help="a Debian package to add to the system image (repeatable)")
    args = parser.parse_args(argv)
    check_host(args.arch)
    packages = [*PACKAGES, *sorted(set(args.extra) - set(PACKAGES))]
    base_key, key, inputs = input_keys(args.arch, packages)
    cache = cache_root()
    base, out = cache / f"base-{base_key}", cache / f"image-{key}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; a second caller then finds it
        if (out / "manifest.json").exists() and not args.rebuild:
            log(f"cached: {out}")
            out.touch()
            print(out)
            return 0
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=".build-", dir=cache) as tmp:
            if not (base / "kernel_version").exists() or args.rebuild:
                staged_base = Path(tmp) / "base"
                staged_base.mkdir()
                build_base(args.arch, staged_base, Path(tmp), packages)
                shutil.rmtree(base, ignore_errors=True)
                staged_base.rename(base)
            base.touch()
            staged = Path(tmp) / "out"
            build(args.arch, base, key, inputs, staged, Path(tmp))
            shutil.rmtree(out, ignore_errors=True)
            staged.rename(out)
        prune(cache, args.arch)
        log(f"built in {time.monotonic() - started:.0f}s: {out}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
