"""Overlay mounts for every caller, checked against a recording fake of the kernel."""

from __future__ import annotations

import os
import stat

import pytest

from cove.runtime.linux import overlay
from cove.runtime.linux.syscalls import CLONE_FS, MS_RDONLY
from tests.support.kernel import Mknod, Mount, RecordingKernel, Unshare


def test_short_overlay_options_use_absolute_paths():
    data, links = overlay.overlay_options(["/l/2", "/l/1"], "/c/upper", "/c/work", "/b/layers")
    assert data == "lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work"
    assert links == []


def test_read_only_overlay_options_have_no_upper_dir():
    data, links = overlay.overlay_options(["/l/2", "/l/1"], None, None, "/b/layers")
    assert (data, links) == ("lowerdir=/l/2:/l/1", [])


def test_long_overlay_options_go_through_short_links():
    lower = [f"/var/lib/cove/image/layers/{i:064x}/diff" for i in range(120)]
    data, links = overlay.overlay_options(lower, "/c/upper", "/c/work", "/b/layers")
    assert len(data) <= overlay.MAX_OVERLAY_DATA
    assert data.startswith("lowerdir=0:1:2:")
    assert data.endswith(":119,upperdir=/c/upper,workdir=/c/work")
    assert links[5] == ("5", lower[5])


def test_too_many_layers_for_one_page_are_refused():
    lower = [f"/l/{i}" for i in range(1000)]
    with pytest.raises(OSError, match="too many layers"):
        overlay.overlay_options(lower, None, None, "/b/layers")


class _CwdRecordingKernel(RecordingKernel):
    """Also notes the directory each mount was made from."""

    def __init__(self) -> None:
        super().__init__()
        self.mounted_from: list[str] = []

    def mount(self, source, target, fstype, flags=0, data=None):
        self.mounted_from.append(os.getcwd())
        super().mount(source, target, fstype, flags, data)


@pytest.mark.parametrize("upper", ["/u", None])
def test_long_overlay_mount_creates_links_and_mounts_from_their_dir(tmp_path, upper):
    kernel = _CwdRecordingKernel()
    lower = [str(tmp_path / f"{'x' * 100}{i}") for i in range(40)]
    overlay.mount_overlay(kernel, lower, "/target", str(tmp_path), upper,
                          "/w" if upper else None)
    assert kernel.mounted_from == [str(tmp_path / "layers")]
    assert kernel.calls[0] == Unshare(CLONE_FS)  # the other threads keep their cwd
    assert kernel.mounts()[0].data.startswith("lowerdir=0:1:")
    assert kernel.mounts()[0].flags == (0 if upper else MS_RDONLY)
    assert os.readlink(tmp_path / "layers" / "39") == lower[39]
    assert os.getcwd() != str(tmp_path / "layers")


def test_a_read_only_overlay_of_one_layer_gets_the_empty_layer_below(tmp_path):
    kernel = RecordingKernel()
    overlay.mount_overlay(kernel, ["/l/1"], "/target", str(tmp_path))
    assert kernel.calls == [Mount("overlay", "/target", "overlay", MS_RDONLY,
                                  f"lowerdir=/l/1:{tmp_path}/empty")]
    assert (tmp_path / "empty").is_dir()


def test_overlays_with_enough_layers_are_mounted_as_given(tmp_path):
    kernel = RecordingKernel()
    overlay.mount_overlay(kernel, ["/l/2", "/l/1"], "/ro", str(tmp_path))
    overlay.mount_overlay(kernel, ["/l/1"], "/rw", str(tmp_path), "/u", "/w")
    assert kernel.calls == [
        Mount("overlay", "/ro", "overlay", MS_RDONLY, "lowerdir=/l/2:/l/1"),
        Mount("overlay", "/rw", "overlay", 0, "lowerdir=/l/1,upperdir=/u,workdir=/w")]
    assert not (tmp_path / "empty").exists()


def test_a_whiteout_is_a_zero_character_device():
    kernel = RecordingKernel()
    overlay.make_whiteout(kernel, "/upper/gone")
    assert kernel.calls == [Mknod("/upper/gone", stat.S_IFCHR | 0o600, os.makedev(0, 0))]
