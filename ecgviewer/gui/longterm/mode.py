"""The long-term view mode: a long record shown page by page (see :mod:`ecgviewer.gui.longterm`).

:class:`LongTermMode` is the window's mode while a
:class:`~ecgviewer.core.long_record.LongRecord` is open. Pages up to 1 min are
drawn on the window's ECG paper view (:mod:`.paper_page`), longer ones as a
strip chart of min/max envelopes (:mod:`.strip_view`). Samples and envelopes
are computed on a worker (:func:`~ecgviewer.gui.longterm.jobs.page_job`, only
the newest request counts) and kept in :class:`~ecgviewer.core.page_cache.PageCache`\\ s
with the neighbours prefetched; the pyramid and the beat pass run in the
background (:mod:`.passes`). The paper page's samples are the window's record
(``ctx.set_record``), so the caliper, interval analysis and exports work on it.

Signals
-------
pageShown(object)
    The :class:`~ecgviewer.gui.longterm.paging.Page` now drawn.
pyramidReady(object)
    The min/max pyramid of the open record is ready.
beatsReady(object)
    The ``BeatPassResult`` of the open record.
beatsFailed(str)
    The beat pass failed (a user-facing message).
activeChanged(bool)
    The mode was entered (True) or left.
idle()
    Neither the pyramid nor the beat pass runs any more, nor the delineation of the page shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ecgviewer.gui.longterm.boundaries import PageBoundaries
from ecgviewer.gui.longterm.clock import format_duration
from ecgviewer.gui.longterm.jobs import PaperPage, Tile
from ecgviewer.gui.longterm.pages import PageFetcher
from ecgviewer.gui.longterm.paging import LAYOUT_PAGE_MAX_S, PAGE_SIZES_S, Page, Pager, tile_bins
from ecgviewer.gui.longterm.paper_page import PaperPagePainter
from ecgviewer.gui.longterm.passes import BackgroundPasses
from ecgviewer.gui.longterm.session import LongTermSession
from ecgviewer.gui.longterm.widgets import build_widgets, size_events_dock
from ecgviewer.gui.workers import thread_pool

if TYPE_CHECKING:
    from ecgviewer.gui.longterm.jobs import LongOpened
    from ecgviewer.gui.modes import ModeContext

#: Left/Right move the page by this fraction of its length.
PAN_FRACTION = 0.25
#: Threads of the worker pool while long records are open: pyramid, beat pass, pages, the rest.
POOL_THREADS = 4


class LongTermMode(QObject, LongTermSession):
    """The long-term view mode of one window (see the module docstring)."""

    pageShown = Signal(object)
    pyramidReady = Signal(object)
    beatsReady = Signal(object)
    beatsFailed = Signal(str)
    activeChanged = Signal(bool)
    idle = Signal()

    def __init__(self, ctx: ModeContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        pool = thread_pool()
        pool.setMaxThreadCount(max(POOL_THREADS, pool.maxThreadCount()))
        self.record = self.pyramid = self.beats = self.pager = None
        self.beats_note = ""
        #: Start the beat pass when a long record is opened.
        self.auto_beats = True
        #: Left/Right move the page by this fraction of its length.
        self.pan_fraction = PAN_FRACTION
        #: Sample of the event chosen in the list (marked in the page view).
        self.selected_sample: int | None = None
        self._active = False
        self.fetcher = PageFetcher(self)
        self._strip_page: Page | None = None  # the page the strip's x range shows
        self._strip_drawn: tuple | None = None  # the tile requests drawn on the strip
        w = self.widgets = build_widgets(ctx)
        self.overview, self.ruler, self.strip, self.stack = w.overview, w.ruler, w.strip, w.stack
        self.events, self.events_dock, self.toolbar = w.events, w.events_dock, w.toolbar
        self.page_combo, self.page_label, self.area = w.page_combo, w.page_label, w.area
        self.painter = PaperPagePainter(ctx.view, self.ruler)
        self.paper_marks, self.paper_selection = self.painter.marks, self.painter.selection
        #: Wave boundaries of the paper page shown, delineated on demand.
        self.boundaries = PageBoundaries(ctx.view, self._delineation_models, self)
        self.passes = BackgroundPasses(ctx.host.statusBar(), self)
        self.passes.beats_in_child = bool(getattr(ctx.host, "isolate_models", False))
        self.pyramid_task, self.beat_task = self.passes.pyramid_task, self.passes.beat_task
        self._connect()

    def _connect(self) -> None:
        self.fetcher.paperReady.connect(self._draw_paper)
        self.fetcher.tilesReady.connect(self._draw_strip)
        self.fetcher.failed.connect(lambda exc: self.ctx.status(f"Cannot read this page: {exc}", 8000))
        p = self.passes
        p.pyramidDone.connect(self._on_pyramid)
        p.pyramidFailed.connect(
            lambda exc: self.ctx.status(f"Could not index the record (long pages read raw): {exc}", 8000)
        )
        p.beatsDone.connect(self._on_beats)
        p.beatsFailed.connect(self._on_beats_error)
        p.beatsCancelRequested.connect(self.cancel_beats)
        p.idle.connect(self._check_idle)
        self.boundaries.busyChanged.connect(self._check_idle)
        self.overview.jumpRequested.connect(self.centre_on)
        self.events.eventActivated.connect(self.show_event)
        self.events.jumpRequested.connect(self.centre_on)
        self.strip.zoomRequested.connect(self._on_wheel)
        self.strip.panned.connect(self._on_strip_panned)
        self.strip.cursorMoved.connect(self._on_strip_cursor)
        self.page_combo.currentIndexChanged.connect(
            lambda i: self.set_page_size(float(self.page_combo.itemData(i)))
        )
        self.ctx.action("show_events").setChecked(True)
        self.events_dock.visibilityChanged.connect(self._events_visibility_changed)
        self._sync_actions()

    # -- state ----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while a long record is shown."""
        return self._active

    @property
    def page(self) -> Page | None:
        """The current page (None outside the long-term mode)."""
        return self.pager.page if self.pager is not None and self._active else None

    @property
    def is_busy(self) -> bool:
        """True while the pyramid or the beat pass runs, or the page shown is being delineated."""
        return self.passes.is_busy or self.boundaries.is_busy

    def _check_idle(self, *_args) -> None:
        # after the current signal's handlers: a finished pass may start a page's delineation
        QTimer.singleShot(0, self, self._emit_if_idle)

    def _emit_if_idle(self) -> None:
        if not self.is_busy:
            self.idle.emit()

    @property
    def delineating_page(self) -> bool:
        """True while the boundaries of the page shown are being delineated."""
        return self.boundaries.is_busy

    @property
    def beats_running(self) -> bool:
        """True while the beat pass runs."""
        return self.passes.beats_running

    @property
    def reading_pages(self) -> bool:
        """True while pages or envelopes (the one shown or prefetched neighbours) are being read."""
        return self.fetcher.is_busy

    @property
    def showing_paper(self) -> bool:
        """True when the page is drawn on the ECG paper view (else on the strip)."""
        return self._active and self.stack.currentWidget() is self.ctx.view

    @property
    def folded(self) -> bool:
        """True when the paper page shows the rhythm lead folded into 10 s lines (30 s and 1 min pages)."""
        return self.showing_paper and self.pager is not None and self.pager.size_s > LAYOUT_PAGE_MAX_S

    def rhythm_lead(self) -> str:
        """The lead of folded pages: the one the beats are detected on (II when recorded)."""
        return self.painter.rhythm_lead()

    def drawn_page(self) -> Page | None:
        """The page whose data is on screen (lags :attr:`page` while its data are read)."""
        pp = self.painter.drawn
        if pp is not None and self.showing_paper:
            req = pp.request
            return Page(req.start, req.stop, self.pager.fs_hz, self.pager.size_s) if self.pager else None
        return self._strip_page if self._strip_drawn is not None else None

    # -- entering and leaving ----------------------------------------------------------------
    def show(self, opened: LongOpened) -> None:
        """Show a newly opened long record (:func:`~ecgviewer.gui.jobs.open_job`'s long result)."""
        self._reset()
        rec = self.record = opened.record
        self.pyramid = opened.pyramid
        self.pager = Pager(rec.n_samples, rec.fs_hz, PAGE_SIZES_S[0])
        self.painter.reset(rec)
        self.ctx.caliper.clear()
        self.enter()
        self.overview.set_record(rec.duration_s, rec.start_time)
        self.ruler.set_start_time(rec.start_time)
        self.strip.set_start_time(rec.start_time)
        self._set_strip_leads()
        self.events.set_result(None, rec.start_time, rec.duration_s)
        self.fetcher.paper_cache.put(opened.first_page.request, opened.first_page)
        self._show_page()
        self._show_info()
        self.ctx.opened(
            opened.path, f"{format_duration(rec.duration_s)}, long-term view", opened.first_page.record
        )
        if self.pyramid is None:
            self.passes.build_pyramid(rec)
        else:
            self.pyramidReady.emit(self.pyramid)
        if self.auto_beats:
            self.analyze_beats()

    def enter(self) -> None:
        """Show the overview, the page toolbar and the events dock."""
        if self._active:
            return
        self._active = True
        self.overview.show()
        self.toolbar.show()
        if self.ctx.action("show_events").isChecked():
            self.events_dock.show()
            size_events_dock(self.ctx.host, self.events_dock)
        self.paper_marks.set_visible(True)
        self._sync_actions()
        self.ctx.view.setFocus()
        self.activeChanged.emit(True)

    def leave(self) -> None:
        """Back to the ordinary view (a short record was opened): hide everything, stop the jobs."""
        if not self._active:
            return
        self._reset()
        self._active = False
        self.stack.setCurrentWidget(self.ctx.view)
        for widget in (self.overview, self.ruler, self.toolbar, self.events_dock):
            widget.hide()
        self.paper_marks.set_visible(False)
        self.paper_selection.hide()
        self.boundaries.clear()
        self._sync_actions()
        self.ctx.view.setFocus()
        self.activeChanged.emit(False)

    def _reset(self) -> None:
        """Forget the open record: stop its passes, drop its caches."""
        self.fetcher.clear()
        self.passes.cancel()
        # The record is not closed here: a cancelled job may still be inside a read (cancellation is
        # cooperative), and the lazy sources hold no file open between reads anyway.
        self.record = self.pyramid = self.beats = None
        self.beats_note = ""
        self.selected_sample = None
        self._strip_page = self._strip_drawn = None
        self.painter.reset()
        self.boundaries.clear()
        self.overview.set_beats(None)
        self.strip.marks.clear()
        self.strip.set_selected(None)

    def shutdown(self) -> None:
        """Stop every background job (window closing)."""
        self.fetcher.cancel()
        self.passes.cancel()
        self.boundaries.leave()

    # -- drawing ----------------------------------------------------------------------------
    def _show_page(self) -> None:
        """Draw the current page from the caches, or ask the worker for what is missing."""
        if not self._active or self.pager is None or self.record is None:
            return
        self._update_furniture(self.pager.page)
        if self.pager.page.is_paper:
            self.fetcher.fetch_paper(self.record, self.pager, self.ctx.paper().filters)
        else:
            bins = tile_bins(self.stack.width())
            self.fetcher.fetch_tiles(self.record, self.pyramid, self.pager, self.strip.leads, bins)

    def _draw_paper(self, pp: PaperPage) -> None:
        view = self.ctx.view
        on_paper = self.stack.currentWidget() is view
        self.stack.setCurrentWidget(view)
        self.painter.draw(pp, self.pager.page, self.ctx.paper(), on_paper)
        self._strip_drawn = None
        self.ctx.set_record(pp.record, pp.display)
        self.painter.mark(self._beats_in, self.selected_sample)
        self._show_boundaries()
        self.painter.update_ruler()
        self.ctx.display_changed()
        self.pageShown.emit(self.drawn_page())

    def _draw_strip(self, page: Page, tiles: list[Tile]) -> None:
        self.stack.setCurrentWidget(self.strip)
        self.ruler.hide()
        if self._strip_page != page:
            self.strip.set_range(page.start_s, page.stop_s)
        self._strip_page = page
        self.strip.set_tiles(tiles)
        self._strip_drawn = tuple(t.request for t in tiles)
        self.painter.left_paper()
        self.boundaries.leave()
        self.ctx.set_record(None, None)
        self._mark_strip()
        self.pageShown.emit(page)

    def redraw(self, reset_view: bool = True) -> None:
        """Draw the current page again (layout, speed, gain or filters changed)."""
        if not self._active:
            return
        self.painter.forget_geometry()
        self._set_strip_leads()
        self._strip_page = None
        self._show_page()

    def set_filters(self) -> None:
        """The display filters changed: paper pages are read again with them (strips are unfiltered)."""
        self._show_info()
        self.redraw()
