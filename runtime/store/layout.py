"""Every file and directory name the engine keeps on disk, defined once.

    <data-root>/                      (default /var/lib/cove)
      coved.lock                      flock'ed by the daemon using this data root
      image/configs/sha256/<hex>      image config blobs (the image ID is their digest)
      image/repositories.json         tags and digests -> image ID
      image/layers/<chain-hex>/diff/  one unpacked layer, shared by every image using it
      image/layers/<chain-hex>/meta.json
      image/layers/<chain-hex>/tar-split  the layer tar's headers, to rebuild it for save
      image/metadata.json             per-image LastTagTime and Parent (built images)
      image/build-cache.json          the builder's step cache
      image/distribution/pushed.json  diff ID -> pushed (compressed) blob: digest, size, repos
      tmp/                            partial work; renamed into place when complete
      containers/<id>/config.v2.json  the container record (state included)
      containers/<id>/<id>-json.log   json-file log
      containers/<id>/{hostname,hosts,resolv.conf}
      containers/<id>/upper/ work/    the overlay's writable layer
      volumes/<name>/_data/           a local volume's content (its Mountpoint)
      volumes/<name>/volume.json      its record: driver, labels, options, creation time
      network/ipam.json               every network's gateway and the addresses it gave
    <exec-root>/                      (default /run/cove)
      containers/<id>/                what a running container's shim owns
        spec.json shim.sock shim.pid exit.json rootfs/

Writes that must survive a crash go through ``atomic_write``: write a temp file in
the same directory, fsync it, rename over the target, fsync the directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class Layout:
    TAR_SPLIT = "tar-split"

    def __init__(self, data_root: str | os.PathLike[str], exec_root: str | os.PathLike[str]):
        self.data_root = Path(data_root)
        self.exec_root = Path(exec_root)

    @property
    def daemon_lock(self) -> Path:
        """Held by the one daemon using this data root."""
        return self.data_root / "coved.lock"

    # images
    @property
    def image_dir(self) -> Path:
        return self.data_root / "image"

    @property
    def configs_dir(self) -> Path:
        return self.image_dir / "configs" / "sha256"

    def config_path(self, image_hex: str) -> Path:
        return self.configs_dir / image_hex

    @property
    def repositories_path(self) -> Path:
        return self.image_dir / "repositories.json"

    @property
    def layers_dir(self) -> Path:
        return self.image_dir / "layers"

    def layer_dir(self, chain_hex: str) -> Path:
        return self.layers_dir / chain_hex

    def layer_diff(self, chain_hex: str) -> Path:
        return self.layer_dir(chain_hex) / "diff"

    def layer_meta(self, chain_hex: str) -> Path:
        return self.layer_dir(chain_hex) / "meta.json"

    def layer_tar_split(self, chain_hex: str) -> Path:
        return self.layer_dir(chain_hex) / self.TAR_SPLIT

    @property
    def build_cache(self) -> Path:
        """(parent image, build step) -> the image built for it."""
        return self.image_dir / "build-cache.json"

    @property
    def build_cache_mounts(self) -> Path:
        """``RUN --mount=type=cache`` directories, one per cache id, kept across builds."""
        return self.data_root / "build-cache-mounts"

    @property
    def image_metadata(self) -> Path:
        return self.image_dir / "metadata.json"

    @property
    def pushed_layers(self) -> Path:
        """What push remembers of each layer it compressed, so a re-push skips the work."""
        return self.image_dir / "distribution" / "pushed.json"

    @property
    def tmp_dir(self) -> Path:
        return self.data_root / "tmp"

    # containers (persistent)
    @property
    def containers_dir(self) -> Path:
        return self.data_root / "containers"

    def container_dir(self, cid: str) -> Path:
        return self.containers_dir / cid

    def container_config(self, cid: str) -> Path:
        return self.container_dir(cid) / "config.v2.json"

    def container_log(self, cid: str) -> Path:
        return self.container_dir(cid) / f"{cid}-json.log"

    def container_hostname(self, cid: str) -> Path:
        return self.container_dir(cid) / "hostname"

    def container_hosts(self, cid: str) -> Path:
        return self.container_dir(cid) / "hosts"

    def container_resolv(self, cid: str) -> Path:
        return self.container_dir(cid) / "resolv.conf"

    def commit_pause_marker(self, cid: str) -> Path:
        """There while a commit holds the container paused: a daemon that starts and finds
        it knows the pause was the commit's, cut short, and thaws the container."""
        return self.container_dir(cid) / "paused-for-commit"

    def container_upper(self, cid: str) -> Path:
        return self.container_dir(cid) / "upper"

    def container_work(self, cid: str) -> Path:
        return self.container_dir(cid) / "work"

    # volumes
    @property
    def volumes_dir(self) -> Path:
        return self.data_root / "volumes"

    def volume_dir(self, name: str) -> Path:
        return self.volumes_dir / name

    def volume_data(self, name: str) -> Path:
        """What a container mounts, and what inspect shows as the Mountpoint."""
        return self.volume_dir(name) / "_data"

    def volume_record(self, name: str) -> Path:
        return self.volume_dir(name) / "volume.json"

    # networks
    @property
    def ipam_state(self) -> Path:
        return self.data_root / "network" / "ipam.json"

    @property
    def networks_state(self) -> Path:
        """Every network's record (the predefined ones' IDs too)."""
        return self.data_root / "network" / "networks.json"

    # containers (runtime, owned by the shim while it runs)
    def bundle_dir(self, cid: str) -> Path:
        return self.exec_root / "containers" / cid

    def bundle_spec(self, cid: str) -> Path:
        return self.bundle_dir(cid) / "spec.json"

    def shim_socket(self, cid: str) -> Path:
        return self.bundle_dir(cid) / "shim.sock"

    def shim_pid(self, cid: str) -> Path:
        return self.bundle_dir(cid) / "shim.pid"

    def exit_file(self, cid: str) -> Path:
        return self.bundle_dir(cid) / "exit.json"

    def bundle_rootfs(self, cid: str) -> Path:
        return self.bundle_dir(cid) / "rootfs"

    def ensure(self) -> None:
        for path in (self.configs_dir, self.layers_dir, self.tmp_dir, self.containers_dir,
                     self.volumes_dir, self.exec_root / "containers"):
            path.mkdir(parents=True, exist_ok=True)


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, mode: int = 0o644) -> None:
    atomic_write(path, json.dumps(obj, separators=(",", ":")).encode(), mode)


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, "rb") as f:
        return json.load(f)


def tree_size(path: os.PathLike[str] | str) -> int:
    """Bytes of the files under ``path`` as ``docker system df`` counts them (apparent
    sizes, links not followed); 0 for a path that is gone."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
