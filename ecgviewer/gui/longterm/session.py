"""What the user does with an open long record: navigation, beat pass, marks, readouts, action states.

:class:`LongTermSession` is the part of :class:`~ecgviewer.gui.longterm.mode.LongTermMode`
that moves through the record and handles the background passes' results; it
works on the mode's state (``pager``, ``record``, ``beats``, the widgets) and
redraws through its ``_show_page``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shiboken6

from ecgviewer.gui.longterm.clock import format_clock, format_duration
from ecgviewer.gui.longterm.jobs import FOLD_LINE_S
from ecgviewer.gui.longterm.paging import PAGE_SIZES_S, neighbour_size

if TYPE_CHECKING:
    from ecgviewer.gui.longterm.paging import Page


class LongTermSession:
    """Navigation, beat pass and action states of the long-term mode (a mixin of ``LongTermMode``)."""

    # -- navigation -------------------------------------------------------------------------
    def step(self, pages: float) -> None:
        """Move by ``pages`` pages (PgDown: +1, PgUp: -1, Right/Left: +-``pan_fraction``)."""
        if self.pager is not None and self.pager.step(pages):
            self._show_page()

    def pan_time(self, direction: int) -> None:
        """Left/Right: a quarter page earlier or later."""
        self.step(direction * self.pan_fraction)

    def go_start(self) -> None:
        """First page."""
        if self.pager is not None and self.pager.go_start():
            self._show_page()

    def reset_view(self) -> None:
        """Home: the first page, drawn afresh (paper zoom reset)."""
        if self.pager is None:
            return
        self.pager.go_start()
        self.painter.forget_geometry()
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
        # while dragging the strip keeps its range; at the end it snaps to the clamped page
        self._strip_page = None if finished else self.pager.page
        self._show_page()

    # -- pyramid and beat pass ------------------------------------------------------------------
    def _on_pyramid(self, pyramid) -> None:
        if pyramid is None or self.record is None:
            return
        self.pyramid = pyramid
        self.fetcher.tile_cache.clear()
        self.pyramidReady.emit(pyramid)
        if self.pager is not None and not self.pager.page.is_paper:
            self._show_page()

    def analyze_beats(self) -> None:
        """Run the beat pass over the whole record in the background (progress, Cancel in the status bar)."""
        if self.record is None or not self._active:
            return
        self.events.set_message("Analysing beats…")
        self.passes.run_beats(self.record)
        self._sync_actions()

    def cancel_beats(self) -> None:
        """Stop the beat pass (its partial work is dropped)."""
        if self.passes.cancel_beats():
            note = (
                ""
                if self.beats is not None
                else "Beat analysis cancelled (Tools > Analyze beats runs it again)."
            )
            self.events.set_result(self.beats, *self._time_facts(), note=note)
            self.ctx.status("Beat analysis cancelled", 4000)
            self._sync_actions()

    def _time_facts(self):
        rec = self.record
        return (rec.start_time, rec.duration_s) if rec is not None else (None, 1.0)

    def _on_beats(self, outcome) -> None:
        self._sync_actions()
        if outcome is None or self.record is None:
            return
        result = self.beats = outcome.result
        self.beats_note = outcome.note
        self.overview.set_beats(result)
        self.events.set_result(result, *self._time_facts(), note=outcome.note)
        labels = np.asarray(result.labels)
        counts = ", ".join(f"{int((labels == c).sum()):,} {c}" for c in ("S", "V", "F"))
        self.ctx.status(f"Beat analysis: {labels.size:,} beats ({counts}) in {outcome.seconds:.1f} s", 8000)
        self._mark()
        self.boundaries.clear()  # the pages are delineated again at the pass's beats
        if self.showing_paper:
            self._show_boundaries()
        self.beatsReady.emit(result)

    def set_beats(self, result) -> None:
        """Show another beat list of the open record (the over-read's): overview, events, tachogram, marks."""
        if self.record is None or result is None:
            return
        self.beats = result
        self.overview.set_beats(result)
        self.events.set_result(result, *self._time_facts(), note=self.beats_note)
        self._mark()

    def _on_beats_error(self, exc: BaseException) -> None:
        self._sync_actions()
        message = f"Beat analysis failed ({type(exc).__name__}: {exc})"
        self.events.set_message(message)
        self.ctx.status(message, 8000)
        self.beatsFailed.emit(message)

    # -- page furniture and beat marks ------------------------------------------------------------
    def _set_strip_leads(self) -> None:
        rec = self.record
        if rec is None:
            return
        self.strip.set_gain(self.ctx.paper().gain_mm_per_mv)
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

    def _beats_in(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        beats = self.beats
        if beats is None:
            return np.zeros(0, np.int64), np.zeros(0, "<U1")
        r = np.asarray(beats.r_peaks)
        i0, i1 = np.searchsorted(r, [start, stop])
        return r[i0:i1], np.asarray(beats.labels)[i0:i1]

    def _delineation_models(self):
        """``(model set, delineator, device)`` of the window's analysis, None when its delineation is off."""
        controller = getattr(getattr(self.ctx.host, "analysis", None), "controller", None)
        if controller is None:
            return None
        options = controller.options()
        return None if options.delineator is None else (controller.models, options.delineator, options.device)

    def _show_boundaries(self) -> None:
        """Wave boundaries on the paper page drawn (kept, or delineated in the background)."""
        pp = self.painter.drawn
        if pp is None or not self.showing_paper:
            self.boundaries.leave()
            return
        start = pp.request.start
        stop = start + pp.record.n_samples
        r = None if self.beats is None else self._beats_in(start, stop)[0] - start
        self.boundaries.show((start, stop), pp.record, r, FOLD_LINE_S if self.painter.folded else None)

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

    def _mark(self) -> None:
        if self.showing_paper:
            self.painter.mark(self._beats_in, self.selected_sample)
        else:
            self._mark_strip()

    # -- cursor and events dock -------------------------------------------------------------------
    def cursor_text(self, loc) -> str:
        """Crosshair readout on a paper page: lead, time of day, value."""
        return self.painter.cursor_text(loc) if self.showing_paper else ""

    def _on_strip_cursor(self, payload) -> None:
        if payload is None or self.record is None:
            self.ctx.set_cursor_text("")
            return
        t, lead = payload
        self.ctx.set_cursor_text(f"{lead}   {format_clock(self.record.start_time, t, 2)}")

    def show_events_panel(self, on: bool) -> None:
        """View > Events panel (only while a long record is shown)."""
        if self._active:
            self.events_dock.setVisible(on)

    def _events_visibility_changed(self, visible: bool) -> None:
        # the dock also reports being hidden while the window is destroyed
        host = self.ctx.host
        if self._active and shiboken6.isValid(host) and not host.isHidden():
            # behind another tab of its group (Classification) the dock is not closed: only
            # an explicit hide (its close button, View > Events panel) unchecks the action
            visible = not self.events_dock.isHidden()
            act = self.ctx.action("show_events")
            if act.isChecked() != visible:
                act.setChecked(visible)

    # -- record info and actions --------------------------------------------------------------------
    def _show_info(self) -> None:
        from ecgviewer.gui.info_panel import record_info_html
        from ecgviewer.gui.longterm.jobs import long_record_info

        panel = self.ctx.info_panel
        panel.info = long_record_info(self.record)
        panel.setHtml(record_info_html(panel.info, self.ctx.filters_text()))

    def _sync_actions(self) -> None:
        action, active = self.ctx.action, self._active
        for size in PAGE_SIZES_S:
            act = action(f"page_size_{size:g}")
            act.setEnabled(active)
            act.setChecked(active and self.pager is not None and self.pager.size_s == size)
        action("page_end").setEnabled(active)
        action("analyze_beats").setEnabled(active and not self.passes.beats_running)
        action("cancel_beats").setEnabled(active and self.passes.beats_running)
        action("show_events").setEnabled(active)
        if self.pager is not None:
            index = self.page_combo.findData(self.pager.size_s)
            if index >= 0 and index != self.page_combo.currentIndex():
                self.page_combo.blockSignals(True)
                self.page_combo.setCurrentIndex(index)
                self.page_combo.blockSignals(False)
