"""A loaded busybox image is a rootfs busybox runs in (chrooted), and it saves and loads again."""

from __future__ import annotations

import io
import os
import subprocess

from cove.runtime.images.store import ImageStore
from cove.runtime.store.layout import Layout
from tests.support.layers import busybox_rootfs_layer, docker_archive, image_config, sha256


def test_busybox_archive_loads_into_a_runnable_rootfs(tmp_path):
    layer = busybox_rootfs_layer()
    config = image_config([sha256(layer)], cmd=["sh"])
    store = ImageStore(Layout(tmp_path / "a", tmp_path / "a-exec"))
    assert store.load(io.BytesIO(docker_archive([(config, [layer], ["busybox:latest"])],
                                                compress=True))) == ["Loaded image: busybox:latest"]
    (rootfs,) = store.lower_dirs(store.resolve("busybox"))
    assert os.readlink(os.path.join(rootfs, "bin/sh")) == "busybox"
    assert os.stat(os.path.join(rootfs, "tmp")).st_mode & 0o7777 == 0o1777
    out = subprocess.run(["chroot", rootfs, "/bin/sh", "-c", "id -u; cat /etc/passwd | wc -l"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.split()
    assert out == ["0", "2"]
    saved = io.BytesIO()
    store.save(["busybox"], saved)
    again = ImageStore(Layout(tmp_path / "b", tmp_path / "b-exec"))
    again.load(io.BytesIO(saved.getvalue()))
    assert again.resolve("busybox:latest") == sha256(config)
