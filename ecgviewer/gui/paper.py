"""ECG paper: the 1 mm / 5 mm grid as one cheap graphics item, and the calibration pulse.

The grid item paints only the lines inside the exposed (visible) rectangle,
with cosmetic 1-pixel pens, and leaves out the 1 mm lines when they would be
less than :data:`MIN_LINE_SPACING_PX` apart, so zooming and panning cost a few
hundred ``drawLines`` segments per frame whatever the record length.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from ecgviewer.layout.paper import calibration_pulse_xy  # noqa: F401  (re-exported: one definition)

PAPER_BACKGROUND = "#fff8f5"
MINOR_LINE = "#f4c2c2"
MAJOR_LINE = "#e88a8a"
SIGNAL = "#000000"
OUTSIDE_PAPER = "#d9d9d9"
#: Below this spacing in pixels a family of grid lines is not drawn.
MIN_LINE_SPACING_PX = 3.0


def _cosmetic_pen(color: str, width: float = 1.0) -> QPen:
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    return pen


class PaperGridItem(pg.GraphicsObject):
    """Pink ECG paper over a rectangle (item coordinates are millimetres).

    Parameters
    ----------
    rect_mm
        ``(left, bottom, width, height)`` of the paper in mm.
    """

    minor_mm = 1.0
    major_mm = 5.0

    def __init__(self, rect_mm: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> None:
        super().__init__()
        self._rect = QRectF(*rect_mm)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(-100)
        self._bg = QColor(PAPER_BACKGROUND)
        self._minor_pen = _cosmetic_pen(MINOR_LINE)
        self._major_pen = _cosmetic_pen(MAJOR_LINE)
        #: Line spacings (mm) drawn in the last paint, for tests and diagnostics.
        self.last_spacings_mm: tuple[float, ...] = ()

    def set_rect(self, rect_mm: tuple[float, float, float, float]) -> None:
        """Move/resize the paper."""
        self.prepareGeometryChange()
        self._rect = QRectF(*rect_mm)
        self.update()

    def rect_mm(self) -> tuple[float, float, float, float]:
        """``(left, bottom, width, height)`` of the paper."""
        r = self._rect
        return (r.left(), r.top(), r.width(), r.height())

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def spacings_for_scale(self, px_per_mm: float) -> tuple[float, ...]:
        """Line spacings (mm) drawn at a given zoom: (1, 5), (5,) or a coarser 5 mm multiple."""
        spacings = []
        if self.minor_mm * px_per_mm >= MIN_LINE_SPACING_PX:
            spacings.append(self.minor_mm)
        major = self.major_mm
        while major * px_per_mm < MIN_LINE_SPACING_PX:
            major *= 5.0
        spacings.append(major)
        return tuple(spacings)

    @staticmethod
    def _lines(area: QRectF, step: float, skip: float | None) -> list[QLineF]:
        lines = []
        x = math.ceil(area.left() / step) * step
        while x <= area.right():
            if skip is None or abs(x / skip - round(x / skip)) > 1e-6:
                lines.append(QLineF(x, area.top(), x, area.bottom()))
            x += step
        y = math.ceil(area.top() / step) * step
        while y <= area.bottom():
            if skip is None or abs(y / skip - round(y / skip)) > 1e-6:
                lines.append(QLineF(area.left(), y, area.right(), y))
            y += step
        return lines

    def paint(self, painter: QPainter, option, widget=None) -> None:
        """Fill the visible paper and draw the visible grid lines."""
        area = QRectF(option.exposedRect).intersected(self._rect)
        view = self.viewRect()
        if view is not None:
            area = area.intersected(view.normalized())
        if area.isEmpty():
            return
        px_per_mm = abs(painter.transform().m11()) or 1.0
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(area, self._bg)
        spacings = self.spacings_for_scale(px_per_mm)
        self.last_spacings_mm = spacings
        major = spacings[-1]
        if len(spacings) == 2:
            painter.setPen(self._minor_pen)
            painter.drawLines(self._lines(area, spacings[0], major))
        painter.setPen(self._major_pen)
        painter.drawLines(self._lines(area, major, None))


def signal_pen(width: float = 1.0) -> QPen:
    """Black cosmetic pen of the traces (1 px: antialiased wider pens paint ~10x slower)."""
    pen = _cosmetic_pen(SIGNAL, width)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen
