"""Beat labels drawn over a trace: a small coloured letter per beat (one scatter item per class).

Each class is one ``ScatterPlotItem`` with a letter-shaped symbol in pixel
size, so thousands of marks cost one cached pixmap per class and stay legible
at any zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPainterPath, QTransform

#: Colour of each beat class (N normal/supraventricular, V PVC, F fusion, Q unclassifiable).
BEAT_COLORS: dict[str, str] = {"N": "#8a8a8a", "S": "#1f77b4", "V": "#d62728", "F": "#e07b00", "Q": "#7b3294"}
#: Human names of the classes.
BEAT_NAMES: dict[str, str] = {"N": "normal", "S": "APC", "V": "PVC", "F": "fusion", "Q": "unclassified"}
#: Letter height in pixels.
MARK_PX = 11


def letter_symbol(text: str) -> QPainterPath:
    """A pyqtgraph symbol (unit-size path centred on the origin) drawing ``text``."""
    font = QFont()
    font.setBold(True)
    font.setPointSize(12)
    path = QPainterPath()
    path.addText(0, 0, font, text)
    box = path.boundingRect()
    scale = 1.0 / max(box.width(), box.height(), 1e-6)
    transform = QTransform()
    transform.scale(scale, scale)
    transform.translate(-box.x() - box.width() / 2, -box.y() - box.height() / 2)
    return transform.map(path)


class BeatMarks:
    """Letters for beats of the given classes, added to a ``ViewBox``.

    Parameters
    ----------
    viewbox
        Where the marks go (data coordinates).
    classes
        Beat classes to mark (others are left out).
    z
        Z value of the marks.
    """

    def __init__(
        self, viewbox: pg.ViewBox, classes: tuple[str, ...] = ("N", "S", "V", "F", "Q"), z: float = 30
    ):
        self.classes = classes
        # a pale box behind each letter keeps it legible where the trace runs through it
        self.backing = pg.ScatterPlotItem(
            symbol="s",
            size=MARK_PX + 3,
            pen=pg.mkPen(None),
            brush=pg.mkBrush(255, 255, 255, 190),
            pxMode=True,
        )
        self.backing.setZValue(z - 1)
        viewbox.addItem(self.backing, ignoreBounds=True)
        self.items: dict[str, pg.ScatterPlotItem] = {}
        for label in classes:
            color = QColor(BEAT_COLORS.get(label, "#000000"))
            item = pg.ScatterPlotItem(
                symbol=letter_symbol(label),
                size=MARK_PX,
                pen=pg.mkPen(None),
                brush=pg.mkBrush(color),
                pxMode=True,
            )
            item.setZValue(z)
            viewbox.addItem(item, ignoreBounds=True)
            self.items[label] = item

    def set_marks(self, x: np.ndarray, labels: np.ndarray, y: float | np.ndarray) -> None:
        """Put a letter at each ``(x[i], y)`` (``y`` a scalar or one value per beat)."""
        x = np.asarray(x, dtype=np.float64)
        labels = np.asarray(labels)
        y_all = np.broadcast_to(np.asarray(y, dtype=np.float64), x.shape)
        shown = np.isin(labels, list(self.items))
        self.backing.setData(x[shown], y_all[shown])
        for label, item in self.items.items():
            keep = labels == label
            item.setData(x[keep], y_all[keep])

    def clear(self) -> None:
        """Remove every mark."""
        self.backing.clear()
        for item in self.items.values():
            item.clear()

    def count(self, label: str | None = None) -> int:
        """Marks shown (of one class, or all)."""
        items = self.items.values() if label is None else [self.items[label]]
        return sum(len(item.data) for item in items)

    def set_visible(self, on: bool) -> None:
        """Show or hide every mark."""
        self.backing.setVisible(on)
        for item in self.items.values():
            item.setVisible(on)

    def remove(self, viewbox: pg.ViewBox) -> None:
        """Take the marks out of ``viewbox``."""
        for item in (self.backing, *self.items.values()):
            viewbox.removeItem(item)
