"""The median beat on ECG paper with the PR, QRS and QT intervals as labelled brackets.

Coordinates are paper millimetres at 25 mm/s and 10 mm/mV (aspect locked), with
the R peak at x = 0. The spans are anchored at the classical QRS onset of the
median beat:

* PR  = [qrs_onset - PR, qrs_onset]
* QRS = [qrs_onset, qrs_onset + QRS]
* QT  = [qrs_onset, qrs_onset + QT]

using the model's intervals when a prediction is set, otherwise the classical
fiducials (P onset, QRS offset, T offset) in another colour; a legend says
which.

When a wave delineation is set (:meth:`MedianBeatView.set_delineation`), its
boundaries take over: for each point (P on/offset, QRS on/offset, T on/offset) the
median over beats of the consensus point relative to the beat's R peak
(:func:`~ecgviewer.layout.boundaries.median_boundaries_ms`), drawn as vertical
lines in the wave colours of the boundary marks, the spans between them as the
brackets; the classical fiducials stay as small grey triangles under the beat, for
comparison. The legend says which is which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPen

from ecgviewer.gui.boundary_marks import WAVE_COLORS
from ecgviewer.gui.paper import OUTSIDE_PAPER, PaperGridItem, signal_pen
from ecgviewer.layout.boundaries import (
    PRIMARY_POINTS,
    WAVE_OF_POINT,
    boundary_spans,
    median_boundaries_ms,
)
from ecgviewer.layout.spans import fiducial_ms, median_beat_spans, model_interval_ms, pick_lead

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis, MedianBeat
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult

SPEED_MM_PER_S = 25.0
GAIN_MM_PER_MV = 10.0
#: Colours of spans from the model and from the classical delineation.
MODEL_COLOR = "#1f4fa3"
CLASSICAL_COLOR = "#2e7d32"
#: Brackets from the delineation's boundaries; grey of the classical fiducial triangles.
DELINEATION_COLOR = "#333333"
FIDUCIAL_COLOR = "#8a8a8a"
#: Classical fiducials marked under the beat when the delineation's boundaries are shown.
CLASSICAL_FIDUCIALS: tuple[str, ...] = ("p_onset", "qrs_onset", "qrs_offset", "t_offset")
SPAN_ORDER: tuple[str, ...] = ("PR", "QRS", "QT")
#: Vertical distance between span rows and height of the bracket ticks, mm.
ROW_STEP_MM = 4.0
TICK_MM = 1.2
#: Extra paper right of the beat for the span labels, mm.
LABEL_MARGIN_MM = 9.0


def ms_to_mm(ms: float) -> float:
    """Paper length of a duration at 25 mm/s."""
    return ms / 1000.0 * SPEED_MM_PER_S


def _pen(color: str, width: float = 2.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    pen.setStyle(style)
    return pen


class MedianBeatView(pg.PlotWidget):
    """Small plot of one median beat with interval brackets.

    Methods
    -------
    set_analysis(BeatAnalysis | None), set_prediction(PredictionResult | None),
    set_delineation(DelineationResult | None), clear_all()

    Attributes for tests and callers: :meth:`spans` (name -> ``(x0_mm, x1_mm)``),
    :attr:`span_source` (``"delineation"``, ``"model"``, ``"classical"`` or None), :attr:`lead`,
    :meth:`boundaries` (point -> x_mm of the delineation's lines).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=OUTSIDE_PAPER)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        for axis in ("left", "bottom"):
            self.hideAxis(axis)
        self.hideButtons()
        self.vb = self.getPlotItem().getViewBox()
        self.vb.setAspectLocked(True, 1.0)
        self.vb.disableAutoRange()
        self.getPlotItem().setContentsMargins(0, 0, 0, 0)
        self.paper = PaperGridItem()
        self.vb.addItem(self.paper, ignoreBounds=True)
        self.curve = pg.PlotDataItem(pen=signal_pen(1.5), antialias=True)
        self.curve.setZValue(10)
        self.vb.addItem(self.curve)
        self._items: list = []
        self._analysis: BeatAnalysis | None = None
        self._prediction: PredictionResult | None = None
        self._waves: DelineationResult | None = None
        self._boundaries: dict[str, float] = {}
        self._marks_ms: dict[str, float] | None = None
        self._spans: dict[str, tuple[float, float]] = {}
        self._labels: dict[str, pg.TextItem] = {}
        self.span_source: str | None = None
        self.lead: str | None = None
        self._rebuild()

    def sizeHint(self) -> QSize:
        return QSize(320, 260)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 160)

    # -- API -------------------------------------------------------------------
    def set_analysis(self, analysis: BeatAnalysis | None) -> None:
        """Show the median beat of a classical analysis (None clears)."""
        self._analysis = analysis
        self._rebuild()

    def set_prediction(self, result: PredictionResult | None) -> None:
        """Draw the model's spans (None: fall back to the classical spans)."""
        self._prediction = result
        self._rebuild()

    def set_delineation(self, result: DelineationResult | None) -> None:
        """Draw the delineation's median boundaries and spans (None: back to the model or classical)."""
        self._waves = result
        self._rebuild()

    def set_marks_ms(self, points_ms: dict[str, float] | None) -> None:
        """Draw these boundary marks (point -> ms from the R peak; the over-read's median beat) in
        place of the delineation's median (None: back to it)."""
        self._marks_ms = None if points_ms is None else dict(points_ms)
        self._rebuild()

    @property
    def fs_hz(self) -> float | None:
        """Sampling rate of the delineation drawn (its boundaries are samples at this rate)."""
        return None if self._waves is None else self._waves.delineation.fs_hz

    def clear_all(self) -> None:
        """Forget the beat, the prediction and the delineation."""
        self._analysis = None
        self._prediction = None
        self._waves = None
        self._rebuild()

    def boundaries(self) -> dict[str, float]:
        """The delineation's boundary lines drawn, point name -> x (paper mm, R peak at 0)."""
        return dict(self._boundaries)

    def spans(self) -> dict[str, tuple[float, float]]:
        """Drawn spans, name -> ``(x0_mm, x1_mm)`` in paper mm (view coordinates)."""
        return dict(self._spans)

    def span_labels(self) -> dict[str, str]:
        """Text of each drawn span label, e.g. ``{"PR": "PR 160 ms"}``."""
        return {k: item.toPlainText() for k, item in self._labels.items()}

    # -- drawing -----------------------------------------------------------------
    def _add(self, item, z: float = 20) -> None:
        item.setZValue(z)
        self.vb.addItem(item, ignoreBounds=True)
        self._items.append(item)

    def _rebuild(self) -> None:
        for item in self._items:
            self.vb.removeItem(item)
        self._items.clear()
        self._spans.clear()
        self._labels.clear()
        self._boundaries.clear()
        self.span_source = None
        self.lead = None
        beat = None if self._analysis is None else self._analysis.median_beat
        if beat is None or beat.signals.size == 0:
            self.curve.setData([], [])
            self.paper.set_rect((-212.5, -210.0, 430.0, 425.0))
            msg = "No median beat" if self._analysis is not None else "Median beat: not analysed"
            text = pg.TextItem(msg, color="#666666", anchor=(0.5, 0.5))
            text.setPos(2.5, 2.5)
            self._add(text)
            self.vb.setRange(QRectF(-12.5, -10.0, 30.0, 25.0), padding=0.0)
            return
        row = pick_lead(beat)
        self.lead = beat.leads[row]
        y = np.asarray(beat.signals[row], dtype=np.float64)
        fid = beat.fiducials
        qrs_on = fid.get("qrs_onset")
        ref = y[int(qrs_on)] if qrs_on is not None else float(np.median(y))  # PR-segment level = 0 mV
        x_mm = ms_to_mm(beat.time_ms())
        y_mm = (y - ref) * GAIN_MM_PER_MV
        finite = np.isfinite(y_mm)
        self.curve.setData(x_mm[finite], y_mm[finite])

        spans_ms = self._spans_ms(beat)
        colors = {"model": MODEL_COLOR, "delineation": DELINEATION_COLOR}
        color = colors.get(self.span_source or "", CLASSICAL_COLOR)
        top = float(np.nanmax(y_mm)) if finite.any() else 5.0
        low = float(np.nanmin(y_mm)) if finite.any() else -5.0
        row_y = {"PR": low - 3.0, "QRS": low - 3.0 - ROW_STEP_MM, "QT": low - 3.0 - 2 * ROW_STEP_MM}
        font = QFont()
        font.setPointSizeF(8.5)
        font.setBold(True)
        for name in SPAN_ORDER:
            if name not in spans_ms:
                continue
            t0, t1, ms = spans_ms[name]
            x0, x1 = ms_to_mm(t0), ms_to_mm(t1)
            yy = row_y[name]
            bracket = pg.PlotDataItem(
                [x0, x0, x1, x1], [yy + TICK_MM, yy, yy, yy + TICK_MM], pen=_pen(color, 2.0), antialias=True
            )
            self._add(bracket)
            label = pg.TextItem(f"{name} {ms:.0f} ms", color=color, anchor=(0.0, 0.5))
            label.setFont(font)
            label.setPos(x1 + 0.6, yy)
            self._add(label, 21)
            self._spans[name] = (x0, x1)
            self._labels[name] = label
        if self.span_source == "delineation":
            self._draw_boundaries(beat, top, low, row_y["QT"])
        elif qrs_on is not None and self._spans:
            x_on = ms_to_mm(float((int(qrs_on) - beat.r_index) * 1000.0 / beat.fs_hz))
            anchor = pg.PlotDataItem(
                [x_on, x_on], [top, row_y["QT"]], pen=_pen("#777777", 1.0, Qt.PenStyle.DashLine)
            )
            self._add(anchor, 15)

        x_left = float(x_mm[0])
        x_right = max(float(x_mm[-1]), *(x1 for _, x1 in self._spans.values())) + LABEL_MARGIN_MM
        y_bottom = (row_y["QT"] if self._spans else low) - 3.0
        y_top = top + 6.0
        # snap the paper to the 5 mm grid
        left, right = np.floor(x_left / 5) * 5, np.ceil(x_right / 5) * 5
        bottom, ttop = np.floor(y_bottom / 5) * 5, np.ceil(y_top / 5) * 5
        rect = (float(left), float(bottom), float(right - left), float(ttop - bottom))
        # paper well beyond the content, so that any widget aspect shows paper, not grey
        self.paper.set_rect((rect[0] - 200.0, rect[1] - 200.0, rect[2] + 400.0, rect[3] + 400.0))

        if self.span_source == "model" and self._prediction is not None:
            legend_src = f"model ({self._prediction.model_name})"
        elif self.span_source == "delineation" and self._waves is not None:
            legend_src = f"boundaries, {self._waves.model_name}"
        else:
            legend_src = "classical" if self.span_source == "classical" else ""
        html = (
            f'<span style="color:#333;font-size:8pt">Median beat, lead {self.lead} (n={beat.n_beats})</span>'
        )
        if self.span_source == "delineation":
            html += f'<span style="color:{FIDUCIAL_COLOR};font-size:8pt"> · ▲ classical</span>'
        if legend_src:
            style = f"color:{color};font-size:8pt;font-weight:bold"
            html += f'<br><span style="{style}">■ spans: {legend_src}</span>'
        legend = pg.TextItem(html=html, anchor=(0.0, 0.0))
        legend.setPos(float(left) + 0.5, float(ttop) - 0.3)
        self._add(legend, 30)
        self.vb.setRange(QRectF(*rect), padding=0.0)

    def _spans_ms(self, beat: MedianBeat) -> dict[str, tuple[float, float, float]]:
        """name -> ``(t0_ms, t1_ms, duration_ms)`` relative to the R peak; sets :attr:`span_source`."""
        points = {} if self._waves is None else median_boundaries_ms(self._waves.delineation)
        if self._waves is not None and self._marks_ms is not None:
            points = self._marks_ms
        spans = boundary_spans(points)
        if spans:
            self._boundaries = {k: ms_to_mm(v) for k, v in points.items()}
            self.span_source = "delineation"
            return spans
        spans, source = median_beat_spans(beat, model_interval_ms(self._prediction))
        self.span_source = source
        return spans

    def _draw_boundaries(self, beat: MedianBeat, top: float, low: float, bottom: float) -> None:
        """The delineation's boundary lines (wave colours) and the classical fiducials (grey triangles)."""
        for name, x in self._boundaries.items():
            primary = name in PRIMARY_POINTS
            pen = _pen(WAVE_COLORS[WAVE_OF_POINT[name]], 1.3 if primary else 1.0)
            if not primary:
                pen.setStyle(Qt.PenStyle.DotLine)
            line = pg.PlotDataItem([x, x], [top + 1.0, bottom if primary else low - 1.0], pen=pen)
            self._add(line, 15)
        xs = [fiducial_ms(beat, k) for k in CLASSICAL_FIDUCIALS]
        xs = [ms_to_mm(v) for v in xs if v is not None]
        if xs:
            marks = pg.ScatterPlotItem(
                xs, [low - 1.2] * len(xs), symbol="t1", size=7, pen=pg.mkPen(None), brush=FIDUCIAL_COLOR
            )
            marks.setToolTip("Classical fiducials of the median beat (P onset, QRS onset and end, T end)")
            self._add(marks, 16)
