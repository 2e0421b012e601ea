"""Beat edits in the viewer: relabel, delete, add at the pointer, ranges, artefact stretches.

:class:`BeatEditor` turns the reader's beat actions into edits of
:mod:`ecgviewer.core.overread` for the record shown -- a short record (its beats are the
delineation's R peaks; they have no class until the reader gives one) or a long record in the
long-term view (the beat pass's beats and classes):

* **choosing beats**: a click on the paper chooses the nearest beat, Shift+click a range from it
  to the click (shaded); in the beat table, rows selected with Shift/Ctrl are the range;
* **relabel** the chosen beats (N, S, V, F, Q, artefact), **delete** them, **add** a beat at the
  pointer (at the largest deflection within :data:`SNAP_MS` of it, on the lead under the pointer),
  **relabel all beats of one class** in the range, **mark the range as artefact**
  (:class:`~ecgviewer.core.overread.ArtefactSpan`: every beat in it is left out of every measurement).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ecgviewer.gui.longterm.jobs import FOLD_LINE_S

if TYPE_CHECKING:
    from ecgviewer.gui.main_window import MainWindow
    from ecgviewer.gui.overread.ui import OverReadUi

#: An added beat goes to the largest deflection this close to the pointer (ms).
SNAP_MS = 60.0
#: A click chooses the nearest beat within this distance (s).
CLICK_BEAT_S = 0.6
#: "Mark as artefact" covers the chosen beats and this much (s) each side (at most half-way to the next).
ARTEFACT_MARGIN_S = 0.3
RANGE_COLOR = QColor(230, 81, 0, 35)
#: Artefact stretches on the paper: grey, hatched.
ARTEFACT_COLOR = QColor(90, 90, 90, 70)


#: The artefact label (:data:`ecgviewer.core.overread.ARTEFACT`).
ARTEFACT = "|"


def label_name(label: str) -> str:
    return "artefact" if label == ARTEFACT else label


class BeatEditor(QObject):
    """The reader's beat actions on the record shown (see the module)."""

    def __init__(self, window: MainWindow, ui: OverReadUi) -> None:
        super().__init__(ui)
        self.window = window
        self.ui = ui
        #: R-peak samples chosen (record samples), and the range ``[start, stop)`` in samples.
        self.chosen: list[int] = []
        self.range: tuple[int, int] | None = None
        self.anchor: int | None = None  # the beat a Shift+click range starts at
        self.pointer = None  # the Location under the mouse
        self.band = QGraphicsRectItem()
        self.band.setBrush(QBrush(RANGE_COLOR))
        self.band.setPen(QPen(Qt.PenStyle.NoPen))
        self.band.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.band.setZValue(-40)
        self.band.hide()
        window.view.vb.addItem(self.band, ignoreBounds=True)
        self.span_items: list[QGraphicsRectItem] = []
        window.view.cursorMoved.connect(self._on_cursor)

    # -- the beats shown ------------------------------------------------------------------------
    @property
    def long(self) -> bool:
        return self.window.mode is self.window.longterm

    def beats(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """``(samples, labels, fs)`` of the beats after the over-read (short: '' = no class)."""
        if self.long:
            b = self.window.longterm.beats
            return None if b is None else (np.asarray(b.r_peaks), np.asarray(b.labels), float(b.fs_hz))
        eb = self.ui.short_beats()
        if eb is None:
            return None
        return eb.samples, eb.labels, eb.fs_hz

    def record_sample(self, loc) -> int | None:
        """Record sample of a paper location (long records: page start and folded line added)."""
        rec = self.window.record
        if loc is None or rec is None:
            return None
        if not self.long:
            return round(loc.t_s * rec.fs_hz)
        lt = self.window.longterm
        pp = lt.painter.drawn
        if pp is None:
            return None
        t = loc.t_s + (loc.row * FOLD_LINE_S if lt.painter.folded else 0.0)
        return int(pp.request.start) + round(t * rec.fs_hz)

    def _page_offset(self) -> int:
        if not self.long:
            return 0
        pp = self.window.longterm.painter.drawn
        return 0 if pp is None else int(pp.request.start)

    # -- choosing --------------------------------------------------------------------------------
    def _on_cursor(self, payload) -> None:
        self.pointer = None if payload is None else payload[2]

    def on_click(self, loc, shift: bool) -> None:
        """A click on the paper: choose the nearest beat, or (Shift) a range to it."""
        sample = self.record_sample(loc)
        beats = self.beats()
        if sample is None or beats is None:
            return
        r, _labels, fs = beats
        near = None
        if r.size:
            i = int(np.argmin(np.abs(r - sample)))
            near = int(r[i]) if abs(int(r[i]) - sample) <= CLICK_BEAT_S * fs else None
        if shift and self.anchor is not None:
            a, b = sorted((self.anchor, sample if near is None else near))
            self.set_range(a, b + 1)
        elif near is not None:
            self.anchor = near
            self.choose([near])

    def choose(self, samples: list[int], range_: tuple[int, int] | None = None) -> None:
        """Choose beats by R-peak sample (and a range); shows them."""
        self.chosen = sorted(int(s) for s in samples)
        self.range = range_
        self._show()

    def set_range(self, start: int, stop: int) -> None:
        """Choose every beat in ``[start, stop)`` (samples)."""
        beats = self.beats()
        chosen = []
        if beats is not None:
            r = beats[0]
            chosen = [int(s) for s in r[(r >= start) & (r < stop)]]
        self.choose(chosen, (int(start), int(stop)))

    def clear(self) -> None:
        self.chosen, self.range, self.anchor = [], None, None
        self._show()

    def _show(self) -> None:
        w = self.window
        if self.long:
            lt = w.longterm
            lt.selected_sample = self.chosen[0] if len(self.chosen) == 1 else None
            lt._mark()
        elif len(self.chosen) == 1:
            d = self.ui.delineation()
            if d is not None:
                i = int(np.argmin(np.abs(d.r_peaks - self.chosen[0])))
                w.analysis.waves.selected = i
                w.analysis.waves._place_band()
        self._place_range()
        n = len(self.chosen)
        if n:
            fs = (self.beats() or (None, None, 1.0))[2]
            what = f"beat at {self.chosen[0] / fs:.2f} s" if n == 1 else f"{n} beats"
            w.statusBar().showMessage(f"Chosen: {what} (Over-read menu: relabel, delete, artefact)", 5000)

    def _place_range(self) -> None:
        layout = self.window.view.layout
        if self.range is None or layout is None or self.window.record is None:
            self.band.hide()
            return
        fs = self.window.record.fs_hz
        off = self._page_offset()
        t0, t1 = (self.range[0] - off) / fs, (self.range[1] - off) / fs
        if self.long and self.window.longterm.painter.folded:
            self.band.hide()  # folded pages: the chosen beats are marked, not the stretch
            return
        _, bottom, _, height = layout.paper_rect
        x0, x1 = layout.x_at(t0), layout.x_at(t1)
        self.band.setRect(QRectF(x0, bottom, x1 - x0, height))
        self.band.show()

    def refresh(self) -> None:
        """The beats or the drawing changed: keep the chosen beats that are still there."""
        beats = self.beats()
        if beats is not None and self.chosen:
            have = set(int(s) for s in beats[0])
            self.chosen = [s for s in self.chosen if s in have]
        self._place_range()
        self._place_spans()

    def _place_spans(self) -> None:
        """The artefact stretches of the over-read, shaded on the paper (not on folded pages)."""
        vb = self.window.view.vb
        for item in self.span_items:
            vb.removeItem(item)
        self.span_items.clear()
        layout, rec = self.window.view.layout, self.window.record
        if layout is None or rec is None or (self.long and self.window.longterm.painter.folded):
            return
        off = self._page_offset() / rec.fs_hz
        _, bottom, _, height = layout.paper_rect
        o = self.ui.controller.overread
        for span in () if o is None else o.artefact_spans:
            t0, t1 = max(span.start_s - off, 0.0), min(span.end_s - off, rec.duration_s)
            if t1 <= t0:
                continue
            item = QGraphicsRectItem(
                QRectF(layout.x_at(t0), bottom, layout.x_at(t1) - layout.x_at(t0), height)
            )
            item.setBrush(QBrush(ARTEFACT_COLOR, Qt.BrushStyle.BDiagPattern))
            item.setPen(QPen(Qt.PenStyle.NoPen))
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.setZValue(-30)
            item.setToolTip(f"Artefact (by {span.by}): left out of every measurement")
            vb.addItem(item, ignoreBounds=True)
            self.span_items.append(item)

    # -- actions ---------------------------------------------------------------------------------
    def _targets(self) -> list[int]:
        if not self.chosen:
            self.window.statusBar().showMessage(
                "Choose a beat first: click it on the ECG (Shift+click: a range)", 5000
            )
        return list(self.chosen)

    def relabel(self, label: str) -> None:
        """Give the chosen beats ``label`` (one of :data:`~ecgviewer.core.overread.LABELS`)."""
        from ecgviewer.core.overread import BeatLabelEdit

        targets = self._targets()
        by = self.ui.controller.by()
        edits = [BeatLabelEdit(s, label, by=by) for s in targets]
        n = len(edits)
        self.ui.controller.push(edits, f"Relabel {n} beat{'s' if n != 1 else ''} as {label_name(label)}")

    def relabel_class(self, old: str, new: str) -> int:
        """Relabel every beat of class ``old`` in the range (or the chosen beats) as ``new``."""
        from ecgviewer.core.overread import BeatLabelEdit

        beats = self.beats()
        if beats is None or not self.chosen:
            self._targets()
            return 0
        r, labels, _fs = beats
        pick = set(self.chosen)
        edits = [BeatLabelEdit(int(s), new, by=self.ui.controller.by())
                 for s, lab in zip(r, labels, strict=True) if int(s) in pick and lab == old]  # fmt: skip
        self.ui.controller.push(edits, f"Relabel {len(edits)} {label_name(old)} beats as {label_name(new)}")
        return len(edits)

    def delete(self) -> None:
        """Delete the chosen beats (false detections)."""
        from ecgviewer.core.overread import BeatDeleted

        targets = self._targets()
        by = self.ui.controller.by()
        n = len(targets)
        self.ui.controller.push(
            [BeatDeleted(s, by=by) for s in targets], f"Delete {n} beat{'s' if n != 1 else ''}"
        )
        self.clear()

    def add(self, label: str = "N") -> int | None:
        """Add a beat at the pointer (snapped to the largest deflection nearby); returns its sample."""
        from ecgviewer.core.overread import BeatAdded

        sample = self.snap(self.pointer)
        if sample is None:
            self.window.statusBar().showMessage("Point at the missed beat on the ECG, then add it", 5000)
            return None
        self.ui.controller.push(BeatAdded(sample, label, by=self.ui.controller.by()), f"Add a beat ({label})")
        self.choose([sample])
        return sample

    def snap(self, loc) -> int | None:
        """The record sample of the largest deflection within :data:`SNAP_MS` of ``loc``."""
        sample = self.record_sample(loc)
        rec = self.window.record
        if sample is None or rec is None:
            return None
        lead = self.window.longterm.rhythm_lead() if self.long and self.window.longterm.folded else loc.lead
        if lead not in rec.lead_names:
            return sample
        off = self._page_offset()
        half = round(SNAP_MS * rec.fs_hz / 1000.0)
        a, b = max(0, sample - off - half), min(rec.n_samples, sample - off + half + 1)
        if b - a < 3:
            return sample
        x = rec.lead(lead, a, b)
        if not np.isfinite(x).any():
            return sample
        dev = np.abs(x - np.nanmedian(x))
        return off + a + int(np.nanargmax(dev))

    def _padded(self, a: int, b: int, fs: float) -> tuple[int, int]:
        """``[a, b)`` widened by :data:`ARTEFACT_MARGIN_S` each side (so the beats' waves are in it),
        never past half-way to the next beat outside."""
        m = round(ARTEFACT_MARGIN_S * fs)
        beats = self.beats()
        r = np.zeros(0, np.int64) if beats is None else beats[0]
        before, after = r[r < a], r[r >= b]
        left = min(m, (a - int(before[-1])) // 2) if before.size else m
        right = min(m, (int(after[0]) - b) // 2) if after.size else m
        return a - left, b + right

    def mark_artefact(self) -> None:
        """Mark the range (or the stretch around the chosen beats) as artefact."""
        from ecgviewer.core.overread import ArtefactSpan

        rec = self.window.record
        if rec is None:
            return
        fs = rec.fs_hz
        if self.range is not None:
            a, b = self.range
        elif self.chosen:
            a, b = self.chosen[0], self.chosen[-1] + 1
        else:
            self._targets()
            return
        a, b = self._padded(a, b, fs)
        span = ArtefactSpan(max(0, a) / fs, b / fs, by=self.ui.controller.by())
        self.ui.controller.push(span, f"Mark {span.start_s:.1f}–{span.end_s:.1f} s as artefact")
        self.clear()
