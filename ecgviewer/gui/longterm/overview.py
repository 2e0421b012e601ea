"""The overview bar: the whole record at a glance, with the current page highlighted.

Three rows share one time-of-day axis:

- heart rate: mean per bin (line) and the min-max range (band), from the beat
  pass (:meth:`BeatPassResult.hr_trend`);
- QT: QTc (Fridericia) and QT per minute and the longest-QTc minute, from the
  pass's wave delineation (``BeatPassResult.intervals``; :mod:`.interval_curves`);
- beat-class density: PVC (V) and fusion (F) beats per bin as stacked bars
  (:meth:`BeatPassResult.class_density`).

The current page is a shaded region. Clicking or dragging anywhere asks for
the page to be centred there (:attr:`OverviewBar.jumpRequested`); the overview
itself never zooms or pans: it always shows the whole record.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from ecgviewer.gui.longterm.beat_marks import BEAT_COLORS
from ecgviewer.gui.longterm.clock import format_duration
from ecgviewer.gui.longterm.interval_curves import IntervalCurves
from ecgviewer.gui.longterm.time_axis import TimeOfDayAxis

#: Bin sizes (s) of the trends; the finest that gives at most :data:`MAX_BINS` bins is used.
TREND_BINS_S: tuple[float, ...] = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_BINS = 400
PAGE_BRUSH = QColor(31, 95, 191, 60)
PAGE_PEN = QColor(31, 95, 191, 200)
HR_COLOR = "#b03030"
HR_BAND = QColor(176, 48, 48, 60)
AXIS_WIDTH_PX = 46
#: Text shown before the beat pass has run.
NO_BEATS_TEXT = "Heart rate and PVC / fusion density appear when the beat analysis has run"
QT_TITLE = "QTc Fridericia / QT (ms), median per min"


def trend_bin_s(duration_s: float) -> float:
    """The finest of :data:`TREND_BINS_S` giving at most :data:`MAX_BINS` bins over ``duration_s``."""
    for b in TREND_BINS_S:
        if duration_s / b <= MAX_BINS:
            return float(b)
    return float(TREND_BINS_S[-1] * np.ceil(duration_s / MAX_BINS / TREND_BINS_S[-1]))


class _JumpViewBox(pg.ViewBox):
    """Reports left clicks and drags as a time; no zoom or pan."""

    jump = Signal(float)

    def __init__(self) -> None:
        super().__init__(enableMenu=False, enableMouse=False)
        self.setMouseEnabled(x=False, y=False)

    def _emit(self, ev) -> None:
        self.jump.emit(float(self.mapSceneToView(ev.scenePos()).x()))

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._emit(ev)
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._emit(ev)
        else:
            ev.ignore()

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


class OverviewBar(pg.GraphicsLayoutWidget):
    """Heart-rate trend and PVC/fusion density of the whole record, with the current page.

    Signals
    -------
    jumpRequested(float)
        Record second clicked or dragged to (centre the page there).
    """

    jumpRequested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setFixedHeight(230)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.ci.layout.setContentsMargins(2, 2, 8, 2)
        self.ci.layout.setSpacing(0)
        self.time_axis = TimeOfDayAxis("bottom")
        self.hr_plot = self.addPlot(row=0, col=0, viewBox=_JumpViewBox())
        self.qt_plot = self.addPlot(row=1, col=0, viewBox=_JumpViewBox())
        self.class_plot = self.addPlot(
            row=2, col=0, viewBox=_JumpViewBox(), axisItems={"bottom": self.time_axis}
        )
        for row, stretch in enumerate((3, 2, 2)):
            self.ci.layout.setRowStretchFactor(row, stretch)
        self.titles = {}
        rows = (
            (self.hr_plot, "heart rate (bpm)"),
            (self.qt_plot, QT_TITLE),
            (self.class_plot, "PVC / fusion"),
        )
        for plot, title in rows:
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(AXIS_WIDTH_PX)
            plot.getViewBox().jump.connect(self.jumpRequested)
            plot.showGrid(x=True, y=False, alpha=0.15)
            text = pg.TextItem(title, color="#404040", anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 200))
            text.setZValue(30)
            plot.addItem(text, ignoreBounds=True)
            self.titles[plot] = text
            plot.getViewBox().sigRangeChanged.connect(self._place_titles)
        self.hr_plot.hideAxis("bottom")
        self.qt_plot.hideAxis("bottom")
        self.class_plot.setXLink(self.hr_plot)
        self.qt_plot.setXLink(self.hr_plot)
        self.hr_plot.setYRange(40, 120, padding=0)
        self.qt_curves = IntervalCurves(self.qt_plot.getViewBox(), with_pr=False)
        self.class_plot.setYRange(0, 1, padding=0)
        self._hr_mean = pg.PlotDataItem(pen=pg.mkPen(HR_COLOR, width=1.5), connect="finite")
        self._hr_lo = pg.PlotDataItem(pen=pg.mkPen(None), connect="finite")
        self._hr_hi = pg.PlotDataItem(pen=pg.mkPen(None), connect="finite")
        self._hr_band = pg.FillBetweenItem(self._hr_lo, self._hr_hi, brush=HR_BAND)
        for item in (self._hr_band, self._hr_lo, self._hr_hi, self._hr_mean):
            self.hr_plot.addItem(item)
        self._v_bars = pg.BarGraphItem(x=[], height=[], width=1, brush=BEAT_COLORS["V"], pen=pg.mkPen(None))
        self._f_bars = pg.BarGraphItem(
            x=[], height=[], y0=[], width=1, brush=BEAT_COLORS["F"], pen=pg.mkPen(None)
        )
        self._s_bars = pg.BarGraphItem(
            x=[], height=[], y0=[], width=1, brush=BEAT_COLORS["S"], pen=pg.mkPen(None)
        )
        self.class_plot.addItem(self._v_bars)
        self.class_plot.addItem(self._f_bars)
        self.class_plot.addItem(self._s_bars)
        self._message = pg.TextItem(NO_BEATS_TEXT, color="#606060", anchor=(0.5, 0.5))
        self.hr_plot.addItem(self._message, ignoreBounds=True)
        self.regions = []
        for plot in (self.hr_plot, self.qt_plot, self.class_plot):
            region = pg.LinearRegionItem(
                values=(0, 1), movable=False, brush=PAGE_BRUSH, pen=pg.mkPen(PAGE_PEN, width=1)
            )
            region.setZValue(-5)
            plot.addItem(region, ignoreBounds=True)
            self.regions.append(region)
        self.duration_s = 1.0
        self.bin_s = 60.0
        self.has_beats = False

    # -- record --------------------------------------------------------------------------
    def set_record(self, duration_s: float, start_time: dt.datetime | None) -> None:
        """A new record: whole-record x range, no trends yet."""
        self.duration_s = max(float(duration_s), 1e-3)
        self.bin_s = trend_bin_s(self.duration_s)
        self.time_axis.set_start_time(start_time)
        for plot in (self.hr_plot, self.qt_plot, self.class_plot):
            plot.setXRange(0, self.duration_s, padding=0)
        self.set_beats(None)

    def set_page(self, start_s: float, stop_s: float) -> None:
        """Highlight the current page (at least a few pixels wide, so a 10 s page stays visible)."""
        min_w = self.duration_s / max(200.0, float(self.width())) * 3
        if stop_s - start_s < min_w:
            mid = 0.5 * (start_s + stop_s)
            start_s, stop_s = mid - min_w / 2, mid + min_w / 2
        for region in self.regions:
            region.setRegion((start_s, stop_s))

    def page_region(self) -> tuple[float, float]:
        """The highlighted span (record seconds)."""
        lo, hi = self.regions[0].getRegion()
        return float(lo), float(hi)

    # -- trends ---------------------------------------------------------------------------
    def set_beats(self, result) -> None:
        """Draw the heart-rate trend and class density of a ``BeatPassResult`` (None clears them)."""
        self.has_beats = result is not None
        self._message.setVisible(result is None)
        self.set_intervals(None if result is None else result.intervals)
        if result is None:
            for item in (self._hr_mean, self._hr_lo, self._hr_hi):
                item.setData([], [])
            self._v_bars.setOpts(x=[], height=[])
            self._f_bars.setOpts(x=[], height=[], y0=[])
            self.titles[self.class_plot].setText("PVC / fusion")
            self.hr_plot.setYRange(40, 120, padding=0)
            self._message.setPos(self.duration_s / 2, 80)
            return
        t, mean, lo, hi = (np.asarray(a, dtype=np.float64) for a in result.hr_trend(self.bin_s))
        centre = t + self.bin_s / 2 if t.size and t[0] == 0 else t
        self._hr_mean.setData(centre, mean)
        self._hr_lo.setData(centre, lo)
        self._hr_hi.setData(centre, hi)
        finite = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
        if finite.size:
            ymin, ymax = np.percentile(finite, [1, 99])
            self.hr_plot.setYRange(max(0.0, ymin - 10), ymax + 10, padding=0)
        tc, counts = result.class_density(self.bin_s)
        tc = np.asarray(tc, dtype=np.float64)
        v, f = self._class_counts(counts, "V"), self._class_counts(counts, "F")
        x = tc + self.bin_s / 2 if tc.size and tc[0] == 0 else tc
        width = self.bin_s * 0.9
        self._v_bars.setOpts(x=x, height=v, width=width)
        self._f_bars.setOpts(x=x, height=f, y0=v, width=width)
        sv = self._class_counts(counts, "S")
        self._s_bars.setOpts(x=x, height=sv, y0=v + f, width=width)
        top = float((v + f + sv).max()) if v.size else 0.0
        self.class_plot.setYRange(0, max(1.0, top * 1.25), padding=0)
        self.titles[self.class_plot].setText(
            f"PVC (V) / fusion (F) / APC (S) per {format_duration(self.bin_s)}: {int(v.sum()):,} V, "
            f"{int(f.sum()):,} F, {int(sv.sum()):,} S"
        )

    def set_intervals(self, trend) -> None:
        """Draw the QT/QTc and PR trend (an ``IntervalTrend``; None clears it)."""
        self.qt_curves.set_trend(trend)
        title = QT_TITLE
        if trend is not None and trend.longest is not None:
            lq = trend.longest
            title += f"; longest QTc {lq.qtc_ms:.0f} ms"
        elif trend is None and self.has_beats:
            title += ": not measured"
        self.titles[self.qt_plot].setText(title)

    def _place_titles(self, *_args) -> None:
        for plot, text in self.titles.items():
            (x0, _x1), (_y0, y1) = plot.getViewBox().viewRange()
            text.setPos(x0, y1)

    @staticmethod
    def _class_counts(counts: np.ndarray, label: str) -> np.ndarray:
        """One class's column of ``class_density``'s ``(n_bins, 5)`` counts."""
        from ecgviewer.core.beat_pass import BEAT_CLASSES

        return np.asarray(counts, dtype=np.float64)[:, BEAT_CLASSES.index(label)]

    def trend_data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, mean_bpm)`` drawn (for tests)."""
        x, y = self._hr_mean.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def x_of_time(self, t_s: float) -> int:
        """Widget pixel x of record second ``t_s`` (for mouse simulation)."""
        vb = self.class_plot.getViewBox()
        scene = vb.mapViewToScene(pg.Point(t_s, 0.5))
        return int(self.mapFromScene(scene).x())

    def y_of_rows(self) -> int:
        """A widget pixel y inside the heart-rate row."""
        return int(self.mapFromScene(self.hr_plot.getViewBox().sceneBoundingRect().center()).y())
