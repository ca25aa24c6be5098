"""The icon set: one distinct glyph per state, as a mask and in colour, at 1x and 2x."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from cove.desktop.tray.icons import COLOURS, TRAY_SIZE, draw, state_icon, tray_icon
from cove.desktop.tray.state import EngineState


def _opaque_pixels(image: QImage) -> list[tuple[int, int, int]]:
    found = []
    for y in range(image.height()):
        for x in range(image.width()):
            colour = image.pixelColor(x, y)
            if colour.alpha() > 200:
                found.append((colour.red(), colour.green(), colour.blue()))
    return found


def test_each_state_has_its_own_glyph() -> None:
    images = {state: draw(state, 36, mask=True) for state in EngineState}
    assert len({bytes(image.constBits()) for image in images.values()}) == len(EngineState)


def test_a_mask_icon_is_black_on_transparent() -> None:
    for state in EngineState:
        image = draw(state, 36, mask=True)
        pixels = _opaque_pixels(image)
        assert pixels, state
        assert set(pixels) == {(0, 0, 0)}, state
        assert image.pixelColor(0, 0).alpha() == 0  # the corner is see-through


def test_a_coloured_icon_is_in_its_state_colour() -> None:
    for state in EngineState:
        wanted = COLOURS[state]
        assert (wanted.red(), wanted.green(), wanted.blue()) in set(
            _opaque_pixels(draw(state, 36, mask=False))
        )


def test_the_icon_has_1x_and_2x_images(qapp: QApplication) -> None:
    icon = state_icon(EngineState.RUNNING, mask=True)
    assert icon.isMask()
    sizes = sorted((s.width(), s.height()) for s in icon.availableSizes())
    assert sizes == [(TRAY_SIZE, TRAY_SIZE), (2 * TRAY_SIZE, 2 * TRAY_SIZE)]
    two_x = icon.pixmap(QSize(TRAY_SIZE, TRAY_SIZE), 2.0)
    assert (two_x.width(), two_x.height()) == (2 * TRAY_SIZE, 2 * TRAY_SIZE)


def test_the_tray_uses_a_template_only_on_macos(qapp: QApplication) -> None:
    assert tray_icon(EngineState.RUNNING, "darwin").isMask()
    assert not tray_icon(EngineState.RUNNING, "linux").isMask()
    assert not tray_icon(EngineState.RUNNING, "win32").isMask()
