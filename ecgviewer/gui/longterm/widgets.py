"""The widgets of the long-term mode, built once per window (no behaviour here).

The central area holds, top to bottom, the overview bar, the time ruler and a
stack with the window's ECG paper view and the strip chart; short records show
the paper view alone in it (overview and ruler hidden), exactly as without it.
The events panel docks on the right; the page toolbar sits below the main one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.gui.longterm.area import TimeRuler
from ecgviewer.gui.longterm.events_panel import EventsPanel
from ecgviewer.gui.longterm.overview import OverviewBar
from ecgviewer.gui.longterm.paging import PAGE_SIZES_S, page_size_label
from ecgviewer.gui.longterm.strip_view import StripView

if TYPE_CHECKING:
    from ecgviewer.gui.modes import ModeContext


@dataclass
class LongTermWidgets:
    """The long-term widgets of one window."""

    area: QWidget
    overview: OverviewBar
    ruler: TimeRuler
    strip: StripView
    stack: QStackedWidget
    events: EventsPanel
    events_dock: QDockWidget
    page_combo: QComboBox
    page_label: QLabel
    toolbar: QToolBar


def build_widgets(ctx: ModeContext) -> LongTermWidgets:
    """Build the long-term widgets into ``ctx.host`` (hidden until a long record is shown)."""
    host, view = ctx.host, ctx.view
    overview, ruler, strip, stack = OverviewBar(), TimeRuler(), StripView(), QStackedWidget()
    host.takeCentralWidget()
    stack.addWidget(view)
    stack.addWidget(strip)
    area = QWidget()
    area.setObjectName("longterm_area")
    lay = QVBoxLayout(area)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    lay.addWidget(overview)
    lay.addWidget(ruler)
    lay.addWidget(stack, 1)
    overview.hide()
    ruler.hide()
    host.setCentralWidget(area)
    # The view-only shortcuts (arrows, +/-) must work wherever the focus is in the area.
    for spec_action in view.actions():
        area.addAction(spec_action)
    events = EventsPanel()
    events_dock = QDockWidget("Events", host)
    events_dock.setObjectName("dock_events")
    events_dock.setWidget(events)
    host.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, events_dock)
    events_dock.hide()
    page_combo = QComboBox()
    page_combo.setObjectName("page_size_combo")
    for size in PAGE_SIZES_S:
        page_combo.addItem(page_size_label(size), size)
    page_combo.setToolTip("Length of the page shown (+/- change it)")
    page_label = QLabel("")
    page_label.setMinimumWidth(280)
    toolbar = QToolBar("Long-term record", host)
    toolbar.setObjectName("longterm_toolbar")
    toolbar.setMovable(False)
    toolbar.addAction(ctx.action("page_prev"))
    toolbar.addWidget(page_combo)
    toolbar.addAction(ctx.action("page_next"))
    toolbar.addWidget(page_label)
    toolbar.addSeparator()
    toolbar.addAction(ctx.action("analyze_beats"))
    host.addToolBarBreak()
    host.addToolBar(toolbar)
    toolbar.hide()
    return LongTermWidgets(
        area, overview, ruler, strip, stack, events, events_dock, page_combo, page_label, toolbar
    )


def size_events_dock(host, events_dock: QDockWidget) -> None:
    """The events dock gets most of the right-hand column (the other panels are about the page)."""
    right = Qt.DockWidgetArea.RightDockWidgetArea
    others = [
        d
        for d in host.findChildren(QDockWidget)
        if d is not events_dock and d.isVisible() and not d.isFloating() and host.dockWidgetArea(d) == right
    ]
    if others:
        share = [40 // len(others)] * len(others)
        host.resizeDocks([*others, events_dock], [*share, 60], Qt.Orientation.Vertical)
