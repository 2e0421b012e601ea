"""Widgets around the page view of the long-term mode: the time ruler and the status-bar task indicators."""

from __future__ import annotations

import datetime as dt

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ecgviewer.gui.longterm.time_axis import TimeOfDayAxis


class TimeRuler(pg.PlotWidget):
    """A time-of-day scale above the ECG paper: record seconds ``lo .. hi`` across its width."""

    def __init__(self, parent=None) -> None:
        self.time_axis = TimeOfDayAxis("bottom")
        super().__init__(parent, background="w", axisItems={"bottom": self.time_axis}, enableMenu=False)
        item = self.getPlotItem()
        item.hideButtons()
        item.hideAxis("left")
        item.layout.setContentsMargins(0, 0, 0, 0)
        item.setMouseEnabled(x=False, y=False)
        item.getViewBox().setMaximumHeight(1)
        self.time_axis.setPen(pg.mkPen("#404040"))
        self.time_axis.setTextPen(pg.mkPen("#202020"))
        self.setFixedHeight(30)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def set_start_time(self, start_time: dt.datetime | None) -> None:
        """Clock origin (None: elapsed time)."""
        self.time_axis.set_start_time(start_time)

    def set_span(self, lo_s: float, hi_s: float, limits: tuple[float, float] | None = None) -> None:
        """Show record seconds ``lo_s .. hi_s`` across the width; ticks only inside ``limits``."""
        self.time_axis.set_limits(*(limits or (None, None)))
        if hi_s > lo_s:
            self.setXRange(lo_s, hi_s, padding=0)

    def span(self) -> tuple[float, float]:
        """The record seconds across the width."""
        x0, x1 = self.getPlotItem().getViewBox().viewRange()[0]
        return float(x0), float(x1)

    def tick_labels(self) -> list[str]:
        """The labels of the major ticks now shown (for tests)."""
        lo, hi = self.span()
        levels = self.time_axis.tickValues(lo, hi, float(self.width()))
        if not levels:
            return []
        spacing, values = levels[0]
        return self.time_axis.tickStrings(values, 1.0, spacing)


class TaskIndicator(QWidget):
    """``label [progress] [Cancel]`` for a background pass, shown only while it runs.

    Signals
    -------
    cancelRequested()
        The Cancel button was pressed.
    """

    cancelRequested = Signal()

    def __init__(self, text: str, cancellable: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel(text)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        self.cancel_button: QToolButton | None = None
        if cancellable:
            self.cancel_button = QToolButton()
            self.cancel_button.setText("Cancel")
            self.cancel_button.setToolTip("Stop this analysis")
            self.cancel_button.clicked.connect(self.cancelRequested)
            lay.addWidget(self.cancel_button)
        self.hide()

    def start(self, text: str | None = None) -> None:
        """Show at 0 %."""
        if text is not None:
            self.label.setText(text)
        self.bar.setValue(0)
        self.show()

    def set_fraction(self, fraction: object) -> None:
        """Progress in 0..1."""
        try:
            value = float(fraction)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        self.bar.setValue(round(1000 * min(1.0, max(0.0, value))))

    @property
    def fraction(self) -> float:
        """The progress shown, 0..1."""
        return self.bar.value() / 1000.0

    def stop(self) -> None:
        """Hide."""
        self.hide()
