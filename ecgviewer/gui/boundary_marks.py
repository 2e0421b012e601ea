"""Wave boundaries of every beat as thin ticks on every drawn lead of the ECG paper.

One :class:`BoundaryMarksItem` per drawn lead segment holds a few
``QPainterPath`` objects -- one per wave colour (P, QRS, T), per source (the lead's
own boundary: solid; the consensus of the delineated leads where the lead has none:
dashed) and per tick kind (P onset, QRS onset, QRS offset, T offset: full ticks; P
offset, T onset: short, lighter ticks). The paths are built when the delineation or
the drawing changes (layout, speed, gain, page) and are in paper millimetres, so
zooming and panning only repaint them: painting a lead is a handful of ``drawPath``
calls, whatever the number of beats.

:class:`BoundaryMarks` keeps the items of the main view in step with the analysis
(:meth:`set_delineation`) and the drawing (:meth:`rebuild`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen

from ecgviewer.core.delineation import POINTS
from ecgviewer.layout.boundaries import (
    POINT_LABELS,
    PRIMARY_POINTS,
    SECONDARY_POINTS,
    WAVE_OF_POINT,
    lead_boundaries,
)

if TYPE_CHECKING:
    from ecgviewer.core.delineation import Delineation
    from ecgviewer.gui.ecg_view import EcgView
    from ecgviewer.layout.paper import PaperLayout, Segment

#: Tick colour of each wave.
WAVE_COLORS: dict[str, str] = {"P": "#1b7f3a", "QRS": "#6a1b9a", "T": "#1f4fa3"}
#: Half height of a full tick and of a short one, as a share of the row height.
TICK_HALF = 0.32
SHORT_TICK_HALF = 0.14
#: Width (mm of paper) of the band around a tick where its tooltip shows.
HOVER_MM = 0.8
#: Z value: over the grid, under the trace (z 10), so the trace stays on top.
MARKS_Z = 6


def _pen(color: str, alpha: int, dashed: bool) -> QPen:
    c = QColor(color)
    c.setAlpha(alpha)
    pen = QPen(c)
    pen.setCosmetic(True)
    pen.setWidthF(1.0)
    if dashed:
        pen.setStyle(Qt.PenStyle.CustomDashLine)
        pen.setDashPattern([3.0, 2.0])
    return pen


class BoundaryMarksItem(pg.GraphicsObject):
    """The boundary ticks of one drawn lead segment.

    Parameters
    ----------
    marks
        Point name -> ``(x_mm, own)``: the ticks' paper x and whether each is the
        lead's own boundary (False: the consensus).
    baseline_mm, row_height_mm
        Vertical placement: ticks are centred on the lead's baseline.
    """

    def __init__(
        self, marks: dict[str, tuple[np.ndarray, np.ndarray]], baseline_mm: float, row_height_mm: float
    ) -> None:
        super().__init__()
        self._marks = {k: (np.asarray(x, float), np.asarray(o, bool)) for k, (x, o) in marks.items()}
        self._paths: list[tuple[QPen, QPainterPath]] = []
        hover = QPainterPath()
        for wave, color in WAVE_COLORS.items():
            for own in (True, False):
                for points, half, alpha in (
                    (PRIMARY_POINTS, TICK_HALF, 210),
                    (SECONDARY_POINTS, SHORT_TICK_HALF, 130),
                ):
                    path = QPainterPath()
                    h = half * row_height_mm
                    for name in points:
                        if WAVE_OF_POINT[name] != wave or name not in self._marks:
                            continue
                        x, is_own = self._marks[name]
                        for v in x[is_own == own]:
                            path.moveTo(QPointF(v, baseline_mm - h))
                            path.lineTo(QPointF(v, baseline_mm + h))
                    if not path.isEmpty():
                        self._paths.append((_pen(color, alpha if own else alpha - 40, not own), path))
                        hover.addPath(path)
        stroker = QPainterPathStroker()
        stroker.setWidth(HOVER_MM)
        self._shape = stroker.createStroke(hover) if not hover.isEmpty() else QPainterPath()
        self._bounds = hover.boundingRect().adjusted(-HOVER_MM, -HOVER_MM, HOVER_MM, HOVER_MM)
        self.setZValue(MARKS_Z)

    def marks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Point name -> ``(x_mm, own)`` of the ticks drawn (copies)."""
        return {k: (x.copy(), o.copy()) for k, (x, o) in self._marks.items()}

    def count(self, own: bool | None = None) -> int:
        """Number of ticks (``own`` True/False: only the lead's own / only consensus ones)."""
        return sum(int(x.size if own is None else (o == own).sum()) for x, o in self._marks.values())

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def shape(self) -> QPainterPath:
        return self._shape

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for pen, path in self._paths:
            painter.setPen(pen)
            painter.drawPath(path)


