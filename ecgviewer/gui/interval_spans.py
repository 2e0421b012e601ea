"""PR / QRS / QT spans of every beat as thin coloured bars, for the rhythm strip.

:class:`IntervalSpansItem` is one graphics item holding three
:class:`~PySide6.QtGui.QPainterPath` objects (one per interval, one rectangle
per beat), rebuilt only when the beats, intervals, mapping or time range change;
painting is three ``fillPath`` calls. At most ``max_beats`` beats inside
``time_range_s`` are drawn, so a long record costs no more than a page.

Each beat is anchored at its QRS onset ``t`` (seconds):

* PR  bar: ``[t - PR, t]``   (top row)
* QRS bar: ``[t, t + QRS]``  (middle row)
* QT  bar: ``[t, t + QT]``   (bottom row)

Example (main view, rhythm strip of the 3x4 layout)::

    seg = rhythm_segment                              # ecg_layout.Segment of row 3
    spans = IntervalSpansItem(
        x_of_seconds=lambda t: seg.x_start_mm + (t - seg.t_start_s) * speed,
        baseline_y=seg.baseline_mm - 0.45 * row_height_mm,   # below the trace
        height=3.0,                                          # mm
    )
    spans.set_time_range(seg.t_start_s, seg.t_stop_s)
    spans.set_beats(beat_analysis.beats)
    spans.set_intervals_from(prediction, beat_analysis.intervals)
    view.vb.addItem(spans, ignoreBounds=True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath

if TYPE_CHECKING:
    from ecgviewer.core.beats import Beats, ClassicalIntervals
    from ecgviewer.inference.result import PredictionResult

#: Bar colours (semi-transparent so the grid shows through).
SPAN_COLORS: dict[str, str] = {"PR": "#2e7d32", "QRS": "#c62828", "QT": "#1f4fa3"}
SPAN_NAMES: tuple[str, ...] = ("PR", "QRS", "QT")
DEFAULT_MAX_BEATS = 2000


def _map_x(fn: Callable[[float], float], t: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to an array, vectorised when it allows it."""
    try:
        x = np.asarray(fn(t), dtype=np.float64)  # type: ignore[arg-type]
        if x.shape == t.shape:
            return x
    except Exception:
        pass
    return np.array([float(fn(float(v))) for v in t], dtype=np.float64)


