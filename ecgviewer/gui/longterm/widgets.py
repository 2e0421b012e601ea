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


#: Height of a dock's title bar (and tab bar allowance), px.
EVENTS_DOCK_TITLE_PX = 30
#: The event list keeps at least this height, px.
EVENTS_MIN_PX = 250
#: Object name of the dock the events share a tab group with in the long-term view.
TAB_WITH_DOCK = "dock_classification"


def _panel_height(dock: QDockWidget) -> int:
    """Height a dock needs so its content is not squeezed: its minimum, plus room for the lines its
    word-wrapped labels take at the dock's width (a dock's minimum size does not count them)."""
    widget = dock.widget()
    if widget is None:
        return 0
    extra = 0
    for label in widget.findChildren(QLabel):
        if label.wordWrap() and label.isVisibleTo(widget) and label.text():
            extra += max(
                0, label.heightForWidth(max(1, dock.width() - 12)) - label.minimumSizeHint().height()
            )
    return widget.minimumSizeHint().height() + extra + EVENTS_DOCK_TITLE_PX


def size_events_dock(host, events_dock: QDockWidget) -> None:
    """Place the events dock in the right-hand column without squeezing the panels there.

    The Classification dock (record statements, about the page's 10 s) and the Events
    share one tab group, the events in front, so that at a 1000 px window the
    Measurements table, its note and the event list each keep their full height; the
    events then get most of the column.
    """
    right = Qt.DockWidgetArea.RightDockWidgetArea
    partner = host.findChild(QDockWidget, TAB_WITH_DOCK)
    if (
        partner is not None
        and partner is not events_dock
        and not partner.isFloating()
        and host.dockWidgetArea(partner) == right
        and events_dock not in host.tabifiedDockWidgets(partner)
    ):
        host.tabifyDockWidget(partner, events_dock)
    events_dock.raise_()
    tabbed = set(host.tabifiedDockWidgets(events_dock))
    others = [
        d
        for d in host.findChildren(QDockWidget)
        if d is not events_dock
        and d not in tabbed
        and d.isVisible()
        and not d.isFloating()
        and host.dockWidgetArea(d) == right
    ]
    if others:
        # the others (Measurements) keep the height their content asks for -- a wrapped note under
        # a fixed-height table overlaps it when squeezed -- and the events get the rest
        column = sum(d.height() for d in others) + events_dock.height()
        want = [_panel_height(d) for d in others]
        rest = max(EVENTS_MIN_PX, column - sum(want))
        host.resizeDocks([*others, events_dock], [*want, rest], Qt.Orientation.Vertical)
