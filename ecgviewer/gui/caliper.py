"""Caliper tool: two clicks on the paper give Δt, the rate and ΔV between them."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPen

from ecgviewer.gui.ecg_view import EcgView

CALIPER_COLOR = "#1f4fbf"


@dataclass(frozen=True)
class CaliperMeasurement:
    """The distance between two caliper points.

    ``t1_s``/``t2_s`` are record times, ``v1``/``v2`` amplitudes relative to
    the row baselines (mV), ``lead1``/``lead2`` the leads under the points.
    """

    x1_mm: float
    y1_mm: float
    x2_mm: float
    y2_mm: float
    t1_s: float
    t2_s: float
    v1: float
    v2: float
    lead1: str | None
    lead2: str | None

    @property
    def dt_ms(self) -> float:
        """Time between the points (ms, positive when the second is later)."""
        return (self.t2_s - self.t1_s) * 1000.0

    @property
    def rate_bpm(self) -> float | None:
        """60000 / |Δt| (None when Δt is 0)."""
        return 60000.0 / abs(self.dt_ms) if self.dt_ms else None

    @property
    def dv_mv(self) -> float:
        """Amplitude difference (second minus first), mV."""
        return self.v2 - self.v1

    def describe(self) -> str:
        """One-line summary, e.g. ``"Δt 800 ms · 75 bpm · ΔV +1.20 mV"``."""
        rate = f"{self.rate_bpm:.0f} bpm" if self.rate_bpm is not None else "– bpm"
        return f"Δt {self.dt_ms:.0f} ms · {rate} · ΔV {self.dv_mv:+.2f} mV"


class Caliper(QObject):
    """Two-click measurement on an :class:`EcgView`.

    While :attr:`enabled`, left clicks on the paper place points (dragging
    still pans). The first click starts a measurement, the second completes
    it, a third starts a new one.

    Signals
    -------
    measured(CaliperMeasurement)
        After the second point.
    cleared()
        When the measurement is removed.
    """

    measured = Signal(object)
    cleared = Signal()

    def __init__(self, view: EcgView) -> None:
        super().__init__(view)
        self._view = view
        self._enabled = False
        self._points: list[tuple[float, float]] = []
        self.measurement: CaliperMeasurement | None = None
        pen = QPen(QColor(CALIPER_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        self._lines = [pg.InfiniteLine(angle=90, movable=False, pen=pen) for _ in range(2)]
        self._bar = pg.PlotCurveItem(pen=pen)
        self._marks = pg.ScatterPlotItem(size=7, pen=pen, brush=pg.mkBrush(CALIPER_COLOR))
        self._label = pg.TextItem(
            "", color=CALIPER_COLOR, anchor=(0.5, 1.0), fill=pg.mkBrush(255, 255, 255, 210)
        )
        for item in (*self._lines, self._bar, self._marks, self._label):
            item.setZValue(60)
            item.hide()
            view.vb.addItem(item, ignoreBounds=True)
        view.scene().sigMouseClicked.connect(self._on_click)

    @property
    def enabled(self) -> bool:
        """Whether clicks place caliper points."""
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        """Switch the tool on or off (switching off keeps a finished measurement)."""
        self._enabled = bool(on)
        self._view.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        if not on and len(self._points) == 1:
            self.clear()

    @property
    def points(self) -> list[tuple[float, float]]:
        """Placed points (paper mm)."""
        return list(self._points)

    def _on_click(self, event) -> None:
        if not self._enabled or event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        if not self._view.vb.sceneBoundingRect().contains(pos):
            return
        event.accept()
        self.add_point(*self._view.scene_to_mm(pos))

    def add_point(self, x_mm: float, y_mm: float) -> CaliperMeasurement | None:
        """Place a point; returns the measurement once two points are placed."""
        if len(self._points) >= 2:
            self.clear()
        self._points.append((x_mm, y_mm))
        line = self._lines[len(self._points) - 1]
        line.setPos(x_mm)
        line.show()
        self._marks.setData([p[0] for p in self._points], [p[1] for p in self._points])
        self._marks.show()
        if len(self._points) < 2:
            return None
        m = self.measurement = self._measure(*self._points[0], *self._points[1])
        self._bar.setData([m.x1_mm, m.x2_mm], [m.y1_mm, m.y1_mm])
        self._bar.show()
        self._label.setText(m.describe())
        self._label.setPos((m.x1_mm + m.x2_mm) / 2, max(m.y1_mm, m.y2_mm) + 2.0)
        self._label.show()
        self.measured.emit(m)
        return m

    def _measure(self, x1: float, y1: float, x2: float, y2: float) -> CaliperMeasurement:
        lay = self._view.layout
        gain = lay.gain_mm_per_mv if lay else 10.0
        loc1, loc2 = self._view.locate(x1, y1), self._view.locate(x2, y2)
        t1 = lay.time_at(x1) if lay else x1 / 25.0
        t2 = lay.time_at(x2) if lay else x2 / 25.0
        if loc1 is not None and loc2 is not None:
            v1, v2 = loc1.value, loc2.value
        else:
            v1, v2 = 0.0, (y2 - y1) / gain
        return CaliperMeasurement(x1, y1, x2, y2, t1, t2, v1, v2, loc1 and loc1.lead, loc2 and loc2.lead)

    def clear(self) -> None:
        """Remove the points and the drawing."""
        had = bool(self._points)
        self._points.clear()
        self.measurement = None
        for item in (*self._lines, self._bar, self._marks, self._label):
            item.hide()
        if had:
            self.cleared.emit()
