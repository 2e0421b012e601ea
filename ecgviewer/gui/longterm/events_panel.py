"""The events dock of the long-term view: the beat pass's events and the tachogram.

Tab *Events*: a summary line (beats per class, heart rate) and a table of the
events (:attr:`BeatPassResult.events`: PVCs, fusion beats, couplets, runs,
pauses, maximum and minimum rate) with their time of day; choosing a row (click,
Enter, arrow keys) asks for the page to be centred on its beat
(:attr:`EventsPanel.eventActivated`). A filter narrows the list to one kind.

Tab *Tachogram*: every RR interval against time (N beats as a line, V and F
beats as coloured dots), with the current page shaded; clicking jumps there. When the
pass delineated the beats, QTc (Fridericia), QT and PR per minute share the plot on
an axis of their own on the right (:mod:`.interval_curves`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.gui.longterm.beat_marks import BEAT_COLORS
from ecgviewer.gui.longterm.clock import format_clock
from ecgviewer.gui.longterm.interval_curves import RightAxisCurves
from ecgviewer.gui.longterm.time_axis import TimeOfDayAxis

#: Event kinds (``Event.kind``) as shown in the list.
EVENT_NAMES: dict[str, str] = {
    "PVC": "PVC",
    "fusion": "Fusion beat",
    "couplet": "Couplet",
    "run": "Run",
    "bigeminy": "Bigeminy",
    "APC": "APC",
    "atrial_couplet": "Atrial couplet",
    "atrial_run": "Atrial run",
    "pause": "Pause",
    "max_rate": "Maximum rate",
    "min_rate": "Minimum rate",
    "max_qtc": "Longest QTc",
}
#: Filter entries: label -> kinds shown (empty: all).
EVENT_FILTERS: dict[str, tuple[str, ...]] = {
    "All events": (),
    "PVCs": ("PVC",),
    "Fusion beats": ("fusion",),
    "Couplets, runs, bigeminy": ("couplet", "run", "bigeminy"),
    "APCs, atrial couplets and runs": ("APC", "atrial_couplet", "atrial_run"),
    "Pauses": ("pause",),
    "Max / min rate": ("max_rate", "min_rate"),
    "Longest QTc": ("max_qtc",),
}
COLUMNS = ("Time", "Event", "Value")


#: Beat class whose probability the *Value* column shows for single-beat events.
EVENT_CLASS = {"PVC": "V", "fusion": "F", "APC": "S"}
#: Beat class whose colour an event kind is drawn in.
EVENT_COLOR_CLASS = {
    "PVC": "V",
    "fusion": "F",
    "couplet": "V",
    "run": "V",
    "bigeminy": "V",
    "APC": "S",
    "atrial_couplet": "S",
    "atrial_run": "S",
}


def event_value_text(event, probabilities: np.ndarray | None = None) -> str:
    """The *Value* column: the description of events that carry a value (runs, bigeminy, pauses,
    rates), the number of PVCs of a couplet, and for a single PVC or fusion beat the classifier's
    probability of that class (when the pass has probabilities)."""
    if event.kind in ("run", "atrial_run", "bigeminy", "pause", "max_rate", "min_rate", "max_qtc"):
        return str(event.text) if event.text else ("" if event.value is None else f"{event.value:g}")
    if event.kind == "couplet":
        return "2 PVCs"
    if event.kind == "atrial_couplet":
        return "2 APCs"
    label = EVENT_CLASS.get(event.kind)
    if label is not None and probabilities is not None and 0 <= event.beat < len(probabilities):
        from ecgviewer.core.beat_pass import BEAT_CLASSES

        return f"p = {probabilities[event.beat, BEAT_CLASSES.index(label)]:.2f}"
    return ""


class EventsModel(QAbstractTableModel):
    """The events of one beat pass as a table (Time, Event, Value), optionally filtered by kind."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list = []
        self._rows: list = []
        self._kinds: tuple[str, ...] = ()
        self._start_time: dt.datetime | None = None
        self._fs = 1.0
        self._probabilities: np.ndarray | None = None

    def set_events(
        self,
        events: Sequence,
        fs_hz: float,
        start_time: dt.datetime | None,
        probabilities: np.ndarray | None = None,
    ) -> None:
        """Show ``events`` (sorted by time) of a record sampled at ``fs_hz``; ``probabilities``
        ``(n_beats, 4)`` of the pass give the *Value* of single PVC and fusion beats."""
        self.beginResetModel()
        self._all = sorted(events, key=lambda e: e.start)
        self._fs, self._start_time = float(fs_hz), start_time
        self._probabilities = probabilities
        self._rows = self._filtered()
        self.endResetModel()

    def set_filter(self, kinds: tuple[str, ...]) -> None:
        """Only events of ``kinds`` (empty: all)."""
        self.beginResetModel()
        self._kinds = tuple(kinds)
        self._rows = self._filtered()
        self.endResetModel()

    def _filtered(self) -> list:
        return [e for e in self._all if not self._kinds or e.kind in self._kinds]

    def event(self, row: int):
        """The event shown in ``row``."""
        return self._rows[row]

    def events(self) -> list:
        """The events shown, in order."""
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        event = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return format_clock(self._start_time, event.start / self._fs, 1)
            if col == 1:
                return EVENT_NAMES.get(event.kind, event.kind)
            return event_value_text(event, self._probabilities)
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            color = EVENT_COLOR_CLASS.get(event.kind)
            return pg.mkColor(BEAT_COLORS[color]) if color else None
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{event.text or EVENT_NAMES.get(event.kind, event.kind)} (sample {event.start:,})"
            if col == 2 and event.kind in EVENT_CLASS:
                tip += "; p = the beat classifier's probability of this class"
            return tip
        return None


