"""Long-term pages of up to 1 min on the window's ECG paper view: samples, beat marks, clock readout.

10 s pages are drawn in the window's layout; 30 s and 1 min pages show the
rhythm lead folded into 10 s lines (:func:`~ecgviewer.gui.longterm.jobs.fold_lead`).
A page of the same geometry as the one drawn only replaces the samples
(:meth:`EcgView.replace_samples <ecgviewer.gui.ecg_view.EcgView.replace_samples>`),
which is most of the speed of paging.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

from ecgviewer.gui.ecg_view import PAGED_LAYOUTS
from ecgviewer.gui.longterm.beat_marks import BeatMarks
from ecgviewer.gui.longterm.clock import format_clock
from ecgviewer.gui.longterm.jobs import FOLD_LINE_S, PaperPage, fold_lead, rhythm_lead
from ecgviewer.gui.longterm.paging import LAYOUT_PAGE_MAX_S

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.ecg_view import EcgView
    from ecgviewer.gui.longterm.area import TimeRuler
    from ecgviewer.gui.longterm.paging import Page
    from ecgviewer.gui.modes import PaperSettings

#: Beat letters on paper sit this fraction of a row above the row's baseline.
MARK_ROW_FRACTION = 0.48
SELECTION_COLOR = "#1f5fbf"


class PaperPagePainter:
    """Draws :class:`~ecgviewer.gui.longterm.jobs.PaperPage`\\ s of one long record on ``view``."""

    def __init__(self, view: EcgView, ruler: TimeRuler) -> None:
        self.view = view
        self.ruler = ruler
        self.record: LongRecord | None = None
        self.drawn: PaperPage | None = None
        self.folded = False
        self._geometry: tuple | None = None
        self.marks = BeatMarks(view.vb)
        pen = QPen(QColor(SELECTION_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.selection = pg.PlotCurveItem(pen=pen)
        self.selection.setZValue(40)
        self.selection.hide()
        view.vb.addItem(self.selection, ignoreBounds=True)
        view.vb.sigXRangeChanged.connect(self.update_ruler)

    def reset(self, record: LongRecord | None = None) -> None:
        """Forget what was drawn (a new record, or none)."""
        self.record = record
        self.drawn = self._geometry = None
        self.folded = False
        self.marks.clear()
        self.selection.hide()

    def forget_geometry(self) -> None:
        """Draw the next page afresh (layout, speed or gain changed; the zoom is reset)."""
        self._geometry = None

    def rhythm_lead(self) -> str:
        """The lead of folded pages: the one the beats are detected on (II when recorded)."""
        return rhythm_lead(self.record)

    def _shown_record(self, pp: PaperPage, page: Page, layout: str) -> tuple[EcgRecord, str]:
        """What the paper view draws for ``pp``, and in which layout."""
        if page.size_s <= LAYOUT_PAGE_MAX_S:
            return pp.display, layout
        lead = self.rhythm_lead()
        start_time, offset = self.record.start_time, pp.request.start / self.record.fs_hz
        n_lines = max(1, math.ceil(round(page.size_s * page.fs_hz) / round(FOLD_LINE_S * page.fs_hz)))
        names = [f"{lead}  {format_clock(start_time, offset + k * FOLD_LINE_S)}" for k in range(n_lines)]
        return fold_lead(pp.display, lead, FOLD_LINE_S, names), "12x1"

    def draw(self, pp: PaperPage, page: Page, paper: PaperSettings, on_paper: bool) -> None:
        """Draw ``pp`` (a page of ``page.size_s``); ``on_paper``: the paper view was already shown."""
        view = self.view
        shown, layout = self._shown_record(pp, page, paper.layout)
        geometry = (layout, page.size_s, paper.speed_mm_per_s, paper.gain_mm_per_mv)
        keep_view = geometry == self._geometry and on_paper
        self.folded = page.size_s > LAYOUT_PAGE_MAX_S
        self.ruler.setVisible(not self.folded)
        if not (keep_view and view.replace_samples(shown)):
            view.show_record(
                shown, layout, paper.speed_mm_per_s, paper.gain_mm_per_mv, page_start_s=0.0, reset_view=False
            )
            if not keep_view:
                view.reset_view()
        self._geometry = geometry
        self.drawn = pp

    def left_paper(self) -> None:
        """The strip chart replaced the paper view."""
        self._geometry = None
        self.drawn = None

    def update_ruler(self, *_args) -> None:
        """The time-of-day ruler above 10 s pages follows the paper's visible range."""
        view, drawn = self.view, self.drawn
        if drawn is None or self.folded or view.layout is None or self.record is None:
            return
        offset = drawn.request.start / self.record.fs_hz
        x0, x1 = view.vb.viewRange()[0]
        lay = view.layout
        stop = offset + drawn.record.duration_s
        self.ruler.set_span(offset + lay.time_at(x0), offset + lay.time_at(x1), (offset, stop))

    # -- beat marks ---------------------------------------------------------------------------
    def _paper_xy(self, t_rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Paper x and the row of page times ``t_rel`` (s from the page start) in the drawn layout."""
        lay = self.view.layout
        if self.folded:
            line = np.floor(t_rel / FOLD_LINE_S).astype(np.int64)
            return lay.x0_mm + (t_rel - line * FOLD_LINE_S) * lay.speed_mm_per_s, line
        row = lay.n_rows - 1 if lay.name in PAGED_LAYOUTS else 0  # above the rhythm strip / the top row
        return np.asarray(lay.x_at(t_rel), dtype=np.float64), np.full(np.shape(t_rel), row, dtype=np.int64)

    def mark(self, beats_in, selected_sample: int | None) -> None:
        """Beat letters (``beats_in(start, stop) -> (r_peaks, labels)``) and the selected event."""
        lay, pp = self.view.layout, self.drawn
        if lay is None or pp is None:
            return
        start, fs = pp.request.start, self.record.fs_hz
        r, labels = beats_in(start, start + pp.record.n_samples)
        x, rows = self._paper_xy((r - start) / fs)
        # on the upper edge of the row, where only the tallest R waves reach
        self.marks.set_marks(x, labels, -rows * lay.row_height_mm + MARK_ROW_FRACTION * lay.row_height_mm)
        sel = selected_sample
        if sel is not None and start <= sel < start + pp.record.n_samples:
            (xs,), (row,) = self._paper_xy(np.array([(sel - start) / fs]))
            if self.folded:
                y0 = lay.baseline_mm(row) - 0.5 * lay.row_height_mm
                y1 = lay.baseline_mm(row) + 0.5 * lay.row_height_mm
            else:
                _, bottom, _, height = lay.paper_rect
                y0, y1 = bottom, bottom + height
            self.selection.setData([xs, xs], [y0, y1])
            self.selection.show()
        else:
            self.selection.hide()

    def cursor_text(self, loc) -> str:
        """Crosshair readout on a paper page: lead, time of day, value."""
        if loc is None or self.drawn is None or self.record is None:
            return ""
        t = self.drawn.request.start / self.record.fs_hz + loc.t_s
        lead = loc.lead
        if self.folded:
            t += loc.row * FOLD_LINE_S
            lead = self.rhythm_lead()
        return f"{lead}   {format_clock(self.record.start_time, t, 3)}   {loc.value:+.2f} {loc.unit}"
