"""View modes of the main window: what the window's view operations do for the record shown.

The window holds one mode at a time (:attr:`MainWindow.mode
<ecgviewer.gui.main_window.MainWindow.mode>`) and forwards every view
operation to it -- step, pan, zoom, reset, redraw, display filters, cursor
readout -- so it needs no knowledge of which kind of record is open:

- :class:`PaperMode`: a record read whole, drawn on the ECG paper (10 s pages
  in 3x4 and 6x2, all of it stacked in 12x1);
- :class:`~ecgviewer.gui.longterm.mode.LongTermMode`: a long record left on
  disk, shown page by page with an overview, a strip chart and a beat pass.

Modes get a :class:`ModeContext`, the few things of the window they use,
rather than the window itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal

from ecgviewer.gui.jobs import FiltersHz, ShortOpened, filter_job, filtered_record, needs_background
from ecgviewer.gui.workers import WorkerChannel
from ecgviewer.layout.paper import PAGE_S

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMainWindow

    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.caliper import Caliper
    from ecgviewer.gui.ecg_view import EcgView
    from ecgviewer.gui.info_panel import InfoPanel
    from ecgviewer.layout.paper import Location

#: The stacked layout pans by this fraction of the view (Left/Right); paged layouts too.
PAN_VIEW_FRACTION = 0.2


@dataclass(frozen=True)
class PaperSettings:
    """Layout, speed, gain and display filters in force."""

    layout: str
    speed_mm_per_s: float
    gain_mm_per_mv: float
    filters: FiltersHz


@dataclass(frozen=True)
class ModeContext:
    """What a view mode may use of the window.

    Attributes
    ----------
    host
        The ``QMainWindow`` (Qt's own API only: docks, toolbars, status bar,
        central widget).
    view, caliper, info_panel
        The ECG paper view, its caliper and the record-info panel.
    action
        ``action(name) -> QAction`` of the actions table.
    paper
        ``paper() -> PaperSettings`` now in force.
    filters_text
        ``filters_text() -> str``, the filters as shown to the user.
    set_record
        ``set_record(record, display)``: the samples on the paper changed (the
        window's :attr:`record` and :attr:`display_record`; None for pages that
        are not on paper). Results computed for another record become stale.
    opened
        ``opened(path, detail, first_record)``: a file was shown (title,
        recent files, ``recordShown`` after the next paint).
    display_changed
        The drawing was rebuilt (the window emits ``displayChanged``).
    status
        ``status(message, timeout_ms)`` in the status bar.
    set_cursor_text
        The cursor readout in the status bar.
    """

    host: QMainWindow
    view: EcgView
    caliper: Caliper
    info_panel: InfoPanel
    action: Callable[[str], QAction]
    paper: Callable[[], PaperSettings]
    filters_text: Callable[[], str]
    set_record: Callable[[EcgRecord | None, EcgRecord | None], None]
    opened: Callable[[Path | None, str, EcgRecord], None]
    display_changed: Callable[[], None]
    status: Callable[[str, int], None]
    set_cursor_text: Callable[[str], None]


class ViewMode(Protocol):
    """The operations the main window forwards to the mode shown."""

    #: True while a background pass of the mode runs (the screenshot waits for it) ...
    is_busy: bool
    #: ... and this signal says when none runs any more.
    idle: Signal

    def enter(self) -> None:
        """Become the window's mode (show the mode's widgets)."""

    def show(self, opened) -> None:
        """Show a newly opened record (the mode's kind of :func:`~ecgviewer.gui.jobs.open_job` result)."""

    def leave(self) -> None:
        """Stop being the window's mode (hide the widgets, stop the jobs, forget the record)."""

    def step(self, direction: float) -> None:
        """Next (+1) or previous (-1) page; fractions move part of a page where the mode pages."""

    def pan_time(self, direction: int) -> None:
        """Left/Right: a little earlier (-1) or later (+1)."""

    def zoom(self, factor: float) -> None:
        """Zoom in (factor > 1) or out."""

    def reset_view(self) -> None:
        """Home: the start, the whole page."""

    def redraw(self, reset_view: bool) -> None:
        """Draw again with the layout, speed and gain in force."""

    def set_filters(self) -> None:
        """The display filters changed."""

    def cursor_text(self, loc: Location | None) -> str:
        """Status-bar readout of the paper point under the mouse."""

    def shutdown(self) -> None:
        """Stop every background job (window closing)."""


def format_location(loc) -> str:
    """Crosshair readout, e.g. ``"II   t 1.234 s   0.52 mV"`` (empty outside the leads)."""
    if loc is None:
        return ""
    return f"{loc.lead}   t {loc.t_s:.3f} s   {loc.value:+.2f} {loc.unit}"


class PaperMode(QObject):
    """A record read whole on the ECG paper (the ordinary view)."""

    #: Never emitted: the paper mode runs no background pass (filtering is not waited for).
    idle = Signal()
    is_busy = False

    def __init__(self, ctx: ModeContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.record: EcgRecord | None = None
        self.display: EcgRecord | None = None
        self._filterer = WorkerChannel(self)
        self._filterer.finished.connect(self._on_filtered)
        self._filterer.errored.connect(lambda exc: ctx.status(f"Filtering failed: {exc}", 6000))

    # -- entering and leaving -----------------------------------------------------------------
    def enter(self) -> None:
        self.ctx.view.setFocus()

    def leave(self) -> None:
        self._filterer.cancel()
        self.record = self.display = None

    def show(self, opened: ShortOpened) -> None:
        """Show a record read whole (:func:`~ecgviewer.gui.jobs.open_job`'s short result)."""
        ctx, p = self.ctx, self.ctx.paper()
        self.record, self.display = opened.record, opened.display
        ctx.caliper.clear()
        ctx.view.show_record(opened.display, p.layout, p.speed_mm_per_s, p.gain_mm_per_mv, page_start_s=0.0)
        ctx.set_record(self.record, self.display)
        self._show_info()
        ctx.opened(opened.record.source_path, "", opened.record)
        if opened.filters != p.filters:
            self.set_filters()

    def _show_info(self) -> None:
        self.ctx.info_panel.set_record(self.record, self.ctx.filters_text())

    # -- view operations ------------------------------------------------------------------------
    def step(self, direction: float) -> None:
        """3x4 and 6x2: the next or previous 10 s page; 12x1: a pan by 10 s."""
        view = self.ctx.view
        if view.paged:
            before = view.page_start_s
            view.set_page(before + PAGE_S * direction)
            if view.page_start_s != before:
                self.ctx.caliper.clear()
                self.ctx.display_changed()
        else:
            view.vb.translateBy(x=PAGE_S * self.ctx.paper().speed_mm_per_s * direction)

    def pan_time(self, direction: int) -> None:
        self.ctx.view.pan(PAN_VIEW_FRACTION * direction, 0)

    def zoom(self, factor: float) -> None:
        self.ctx.view.zoom(factor)

    def reset_view(self) -> None:
        self.ctx.view.reset_view()

    def redraw(self, reset_view: bool) -> None:
        p = self.ctx.paper()
        self.ctx.view.show_record(
            self.display, p.layout, p.speed_mm_per_s, p.gain_mm_per_mv, reset_view=reset_view
        )

    def set_filters(self) -> None:
        """Filter the record for display (records with many samples on a worker thread)."""
        rec, filters = self.record, self.ctx.paper().filters
        if rec is None:
            return
        if needs_background(rec):
            self.ctx.status("Filtering…", 0)
            self._filterer.submit(filter_job, rec, filters)
        else:
            self._filterer.cancel()
            self._on_filtered((rec, filters, filtered_record(rec, filters)))

    def _on_filtered(self, result) -> None:
        record, filters, display = result
        if record is not self.record or filters != self.ctx.paper().filters:
            return
        self.display = display
        self.ctx.host.statusBar().clearMessage()
        self.ctx.view.show_record(display, reset_view=False)
        self.ctx.set_record(self.record, self.display)
        self._show_info()
        self.ctx.display_changed()

    def cursor_text(self, loc) -> str:
        return format_location(loc)

    def shutdown(self) -> None:
        self._filterer.cancel()
