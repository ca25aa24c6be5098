"""The installers' icon files: a multi-size .ico Windows can read, the hicolor PNGs, and
the macOS template pair."""

from __future__ import annotations

import struct
from pathlib import Path

from PySide6.QtGui import QImage

from cove.desktop.tray.icon_files import ICO_SIZES, ico, write_icon_set

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _ico_entries(data: bytes) -> list[tuple[int, bytes]]:
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    entries = []
    for index in range(count):
        width, height, _, _, planes, bpp, size, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index)  # fmt: skip
        assert width == height and (planes, bpp) == (1, 32)
        entries.append((width or 256, data[offset : offset + size]))
    return entries


def test_the_ico_holds_every_size_windows_picks_from(tmp_path: Path) -> None:
    written = write_icon_set(tmp_path)
    data = (tmp_path / "windows" / "cove.ico").read_bytes()
    entries = _ico_entries(data)
    assert [size for size, _ in entries] == list(ICO_SIZES)
    for size, blob in entries:
        assert blob.startswith(PNG_SIGNATURE)
        image = QImage.fromData(blob, "PNG")
        assert (image.width(), image.height()) == (size, size)
    assert tmp_path / "windows" / "cove.ico" in written


def test_an_ico_entry_of_256_is_written_as_0() -> None:
    data = ico({256: b"x" * 10, 16: b"y" * 3})
    assert data[6] == 16 and data[6 + 16] == 0  # sorted by size; 256 is spelled 0
    assert _ico_entries(data) == [(16, b"yyy"), (256, b"x" * 10)]


def test_linux_and_macos_icons(tmp_path: Path) -> None:
    write_icon_set(tmp_path)
    for size in (16, 48, 256):
        image = QImage(str(tmp_path / f"linux/hicolor/{size}x{size}/apps/cove-desktop.png"))
        assert (image.width(), image.height()) == (size, size)
    one = QImage(str(tmp_path / "macos/coveTemplate.png"))
    two = QImage(str(tmp_path / "macos/coveTemplate@2x.png"))
    assert two.width() == 2 * one.width() == 36
    opaque = {
        (one.pixelColor(x, y).red(), one.pixelColor(x, y).green(), one.pixelColor(x, y).blue())
        for y in range(one.height()) for x in range(one.width())
        if one.pixelColor(x, y).alpha() > 200
    }  # fmt: skip
    assert opaque == {(0, 0, 0)}  # a template is black on transparent
