"""Editing single beats' boundary marks on the ECG paper, and choosing beats with the mouse.

:class:`PaperMarkEditor` is an event filter on the main view (:class:`~ecgviewer.gui.ecg_view.EcgView`).

Boundary ticks (short records, View > Show wave boundaries on)
    Press on a tick (within :data:`PICK_PX` pixels) and drag it sideways; on release the beat's
    mark moves there -- in every lead of the beat (the consensus), or with Alt held at the press
    only in the lead pressed on. A click on a tick selects it; then Left / Right move it by one
    sample (Shift: :data:`~ecgviewer.gui.overread.median_editor.BIG_STEP`), Delete removes it,
    Insert puts a removed mark back at the pointer, Esc clears the selection.
Beats (short and long records)
    A click (no drag; on a tick too) chooses the nearest beat (:attr:`PaperMarkEditor.clicked`);
    Shift+click chooses a range from the beat chosen before to the click.

Signals
-------
edited(object, str, object, object, bool)
    ``(beat R-peak sample, point, new sample or None, lead or None, nudge)``.
clicked(object, bool)
    A click (no drag) at a :class:`~ecgviewer.layout.paper.Location` (``shift``: extend a range).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen

from ecgviewer.core.delineation import POINTS
from ecgviewer.gui.overread.median_editor import BIG_STEP, PICK_PX, SELECTED_COLOR, plain_key
from ecgviewer.layout.boundaries import lead_boundaries

if TYPE_CHECKING:
    from collections.abc import Callable

    from ecgviewer.core.delineation import Delineation
    from ecgviewer.gui.ecg_view import EcgView
    from ecgviewer.layout.paper import Segment

#: Keys the editor takes from the window's shortcuts while a mark is selected.
EDIT_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Insert,
             Qt.Key.Key_Escape)  # fmt: skip
#: A press that moves less than this (px) before release is a click.
CLICK_PX = 4.0


class PaperMarkEditor(QObject):
    """Drag, nudge, delete and add single beats' marks; click to choose beats (see the module)."""

    edited = Signal(object, str, object, object, bool)
    clicked = Signal(object, bool)

    def __init__(self, view: EcgView, delineation: Callable[[], Delineation | None]) -> None:
        super().__init__(view)
        self.view = view
        self.delineation = delineation
        #: Ticks can be edited (short records with the boundaries shown).
        self.marks_enabled = True
        #: Clicks choose beats (off while the caliper measures).
        self.clicks_enabled = True
        #: ``(beat sample, point, lead or None, segment)`` of the selected tick.
        self.selected: tuple[int, str, str | None, Segment] | None = None
        self._drag: tuple[int, str, str | None, Segment] | None = None
        self._press_px: QPointF | None = None
        self._drag_t: float | None = None
        self._pointer_t: float | None = None
        pen = QPen(QColor(SELECTED_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(2.5)
        self._line = pg.PlotDataItem(pen=pen)
        self._line.setZValue(30)
        self._line.hide()
        view.vb.addItem(self._line, ignoreBounds=True)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)

    # -- geometry ---------------------------------------------------------------------------------
    def _mm(self, pos) -> tuple[float, float]:
        point = pos.toPoint() if hasattr(pos, "toPoint") else pos
        return self.view.scene_to_mm(self.view.mapToScene(point))

    def _px(self, x_mm: float, y_mm: float = 0.0) -> QPointF:
        return QPointF(self.view.mm_to_viewport(x_mm, y_mm))

    def _seg_x(self, seg: Segment, t_s: float) -> float:
        return seg.x_start_mm + (t_s - seg.t_start_s) * self.view.layout.speed_mm_per_s

    def tick_time(self, beat: int, point: str, lead: str | None, seg: Segment) -> float | None:
        """Record second of a mark as drawn on ``seg`` (None: absent)."""
        d = self.delineation()
        if d is None or d.n_beats == 0:
            return None
        i = int(np.argmin(np.abs(d.r_peaks - beat)))
        if abs(int(d.r_peaks[i]) - beat) > round(0.05 * d.fs_hz):
            return None
        pts, _own = lead_boundaries(d, seg.lead if lead is None else lead)
        v = float(pts[i, POINTS.index(point)])
        return v / d.fs_hz if math.isfinite(v) else None

    def tick_pos(self, beat: int, point: str, seg: Segment) -> QPointF | None:
        """Viewport position of a tick on ``seg`` (for tests and scripts)."""
        t = self.tick_time(beat, point, None, seg)
        return None if t is None else self._px(self._seg_x(seg, t), seg.baseline_mm)

    def pick(self, x_mm: float, y_mm: float, px_x: float) -> tuple[int, str, Segment] | None:
        """The tick nearest a press: ``(beat sample, point, segment)`` within :data:`PICK_PX`."""
        d, layout = self.delineation(), self.view.layout
        if d is None or layout is None or d.n_beats == 0:
            return None
        seg = layout.segment_at(x_mm, y_mm)
        if seg is None or seg.unit != "mV":
            return None
        pts, _own = lead_boundaries(d, seg.lead)
        t = pts / d.fs_hz
        inside = np.isfinite(t) & (t >= seg.t_start_s) & (t < seg.t_stop_s)
        if not inside.any():
            return None
        x = seg.x_start_mm + (t - seg.t_start_s) * layout.speed_mm_per_s
        scale = abs(self._px(1.0).x() - self._px(0.0).x())  # px per mm
        dist = np.where(inside, np.abs(x - x_mm) * scale, np.inf)
        i, k = np.unravel_index(int(np.argmin(dist)), dist.shape)
        if dist[i, k] > PICK_PX:
            return None
        return int(d.r_peaks[i]), POINTS[k], seg

    # -- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Place the selection line again (after the marks were rebuilt)."""
        sel = self._drag or self.selected
        if sel is None or self.view.layout is None:
            self._line.hide()
            return
        beat, point, lead, seg = sel
        t = self._drag_t if self._drag is not None else self.tick_time(beat, point, lead, seg)
        if t is None:
            self._line.hide()
            return
        x = self._seg_x(seg, t)
        h = 0.42 * self.view.layout.row_height_mm
        self._line.setData([x, x], [seg.baseline_mm - h, seg.baseline_mm + h])
        self._line.show()

    def clear_selection(self) -> None:
        self.selected = None
        self._drag = None
        self.refresh()

    # -- events -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not shiboken6.isValid(self.view):
            return False  # the window is being destroyed
        t = event.type()
        if watched is self.view.viewport():
            if t == QEvent.Type.MouseButtonPress:
                return self._press(event)
            if t == QEvent.Type.MouseMove:
                return self._move(event)
            if t == QEvent.Type.MouseButtonRelease:
                return self._release(event)
        elif watched is self.view and self.selected is not None and self.marks_enabled:
            if t == QEvent.Type.ShortcutOverride and event.key() in EDIT_KEYS and plain_key(event):
                event.accept()  # the key goes to the selected mark, not to the pan/caliper shortcuts
                return True
            if t == QEvent.Type.KeyPress and plain_key(event):
                return self._key(event)
        return False

    def _press(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._press_px = event.position()
        x, y = self._mm(event.position())
        hit = self.pick(x, y, event.position().x()) if self.marks_enabled else None
        if hit is None:
            return False  # pan, caliper and beat clicks go on
        beat, point, seg = hit
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        d = self.delineation()
        lead = seg.lead if alt and d is not None and seg.lead in d.leads else None
        self.selected = self._drag = (beat, point, lead, seg)
        self._drag_t = self.tick_time(beat, point, lead, seg)
        self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        self.refresh()
        return True

    def _move(self, event) -> bool:
        x, y = self._mm(event.position())
        layout = self.view.layout
        if layout is not None:
            seg = (self._drag or (None, None, None, None))[3] or layout.segment_at(x, y)
            if seg is not None:
                self._pointer_t = seg.t_start_s + (x - seg.x_start_mm) / layout.speed_mm_per_s
        if self._drag is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return False
        self._drag_t = self._pointer_t
        self.refresh()
        return True

    def _release(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        start, self._press_px = self._press_px, None
        moved = start is not None and (event.position() - start).manhattanLength() > CLICK_PX
        if not moved and self.clicks_enabled and self.view.layout is not None:
            loc = self.view.locate(*self._mm(event.position()))  # a click (on a tick too) chooses a beat
            if loc is not None:
                self.clicked.emit(loc, bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        if self._drag is None:
            return False
        beat, point, lead, _seg = self._drag
        self._drag = None
        d = self.delineation()
        if moved and self._drag_t is not None and d is not None:
            self.edited.emit(beat, point, round(self._drag_t * d.fs_hz), lead, False)
        self.refresh()
        return True

    def _key(self, event) -> bool:
        key = event.key()
        beat, point, lead, seg = self.selected
        d = self.delineation()
        if key == Qt.Key.Key_Escape:
            self.clear_selection()
            return True
        if d is None:
            return False
        now = self.tick_time(beat, point, lead, seg)
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and now is not None:
            step = BIG_STEP if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            sample = round(now * d.fs_hz) + (step if key == Qt.Key.Key_Right else -step)
            self.edited.emit(beat, point, sample, lead, True)
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and now is not None:
            self.edited.emit(beat, point, None, lead, False)
            return True
        if key == Qt.Key.Key_Insert and now is None and self._pointer_t is not None:
            self.edited.emit(beat, point, round(self._pointer_t * d.fs_hz), lead, False)
            return True
        return False
