"""The strip chart of long pages (10 min, 1 h): every display lead stacked, drawn from min/max envelopes.

Each lead is one connected polyline through the minimum and maximum of each
pixel column (``lo0, hi0, lo1, hi1, ...``), which looks like the full-resolution
trace at that width; the data come from envelope tiles
(:class:`~ecgviewer.gui.longterm.jobs.Tile`) computed on a worker thread. The
x axis is record seconds, labelled with the time of day on top
(:class:`~ecgviewer.gui.longterm.time_axis.TimeOfDayAxis`). The y axis is in mV
with one row per lead, each row centred on its median; the rows share the height
of the widget, the amplitude scale follows the gain (:data:`PX_PER_MM` pixels per
mm of paper) unless the rows would then be closer than :data:`MIN_MV_PER_ROW`.

Mouse: the wheel asks for the next shorter/longer page size about the pointer
(:attr:`StripView.zoomRequested`), dragging pans in time (:attr:`StripView.panned`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPen

from ecgviewer.gui.longterm.beat_marks import BeatMarks
from ecgviewer.gui.longterm.jobs import Tile
from ecgviewer.gui.longterm.time_axis import TimeOfDayAxis

#: Screen pixels per mm of paper for the amplitude scale (gain in mm/mV times this = pixels per mV).
PX_PER_MM = 4.0
#: Rows are at least this many mV apart (tall rows of few leads spread out, many leads squeeze).
MIN_MV_PER_ROW = 2.0
TRACE_COLOR = "#101010"
ROW_LINE_COLOR = "#e6e6e6"
SELECTION_COLOR = "#1f5fbf"


class _StripViewBox(pg.ViewBox):
    """A ViewBox whose wheel and drag are reported instead of zooming both axes."""

    wheeled = Signal(int, float, float)  # steps (+1 = longer page), anchor_s, anchor_fraction
    dragged = Signal(float, bool)  # new left edge (s), finished

    def __init__(self) -> None:
        super().__init__(enableMenu=False, enableMouse=True)
        self.setMouseEnabled(x=False, y=False)
        self.disableAutoRange()

    def wheelEvent(self, ev, axis=None) -> None:
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if not delta:
            ev.ignore()
            return
        x0, x1 = self.viewRange()[0]
        t = float(self.mapSceneToView(ev.scenePos()).x())
        fraction = 0.5 if x1 <= x0 else min(1.0, max(0.0, (t - x0) / (x1 - x0)))
        self.wheeled.emit(-1 if delta > 0 else 1, t, fraction)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        a = self.mapSceneToView(ev.lastScenePos()).x()
        b = self.mapSceneToView(ev.scenePos()).x()
        x0, x1 = self.viewRange()[0]
        left = x0 - (b - a)
        self.setXRange(left, left + (x1 - x0), padding=0)
        self.dragged.emit(float(left), bool(ev.isFinish()))


class StripView(pg.PlotWidget):
    """Stacked min/max envelope traces of a long page.

    Signals
    -------
    zoomRequested(int, float, float)
        ``(steps, anchor_s, anchor_fraction)`` from the mouse wheel: ``steps``
        +1 asks for a longer page, -1 for a shorter one, keeping the time
        ``anchor_s`` at ``anchor_fraction`` of the page.
    panned(float, bool)
        ``(start_s, finished)`` while the strip is dragged.
    cursorMoved(object)
        ``(t_s, lead)`` under the mouse, or None when it leaves the leads.
    """

    zoomRequested = Signal(int, float, float)
    panned = Signal(float, bool)
    cursorMoved = Signal(object)
    _ready = False

    def __init__(self, parent=None) -> None:
        self.time_axis = TimeOfDayAxis("top")
        self._vb = _StripViewBox()
        super().__init__(parent, background="w", viewBox=self._vb, axisItems={"top": self.time_axis})
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        item = self.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.showAxis("top")
        item.hideAxis("bottom")
        item.hideAxis("left")
        item.layout.setContentsMargins(0, 0, 4, 0)
        self.time_axis.setPen(pg.mkPen("#404040"))
        self.time_axis.setTextPen(pg.mkPen("#202020"))
        self._vb.wheeled.connect(self.zoomRequested)
        self._vb.dragged.connect(self.panned)
        self._vb.sigXRangeChanged.connect(self._place_labels)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._leads: tuple[str, ...] = ()
        self._units: tuple[str, ...] = ()
        self._pitch = MIN_MV_PER_ROW
        self._px_per_mv = PX_PER_MM * 10.0
        self._beats: tuple[np.ndarray, np.ndarray] | None = None
        self._curves: list[pg.PlotDataItem] = []
        self._labels: list[pg.TextItem] = []
        self._row_lines = pg.PlotCurveItem(pen=pg.mkPen(ROW_LINE_COLOR), connect="pairs")
        self._row_lines.setZValue(-10)
        self._vb.addItem(self._row_lines, ignoreBounds=True)
        self.marks = BeatMarks(self._vb, classes=("S", "V", "F", "Q"))
        pen = QPen(QColor(SELECTION_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.selection = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.selection.setZValue(40)
        self.selection.hide()
        self._vb.addItem(self.selection, ignoreBounds=True)
        self._tiles: list[Tile] = []
        #: Per-lead value drawn on the row's baseline (the median of the page).
        self.offsets = np.zeros(0)
        self._scales = np.ones(0)
        self._ready = True

    # -- set-up ------------------------------------------------------------------------
    @property
    def leads(self) -> tuple[str, ...]:
        """The leads drawn, top to bottom."""
        return self._leads

    @property
    def row_pitch(self) -> float:
        """Distance between row baselines in mV of signal."""
        return self._pitch

    def set_start_time(self, start_time: dt.datetime | None) -> None:
        """Clock origin of the time axis (None: elapsed time)."""
        self.time_axis.set_start_time(start_time)

    def set_gain(self, gain_mm_per_mv: float) -> None:
        """Amplitude scale: ``gain_mm_per_mv`` mm of paper per mV (:data:`PX_PER_MM` pixels per mm)."""
        self._px_per_mv = PX_PER_MM * float(gain_mm_per_mv)
        self._relayout()

    def set_leads(self, leads: Sequence[str], units: Sequence[str]) -> None:
        """Create one row per lead (clears the traces)."""
        for item in self._curves + self._labels:
            self._vb.removeItem(item)
        self._leads, self._units = tuple(leads), tuple(units)
        self._curves, self._labels = [], []
        pen = pg.mkPen(TRACE_COLOR, width=1)
        font = QFont()
        font.setBold(True)
        for name, unit in zip(self._leads, self._units):
            curve = pg.PlotDataItem(
                pen=pen, antialias=False, skipFiniteCheck=False, connect="finite", clipToView=True
            )
            curve.setZValue(10)
            self._vb.addItem(curve)
            self._curves.append(curve)
            label = pg.TextItem(
                name if unit == "mV" else f"{name} ({unit})",
                color="#000000",
                anchor=(0, 0.5),
                fill=pg.mkBrush(255, 255, 255, 210),
            )
            label.setFont(font)
            label.setZValue(20)
            self._vb.addItem(label, ignoreBounds=True)
            self._labels.append(label)
        self._tiles = []
        self._beats = None
        self.offsets = np.zeros(len(self._leads))
        self._scales = np.ones(len(self._leads))
        self._pitch = self._fit_pitch()
        self._set_y_range()
        self._place_labels()

    def _fit_pitch(self) -> float:
        """mV between row baselines: the widget's height shared by the rows at the gain's scale."""
        height = float(self._vb.height()) or float(self.height())
        n = max(1, len(self._leads))
        return max(MIN_MV_PER_ROW, height / n / self._px_per_mv)

    def _set_y_range(self) -> None:
        n = max(1, len(self._leads))
        self._vb.setYRange(-(n - 0.5) * self._pitch, 0.5 * self._pitch, padding=0)

    def _relayout(self) -> None:
        """Fit the rows to the current height and gain again, redrawing what is shown."""
        pitch = self._fit_pitch()
        if abs(pitch - self._pitch) < 1e-6 * pitch:
            return
        self._pitch = pitch
        self._set_y_range()
        self._place_labels()
        if self._tiles:
            self.set_tiles(self._tiles)
        if self._beats is not None:
            self.set_beats(*self._beats)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._ready:  # also called from the base class constructor
            self._relayout()

    def baseline(self, row: int) -> float:
        """y of a row's baseline."""
        return -row * self._pitch

    # -- data -----------------------------------------------------------------------
    def set_range(self, start_s: float, stop_s: float) -> None:
        """Show record seconds ``start_s .. stop_s``."""
        self._vb.setXRange(start_s, stop_s, padding=0)
        self._set_y_range()

    def x_range(self) -> tuple[float, float]:
        """The visible record seconds."""
        x0, x1 = self._vb.viewRange()[0]
        return float(x0), float(x1)

    def set_tiles(self, tiles: Sequence[Tile]) -> None:
        """Draw the envelopes of consecutive tiles (all of the same leads as :meth:`set_leads`)."""
        tiles = sorted(tiles, key=lambda t: t.start)
        self._tiles = list(tiles)
        if not tiles or not self._leads:
            for curve in self._curves:
                curve.setData([], [])
            return
        t = np.concatenate([tile.t_s for tile in tiles])
        lo = np.concatenate([tile.lo for tile in tiles], axis=1)
        hi = np.concatenate([tile.hi for tile in tiles], axis=1)
        x = np.repeat(t, 2)
        for row, curve in enumerate(self._curves):
            a, b = lo[row], hi[row]
            mid = 0.5 * (a + b)
            finite = mid[np.isfinite(mid)]
            self.offsets[row] = float(np.median(finite)) if finite.size else 0.0
            if self._units[row] != "mV" and finite.size:
                span = float(np.percentile(b[np.isfinite(b)], 99) - np.percentile(a[np.isfinite(a)], 1))
                self._scales[row] = 0.7 * self._pitch / span if span > 0 else 1.0
            y = np.empty(2 * a.size, dtype=np.float64)
            y[0::2], y[1::2] = a, b
            y = (y - self.offsets[row]) * self._scales[row] + self.baseline(row)
            curve.setData(x, y)
        self._draw_row_lines(float(t[0]), float(t[-1]))

    def _draw_row_lines(self, t0: float, t1: float) -> None:
        n = len(self._leads)
        xs = np.tile([t0, t1], n)
        ys = np.repeat([self.baseline(r) for r in range(n)], 2)
        self._row_lines.setData(xs, ys)

    def tiles(self) -> list[Tile]:
        """The tiles drawn."""
        return list(self._tiles)

    def curves(self) -> list[pg.PlotDataItem]:
        """One curve per lead."""
        return list(self._curves)

    def set_beats(self, times_s: np.ndarray, labels: np.ndarray) -> None:
        """Mark beats (V, F, Q letters) above the top row."""
        self._beats = (np.asarray(times_s), np.asarray(labels))
        self.marks.set_marks(times_s, labels, 0.45 * self._pitch)

    def set_selected(self, t_s: float | None) -> None:
        """A dashed line at ``t_s`` (the event chosen in the list), None hides it."""
        if t_s is None:
            self.selection.hide()
        else:
            self.selection.setPos(t_s)
            self.selection.show()

    def _place_labels(self, *_args) -> None:
        x0 = self._vb.viewRange()[0][0]
        for row, label in enumerate(self._labels):
            label.setPos(x0, self.baseline(row) + 0.3 * self._pitch)

    # -- mouse ----------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self._leads or not self._vb.sceneBoundingRect().contains(scene_pos):
            self.cursorMoved.emit(None)
            return
        p = self._vb.mapSceneToView(scene_pos)
        row = int(np.floor(-p.y() / self._pitch + 0.5))
        if not 0 <= row < len(self._leads):
            self.cursorMoved.emit(None)
            return
        self.cursorMoved.emit((float(p.x()), self._leads[row]))

    def leaveEvent(self, event) -> None:
        self.cursorMoved.emit(None)
        super().leaveEvent(event)
