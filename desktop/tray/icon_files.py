"""The app's icons as files, for the installers (``packaging/desktop/build``): Windows'
multi-size ``.ico``, the freedesktop hicolor PNGs for Linux, and the macOS menu-bar
template image with its ``@2x`` (the ``Template`` suffix is how AppKit knows to tint it).

They are drawn by ``icons.draw``, the code the running app uses, so the installed icon
and the tray icon cannot drift apart. Run: ``python -m cove.desktop.tray.icon_files DIR``.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from .icons import TRAY_SIZE, draw
from .state import EngineState

ICO_SIZES = (16, 24, 32, 48, 256)  # what Windows picks from, taskbar to Explorer's tiles
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256)
APP_STATE = EngineState.RUNNING  # the app's own icon is the running glyph, in colour


def png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 takes str
    buffer.close()
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """An ICO file holding PNG images (Vista and later read PNG entries), by size."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = images[size]
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def write_icon_set(directory: Path) -> list[Path]:
    """Every icon file the installers use, under ``directory``; returns their paths."""
    written: list[Path] = []

    def put(relative: str, data: bytes) -> None:
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    put("windows/cove.ico", ico({s: png(draw(APP_STATE, s, mask=False)) for s in ICO_SIZES}))
    for size in HICOLOR_SIZES:
        put(f"linux/hicolor/{size}x{size}/apps/cove-desktop.png",
            png(draw(APP_STATE, size, mask=False)))  # fmt: skip
    put("macos/coveTemplate.png", png(draw(APP_STATE, TRAY_SIZE, mask=True)))
    put("macos/coveTemplate@2x.png", png(draw(APP_STATE, 2 * TRAY_SIZE, mask=True)))
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cove.desktop.tray.icon_files DIR", file=sys.stderr)
        return 2
    for path in write_icon_set(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
