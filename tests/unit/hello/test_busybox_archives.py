"""The busybox test images (tests/support/images.py): contents and determinism; that dockerd
loads them is tests/integration/test_reference_images.py."""

from __future__ import annotations

import hashlib
import json

from cove.runtime.images.busybox import busybox_rootfs_tar
from tests.support.images import busybox_archive, oci_layout_archive, tar_members, tar_read


def test_rootfs_has_busybox_applets_users_and_dirs() -> None:
    layer = busybox_rootfs_tar({"etc/motd": b"hi\n", "usr/local/bin/run.sh": b"#!/bin/sh\n"})
    m = tar_members(layer)
    assert m["bin/busybox"].isfile() and m["bin/busybox"].mode == 0o755
    assert m["bin/sh"].issym() and m["bin/sh"].linkname == "busybox"
    assert "bin/[" in m and "bin/ls" in m
    assert m["tmp"].mode == 0o1777
    assert m["home/user"].uid == 1000 and m["home/user"].gid == 1000
    for directory in ("root", "proc", "sys", "dev"):
        assert m[directory].isdir()
    passwd = tar_read(layer, "etc/passwd").decode()
    assert "user:x:1000:1000::/home/user:/bin/sh" in passwd
    assert "nobody:x:65534:65534:" in passwd
    assert "staff:x:50:user" in tar_read(layer, "etc/group").decode()
    assert m["usr/local/bin/run.sh"].mode == 0o755 and m["etc/motd"].mode == 0o644
    assert tar_read(layer, "etc/motd") == b"hi\n"
    assert all(info.mtime == 0 for info in m.values())


def test_archives_are_deterministic_and_share_the_image_id() -> None:
    docker_tar = busybox_archive(cmd=["echo", "x"], extra_layers=[{"a/b": b"1"}])
    assert docker_tar == busybox_archive(cmd=["echo", "x"], extra_layers=[{"a/b": b"1"}])
    manifest = json.loads(tar_read(docker_tar, "manifest.json"))[0]
    image_id = manifest["Config"].removesuffix(".json")
    assert len(manifest["Layers"]) == 2

    oci_tar = oci_layout_archive(cmd=["echo", "x"], extra_layers=[{"a/b": b"1"}])
    index = json.loads(tar_read(oci_tar, "index.json"))
    assert json.loads(tar_read(oci_tar, "oci-layout")) == {"imageLayoutVersion": "1.0.0"}
    (descriptor,) = index["manifests"]
    assert descriptor["annotations"]["io.containerd.image.name"] == "docker.io/library/busybox:latest"
    manifest_blob = tar_read(oci_tar, "blobs/sha256/" + descriptor["digest"].split(":")[1])
    assert hashlib.sha256(manifest_blob).hexdigest() == descriptor["digest"].split(":")[1]
    oci_manifest = json.loads(manifest_blob)
    assert oci_manifest["config"]["digest"] == f"sha256:{image_id}"
    for layer in oci_manifest["layers"]:
        blob = tar_read(oci_tar, "blobs/sha256/" + layer["digest"].split(":")[1])
        assert len(blob) == layer["size"]
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]


def test_config_carries_cmd_env_and_stop_signal() -> None:
    archive = busybox_archive(tag="t:1", cmd=["sleep", "1"], env=["A=b"], stop_signal="SIGUSR1",
                              config={"User": "user"})
    manifest = json.loads(tar_read(archive, "manifest.json"))[0]
    config = json.loads(tar_read(archive, manifest["Config"]))["config"]
    assert manifest["RepoTags"] == ["t:1"]
    assert config == {"Cmd": ["sleep", "1"], "Env": ["A=b"], "StopSignal": "SIGUSR1",
                      "User": "user"}