class _TachoViewBox(pg.ViewBox):
    """Mouse zoom in x only; a left click reports its time."""

    clicked = Signal(float)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(float(self.mapSceneToView(ev.scenePos()).x()))
        else:
            super().mouseClickEvent(ev)


class Tachogram(pg.PlotWidget):
    """RR intervals (ms) against time; click to jump.

    Signals
    -------
    jumpRequested(float)
        Record second clicked.
    """

    jumpRequested = Signal(float)

    def __init__(self, parent=None) -> None:
        self.time_axis = TimeOfDayAxis("bottom")
        vb = _TachoViewBox()
        super().__init__(parent, background="w", viewBox=vb, axisItems={"bottom": self.time_axis})
        vb.clicked.connect(self.jumpRequested)
        item = self.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setLabel("left", "RR (ms)")
        item.showGrid(x=True, y=True, alpha=0.15)
        self.line = pg.PlotDataItem(
            pen=pg.mkPen("#808080", width=1), connect="finite", clipToView=True, autoDownsample=True
        )
        self.dots = {
            label: pg.ScatterPlotItem(size=4, pen=pg.mkPen(None), brush=pg.mkBrush(BEAT_COLORS[label]))
            for label in ("S", "V", "F")
        }
        item.addItem(self.line)
        for dots in self.dots.values():
            item.addItem(dots)
        self.region = pg.LinearRegionItem(values=(0, 1), movable=False, brush=pg.mkBrush(31, 95, 191, 50))
        self.region.setZValue(-5)
        item.addItem(self.region, ignoreBounds=True)
        #: QTc, QT and PR per minute on the right-hand axis.
        self.intervals = RightAxisCurves(item)
        self.intervals.set_trend(None)

    def set_beats(self, result, start_time: dt.datetime | None, duration_s: float) -> None:
        """Draw the RR series of a ``BeatPassResult`` (None clears it)."""
        self.time_axis.set_start_time(start_time)
        self.intervals.set_trend(None if result is None else result.intervals)
        if result is None or len(result.r_peaks) < 2:
            self.line.setData([], [])
            for dots in self.dots.values():
                dots.clear()
            return
        t, rr, labels = result.tachogram()
        t, rr, labels = np.asarray(t, np.float64), np.asarray(rr, np.float64), np.asarray(labels)
        self.line.setData(t, rr)
        for label, dots in self.dots.items():
            keep = labels == label
            dots.setData(t[keep], rr[keep])
        finite = rr[np.isfinite(rr)]
        hi = float(np.percentile(finite, 99.5)) if finite.size else 1500.0
        self.setXRange(0, duration_s, padding=0)
        self.setYRange(0, max(600.0, hi * 1.1), padding=0)

    def set_page(self, start_s: float, stop_s: float) -> None:
        """Shade the current page."""
        self.region.setRegion((start_s, stop_s))


