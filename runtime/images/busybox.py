"""A busybox image made from the host's static busybox, for users without a network.

Docker Hub is out of reach offline, so ``cove pull busybox`` cannot work there; Debian's
``busybox-static`` can: ``python -m cove.runtime.images.busybox > busybox.tar`` writes a
`docker save` archive (``busybox:latest``) that ``cove load`` or ``docker load`` takes. The
tests build their images the same way. Same binary, same bytes: the image ID is stable.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cove.runtime.images.hello.archive import Entry, Image, docker_archive, layer_tar

BUSYBOX = "/usr/bin/busybox"
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000::/home/user:/bin/sh
"""

GROUP = b"""root:x:0:
daemon:x:1:
staff:x:50:user
nogroup:x:65534:
user:x:1000:
"""


@functools.lru_cache(maxsize=1)
def _busybox() -> tuple[bytes, tuple[str, ...]]:
    with open(BUSYBOX, "rb") as f:
        binary = f.read()
    listed = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True)
    applets = tuple(sorted(name for name in listed.stdout.split() if name != "busybox"))
    return binary, applets


def _is_executable(data: bytes) -> bool:
    return data.startswith(b"#!") or data.startswith(b"\x7fELF")


def files_entries(files: Mapping[str, bytes]) -> list[Entry]:
    """Entries for ``files`` (path -> content), with parent dirs.

    Scripts (#!) and ELF binaries get mode 0755, everything else 0644; a key ending
    in "/" is a directory; ``.wh.<name>`` keys are whiteouts, as in any layer.
    """
    entries: dict[str, Entry] = {}
    for raw_path, data in files.items():
        path = raw_path.strip("/")
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            entries.setdefault(parent, Entry(parent, "dir", mode=0o755))
        if raw_path.endswith("/"):
            entries[path] = Entry(path, "dir", mode=0o755)
        else:
            entries[path] = Entry(path, data=data, mode=0o755 if _is_executable(data) else 0o644)
    return list(entries.values())


def busybox_rootfs_tar(extra: dict[str, bytes] | None = None) -> bytes:
    """One layer: /bin/busybox with a symlink per applet, users and groups, the usual dirs."""
    binary, applets = _busybox()
    entries: dict[str, Entry] = {}
    for path, mode in (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("home", 0o755),
                       ("proc", 0o555), ("root", 0o700), ("sys", 0o555), ("tmp", 0o1777),
                       ("usr", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
                       ("var", 0o755), ("var/tmp", 0o1777)):
        entries[path] = Entry(path, "dir", mode=mode)
    entries["home/user"] = Entry("home/user", "dir", mode=0o755, uid=1000, gid=1000)
    entries["bin/busybox"] = Entry("bin/busybox", data=binary, mode=0o755)
    for applet in applets:
        entries[f"bin/{applet}"] = Entry(f"bin/{applet}", "symlink", mode=0o777,
                                         target="busybox")
    for path, data in (("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/hostname", b""),
                       ("etc/hosts", b""), ("etc/resolv.conf", b"")):
        entries[path] = Entry(path, data=data)
    for entry in files_entries(extra or {}):
        if entry.kind != "dir" or entry.path not in entries:
            entries[entry.path] = entry
    return layer_tar(entries.values())


def busybox_image(
    tag: str = "busybox:latest",
    cmd: Sequence[str] | None = ("sh",),
    env: Sequence[str] = tuple(DEFAULT_ENV),
    extra_layers: Sequence[Mapping[str, bytes]] = (),
    stop_signal: str | None = None,
    extra: dict[str, bytes] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Image:
    """The image record; ``config`` adds container-config fields (Entrypoint, User, Labels...)."""
    container_config: dict[str, Any] = {"Env": list(env), "Cmd": list(cmd) if cmd else None}
    if stop_signal:
        container_config["StopSignal"] = stop_signal
    container_config.update(config or {})
    layers = [busybox_rootfs_tar(extra)]
    layers += [layer_tar(files_entries(files)) for files in extra_layers]
    history = ["ADD busybox rootfs / # cove tests"]
    history += [f"COPY layer {n} / # cove tests" for n in range(1, len(layers))]
    return Image(layers=layers, config=container_config, repo_tags=[tag] if tag else [],
                 history=history)


def main(argv: list[str] | None = None) -> int:
    """Write the archive to the path given, or to stdout."""
    args = sys.argv[1:] if argv is None else argv
    try:
        data = docker_archive(busybox_image())
    except FileNotFoundError:
        print(f"{BUSYBOX} not found: install Debian's busybox-static", file=sys.stderr)
        return 1
    if args:
        with open(args[0], "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
