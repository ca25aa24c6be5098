"""The overlay helper on the real kernel: layer lists past one page of mount data still
mount (through short links), read-only and read-write, from a thread of a busy process."""

from __future__ import annotations

import os
import threading

import pytest

from cove.runtime.linux.overlay import MAX_OVERLAY_DATA, mount_overlay
from cove.runtime.linux.syscalls import MNT_DETACH, kernel


@pytest.fixture
def many_layers(tmp_path):
    """40 lower dirs whose absolute paths together outgrow the mount data page."""
    lower = []
    for i in range(40):
        layer = tmp_path / f"layer-{'x' * 90}-{i:02d}"
        layer.mkdir()
        (layer / f"file{i}").write_text(str(i))
        (layer / "top").write_text(str(i))
        lower.append(str(layer))
    assert len(":".join(lower)) > MAX_OVERLAY_DATA
    return lower[::-1]  # topmost first: the last layer made wins


def test_a_read_only_overlay_of_many_layers_mounts_from_a_thread(tmp_path, many_layers):
    target, scratch = tmp_path / "ro", tmp_path / "scratch"
    target.mkdir()
    failures: list[BaseException] = []

    def mount() -> None:
        try:
            mount_overlay(kernel(), many_layers, str(target), str(scratch))
        except BaseException as exc:  # handed over to the test's thread
            failures.append(exc)

    cwd = os.getcwd()
    worker = threading.Thread(target=mount)
    worker.start()
    worker.join()
    assert not failures
    try:
        assert os.getcwd() == cwd
        assert (target / "file0").read_text() == "0" and (target / "top").read_text() == "39"
        with pytest.raises(OSError):
            (target / "new").write_text("x")
    finally:
        kernel().umount2(str(target), MNT_DETACH)


def test_a_read_write_overlay_of_many_layers_writes_to_its_upper_dir(tmp_path, many_layers):
    target, upper, work = tmp_path / "rw", tmp_path / "upper", tmp_path / "work"
    for directory in (target, upper, work):
        directory.mkdir()
    mount_overlay(kernel(), many_layers, str(target), str(tmp_path / "scratch"), str(upper),
                  str(work))
    try:
        (target / "new").write_text("x")
        assert (target / "file39").read_text() == "39"
    finally:
        kernel().umount2(str(target), MNT_DETACH)
    assert (upper / "new").read_text() == "x"
