"""The long-term mode of the main window: overview, page view, background passes, event list.

:func:`install_longterm` is called once by
:class:`~ecgviewer.gui.main_window.MainWindow`. A file that lasts
:data:`~ecgviewer.gui.longterm.paging.LONG_TERM_MIN_S` or more is opened as a
:class:`~ecgviewer.core.long_record.LongRecord` (the samples stay on disk) and
:class:`LongTermUi` takes over the central area:

- the overview bar (:mod:`.overview`) of the whole record on top;
- the page view below: pages up to 1 min on the window's own ECG paper view
  (``window.view``, the chosen layout for 10 s pages, the stacked leads for
  30 s and 1 min), with a time-of-day ruler; longer pages as a strip chart of
  min/max envelopes (:mod:`.strip_view`);
- the events dock (:mod:`.events_panel`) and a toolbar with the page size.

Samples and envelopes are computed on a worker thread
(:func:`~ecgviewer.gui.longterm.jobs.page_job`) through one
:class:`~ecgviewer.gui.workers.WorkerChannel`, so only the newest page request
counts; results are cached (a few paper pages, many envelope tiles) and the
neighbours of the page shown are prefetched, so paging back and forth is drawn
from memory. The min/max pyramid is built in the background after opening
(progress in the status bar) and used as soon as it is ready; the beat pass
starts after opening too (progress and Cancel in the status bar) and fills the
overview, the beat marks and the event list when it finishes.

While a long record is shown, ``window.record`` / ``window.display_record`` are
the samples of the current paper page (so the caliper, interval analysis and
exports work on the page shown) and None for strip pages.

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
    The long-term mode was entered (True) or left.
idle()
    Neither the pyramid nor the beat pass is running any more.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QStackedWidget, QToolBar, QVBoxLayout, QWidget

from ecgviewer.gui.longterm.area import TaskIndicator, TimeRuler
from ecgviewer.gui.longterm.beat_marks import BeatMarks
from ecgviewer.gui.longterm.clock import format_clock, format_duration
from ecgviewer.gui.longterm.events_panel import EventsPanel
from ecgviewer.gui.longterm.jobs import (
    FOLD_LINE_S,
    LongOpened,
    PaperPage,
    PaperRequest,
    Tile,
    TileRequest,
    beat_pass_job,
    fold_lead,
    page_job,
    pyramid_job,
    rhythm_lead,
)
from ecgviewer.gui.longterm.overview import OverviewBar
from ecgviewer.gui.longterm.paging import (
    LAYOUT_PAGE_MAX_S,
    PAGE_SIZES_S,
    Page,
    Pager,
    neighbour_size,
    page_size_label,
    tile_bins,
)
from ecgviewer.gui.longterm.strip_view import StripView
from ecgviewer.gui.workers import WorkerChannel, thread_pool

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.main_window import MainWindow

#: Paper pages kept in memory (1 min of 8 leads at 500 Hz is ~1 MB).
PAPER_CACHE_PAGES = 12
#: Envelope tiles kept in memory (12 leads x 1600 bins is ~150 kB).
TILE_CACHE_TILES = 96
#: Beat letters on paper sit this fraction of a row above the row's baseline.
MARK_ROW_FRACTION = 0.48
#: Left/Right move the page by this fraction of its length.
PAN_FRACTION = 0.25
#: Threads of the worker pool while long records are open: pyramid, beat pass, pages, the rest.
POOL_THREADS = 4
SELECTION_COLOR = "#1f5fbf"


class _Lru:
    """A small least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key):
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


def long_record_info(rec: LongRecord) -> dict:
    """:func:`ecgviewer.core.info.describe` of a long record (header facts; no samples are read)."""
    from ecgviewer.core.info import describe

    info = describe(rec.read(0, 0))
    info["n_samples"] = rec.n_samples
    info["duration_s"] = round(rec.duration_s, 3)
    return info


