"""Editing the median beat's boundary marks with the mouse and the keyboard.

:class:`MedianMarkEditor` sits on a :class:`~ecgviewer.gui.median_beat_view.MedianBeatView`
(an event filter on the view and its viewport). The marks are the over-read's median-beat
points (:attr:`~ecgviewer.core.overread.EditedDelineation.median_points`, offsets in samples
from the R peak), set with :meth:`MedianMarkEditor.set_points`.

Mouse
    Press on (or within :data:`PICK_PX` pixels of) a boundary line to select it, drag it
    sideways: the line and the PR / QRS / QT brackets follow live; on release the new position
    becomes one edit. A press elsewhere clears the selection. Right-click: a menu to delete the
    nearest mark, add an absent one at the pointer, or reset an edited one.
Keyboard (the median beat has the focus after a click)
    Left / Right move the selected mark by one sample, Shift+Left / Shift+Right by
    :data:`BIG_STEP` samples (each step an edit; a series of steps on one mark undoes at once);
    Delete or Backspace removes it ("no P wave"); Insert puts an absent selected mark back at
    the pointer (else where it was computed); Tab selects the next mark; Esc clears the selection.

Signals
-------
edited(str, object, bool)
    ``(point, offset in samples or None to delete, nudge)``: a mark moved, deleted or added
    (``nudge``: an arrow-key step).
resetRequested(str)
    Reset the mark of a point to the computed one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QMenu

from ecgviewer.core.delineation import POINTS
from ecgviewer.gui.median_beat_view import SPEED_MM_PER_S, ms_to_mm

if TYPE_CHECKING:
    from ecgviewer.gui.median_beat_view import MedianBeatView

#: A press this close to a line (px) picks it.
PICK_PX = 7.0
#: Samples moved by Shift+Left / Shift+Right.
BIG_STEP = 10
#: Colour of the selected mark, and of the diamonds on the marks the reader edited.
SELECTED_COLOR = "#e65100"
EDITED_COLOR = "#b00020"
#: The marks in Tab order.
EDITABLE: tuple[str, ...] = ("p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off")


class MedianMarkEditor(QObject):
    """Drag, nudge, delete and add the median beat's marks (see the module notes)."""

    edited = Signal(str, object, bool)
    resetRequested = Signal(str)

    def __init__(self, view: MedianBeatView) -> None:
        super().__init__(view)
        self.view = view
        self.enabled = True
        self.fs_hz: float | None = None
        self.points: dict[str, float] = {}  # point -> offset in samples (absent: not there)
        self.computed: dict[str, float] = {}  # the computed offsets (Insert without a pointer)
        self.edited_points: frozenset[str] = frozenset()
        self.selected: str | None = None
        self._drag: str | None = None
        self._drag_value: float | None = None
        self._moved = False
        self._pointer_x: float | None = None  # mm, last position of the mouse over the beat
        self._band = pg.PlotDataItem(pen=QPen(QColor(SELECTED_COLOR), 0))
        pen = QPen(QColor(SELECTED_COLOR))
        pen.setCosmetic(True)
        pen.setWidthF(3.0)
        self._band.setPen(pen)
        self._band.setZValue(18)
        self._flags = pg.ScatterPlotItem(symbol="d", size=10, pen=pg.mkPen("w"), brush=EDITED_COLOR)
        self._flags.setZValue(19)
        self._flags.setToolTip("Edited by the reader")
        for item in (self._band, self._flags):
            view.vb.addItem(item, ignoreBounds=True)
        view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)
        view.viewport().setMouseTracking(True)

    # -- state -------------------------------------------------------------------------------
    def set_points(
        self,
        points: dict[str, float] | None,
        fs_hz: float | None,
        edited: frozenset[str] | set[str] = frozenset(),
        computed: dict[str, float] | None = None,
    ) -> None:
        """The median-beat marks (point -> offset in samples; None: nothing to edit)."""
        self.points = {} if points is None else {k: float(v) for k, v in points.items() if math.isfinite(v)}
        self.computed = dict(computed or {})
        self.fs_hz = fs_hz
        self.edited_points = frozenset(edited)
        self._drag = None
        self._show()

    def marks_ms(self) -> dict[str, float]:
        """The marks as the view draws them: point -> ms from the R peak."""
        pts = dict(self.points)
        if self._drag is not None:
            if self._drag_value is None:
                pts.pop(self._drag, None)
            else:
                pts[self._drag] = self._drag_value
        return {k: v * 1000.0 / self.fs_hz for k, v in pts.items()} if self.fs_hz else {}

    def line_x(self, point: str) -> float | None:
        """Paper x (mm) of a mark, None when absent."""
        ms = self.marks_ms().get(point)
        return None if ms is None else ms_to_mm(ms)

    def select(self, point: str | None) -> None:
        self.selected = point
        self._show()

    # -- drawing -------------------------------------------------------------------------------
    def _show(self) -> None:
        if self.fs_hz is not None and self.points:
            self.view.set_marks_ms(self.marks_ms())
        (_x0, _x1), (y0, y1) = self.view.vb.viewRange()
        x = None if self.selected is None else self.line_x(self.selected)
        if x is None:
            self._band.setData([], [])
        else:
            self._band.setData([x, x], [y0, y1])
        xs = [self.line_x(p) for p in self.edited_points]
        xs = [v for v in xs if v is not None]
        _cx, cy = self.view.curve.getData()
        top = float(np.nanmax(cy)) + 1.0 if cy is not None and len(cy) else y1 - 0.2 * (y1 - y0)
        self._flags.setData(xs, [top] * len(xs))  # where the boundary lines start, over the beat

    # -- coordinates ---------------------------------------------------------------------------
    def _x_mm(self, pos) -> float:
        p = self.view.vb.mapSceneToView(
            self.view.mapToScene(pos.toPoint() if hasattr(pos, "toPoint") else pos)
        )
        return float(p.x())

    def _px(self, x_mm: float) -> float:
        scene = self.view.vb.mapViewToScene(QPointF(x_mm, 0.0))
        return float(self.view.mapFromScene(scene).x())

    def viewport_pos(self, point: str, y_fraction: float = 0.5) -> QPointF:
        """Viewport position of a mark's line (``y_fraction`` down the view; for tests and scripts)."""
        x = self.line_x(point)
        if x is None:
            raise KeyError(point)
        (_x0, _x1), (y0, y1) = self.view.vb.viewRange()
        scene = self.view.vb.mapViewToScene(QPointF(x, y1 - y_fraction * (y1 - y0)))
        return QPointF(self.view.mapFromScene(scene))

    def viewport_x(self, offset_ms: float) -> float:
        """Viewport x (px) of a time from the R peak (ms)."""
        return self._px(ms_to_mm(offset_ms))

    def pick(self, px: float) -> str | None:
        """The mark whose line is nearest viewport x ``px`` (within :data:`PICK_PX`), None if none."""
        best, dist = None, PICK_PX
        for name in EDITABLE:
            x = self.line_x(name)
            if x is None:
                continue
            d = abs(self._px(x) - px)
            if d <= dist:
                best, dist = name, d
        return best

    def _samples(self, x_mm: float) -> int:
        assert self.fs_hz is not None
        return round(x_mm / SPEED_MM_PER_S * self.fs_hz)

    # -- events ----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not shiboken6.isValid(self.view):
            return False  # the window is being destroyed
        if not self.enabled or self.fs_hz is None or not self.points:
            return False
        t = event.type()
        if watched is self.view.viewport():
            if t == QEvent.Type.MouseButtonPress:
                return self._press(event)
            if t == QEvent.Type.MouseMove:
                return self._move(event)
            if t == QEvent.Type.MouseButtonRelease:
                return self._release(event)
            if t == QEvent.Type.ContextMenu:
                self._context_menu(event)
                return True
        elif watched is self.view and t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            if not plain_key(event):
                return False  # Shift+Del, Ctrl+Z ...: the window's actions
            if t == QEvent.Type.KeyPress:
                return self._key(event)
            if self.selected is not None and event.key() in (
                Qt.Key.Key_Escape,
                Qt.Key.Key_Delete,
                Qt.Key.Key_Insert,
            ):
                event.accept()  # the key goes to the selected mark, not to a window shortcut
                return True
        return False

    def _press(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        hit = self.pick(event.position().x())
        self.select(hit)
        if hit is not None:
            self._drag, self._drag_value, self._moved = hit, self.points.get(hit), False
        return hit is not None

    def _move(self, event) -> bool:
        self._pointer_x = self._x_mm(event.position())
        if self._drag is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return False
        self._drag_value = float(self._samples(self._pointer_x))
        self._moved = True
        self._show()
        return True

    def _release(self, event) -> bool:
        if self._drag is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        point, value, moved = self._drag, self._drag_value, self._moved
        self._drag = None
        if moved and value is not None and value != self.points.get(point):
            self.points[point] = value  # shown at once; the edit confirms it
            self.edited.emit(point, int(value), False)
        self._show()
        return True

    def _key(self, event) -> bool:
        key, mods = event.key(), event.modifiers()
        if key == Qt.Key.Key_Tab and not mods & Qt.KeyboardModifier.ControlModifier:
            present = [p for p in EDITABLE if p in self.points]
            if present:
                i = present.index(self.selected) + 1 if self.selected in present else 0
                self.select(present[i % len(present)])
            return True
        p = self.selected
        if p is None:
            return False
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and p in self.points:
            step = BIG_STEP if mods & Qt.KeyboardModifier.ShiftModifier else 1
            value = self.points[p] + (step if key == Qt.Key.Key_Right else -step)
            self.points[p] = value
            self._show()
            self.edited.emit(p, int(value), True)
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and p in self.points:
            del self.points[p]
            self._show()
            self.edited.emit(p, None, False)
            return True
        if key == Qt.Key.Key_Insert and p not in self.points:
            self.add(p)
            return True
        if key == Qt.Key.Key_Escape:
            self.select(None)
            return True
        return False

    def add(self, point: str, x_mm: float | None = None) -> None:
        """Put an absent mark back: at ``x_mm``, else at the pointer, else where it was computed."""
        x = x_mm if x_mm is not None else self._pointer_x
        if x is not None:
            value = float(self._samples(x))
        elif point in self.computed:
            value = self.computed[point]
        else:
            return
        self.points[point] = value
        self.selected = point
        self._show()
        self.edited.emit(point, int(value), False)

    def _context_menu(self, event) -> None:
        from ecgviewer.core.overread import POINT_NAMES

        x_mm = self._x_mm(event.pos())
        near = self.pick(float(event.pos().x()))
        menu = QMenu(self.view)
        if near is not None:
            menu.addAction(f"Delete {POINT_NAMES[near]}", lambda: self.edited.emit(near, None, False))
        for p in EDITABLE:
            if p not in self.points:
                menu.addAction(f"Add {POINT_NAMES[p]} here", lambda p=p: self.add(p, x_mm))
        for p in sorted(self.edited_points):
            menu.addAction(f"Reset {POINT_NAMES[p]} to computed", lambda p=p: self.resetRequested.emit(p))
        if menu.actions():
            menu.exec(event.globalPos())


def offsets_from(points: np.ndarray) -> dict[str, float]:
    """``{point: offset}`` of a ``(len(POINTS),)`` array of median-beat offsets (NaN: absent)."""
    return {p: float(points[k]) for k, p in enumerate(POINTS) if math.isfinite(float(points[k]))}


def plain_key(event) -> bool:
    """A key without modifiers (arrows: Shift too, the big steps); Shift+Del, Ctrl+Z ... are actions."""
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
        return mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
    return mods == Qt.KeyboardModifier.NoModifier