class IntervalSpansItem(pg.GraphicsObject):
    """PR/QRS/QT bars for each beat.

    Parameters
    ----------
    x_of_seconds
        Record time (s) -> scene x (e.g. mm). Should accept numpy arrays; scalars work too.
    baseline_y
        Bottom of the lowest (QT) bar, scene units.
    height
        Total height of the three rows, scene units (y grows upward, as in the main view).
    max_beats
        Most beats drawn (the first ones in :meth:`set_time_range`).
    """

    def __init__(
        self,
        x_of_seconds: Callable[[float], float] = lambda t: t,
        baseline_y: float = 0.0,
        height: float = 3.0,
        max_beats: int = DEFAULT_MAX_BEATS,
    ) -> None:
        super().__init__()
        self._x_of = x_of_seconds
        self._y0 = float(baseline_y)
        self._h = float(height)
        self.max_beats = int(max_beats)
        self._onsets_s = np.zeros(0)
        self._ms: dict[str, float | None] = dict.fromkeys(SPAN_NAMES)
        self._range: tuple[float, float] | None = None
        self._paths: dict[str, QPainterPath] = {n: QPainterPath() for n in SPAN_NAMES}
        self._bars: dict[str, np.ndarray] = {n: np.zeros((0, 2)) for n in SPAN_NAMES}
        self._brushes = {n: QBrush(QColor(c)) for n, c in SPAN_COLORS.items()}
        for b in self._brushes.values():
            c = b.color()
            c.setAlpha(200)
            b.setColor(c)
        self._bounds = QRectF()
        self.setZValue(20)

    # -- inputs ------------------------------------------------------------------
    def set_beats(self, beats: Beats | None) -> None:
        """Beats from :func:`~ecgviewer.core.beats.analyze_beats` (QRS onsets are used)."""
        if beats is None:
            self.set_onsets_s(())
        else:
            self.set_onsets_s(np.asarray(beats.qrs_onsets, dtype=np.float64) / beats.fs_hz)

    def set_onsets_s(self, onsets_s: Sequence[float] | np.ndarray) -> None:
        """QRS onsets in record seconds."""
        self._onsets_s = np.sort(np.asarray(onsets_s, dtype=np.float64).ravel())
        self._rebuild()

    def set_intervals(self, pr_ms: float | None, qrs_ms: float | None, qt_ms: float | None) -> None:
        """Interval lengths in ms (None or non-positive: that bar is not drawn)."""
        for name, v in zip(SPAN_NAMES, (pr_ms, qrs_ms, qt_ms)):
            self._ms[name] = float(v) if v is not None and np.isfinite(v) and v > 0 else None
        self._rebuild()

    def set_intervals_from(
        self, prediction: PredictionResult | None, classical: ClassicalIntervals | None = None
    ) -> str | None:
        """Use the model's intervals, else the classical ones; returns ``"model"``, ``"classical"``, None."""
        if prediction is not None:
            iv = prediction.intervals
            self.set_intervals(iv["pr_ms"].value, iv["qrs_ms"].value, iv["qt_ms"].value)
            return "model"
        if classical is not None:
            self.set_intervals(classical.pr_ms, classical.qrs_ms, classical.qt_ms)
            return "classical"
        self.set_intervals(None, None, None)
        return None

    def set_geometry(
        self,
        x_of_seconds: Callable[[float], float] | None = None,
        baseline_y: float | None = None,
        height: float | None = None,
    ) -> None:
        """Change the mapping or the vertical placement (e.g. after a layout change)."""
        if x_of_seconds is not None:
            self._x_of = x_of_seconds
        if baseline_y is not None:
            self._y0 = float(baseline_y)
        if height is not None:
            self._h = float(height)
        self._rebuild()

    def set_time_range(self, start_s: float | None, stop_s: float | None = None) -> None:
        """Draw only beats with onsets in ``[start_s, stop_s)`` (None: all, up to ``max_beats``)."""
        stop = float("inf") if stop_s is None else float(stop_s)
        self._range = None if start_s is None else (float(start_s), stop)
        self._rebuild()

    # -- read-back ----------------------------------------------------------------
    def has_content(self) -> bool:
        """True when there are beats and at least one interval to draw."""
        return self._onsets_s.size > 0 and any(v is not None for v in self._ms.values())

    def bars(self) -> dict[str, np.ndarray]:
        """Drawn bars per interval: arrays of ``(x0, x1)`` rows in scene units."""
        return {k: v.copy() for k, v in self._bars.items()}

    def row_y(self, name: str) -> tuple[float, float]:
        """``(bottom, top)`` of an interval's row."""
        step = self._h / 3.0
        k = 2 - SPAN_NAMES.index(name)  # PR on top, QT at the bottom
        bottom = self._y0 + k * step + 0.15 * step
        return bottom, bottom + 0.7 * step

    # -- geometry -------------------------------------------------------------------
    def _rebuild(self) -> None:
        t = self._onsets_s
        if self._range is not None:
            t = t[(t >= self._range[0]) & (t < self._range[1])]
        t = t[: self.max_beats]
        self.prepareGeometryChange()
        bounds = QRectF()
        for name in SPAN_NAMES:
            path = QPainterPath()
            ms = self._ms[name]
            if ms is None or t.size == 0:
                self._bars[name] = np.zeros((0, 2))
                self._paths[name] = path
                continue
            s = ms / 1000.0
            t0, t1 = (t - s, t) if name == "PR" else (t, t + s)
            x0, x1 = _map_x(self._x_of, t0), _map_x(self._x_of, t1)
            bottom, top = self.row_y(name)
            for a, b in zip(x0, x1):
                path.addRect(QRectF(min(a, b), bottom, abs(b - a), top - bottom))
            self._bars[name] = np.column_stack([x0, x1])
            self._paths[name] = path
            bounds = bounds.united(path.boundingRect())
        self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        """Three ``fillPath`` calls."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for name in SPAN_NAMES:
            if not self._paths[name].isEmpty():
                painter.fillPath(self._paths[name], self._brushes[name])