class LongTermUi(QObject):
    """The long-term parts of one main window (see the module docstring)."""

    pageShown = Signal(object)
    pyramidReady = Signal(object)
    beatsReady = Signal(object)
    beatsFailed = Signal(str)
    activeChanged = Signal(bool)
    idle = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        pool = thread_pool()
        pool.setMaxThreadCount(max(POOL_THREADS, pool.maxThreadCount()))
        self.record: LongRecord | None = None
        self.pyramid = None
        self.beats = None
        self.beats_note = ""
        self.pager: Pager | None = None
        #: Start the beat pass when a long record is opened.
        self.auto_beats = True
        #: Left/Right move the page by this fraction of its length.
        self.pan_fraction = PAN_FRACTION
        #: Sample of the event chosen in the list (marked in the page view).
        self.selected_sample: int | None = None
        self._active = False
        self._paper_cache = _Lru(PAPER_CACHE_PAGES)
        self._tile_cache = _Lru(TILE_CACHE_TILES)
        self._drawn: Any = None  # the PaperPage or tile requests drawn
        self._paper_geometry: tuple | None = None  # (layout, size) of the paper page drawn
        self._strip_page: Page | None = None  # the page the strip's x range shows
        self._build_widgets()
        self._connect()

    # -- construction ---------------------------------------------------------------------
    def _build_widgets(self) -> None:
        w = self.window
        self.overview = OverviewBar()
        self.ruler = TimeRuler()
        self.strip = StripView()
        self.stack = QStackedWidget()
        # The area is the window's central widget for good: the ECG view lives in its stack, so
        # short records look exactly as before (overview and ruler hidden, the view filling it).
        w.takeCentralWidget()
        self.stack.addWidget(w.view)
        self.stack.addWidget(self.strip)
        self.area = QWidget()
        self.area.setObjectName("longterm_area")
        lay = QVBoxLayout(self.area)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.overview)
        lay.addWidget(self.ruler)
        lay.addWidget(self.stack, 1)
        self.overview.hide()
        self.ruler.hide()
        w.setCentralWidget(self.area)
        # The view-only shortcuts (arrows, +/-) must work wherever the focus is in the area.
        for spec_action in w.view.actions():
            self.area.addAction(spec_action)
        self.events = EventsPanel()
        self.events_dock = w.add_side_panel(self.events, "Events")
        self.events_dock.hide()
        self.paper_marks = BeatMarks(w.view.vb)
        pen = QPen(QColor(SELECTION_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.paper_selection = pg.PlotCurveItem(pen=pen)
        self.paper_selection.setZValue(40)
        self.paper_selection.hide()
        w.view.vb.addItem(self.paper_selection, ignoreBounds=True)
        self.page_combo = QComboBox()
        self.page_combo.setObjectName("page_size_combo")
        for size in PAGE_SIZES_S:
            self.page_combo.addItem(page_size_label(size), size)
        self.page_combo.setToolTip("Length of the page shown (+/- change it)")
        self.page_label = QLabel("")
        self.page_label.setMinimumWidth(280)
        a = w.actions_by_name
        self.toolbar = QToolBar("Long-term record", w)
        self.toolbar.setObjectName("longterm_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addAction(a["page_prev"])
        self.toolbar.addWidget(self.page_combo)
        self.toolbar.addAction(a["page_next"])
        self.toolbar.addWidget(self.page_label)
        self.toolbar.addSeparator()
        self.toolbar.addAction(a["analyze_beats"])
        w.addToolBarBreak()
        w.addToolBar(self.toolbar)
        self.toolbar.hide()
        self.pyramid_task = TaskIndicator("Indexing")
        self.pyramid_task.setToolTip("Building the min/max pyramid that draws long pages quickly")
        self.beat_task = TaskIndicator("Beats", cancellable=True)
        self.beat_task.setToolTip("Detecting and classifying every beat of the record")
        w.statusBar().addPermanentWidget(self.pyramid_task)
        w.statusBar().addPermanentWidget(self.beat_task)
        self._pages = WorkerChannel(self)
        self._pyramid = WorkerChannel(self)
        self._beats = WorkerChannel(self)

    def _connect(self) -> None:
        w, a = self.window, self.window.actions_by_name
        self._pages.progress.connect(self._on_page_result)
        self._pages.errored.connect(self._on_page_error)
        self._pyramid.progress.connect(self.pyramid_task.set_fraction)
        self._pyramid.finished.connect(self._on_pyramid)
        self._pyramid.errored.connect(self._on_pyramid_error)
        self._beats.progress.connect(self.beat_task.set_fraction)
        self._beats.finished.connect(self._on_beats)
        self._beats.errored.connect(self._on_beats_error)
        self.beat_task.cancelRequested.connect(self.cancel_beats)
        for channel in (self._pyramid, self._beats):
            channel.busy.connect(lambda busy: None if busy or self.is_busy else self.idle.emit())
        self.overview.jumpRequested.connect(self.centre_on)
        self.events.eventActivated.connect(self.show_event)
        self.events.jumpRequested.connect(self.centre_on)
        self.strip.zoomRequested.connect(self._on_wheel)
        self.strip.panned.connect(self._on_strip_panned)
        self.strip.cursorMoved.connect(self._on_strip_cursor)
        w.view.vb.sigXRangeChanged.connect(self._update_ruler)
        self.page_combo.currentIndexChanged.connect(
            lambda i: self.set_page_size(float(self.page_combo.itemData(i)))
        )
        a["page_end"].triggered.connect(self.go_end)
        a["analyze_beats"].triggered.connect(self.analyze_beats)
        a["cancel_beats"].triggered.connect(self.cancel_beats)
        for size in PAGE_SIZES_S:
            a[f"page_size_{size:g}"].triggered.connect(lambda _=False, s=size: self.set_page_size(s))
        a["show_events"].setChecked(True)
        a["show_events"].toggled.connect(self._toggle_events)
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
        """True while the pyramid or the beat pass runs."""
        return self._pyramid.is_busy or self._beats.is_busy

    @property
    def reading_pages(self) -> bool:
        """True while pages or envelopes (the one shown or prefetched neighbours) are being read."""
        return self._pages.is_busy

    @property
    def beats_running(self) -> bool:
        """True while the beat pass runs."""
        return self._beats.is_busy

    @property
    def showing_paper(self) -> bool:
        """True when the page is drawn on the ECG paper view (else on the strip)."""
        return self._active and self.stack.currentWidget() is self.window.view

    def drawn_page(self) -> Page | None:
        """The page whose data is on screen (lags :attr:`page` while its data are read)."""
        if isinstance(self._drawn, PaperPage):
            req = self._drawn.request
            return Page(req.start, req.stop, self.pager.fs_hz, self.pager.size_s) if self.pager else None
        return self._strip_page if self._drawn is not None else None

    # -- entering and leaving ----------------------------------------------------------------
    def show_long(self, opened: LongOpened) -> None:
        """Show a newly opened long record (called by the window with :func:`open_job`'s result)."""
        self._reset()
        rec = self.record = opened.record
        self.pyramid = opened.pyramid
        self.pager = Pager(rec.n_samples, rec.fs_hz, PAGE_SIZES_S[0])
        self._enter()
        self.overview.set_record(rec.duration_s, rec.start_time)
        self.ruler.set_start_time(rec.start_time)
        self.strip.set_start_time(rec.start_time)
        self._set_strip_leads()
        self.events.set_result(None, rec.start_time, rec.duration_s)
        self._paper_cache.put(opened.first_page.request, opened.first_page)
        self._show_page()
        w = self.window
        self._show_info()
        w.note_opened(opened.path, f"{format_duration(rec.duration_s)}, long-term view")
        w.schedule_record_shown(opened.first_page.record)
        if self.pyramid is None:
            self.pyramid_task.start("Indexing")
            self._pyramid.submit(pyramid_job, rec)
        else:
            self.pyramidReady.emit(self.pyramid)
        if self.auto_beats:
            self.analyze_beats()

    def _enter(self) -> None:
        if self._active:
            return
        w = self.window
        self._active = True
        self.overview.show()
        self.toolbar.show()
        if w.actions_by_name["show_events"].isChecked():
            self.events_dock.show()
            self._size_events_dock()
        self.paper_marks.set_visible(True)
        self._sync_actions()
        w.view.setFocus()
        self.activeChanged.emit(True)

    def _size_events_dock(self) -> None:
        """The events dock gets most of the right-hand column (the other panels are about the page)."""
        w = self.window
        right = Qt.DockWidgetArea.RightDockWidgetArea
        others = [
            d
            for d in w.findChildren(QDockWidget)
            if d is not self.events_dock
            and d.isVisible()
            and not d.isFloating()
            and w.dockWidgetArea(d) == right
        ]
        if others:
            share = [40 // len(others)] * len(others)
            w.resizeDocks([*others, self.events_dock], [*share, 60], Qt.Orientation.Vertical)

    def leave(self) -> None:
        """Back to the ordinary view (a short record was opened)."""
        if not self._active:
            return
        self._reset()
        w = self.window
        self._active = False
        self.stack.setCurrentWidget(w.view)
        self.overview.hide()
        self.ruler.hide()
        self.toolbar.hide()
        self.events_dock.hide()
        self.paper_marks.set_visible(False)
        self.paper_selection.hide()
        self._sync_actions()
        w.view.setFocus()
        self.activeChanged.emit(False)

    def _reset(self) -> None:
        """Forget the open record: stop its passes, drop its caches."""
        for channel in (self._pages, self._pyramid, self._beats):
            channel.cancel()
        self.pyramid_task.stop()
        self.beat_task.stop()
        # The record is not closed here: a cancelled job may still be inside a read (cancellation is
        # cooperative), and the lazy sources hold no file open between reads anyway.
        self.record = self.pyramid = self.beats = None
        self.beats_note = ""
        self.selected_sample = None
        self._paper_cache.clear()
        self._tile_cache.clear()
        self._drawn = self._paper_geometry = self._strip_page = None
        self.overview.set_beats(None)
        self.paper_marks.clear()
        self.strip.marks.clear()
        self.strip.set_selected(None)
        self.paper_selection.hide()

    def shutdown(self) -> None:
        """Stop every background job (window closing)."""
        for channel in (self._pages, self._pyramid, self._beats):
            channel.cancel()

    def _sync_actions(self) -> None:
        a = self.window.actions_by_name
        for size in PAGE_SIZES_S:
            act = a[f"page_size_{size:g}"]
            act.setEnabled(self._active)
            act.setChecked(self._active and self.pager is not None and self.pager.size_s == size)
        a["page_end"].setEnabled(self._active)
        a["analyze_beats"].setEnabled(self._active and not self._beats.is_busy)
        a["cancel_beats"].setEnabled(self._active and self._beats.is_busy)
        a["show_events"].setEnabled(self._active)
        if self.pager is not None:
            index = self.page_combo.findData(self.pager.size_s)
            if index >= 0 and index != self.page_combo.currentIndex():
                self.page_combo.blockSignals(True)
                self.page_combo.setCurrentIndex(index)
                self.page_combo.blockSignals(False)

    # -- navigation -------------------------------------------------------------------------
    def step(self, pages: float) -> None:
        """Move by ``pages`` pages (PgDown: +1, PgUp: -1, Right/Left: +-:data:`PAN_FRACTION`)."""
        if self.pager is not None and self.pager.step(pages):
            self._show_page()

    def go_start(self) -> None:
        """First page (Home)."""
        if self.pager is not None and self.pager.go_start():
            self._show_page()

    def reset_view(self) -> None:
        """Home: the first page, drawn afresh (paper zoom reset)."""
        if self.pager is None:
            return
        self.pager.go_start()
        self._paper_geometry = None
        self._strip_page = None
        self._show_page()

    def go_end(self) -> None:
        """Last page (End)."""
        if self._active and self.pager is not None and self.pager.go_end():
            self._show_page()

    def centre_on(self, t_s: float) -> None:
        """Centre the page on record second ``t_s`` (overview and tachogram clicks)."""
        if self._active and self.pager is not None and self.pager.centre_on(t_s):
            self._show_page()

    def set_page_size(
        self, size_s: float, anchor_s: float | None = None, anchor_fraction: float = 0.5
    ) -> None:
        """Show pages of ``size_s`` seconds, keeping ``anchor_s`` (default: the page centre) in place."""
        if not self._active or self.pager is None:
            return
        if self.pager.set_size(size_s, anchor_s, anchor_fraction):
            self._show_page()
        else:
            self._sync_actions()

    def zoom(self, factor: float) -> None:
        """``+`` (factor > 1): the next shorter page size; ``-``: the next longer one."""
        if self.pager is not None:
            self.set_page_size(neighbour_size(self.pager.size_s, -1 if factor > 1 else 1))

    def show_event(self, event) -> None:
        """Centre the page on an event's beat and mark it."""
        if not self._active or self.pager is None:
            return
        sample = int(event.start)
        beats = self.beats
        if beats is not None and 0 <= getattr(event, "beat", -1) < len(beats.r_peaks):
            sample = int(beats.r_peaks[event.beat])
        self.selected_sample = sample
        self.pager.centre_on(sample / self.pager.fs_hz)
        self._show_page()

    def _on_wheel(self, steps: int, anchor_s: float, fraction: float) -> None:
        if self.pager is not None:
            self.set_page_size(neighbour_size(self.pager.size_s, steps), anchor_s, fraction)

    def _on_strip_panned(self, start_s: float, finished: bool) -> None:
        if self.pager is None or self.showing_paper:
            return
        self.pager.go_time(start_s)
        page = self.pager.page
        if finished:
            self._strip_page = None  # snap the range to the clamped page
        else:
            self._strip_page = page
        self._show_page()

    # -- drawing ----------------------------------------------------------------------------
    def _show_page(self) -> None:
        """Draw the current page from the caches, or ask the worker for what is missing."""
        if not self._active or self.pager is None or self.record is None:
            return
        page = self.pager.page
        self._update_furniture(page)
        if page.is_paper:
            wanted = self._paper_wanted(page)
        else:
            wanted = self._tiles_wanted(page)
        if wanted:
            self._pages.submit(page_job, self.record, self.pyramid, wanted)

    def _paper_request(self, start: int, page: Page) -> PaperRequest:
        stop = min(self.pager.n_samples, start + round(page.size_s * page.fs_hz))
        return PaperRequest(start, stop, self.window.filters_hz)

    def _paper_wanted(self, page: Page) -> list[PaperRequest]:
        req = self._paper_request(page.start, page)
        wanted = []
        hit = self._paper_cache.get(req)
        if hit is not None:
            self._draw_paper(hit)
        else:
            wanted.append(req)
        n = round(page.size_s * page.fs_hz)
        for start in (page.start + n, page.start - n):
            if 0 <= start < self.pager.n_samples:
                neighbour = self._paper_request(min(start, self.pager.last_start), page)
                if neighbour not in self._paper_cache:
                    wanted.append(neighbour)
        return wanted

    def _tile_request(self, index: int, page: Page) -> TileRequest:
        return TileRequest(
            index,
            page.tile_length(),
            tile_bins(self.stack.width()),
            self.strip.leads,
            self.pyramid is not None,
        )

    def _tiles_wanted(self, page: Page) -> list[TileRequest]:
        needed = [self._tile_request(k, page) for k in page.tiles()]
        missing = [r for r in needed if r not in self._tile_cache]
        if not missing:
            self._draw_strip(page, [self._tile_cache.get(r) for r in needed])
        last = math.ceil(self.pager.n_samples / page.tile_length()) - 1
        around = [needed[0].index - 1, needed[-1].index + 1]
        prefetch = [self._tile_request(k, page) for k in around if 0 <= k <= last]
        return missing + [r for r in prefetch if r not in self._tile_cache]

    def _on_page_result(self, result: object) -> None:
        if self.pager is None:
            return
        page = self.pager.page
        if isinstance(result, PaperPage):
            self._paper_cache.put(result.request, result)
            if page.is_paper and result.request == self._paper_request(page.start, page):
                self._draw_paper(result)
        elif isinstance(result, Tile):
            self._tile_cache.put(result.request, result)
            if not page.is_paper:
                needed = [self._tile_request(k, page) for k in page.tiles()]
                if result.request in needed and all(r in self._tile_cache for r in needed):
                    self._draw_strip(page, [self._tile_cache.get(r) for r in needed])

    def _on_page_error(self, exc: BaseException) -> None:
        self.window.statusBar().showMessage(f"Cannot read this page: {exc}", 8000)

    @property
    def folded(self) -> bool:
        """True when the paper page shows the rhythm lead folded into 10 s lines (30 s and 1 min pages)."""
        return self.showing_paper and self.pager is not None and self.pager.size_s > LAYOUT_PAGE_MAX_S

    def rhythm_lead(self) -> str:
        """The lead of folded pages: the one the beats are detected on (II when recorded)."""
        return rhythm_lead(self.record)

    def _shown_record(self, pp: PaperPage, page: Page) -> tuple[EcgRecord, str]:
        """What the paper view draws for ``pp``, and in which layout."""
        w = self.window
        if page.size_s <= LAYOUT_PAGE_MAX_S:
            return pp.display, w.layout_name
        lead = self.rhythm_lead()
        start_time, offset = self.record.start_time, pp.request.start / self.record.fs_hz
        n_lines = max(1, math.ceil(round(page.size_s * page.fs_hz) / round(FOLD_LINE_S * page.fs_hz)))
        names = [f"{lead}  {format_clock(start_time, offset + k * FOLD_LINE_S)}" for k in range(n_lines)]
        return fold_lead(pp.display, lead, FOLD_LINE_S, names), "12x1"

    def _draw_paper(self, pp: PaperPage) -> None:
        w, page = self.window, self.pager.page
        shown, layout = self._shown_record(pp, page)
        geometry = (layout, page.size_s, w.speed_mm_per_s, w.gain_mm_per_mv)
        keep_view = geometry == self._paper_geometry and self.stack.currentWidget() is w.view
        self.stack.setCurrentWidget(w.view)
        self.ruler.setVisible(page.size_s <= LAYOUT_PAGE_MAX_S)
        if not (keep_view and self._refill_paper(shown)):
            w.view.show_record(
                shown, layout, w.speed_mm_per_s, w.gain_mm_per_mv, page_start_s=0.0, reset_view=False
            )
            if not keep_view:
                w.view.reset_view()
        self._paper_geometry = geometry
        self._drawn = pp
        w.set_page_record(pp.record, pp.display)
        controller = w.analysis.controller
        if controller.record is not None and controller.record is not pp.record:
            controller.clear()
        self._mark_paper()
        self._update_ruler()
        w.displayChanged.emit()
        self.pageShown.emit(self.drawn_page())

    def _refill_paper(self, shown: EcgRecord) -> bool:
        """Put the samples of ``shown`` into the curves already on the paper (same layout and page
        length: only the samples differ), instead of rebuilding the view's items -- which is most
        of the cost of a page step. False when the drawing does not fit ``shown``."""
        view = self.window.view
        curves = view.curves()
        if not curves or view.layout is None:
            return False
        fs, updates = shown.fs_hz, []
        for seg, curve in curves:
            name = shown.lead_names[seg.row] if self.folded else seg.lead
            i0, i1 = round(seg.t_start_s * fs), min(shown.n_samples, round(seg.t_stop_s * fs))
            x = curve.xData
            if x is None or not shown.has_lead(name) or i1 - i0 != x.size:
                return False
            data = shown.lead(name, i0, i1)
            # the arithmetic of EcgView._rebuild: paper mm from the segment's scale and baseline
            scale, offset, base = (
                np.float32(v) for v in (seg.scale_mm_per_unit, seg.offset, seg.baseline_mm)
            )
            updates.append((curve, x, (data - offset) * scale + base))
        for curve, x, y in updates:
            finite = bool(np.isfinite(y).all())
            curve.setData(x, y, connect="all" if finite else "finite", skipFiniteCheck=finite)
        if self.folded:  # the line labels carry their clock time
            for (row, _col), label in view.labels().items():
                label.setText(shown.lead_names[row])
        return True

    def _draw_strip(self, page: Page, tiles: list[Tile]) -> None:
        w = self.window
        self.stack.setCurrentWidget(self.strip)
        self.ruler.hide()
        if self._strip_page != page:
            self.strip.set_range(page.start_s, page.stop_s)
        self._strip_page = page
        self.strip.set_tiles(tiles)
        self._drawn = tuple(t.request for t in tiles)
        w.set_page_record(None, None)
        self._paper_geometry = None
        self._mark_strip()
        self.pageShown.emit(page)

    def redraw(self) -> None:
        """Draw the current page again (layout, speed, gain or filters changed)."""
        if not self._active:
            return
        self._paper_geometry = None
        self._set_strip_leads()
        self._strip_page = None
        self._show_page()

    def set_filters(self) -> None:
        """The display filters changed: paper pages are read again with them (strips are unfiltered)."""
        self._show_info()
        self.redraw()

    def _show_info(self) -> None:
        from ecgviewer.gui.info_panel import record_info_html

        panel = self.window.info_panel
        panel.info = long_record_info(self.record)
        panel.setHtml(record_info_html(panel.info, self.window.filters_text()))

    def _set_strip_leads(self) -> None:
        rec = self.record
        if rec is None:
            return
        self.strip.set_gain(self.window.gain_mm_per_mv)
        if rec.display_leads != self.strip.leads:
            self.strip.set_leads(rec.display_leads, [rec.unit_of(n) for n in rec.display_leads])

    def _update_furniture(self, page: Page) -> None:
        rec = self.record
        start = format_clock(rec.start_time, page.start_s)
        stop = format_clock(rec.start_time, page.stop_s)
        self.page_label.setText(f"  {start} – {stop}   of {format_duration(rec.duration_s)}")
        self.overview.set_page(page.start_s, page.stop_s)
        self.events.set_page(page.start_s, page.stop_s)
        self._sync_actions()

    def _update_ruler(self, *_args) -> None:
        view = self.window.view
        drawn = self._drawn
        if not self.showing_paper or self.folded or view.layout is None or not isinstance(drawn, PaperPage):
            return
        offset = drawn.request.start / self.record.fs_hz
        x0, x1 = view.vb.viewRange()[0]
        lay = view.layout
        stop = offset + drawn.record.duration_s
        self.ruler.set_span(offset + lay.time_at(x0), offset + lay.time_at(x1), (offset, stop))

    # -- beat marks -------------------------------------------------------------------------
    def _beats_in(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        beats = self.beats
        if beats is None:
            return np.zeros(0, np.int64), np.zeros(0, "<U1")
        r = np.asarray(beats.r_peaks)
        i0, i1 = np.searchsorted(r, [start, stop])
        return r[i0:i1], np.asarray(beats.labels)[i0:i1]

    def _paper_xy(self, t_rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Paper x and the row of page times ``t_rel`` (s from the page start) in the drawn layout."""
        lay = self.window.view.layout
        if self.folded:
            line = np.floor(t_rel / FOLD_LINE_S).astype(np.int64)
            return lay.x0_mm + (t_rel - line * FOLD_LINE_S) * lay.speed_mm_per_s, line
        row = lay.n_rows - 1 if lay.name == "3x4" else 0  # above the rhythm strip / the top row
        return np.asarray(lay.x_at(t_rel), dtype=np.float64), np.full(np.shape(t_rel), row, dtype=np.int64)

    def _mark_paper(self) -> None:
        view, pp = self.window.view, self._drawn
        lay = view.layout
        if lay is None or not isinstance(pp, PaperPage):
            return
        start, fs = pp.request.start, self.record.fs_hz
        r, labels = self._beats_in(start, start + pp.record.n_samples)
        x, rows = self._paper_xy((r - start) / fs)
        # on the upper edge of the row, where only the tallest R waves reach
        self.paper_marks.set_marks(
            x, labels, -rows * lay.row_height_mm + MARK_ROW_FRACTION * lay.row_height_mm
        )
        sel = self.selected_sample
        if sel is not None and start <= sel < start + pp.record.n_samples:
            (xs,), (row,) = self._paper_xy(np.array([(sel - start) / fs]))
            if self.folded:
                y0, y1 = (
                    lay.baseline_mm(row) - 0.5 * lay.row_height_mm,
                    lay.baseline_mm(row) + 0.5 * lay.row_height_mm,
                )
            else:
                _, bottom, _, height = lay.paper_rect
                y0, y1 = bottom, bottom + height
            self.paper_selection.setData([xs, xs], [y0, y1])
            self.paper_selection.show()
        else:
            self.paper_selection.hide()

    def _mark_strip(self) -> None:
        if self.record is None or self.pager is None:
            return
        fs = self.record.fs_hz
        tiles = self.strip.tiles()
        if tiles:
            r, labels = self._beats_in(tiles[0].start, tiles[-1].stop)
            self.strip.set_beats(r / fs, labels)
        sel = self.selected_sample
        self.strip.set_selected(None if sel is None else sel / fs)

    # -- pyramid ------------------------------------------------------------------------------
    def _on_pyramid(self, pyramid) -> None:
        self.pyramid_task.stop()
        if pyramid is None or self.record is None:
            return
        self.pyramid = pyramid
        self._tile_cache.clear()
        self.pyramidReady.emit(pyramid)
        if self.pager is not None and not self.pager.page.is_paper:
            self._show_page()

    def _on_pyramid_error(self, exc: BaseException) -> None:
        self.pyramid_task.stop()
        self.window.statusBar().showMessage(f"Could not index the record (long pages read raw): {exc}", 8000)

    # -- beat pass ------------------------------------------------------------------------------
    def analyze_beats(self) -> None:
        """Run the beat pass over the whole record in the background (progress, Cancel in the status bar)."""
        if self.record is None or not self._active:
            return
        self.beat_task.start("Beats")
        self.events.set_message("Analysing beats…")
        self._beats.submit(beat_pass_job, self.record)
        self._sync_actions()

    def cancel_beats(self) -> None:
        """Stop the beat pass (its partial work is dropped)."""
        if self._beats.is_busy:
            self._beats.cancel()
            self.beat_task.stop()
            self.events.set_result(self.beats, *self._time_facts(), note=self._cancelled_note())
            self.window.statusBar().showMessage("Beat analysis cancelled", 4000)
            self._sync_actions()

    def _cancelled_note(self) -> str:
        return (
            "" if self.beats is not None else "Beat analysis cancelled (Tools > Analyze beats runs it again)."
        )

    def _time_facts(self):
        rec = self.record
        return (rec.start_time, rec.duration_s) if rec is not None else (None, 1.0)

    def _on_beats(self, outcome) -> None:
        self.beat_task.stop()
        self._sync_actions()
        if outcome is None or self.record is None:
            return
        result = self.beats = outcome.result
        self.beats_note = outcome.note
        self.overview.set_beats(result)
        self.events.set_result(result, *self._time_facts(), note=outcome.note)
        labels = np.asarray(result.labels)
        counts = ", ".join(f"{int((labels == c).sum()):,} {c}" for c in ("V", "F"))
        self.window.statusBar().showMessage(
            f"Beat analysis: {labels.size:,} beats ({counts}) in {outcome.seconds:.1f} s", 8000
        )
        if self.showing_paper:
            self._mark_paper()
        else:
            self._mark_strip()
        self.beatsReady.emit(result)

    def _on_beats_error(self, exc: BaseException) -> None:
        self.beat_task.stop()
        self._sync_actions()
        message = f"Beat analysis failed ({type(exc).__name__}: {exc})"
        self.events.set_message(message)
        self.window.statusBar().showMessage(message, 8000)
        self.beatsFailed.emit(message)

    # -- cursor -------------------------------------------------------------------------------
    def format_location(self, loc) -> str:
        """Crosshair readout on a paper page: lead, time of day, value."""
        if loc is None or not isinstance(self._drawn, PaperPage):
            return ""
        t = self._drawn.request.start / self.record.fs_hz + loc.t_s
        lead = loc.lead
        if self.folded:
            t += loc.row * FOLD_LINE_S
            lead = self.rhythm_lead()
        return f"{lead}   {format_clock(self.record.start_time, t, 3)}   {loc.value:+.2f} {loc.unit}"

    def _on_strip_cursor(self, payload) -> None:
        if payload is None or self.record is None:
            self.window.cursor_label.setText("")
            return
        t, lead = payload
        self.window.cursor_label.setText(f"{lead}   {format_clock(self.record.start_time, t, 2)}")

    # -- events dock ----------------------------------------------------------------------------
    def _toggle_events(self, on: bool) -> None:
        if self._active:
            self.events_dock.setVisible(on)

    def _events_visibility_changed(self, visible: bool) -> None:
        # the dock also reports being hidden while the window is destroyed
        if self._active and shiboken6.isValid(self.window) and not self.window.isHidden():
            act = self.window.actions_by_name["show_events"]
            if act.isChecked() != visible:
                act.setChecked(visible)


def install_longterm(window: MainWindow) -> LongTermUi:
    """Add the long-term mode (overview, page view, beat pass, event list) to ``window``."""
    return LongTermUi(window)
