"""The icon set, drawn with QPainter at run time: no image files to ship or keep in step.

One glyph per engine state: a ring (the cove) holding a mark that says the state. A
*mask* icon is pure black on transparent, the template image macOS tints for the menu
bar (``QIcon.setIsMask``); elsewhere the same glyph is drawn in the state's colour,
since a black mask disappears on a dark Linux or Windows panel. Every icon carries a 1x
and a 2x image so it is sharp on high-density screens.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPainter, QPen, QPixmap

from .state import EngineState

TRAY_SIZE = 18  # points; macOS's menu bar icon size, fine on the other panels too
SCALES = (1, 2)

COLOURS = {
    EngineState.RUNNING: QColor("#1f9d55"),
    EngineState.STARTING: QColor("#d69e2e"),
    EngineState.STOPPING: QColor("#d69e2e"),
    EngineState.STOPPED: QColor("#718096"),
    EngineState.ERROR: QColor("#e53e3e"),
}
MASK = QColor(0, 0, 0)


def draw(state: EngineState, pixels: int, mask: bool) -> QImage:
    """The glyph for ``state`` on a transparent ``pixels``-square image."""
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    colour = MASK if mask else COLOURS[state]
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        unit = pixels / 18.0
        ring = QPen(colour, 2.0 * unit)
        painter.setPen(ring)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QRectF(1.5 * unit, 1.5 * unit, 15 * unit, 15 * unit))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(colour))
        inner = QRectF(5 * unit, 5 * unit, 8 * unit, 8 * unit)
        if state is EngineState.RUNNING:
            painter.drawEllipse(inner)
        elif state is EngineState.STARTING:
            painter.drawPie(inner, 0, 180 * 16)  # the upper half: filling up
        elif state is EngineState.STOPPING:
            painter.drawPie(inner, 180 * 16, 180 * 16)  # the lower half: draining
        elif state is EngineState.ERROR:
            painter.drawRect(QRectF(8 * unit, 4.5 * unit, 2 * unit, 6 * unit))
            painter.drawEllipse(QPointF(9 * unit, 12.8 * unit), 1.1 * unit, 1.1 * unit)
        # STOPPED: the empty ring
    finally:
        painter.end()
    return image


def state_icon(state: EngineState, mask: bool, size: int = TRAY_SIZE) -> QIcon:
    """The icon for ``state`` with its 1x and 2x images (needs a QGuiApplication)."""
    icon = QIcon()
    for scale in SCALES:
        pixmap = QPixmap.fromImage(draw(state, size * scale, mask))
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    icon.setIsMask(mask)
    return icon


def tray_icon(state: EngineState, platform: str) -> QIcon:
    """The tray's icon: a template (mask) icon on macOS, the coloured one elsewhere."""
    return state_icon(state, mask=platform == "darwin")
