"""The ECG plot: one pyqtgraph ViewBox in paper millimetres holding the whole layout.

Coordinates are millimetres of paper (see :mod:`ecgviewer.layout.paper`), the
aspect ratio is locked to 1:1 so grid squares stay square at any zoom. Each
drawn lead segment is one ``PlotDataItem`` with peak downsampling and
clip-to-view, so hour-long records pan smoothly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem

from ecgviewer.gui.paper import (
    OUTSIDE_PAPER,
    PAPER_BACKGROUND,
    PaperGridItem,
    calibration_pulse_xy,
    signal_pen,
)
from ecgviewer.layout import paper as ecg_layout
from ecgviewer.layout.paper import Location, PaperLayout, Segment

if TYPE_CHECKING:
    from ecgviewer.core.quality import QualityReport
    from ecgviewer.core.record import EcgRecord

LABEL_COLOR = "#000000"
#: Label colour of a lead left out of the measurements (signal quality), and of a flagged one.
UNUSABLE_LABEL_COLOR = "#c62828"
FLAGGED_LABEL_COLOR = "#b26a00"
#: Records with more samples per lead than this open on their first 10 s in the stacked layout.
INITIAL_VIEW_S = 10.0
#: The layouts that show one 10 s page at a time (PgUp/PgDown step pages):
#: name -> (geometry, columns, rows of the lead grid above the rhythm strip).
PAGED_LAYOUTS = {
    "3x4": (ecg_layout.layout_3x4, len(ecg_layout.GRID_COLUMNS), len(ecg_layout.GRID_COLUMNS[0])),
    "6x2": (ecg_layout.layout_6x2, len(ecg_layout.GRID_COLUMNS_6X2), len(ecg_layout.GRID_COLUMNS_6X2[0])),
}


def _label_font(derived: bool) -> QFont:
    font = QFont()
    font.setPointSizeF(10.0)
    font.setBold(True)
    font.setItalic(derived)
    return font


def _label_text(lead: str, unit: str) -> str:
    return lead if unit == "mV" else f"{lead} ({unit})"


def _fit_channel(y: np.ndarray, row_height_mm: float) -> tuple[float, float]:
    """Scale (mm/unit) and offset that fit a non-ECG channel into 70 % of a row."""
    sample = y[:: max(1, y.size // 200_000)]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 1.0, 0.0
    lo, hi = np.percentile(sample, [1, 99])
    mid = float(np.median(sample))
    span = float(hi - lo)
    return (0.7 * row_height_mm / span if span > 0 else 1.0), mid


class LeadLabel(QGraphicsSimpleTextItem):
    """A lead name that keeps its pixel size at any zoom (top-left corner at its position).

    Derived leads are written in italics.
    """

    def __init__(self, text: str, derived: bool = False) -> None:
        super().__init__(text)
        self.derived = derived
        self.setFont(_label_font(derived))
        self.setBrush(QColor(LABEL_COLOR))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setZValue(20)
        self._fill = QColor(PAPER_BACKGROUND)

    def paint(self, painter, option, widget=None) -> None:
        """Paper-coloured box behind the text, then the text."""
        painter.fillRect(self.boundingRect().adjusted(-2, 0, 2, 0), self._fill)
        super().paint(painter, option, widget)


class EcgView(pg.GraphicsView):
    """ECG paper with the leads of one record in a 3x4, 6x2 or stacked layout.

    Signals
    -------
    cursorMoved(object)
        ``(x_mm, y_mm, Location | None)`` when the mouse moves over the paper,
        ``None`` when it leaves.
    """

    cursorMoved = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=OUTSIDE_PAPER)
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.vb = pg.ViewBox(lockAspect=1.0, enableMenu=False, invertY=False, defaultPadding=0.01)
        self.vb.disableAutoRange()
        self.setCentralItem(self.vb)
        self.paper = PaperGridItem()
        self.vb.addItem(self.paper, ignoreBounds=True)
        cross_pen = QPen(QColor(60, 60, 160, 160))
        cross_pen.setCosmetic(True)
        cross_pen.setStyle(Qt.PenStyle.DashLine)
        self._vline = pg.InfiniteLine(angle=90, movable=False, pen=cross_pen)
        self._hline = pg.InfiniteLine(angle=0, movable=False, pen=cross_pen)
        for line in (self._vline, self._hline):
            line.setZValue(50)
            line.hide()
            self.vb.addItem(line, ignoreBounds=True)
        self._items: list = []
        self._curves: list[tuple[Segment, pg.PlotDataItem]] = []
        self._labels: dict[tuple[int, int], LeadLabel] = {}
        self._record: EcgRecord | None = None
        self._quality: QualityReport | None = None
        self._layout: PaperLayout | None = None
        self._layout_name = "3x4"
        self._speed = 25.0
        self._gain = 10.0
        self._t0_s = 0.0
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- state ----------------------------------------------------------------
    @property
    def layout(self) -> PaperLayout | None:
        """Geometry of what is drawn (None before the first record)."""
        return self._layout

    @property
    def record(self) -> EcgRecord | None:
        """The (display-filtered) record drawn."""
        return self._record

    @property
    def page_start_s(self) -> float:
        """First second shown by the paged layouts (3x4, 6x2)."""
        return self._t0_s

    def curves(self) -> list[tuple[Segment, pg.PlotDataItem]]:
        """The drawn lead segments and their curve items."""
        return list(self._curves)

    def labels(self) -> dict[tuple[int, int], LeadLabel]:
        """Lead labels keyed by ``(row, column)``."""
        return dict(self._labels)

    # -- drawing --------------------------------------------------------------
    def show_record(
        self,
        record: EcgRecord | None,
        layout: str | None = None,
        speed_mm_per_s: float | None = None,
        gain_mm_per_mv: float | None = None,
        *,
        page_start_s: float | None = None,
        reset_view: bool = True,
    ) -> None:
        """Draw ``record`` (already display-filtered) with the given layout and scales.

        Parameters left as None keep their current value. ``reset_view``
        False keeps the visible range (used when only the filters change).
        """
        self._record = record
        self._layout_name = layout or self._layout_name
        self._speed = float(speed_mm_per_s or self._speed)
        self._gain = float(gain_mm_per_mv or self._gain)
        if page_start_s is not None:
            self._t0_s = page_start_s
        self._rebuild()
        if reset_view:
            self.reset_view()

    def replace_samples(self, record: EcgRecord) -> bool:
        """Draw ``record`` in the curves already on the paper, keeping the layout and the view range.

        For records of the same geometry as the one drawn (layout, length, leads
        in the same rows; only the samples and, in the stacked layout, the lead
        names differ) this puts the new samples into the existing curves instead
        of rebuilding every item. Returns False, drawing nothing, when ``record``
        does not fit the drawing (then call :meth:`show_record`).
        """
        old, lay = self._record, self._layout
        if old is None or lay is None or not self._curves or record.fs_hz != old.fs_hz:
            return False
        stacked = lay.name not in PAGED_LAYOUTS
        if stacked and len(record.display_leads) != len(old.display_leads):
            return False
        fs, updates = record.fs_hz, []
        for seg, curve in self._curves:
            name = record.display_leads[seg.row] if stacked else seg.lead
            i0, i1 = round(seg.t_start_s * fs), min(record.n_samples, round(seg.t_stop_s * fs))
            x = curve.xData
            if x is None or not record.has_lead(name) or i1 - i0 != x.size:
                return False
            updates.append((curve, x, self._paper_y(seg, record.lead(name, i0, i1))))
        for curve, x, y in updates:
            finite = bool(np.isfinite(y).all())
            curve.setData(x, y, connect="all" if finite else "finite", skipFiniteCheck=finite)
        self._record = record
        if stacked:  # e.g. the clock times of folded rhythm lines
            for seg in lay.segments:
                label = self._labels.get((seg.row, seg.column))
                if label is not None:
                    label.setText(_label_text(record.display_leads[seg.row], seg.unit))
        return True

    def set_lead_quality(self, quality: QualityReport | None) -> None:
        """Mark the lead labels with the signal quality (None: plain labels).

        An unusable lead's label turns red with its reason (``"V1 ✕ flat"``); a lead with pacing
        spikes gets an amber ``"· pacing"``; the tooltip lists every flag.
        """
        self._quality = quality
        segments = {(s.row, s.column): s for s in (self._layout.segments if self._layout else ())}
        for key, label in self._labels.items():
            if key in segments:
                self._style_label(label, segments[key])

    def lead_mark(self, lead: str) -> str:
        """The quality tag drawn after a lead's name (``"✕ flat"``, ``"· pacing"``), empty when none."""
        q = None if self._quality is None else self._quality.leads.get(lead)
        if q is None:
            return ""
        if not q.usable:
            return "✕ " + q.reason_text
        return "· pacing" if "pacing" in q.flags else ""

    def _style_label(self, label: LeadLabel, seg: Segment) -> None:
        name = seg.lead
        base = _label_text(name, seg.unit)
        q = None if self._quality is None else self._quality.leads.get(name)
        mark = self.lead_mark(name)
        label.setText(f"{base} {mark}" if mark else base)
        color = LABEL_COLOR
        if q is not None and not q.usable:
            color = UNUSABLE_LABEL_COLOR
        elif mark:
            color = FLAGGED_LABEL_COLOR
        label.setBrush(QColor(color))
        tip = f"{name}: derived from I and II (not recorded)" if seg.derived else f"{name} (recorded)"
        if q is not None:
            from ecgviewer.core.quality import FLAG_TEXT

            if not q.usable:
                tip += f"\nUnusable ({q.reason_text}): left out of every measurement and classification"
            flags = [FLAG_TEXT[f] for f in q.flags if q.usable or f not in q.reasons]
            if flags:
                tip += "\nSignal quality: " + ", ".join(flags)
            if q.skipped_segments:
                spans = ", ".join(f"{s.start_s:g}–{s.stop_s:g} s" for s in q.skipped_segments)
                tip += f"\nSkipped segments: {spans}"
        label.setToolTip(tip)

    @staticmethod
    def _paper_y(seg: Segment, data: np.ndarray) -> np.ndarray:
        """Paper mm of a segment's samples: its scale and offset around its baseline."""
        scale, offset, base = (np.float32(v) for v in (seg.scale_mm_per_unit, seg.offset, seg.baseline_mm))
        return (data - offset) * scale + base

    def set_page(self, page_start_s: float) -> None:
        """3x4 and 6x2 layouts: show ``page_start_s .. page_start_s + 10 s`` (clamped to the record)."""
        if self._record is None:
            return
        last = max(0.0, np.ceil(self._record.duration_s / ecg_layout.PAGE_S - 1) * ecg_layout.PAGE_S)
        t0 = float(min(max(0.0, page_start_s), last))
        if t0 != self._t0_s:
            self._t0_s = t0
            self._rebuild()

    def _clear(self) -> None:
        for item in self._items:
            self.vb.removeItem(item)
        self._items.clear()
        self._curves.clear()
        self._labels.clear()

    @property
    def paged(self) -> bool:
        """True for the layouts that show 10 s pages (3x4, 6x2); False for the stacked one."""
        return self._layout_name in PAGED_LAYOUTS

    def _compute_layout(self, rec: EcgRecord) -> PaperLayout:
        paged = PAGED_LAYOUTS.get(self._layout_name)
        if paged is not None:
            available = {n: (rec.is_derivable(n), rec.unit_of(n)) for n in rec.display_leads}
            return paged[0](available, rec.duration_s, self._speed, self._gain, self._t0_s)
        row_h = ecg_layout.row_height_for_gain(self._gain, ecg_layout.STACKED_MV_PER_ROW, 15.0)
        leads = []
        for name in rec.display_leads:
            unit = rec.unit_of(name)
            scale, offset = (self._gain, 0.0) if unit == "mV" else _fit_channel(rec.lead(name), row_h)
            leads.append((name, rec.is_derivable(name), unit, scale, offset))
        return ecg_layout.layout_stacked(leads, rec.duration_s, self._speed, self._gain)

    def _add(self, item, ignore_bounds: bool = True) -> None:
        self.vb.addItem(item, ignoreBounds=ignore_bounds)
        self._items.append(item)

    def _rebuild(self) -> None:
        self._clear()
        rec = self._record
        if rec is None:
            self._layout = None
            return
        if not self.paged:
            self._t0_s = 0.0
        lay = self._layout = self._compute_layout(rec)
        self.paper.set_rect(lay.paper_rect)
        pen = signal_pen()
        x_cache: dict[tuple[int, int, float], np.ndarray] = {}
        for seg in lay.segments:
            i0 = round(seg.t_start_s * rec.fs_hz)
            i1 = min(rec.n_samples, round(seg.t_stop_s * rec.fs_hz))
            if i1 - i0 < 2:
                continue
            key = (i0, i1, seg.x_start_mm)
            x = x_cache.get(key)
            if x is None:
                x = x_cache[key] = seg.x_start_mm + (np.arange(i1 - i0) / rec.fs_hz) * self._speed
            y = self._paper_y(seg, rec.lead(seg.lead, i0, i1))
            finite = bool(np.isfinite(y).all())
            curve = pg.PlotDataItem(
                pen=pen,
                antialias=True,
                skipFiniteCheck=finite,
                connect="all" if finite else "finite",
                clipToView=True,
                autoDownsample=True,
                downsampleMethod="peak",
            )
            curve.setZValue(10)
            self._add(curve)  # in the ViewBox before the data, so clipToView sees the view range
            curve.setData(x, y)
            self._curves.append((seg, curve))
        self._add_row_furniture(lay, rec)

    def _add_row_furniture(self, lay: PaperLayout, rec: EcgRecord) -> None:
        """Calibration pulses, lead labels and the 3x4 column markers."""
        pen = signal_pen()
        rows_with_ecg = sorted({s.row for s in lay.segments if s.unit == "mV"})
        for row in rows_with_ecg:
            px, py = calibration_pulse_xy(lay.baseline_mm(row), self._speed, self._gain)
            pulse = pg.PlotCurveItem(px, py, pen=pen, antialias=True, skipFiniteCheck=True)
            pulse.setZValue(10)
            self._add(pulse)
        for seg in lay.segments:
            label = LeadLabel(_label_text(seg.lead, seg.unit), seg.derived)
            self._style_label(label, seg)
            label.setPos(seg.x_start_mm + 1.0, seg.baseline_mm + 0.45 * lay.row_height_mm)
            self._add(label)
            self._labels[(seg.row, seg.column)] = label
        if lay.name in PAGED_LAYOUTS:
            _, n_cols, grid_rows = PAGED_LAYOUTS[lay.name]
            xs, ys = [], []
            cells = {(s.row, s.column) for s in lay.segments if s.row < grid_rows}
            for col, x in enumerate(lay.column_bounds_mm[1:n_cols], start=1):
                for row in range(grid_rows):
                    if (row, col - 1) not in cells and (row, col) not in cells:
                        continue
                    b = lay.baseline_mm(row)
                    xs += [x, x]
                    ys += [b - 3.0, b + 3.0]
            if xs:
                marks = pg.PlotCurveItem(
                    np.array(xs), np.array(ys), pen=pen, connect="pairs", skipFiniteCheck=True
                )
                marks.setZValue(10)
                self._add(marks)

    # -- view range -------------------------------------------------------------
    def home_rect(self) -> QRectF:
        """The range shown by :meth:`reset_view`: the whole page (first 10 s of long records)."""
        if self._layout is None:
            return QRectF(0, -100, 280, 120)
        left, bottom, width, height = self._layout.paper_rect
        max_w = self._layout.x0_mm + (INITIAL_VIEW_S + 0.2) * self._speed
        return QRectF(left, bottom, min(width, max_w), height)

    def reset_view(self) -> None:
        """Show the whole layout (long stacked records: the first 10 s)."""
        self.vb.setRange(self.home_rect(), padding=0.01)

    def zoom(self, factor: float) -> None:
        """Zoom around the centre of the view (factor > 1 magnifies)."""
        self.vb.scaleBy((1.0 / factor, 1.0 / factor))

    def pan(self, dx_fraction: float = 0.0, dy_fraction: float = 0.0) -> None:
        """Move the view by fractions of its width/height (positive: later in time / up)."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        self.vb.translateBy(x=dx_fraction * (x1 - x0), y=dy_fraction * (y1 - y0))

    def visible_rect_mm(self) -> QRectF:
        """The visible part of the paper, in mm."""
        return self.vb.viewRect()

    # -- coordinates --------------------------------------------------------------
    def mm_to_viewport(self, x_mm: float, y_mm: float) -> QPoint:
        """Viewport pixel of a paper point (for mouse simulation)."""
        scene = self.vb.mapViewToScene(QPointF(x_mm, y_mm))
        return self.mapFromScene(scene)

    def scene_to_mm(self, scene_pos: QPointF) -> tuple[float, float]:
        """Paper point (mm) of a scene position."""
        p = self.vb.mapSceneToView(scene_pos)
        return float(p.x()), float(p.y())

    def locate(self, x_mm: float, y_mm: float) -> Location | None:
        """Lead, time (s from record start) and amplitude at a paper point."""
        return None if self._layout is None else self._layout.locate(x_mm, y_mm)

    # -- crosshair ------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            self.hide_crosshair()
            return
        self.move_crosshair(*self.scene_to_mm(scene_pos))

    def move_crosshair(self, x_mm: float, y_mm: float) -> Location | None:
        """Put the crosshair at a paper point and emit :attr:`cursorMoved`."""
        self._vline.setPos(x_mm)
        self._hline.setPos(y_mm)
        self._vline.show()
        self._hline.show()
        loc = self.locate(x_mm, y_mm)
        self.cursorMoved.emit((x_mm, y_mm, loc))
        return loc

    def hide_crosshair(self) -> None:
        """Hide the crosshair lines."""
        if self._vline.isVisible():
            self._vline.hide()
            self._hline.hide()
            self.cursorMoved.emit(None)

    def leaveEvent(self, event) -> None:
        self.hide_crosshair()
        super().leaveEvent(event)
