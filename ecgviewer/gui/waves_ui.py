"""The wave delineation in the main window: boundary marks, the per-beat table, the delineator choice.

:class:`WavesUi` is created by :class:`~ecgviewer.gui.analysis_ui.AnalysisUi`
(``window.analysis.waves``) and follows the analysis it publishes
(``analysisChanged``): the delineation of the record shown becomes

* tick marks at the wave boundaries of every beat on every drawn lead
  (:class:`~ecgviewer.gui.boundary_marks.BoundaryMarks`; View > Show wave boundaries),
* the per-beat table in the "Beats" dock (:class:`~ecgviewer.gui.beat_table.BeatTable`;
  a selected beat is highlighted on the paper and brought into view),
* the headline of the measurements panel and the median beat's boundaries.

Tools > Delineator chooses the network (the bundled ``delineation`` checkpoints, or
one opened from a file); the choice is kept in the settings and only the
delineation stage runs again (``AnalysisController.redelineate``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ecgviewer.core.delineation import POINTS
from ecgviewer.gui import actions as action_table
from ecgviewer.gui.beat_table import BeatTable
from ecgviewer.gui.boundary_marks import BoundaryMarks
from ecgviewer.gui.dialogs import ask_checkpoint_path
from ecgviewer.layout.paper import PAGE_S
from ecgviewer.resources import checkpoints_dir, installed_checkpoints

if TYPE_CHECKING:
    from ecgviewer.analysis import RecordAnalysis
    from ecgviewer.core.delineation import Delineation
    from ecgviewer.gui.analysis_ui import AnalysisUi
    from ecgviewer.gui.main_window import MainWindow

#: Width of the right-hand docks (px): the measurements table's seven columns.
RIGHT_DOCK_WIDTH = 360
#: Colour of the band behind the beat selected in the table.
SELECTED_BEAT_COLOR = QColor(255, 200, 0, 40)
#: Time around the R peak the band covers when the beat has no P onset or T offset (s).
BAND_BEFORE_S, BAND_AFTER_S = 0.25, 0.45
#: Legend said in the status bar when the marks are switched on.
MARKS_LEGEND = (
    "Wave boundaries: green P, purple QRS, blue T; full ticks P onset, QRS onset/offset, T offset, "
    "short ticks P offset, T onset; solid: the lead's own, dashed: consensus of the leads"
)


class WavesUi(QObject):
    """The delineation's parts of one main window (see the module notes)."""

    def __init__(self, window: MainWindow, analysis_ui: AnalysisUi) -> None:
        super().__init__(analysis_ui)
        self.window = window
        self.analysis_ui = analysis_ui
        self.controller = analysis_ui.controller
        settings = window.settings
        #: Called as ``file_dialog(window)`` for "Open delineation checkpoint…" (replace in tests).
        self.file_dialog = ask_checkpoint_path
        self.marks = BoundaryMarks(window.view)
        self.marks.set_visible(settings.show_boundaries)
        self.table = BeatTable()
        self.dock = window.add_side_panel(self.table, "Beats")
        window.tabifyDockWidget(analysis_ui.class_dock, self.dock)
        analysis_ui.class_dock.raise_()
        self.dock.setVisible(settings.beat_table_visible)
        # wide enough for the headline beside the classical, model and device values
        window.resizeDocks([analysis_ui.dock], [RIGHT_DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.band = QGraphicsRectItem()
        self.band.setBrush(QBrush(SELECTED_BEAT_COLOR))
        self.band.setPen(QPen(Qt.PenStyle.NoPen))
        self.band.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.band.setZValue(-50)  # over the grid, under the marks and the trace
        self.band.hide()
        window.view.vb.addItem(self.band, ignoreBounds=True)
        self.selected: int | None = None
        self._delineation: Delineation | None = None

        a = window.actions_by_name
        a["show_boundaries"].setChecked(settings.show_boundaries)
        a["show_beat_table"].setChecked(settings.beat_table_visible)
        self.dock.visibilityChanged.connect(self._dock_visibility_changed)
        self.controller.analysisChanged.connect(self._on_analysis)
        window.displayChanged.connect(self._on_display_changed)
        self.table.beatActivated.connect(self.go_to_beat)
        installed = installed_checkpoints(n for _, n in action_table.DELINEATOR_CHOICES)
        for _, name in action_table.DELINEATOR_CHOICES:
            act = a[f"delineator_{name}"]
            act.setEnabled(name in installed)
            if name not in installed:
                act.setStatusTip(f"{name} is not installed in {checkpoints_dir()}")
        self._sync_delineator_actions()

    # -- user requests ------------------------------------------------------------------------
    def set_show_boundaries(self, on: bool) -> None:
        """View > Show wave boundaries."""
        self.window.settings.show_boundaries = on
        self.marks.set_visible(on)
        action = self.window.actions_by_name["show_boundaries"]
        if action.isChecked() != on:
            action.setChecked(on)
        if on and self.marks.items():
            self.window.statusBar().showMessage(MARKS_LEGEND, 8000)

    def toggle_beat_table(self, on: bool) -> None:
        """View > Beat table."""
        self.dock.setVisible(on)
        if on:
            self.dock.raise_()
        self.window.settings.beat_table_visible = on

    def _dock_visibility_changed(self, _visible: bool) -> None:
        if not self.window.isHidden():  # behind another tab the dock is not closed
            self.window.actions_by_name["show_beat_table"].setChecked(not self.dock.isHidden())

    def set_delineator(self, name: str) -> None:
        """Tools > Delineator: a bundled delineation checkpoint by name, or a checkpoint path.

        Kept in the settings; the open record is delineated again with it (the other results stay).
        """
        self.window.settings.delineator = name
        self.controller.set_delineator(name)
        self._sync_delineator_actions()
        self.controller.redelineate()

    def load_delineator(self) -> None:
        """Tools > Open delineation checkpoint…"""
        path = self.file_dialog(self.window)
        if path:
            self.set_delineator(str(path))

    def _sync_delineator_actions(self) -> None:
        current = self.controller.delineator or ""
        for spec in action_table.ACTIONS:
            if spec.group == "delineator":
                act = self.window.actions_by_name[spec.name]
                act.blockSignals(True)
                act.setChecked(spec.value == current)  # a checkpoint opened from a file: none checked
                act.blockSignals(False)

    # -- going to a beat ------------------------------------------------------------------------
    def go_to_beat(self, index: int, t_s: float | None = None) -> None:
        """Show beat ``index`` of the delineation: its page (3x4, 6x2), centred when the view is zoomed in,
        and highlighted on every lead."""
        d, view, w = self._delineation, self.window.view, self.window
        if d is None or not 0 <= index < d.n_beats or view.layout is None:
            return
        t = float(d.r_peaks[index] / d.fs_hz) if t_s is None else float(t_s)
        if w.mode is w.paper_mode and view.paged:
            page = math.floor(t / PAGE_S) * PAGE_S
            if abs(page - view.page_start_s) > 1e-9:
                view.set_page(page)
                w.caliper.clear()
                w.displayChanged.emit()
        self.selected = index
        self._place_band()
        layout = view.layout
        x = layout.x_at(t)
        (x0, x1), _ = view.vb.viewRange()
        if x1 - x0 < 0.98 * layout.paper_rect[2] or not x0 <= x <= x1:
            view.vb.translateBy(x=x - 0.5 * (x0 + x1))

    def _band_s(self, index: int) -> tuple[float, float]:
        """Start and end (s) of the band of beat ``index``: its P onset (or R - 0.25 s) to its T offset."""
        d = self._delineation
        assert d is not None
        c = d.consensus[index]
        r = d.r_peaks[index] / d.fs_hz
        p_on, t_off = c[POINTS.index("p_on")], c[POINTS.index("t_off")]
        start = p_on / d.fs_hz if math.isfinite(p_on) else r - BAND_BEFORE_S
        stop = t_off / d.fs_hz if math.isfinite(t_off) else r + BAND_AFTER_S
        return float(start) - 0.02, float(stop) + 0.02

    def _place_band(self) -> None:
        layout = self.window.view.layout
        if self.selected is None or self._delineation is None or layout is None:
            self.band.hide()
            return
        t0, t1 = self._band_s(self.selected)
        shown = [
            s for s in layout.segments if s.t_start_s <= t0 < s.t_stop_s or s.t_start_s < t1 <= s.t_stop_s
        ]
        if not shown:
            self.band.hide()
            return
        _, bottom, _, height = layout.paper_rect
        x0, x1 = layout.x_at(t0), layout.x_at(t1)
        self.band.setRect(QRectF(x0, bottom, x1 - x0, height))
        self.band.show()

    # -- results --------------------------------------------------------------------------------
    def _on_analysis(self, analysis: RecordAnalysis | None) -> None:
        """The published analysis changed: marks, beat table and headline follow its delineation."""
        result, error = None, None
        if analysis is not None and analysis.record is self.window.record:
            # with the reader's edits when an over-read applies (beats, boundaries, record intervals)
            result, error = analysis.effective_delineation, analysis.delineation_error
        d = None if result is None else result.delineation
        self.analysis_ui.panel.set_delineation(result, error)
        if d is self._delineation:
            return
        self._delineation = d
        self.marks.set_delineation(d, () if result is None else result.withheld)
        note = ""
        if analysis is not None and "delineation" in analysis.withheld:
            note = f"Beats: withheld ({analysis.withheld['delineation']})"
        elif error:
            note = f"Beats: delineation failed ({error})"
        self.table.set_delineation(d, note)
        self.selected = None
        self._place_band()

    def _on_display_changed(self) -> None:
        self.marks.rebuild()
        self._place_band()