class EventsPanel(QWidget):
    """Summary, event list and tachogram of the beat pass.

    Signals
    -------
    eventActivated(object)
        An ``Event`` chosen in the list.
    jumpRequested(float)
        A record second clicked in the tachogram.
    """

    eventActivated = Signal(object)
    jumpRequested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No beat analysis yet.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.filter = QComboBox()
        self.filter.addItems(list(EVENT_FILTERS))
        self.filter.setToolTip("Show only one kind of event")
        self.count_label = QLabel("")
        self.model = EventsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tachogram = Tachogram()
        events_tab = QWidget()
        lay = QVBoxLayout(events_tab)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        row = QHBoxLayout()
        row.addWidget(self.filter, 1)
        row.addWidget(self.count_label)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(events_tab, "Events")
        self.tabs.addTab(self.tachogram, "Tachogram")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)
        self.filter.currentTextChanged.connect(self._on_filter)
        self.table.clicked.connect(self._activate)
        self.table.activated.connect(self._activate)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._activate(cur))
        self.tachogram.jumpRequested.connect(self.jumpRequested)
        self.result = None

    def set_result(self, result, start_time: dt.datetime | None, duration_s: float, note: str = "") -> None:
        """Show a ``BeatPassResult`` (None: clear, e.g. a new record or a cancelled pass)."""
        self.result = result
        if result is None:
            self.model.set_events([], 1.0, start_time)
            self.summary.setText(note or "No beat analysis yet.")
            self.count_label.setText("")
            self.tachogram.set_beats(None, start_time, duration_s)
            return
        self.model.set_events(result.events, result.fs_hz, start_time, result.probabilities)
        self.summary.setText(summary_html(result, note))
        self.summary.setToolTip(intervals_tooltip(getattr(result, "intervals", None)))
        self._update_count()
        self.tachogram.set_beats(result, start_time, duration_s)

    def set_message(self, text: str) -> None:
        """A line of status in place of the summary (e.g. while the pass runs)."""
        self.summary.setText(text)

    def set_page(self, start_s: float, stop_s: float) -> None:
        """Shade the current page in the tachogram."""
        self.tachogram.set_page(start_s, stop_s)

    def select_row(self, row: int) -> None:
        """Select and activate a row of the table (keyboard and tests)."""
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)
        self._activate(index)

    def _on_filter(self, text: str) -> None:
        self.model.set_filter(EVENT_FILTERS.get(text, ()))
        self._update_count()

    def _update_count(self) -> None:
        n = self.model.rowCount()
        self.count_label.setText(f"{n:,} event{'s' if n != 1 else ''}")

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid() and 0 <= index.row() < self.model.rowCount():
            self.eventActivated.emit(self.model.event(index.row()))


def summary_html(result, note: str = "") -> str:
    """One paragraph: number of beats per class, mean heart rate (normal-to-normal), method."""
    counts = result.counts()
    parts = [f"<b>{result.n_beats:,}</b> beats"]
    for label in ("N", "S", "V", "F", "Q"):
        color = BEAT_COLORS[label]
        parts.append(f"<span style='color:{color}'><b>{label}</b></span> {counts.get(label, 0):,}")
    text = " · ".join(parts)
    _t, mean, lo, hi = result.hr_trend(max(60.0, result.duration_s / 200.0))
    if np.isfinite(mean).any():
        text += (
            f"<br>heart rate {np.nanmin(lo):.0f}–{np.nanmax(hi):.0f} bpm, "
            f"mean {np.nanmean(mean):.0f} bpm (normal beats)"
        )
    trend = getattr(result, "intervals", None)
    rec = trend.record if trend is not None else {}
    if rec.get("qtc_fridericia_ms") is not None:
        text += f"<br>QTc {rec['qtc_fridericia_ms']:.0f} ms (Fridericia), QT {rec['qt_ms']:.0f} ms"
        if rec.get("pr_ms") is not None:
            text += f", PR {rec['pr_ms']:.0f} ms"
        if trend.longest is not None:
            text += f"; longest QTc {trend.longest.qtc_ms:.0f} ms"
    text += f"<br><span style='color:#606060'>method: {result.method}"
    if getattr(result, "lead", ""):
        text += f", lead {result.lead}"
    text += "</span>"
    if note:
        text += f"<br><span style='color:#a05000'>{note}</span>"
    return text


def intervals_tooltip(trend) -> str:
    """How the QT/QTc figures of the summary were made (empty without a trend)."""
    if trend is None:
        return ""
    return (
        f"QT, QTc and PR: medians of the normal beats, boundaries by {trend.model} on leads "
        f"{', '.join(trend.leads)} ({trend.sampling}); QTc from the median QT and the median RR of the "
        "same beats; longest QTc: the minute of largest median QTc (Fridericia)"
    )