def segment_marks(
    d: Delineation, seg: Segment, speed_mm_per_s: float, cache: dict | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Point name -> ``(x_mm, own)`` of the boundaries of ``d`` inside ``seg`` (``cache``: per lead)."""
    cache = {} if cache is None else cache
    if seg.lead not in cache:
        cache[seg.lead] = lead_boundaries(d, seg.lead)
    points, own = cache[seg.lead]
    t = points / d.fs_hz
    inside = np.isfinite(t) & (t >= seg.t_start_s) & (t < seg.t_stop_s)
    out = {}
    for k, name in enumerate(POINTS):
        m = inside[:, k]
        out[name] = (seg.x_start_mm + (t[m, k] - seg.t_start_s) * speed_mm_per_s, own[m, k])
    return out


def marks_tooltip(d: Delineation, lead: str, method: str) -> str:
    """What the ticks on ``lead`` are (shown when the mouse rests on one)."""
    kinds = ", ".join(POINT_LABELS[p] for p in PRIMARY_POINTS)
    short = ", ".join(POINT_LABELS[p] for p in SECONDARY_POINTS)
    n = len(d.leads)
    consensus = f"the consensus (median) of the {n} delineated lead{'s' if n != 1 else ''}"
    if lead in d.leads:
        source = (
            f"solid: {lead}'s own boundary; dashed: {consensus}, where {lead} has no such wave in that beat"
        )
    else:
        source = f"dashed: {consensus} ({lead} was not delineated)"
    colours = "green P, purple QRS, blue T"
    return (
        f"Wave boundaries on {lead} ({method or 'delineation network'}): full ticks {kinds}; "
        f"short ticks {short}. {source}. Colours: {colours}."
    )


class BoundaryMarks:
    """The boundary ticks of a delineation on every drawn lead of an :class:`EcgView`.

    Parameters
    ----------
    view
        The ECG paper view (its ``layout`` gives the segments).
    """

    def __init__(self, view: EcgView) -> None:
        self.view = view
        self._delineation: Delineation | None = None
        self._items: list[tuple[Segment, BoundaryMarksItem]] = []
        self._skip: frozenset[str] = frozenset()
        self._visible = True

    @property
    def delineation(self) -> Delineation | None:
        return self._delineation

    def items(self) -> list[tuple[Segment, BoundaryMarksItem]]:
        """The drawn items and the segments they belong to."""
        return list(self._items)

    def set_delineation(self, d: Delineation | None, skip: tuple[str, ...] | list[str] = ()) -> None:
        """Mark ``d`` (samples of the record drawn; None removes the marks) on every lead but ``skip``
        (leads left out of the delineation for their signal quality: a flat lead gets no marks)."""
        self._delineation = d
        self._skip = frozenset(skip)
        self.rebuild()

    def set_visible(self, on: bool) -> None:
        """Show or hide the ticks (they are kept up to date either way)."""
        self._visible = bool(on)
        for _, item in self._items:
            item.setVisible(self._visible)

    @property
    def visible(self) -> bool:
        return self._visible

    def clear(self) -> None:
        vb = self.view.vb
        for _, item in self._items:
            vb.removeItem(item)
        self._items.clear()

    def rebuild(self) -> None:
        """Put the ticks on the segments of the current drawing (layout, speed, page)."""
        self.clear()
        d, layout = self._delineation, self.view.layout
        if d is None or layout is None or d.n_beats == 0:
            return
        self._build(d, layout)

    def _build(self, d: Delineation, layout: PaperLayout) -> None:
        cache: dict = {}
        tips: dict[str, str] = {}
        for seg in layout.segments:
            if seg.unit != "mV" or seg.lead in self._skip:
                continue
            marks = segment_marks(d, seg, layout.speed_mm_per_s, cache)
            if not any(x.size for x, _ in marks.values()):
                continue
            item = BoundaryMarksItem(marks, seg.baseline_mm, layout.row_height_mm)
            if seg.lead not in tips:
                tips[seg.lead] = marks_tooltip(d, seg.lead, d.method)
            item.setToolTip(tips[seg.lead])
            item.setVisible(self._visible)
            self.view.vb.addItem(item, ignoreBounds=True)
            self._items.append((seg, item))
