"""The QT/QTc and PR trend of the beat pass as curves: in the overview's QT row and on the tachogram's
right-hand axis.

The values are the per-minute medians of
:class:`~ecgviewer.core.interval_trend.IntervalTrend` (``result.intervals`` of the beat pass):
QTc by Fridericia (the thick line), QT and PR (thin lines), each point at the middle of its
minute, gaps where a minute has no value. The longest-QTc minute is a dot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

#: Colours of the curves.
QTC_COLOR = "#6a1b9a"
QT_COLOR = "#b39ddb"
PR_COLOR = "#00838f"
#: What the curves show (titles and tooltips).
CURVES_TEXT = "QTc Fridericia (thick), QT, PR: ms, median per minute"


def trend_curves(trend) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"qtc": (t, v), "qt": ..., "pr": ...}``: per-minute medians at the middle of their minute (s)."""
    if trend is None:
        empty = (np.zeros(0), np.zeros(0))
        return {"qtc": empty, "qt": empty, "pr": empty}
    m = trend.minutes
    t = np.asarray(m.t_s, dtype=np.float64) + m.bin_s / 2
    return {
        "qtc": (t, np.asarray(m.qtc_fridericia_ms, dtype=np.float64)),
        "qt": (t, np.asarray(m.qt_ms, dtype=np.float64)),
        "pr": (t, np.asarray(m.pr_ms, dtype=np.float64)),
    }


def value_range(
    trend, keys: tuple[str, ...] = ("qtc", "qt", "pr"), margin: float = 20.0
) -> tuple[float, float]:
    """A y range holding the curves (1st to 99th percentile, plus a margin)."""
    curves = trend_curves(trend)
    v = np.concatenate([curves[k][1] for k in keys])
    v = v[np.isfinite(v)]
    if not v.size:
        return 100.0, 500.0
    lo, hi = np.percentile(v, [1, 99])
    return max(0.0, float(lo) - margin), float(hi) + margin


class IntervalCurves:
    """QTc, QT and PR curves (and the longest-QTc dot) in one ``ViewBox``."""

    def __init__(self, viewbox: pg.ViewBox, with_pr: bool = True) -> None:
        self.viewbox = viewbox
        self.items = {
            "qtc": pg.PlotDataItem(pen=pg.mkPen(QTC_COLOR, width=2), connect="finite"),
            "qt": pg.PlotDataItem(pen=pg.mkPen(QT_COLOR, width=1), connect="finite"),
        }
        if with_pr:
            self.items["pr"] = pg.PlotDataItem(
                pen=pg.mkPen(PR_COLOR, width=1, style=Qt.PenStyle.DashLine), connect="finite"
            )
        self.longest = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w"), brush=pg.mkBrush(QTC_COLOR))
        for item in (*self.items.values(), self.longest):
            viewbox.addItem(item)

    def set_trend(self, trend) -> None:
        """Draw ``trend`` (an ``IntervalTrend``; None clears)."""
        curves = trend_curves(trend)
        for key, item in self.items.items():
            item.setData(*curves[key])
        lq = None if trend is None else trend.longest
        if lq is None:
            self.longest.clear()
        else:
            self.longest.setData([(lq.bin_index + 0.5) * lq.bin_s], [lq.qtc_ms])
        keys = tuple(self.items)
        lo, hi = value_range(trend, keys)
        self.viewbox.setYRange(lo, hi, padding=0)

    def data(self, key: str = "qtc") -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, ms)`` drawn (for tests)."""
        x, y = self.items[key].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


class RightAxisCurves(IntervalCurves):
    """:class:`IntervalCurves` on a second ``ViewBox`` with its own axis on the right of ``plot_item``,
    sharing its x axis (the tachogram: RR on the left, QTc/QT/PR in ms on the right)."""

    def __init__(self, plot_item: pg.PlotItem, label: str = "QTc / QT / PR (ms)") -> None:
        vb = pg.ViewBox(enableMenu=False)
        vb.setMouseEnabled(x=False, y=False)
        plot_item.showAxis("right")
        plot_item.scene().addItem(vb)
        axis = plot_item.getAxis("right")
        axis.linkToView(vb)
        axis.setLabel(label, color=QTC_COLOR)
        vb.setXLink(plot_item)
        self.plot_item = plot_item
        super().__init__(vb, with_pr=True)
        plot_item.vb.sigResized.connect(self._sync)
        self._sync()

    def _sync(self, *_args) -> None:
        self.viewbox.setGeometry(self.plot_item.vb.sceneBoundingRect())
        self.viewbox.linkedViewChanged(self.plot_item.vb, self.viewbox.XAxis)

    def set_trend(self, trend) -> None:
        super().set_trend(trend)
        self.plot_item.getAxis("right").setVisible(trend is not None)
