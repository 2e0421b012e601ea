"""Puts interval analysis and classification into the main window: controller, docks, spans.

:func:`install_analysis` is called once by :class:`~ecgviewer.gui.main_window.MainWindow`;
everything analysis-related the window shows is connected here, so the window
itself only knows "a record was shown" and "the drawing changed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt

from ecgviewer.gui import actions as action_table
from ecgviewer.gui.analysis import AnalysisController
from ecgviewer.gui.classification_panel import ClassificationPanel
from ecgviewer.gui.interval_spans import IntervalSpansItem
from ecgviewer.gui.measurements_panel import MeasurementsPanel
from ecgviewer.gui.waves_ui import WavesUi
from ecgviewer.resources import checkpoints_dir, installed_checkpoints

if TYPE_CHECKING:
    from ecgviewer.analysis import RecordAnalysis
    from ecgviewer.gui.main_window import MainWindow
    from ecgviewer.layout.paper import Segment

#: Height of the three span bars under the rhythm strip, mm of paper.
SPANS_HEIGHT_MM = 3.0


class AnalysisUi(QObject):
    """The analysis parts of one main window (see :func:`install_analysis`)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        settings = window.settings
        self.model_set = None
        if getattr(window, "isolate_models", False):
            from ecgviewer.gui.model_process import ProcessModelSet

            self.model_set = ProcessModelSet()  # networks in a child process, started on first use
        self.controller = AnalysisController(
            self,
            model=settings.model,
            classifier=settings.classifier,
            delineator=settings.delineator,
            device=settings.device,
            models=self.model_set,
        )
        self.panel = MeasurementsPanel()
        self.panel.set_model(settings.model)
        self.panel.set_device(settings.device)
        self.panel.set_auto_analyze(settings.auto_analyze)
        self.panel.set_show_intervals(settings.show_intervals)
        self.panel.set_can_analyze(False)
        self.dock = window.add_side_panel(self.panel, "Measurements")
        self.dock.setVisible(settings.measurements_visible)
        self.class_panel = ClassificationPanel()
        self._update_installed_classifiers()
        self.class_panel.set_classifier(self.controller.classifier)
        self.class_dock = window.add_side_panel(self.class_panel, "Classification")
        self.class_dock.setVisible(settings.classification_visible)
        window.resizeDocks(  # the measurements' median beat gives way to the statements
            [self.dock, self.class_dock], [560, self.class_panel.sizeHint().height()], Qt.Orientation.Vertical
        )
        self.spans = IntervalSpansItem(height=SPANS_HEIGHT_MM)
        self.spans.setVisible(False)
        window.view.vb.addItem(self.spans, ignoreBounds=True)
        self._connect()
        #: The delineation's boundary marks, beat table and delineator choice.
        self.waves = WavesUi(window, self)

    # -- wiring -------------------------------------------------------------------------
    def _connect(self) -> None:
        c, p, w = self.controller, self.panel, self.window
        c.busy.connect(p.set_busy)
        c.progress.connect(p.set_progress)
        c.classicalReady.connect(self._on_classical)
        c.predictionReady.connect(self._on_prediction)
        c.predictionDiscarded.connect(lambda: self._on_prediction(None))
        c.failed.connect(p.set_error)
        c.failed.connect(lambda msg: w.statusBar().showMessage(msg, 8000))
        c.cleared.connect(p.clear)
        c.analysisChanged.connect(self._on_analysis)
        p.analyzeRequested.connect(self.analyze)
        p.cancelRequested.connect(c.cancel)
        p.modelChanged.connect(self.set_model)
        p.deviceChanged.connect(self.set_device)
        p.autoAnalyzeChanged.connect(lambda on: setattr(w.settings, "auto_analyze", on))
        p.showIntervalsChanged.connect(self.set_show_intervals)
        w.recordShown.connect(self._on_record_shown)
        w.displayChanged.connect(self._place_spans)
        a = w.actions_by_name  # the actions call their slots (gui.actions): only their states here
        a["show_intervals"].setChecked(w.settings.show_intervals)
        a["show_measurements"].setChecked(w.settings.measurements_visible)
        self.dock.visibilityChanged.connect(self._dock_visibility_changed)
        a["analyze"].setEnabled(False)
        self._connect_classification()

    def _connect_classification(self) -> None:
        c, p, w = self.controller, self.class_panel, self.window
        c.busy.connect(p.set_busy)
        c.busy.connect(self._on_busy)
        c.classificationReady.connect(lambda result: p.set_result(result, c.classifier_meta))
        c.classificationFailed.connect(p.set_error)
        c.classificationFailed.connect(lambda msg: w.statusBar().showMessage(msg, 8000))
        c.classificationProgress.connect(p.set_progress)
        c.classificationDiscarded.connect(p.clear)
        c.cleared.connect(p.clear)
        p.classifierChanged.connect(self.set_classifier)
        w.actions_by_name["show_classification"].setChecked(w.settings.classification_visible)
        self.class_dock.visibilityChanged.connect(self._class_dock_visibility_changed)
        self._sync_classifier_actions()

    # -- user requests ----------------------------------------------------------------------
    def analyze(self) -> None:
        """Analyse the open record (the unfiltered samples) in the background."""
        if self.window.record is not None:
            self.controller.analyze(self.window.record)

    def set_model(self, model: str) -> None:
        """Use another model; the open record is analysed again with it."""
        self.window.settings.model = model
        self.panel.set_model(model)
        self.controller.set_model(model)
        if self.controller.record is not None:
            self.controller.reanalyze()

    def set_device(self, device: str) -> None:
        """Run on another device (``auto``, ``cpu``, ``cuda``, ``mps``)."""
        self.window.settings.device = device
        self.panel.set_device(device)
        self.controller.set_device(device)
        if self.controller.record is not None:
            self.controller.reanalyze()

    def set_classifier(self, classifier: str | None) -> None:
        """Use another statement classifier (None: off); the open record is classified again with it."""
        self.window.settings.classifier = classifier
        self.class_panel.set_classifier(classifier)
        self.controller.set_classifier(classifier)
        self._sync_classifier_actions()
        self.controller.reclassify()

    def _load_classifier(self) -> None:
        path = self.class_panel.file_dialog(self.window)
        if path:
            self.set_classifier(str(path))

    def _update_installed_classifiers(self) -> None:
        installed = installed_checkpoints(n for _, n in action_table.CLASSIFIER_CHOICES)
        self.class_panel.set_installed(installed, checkpoints_dir())
        for _, name in action_table.CLASSIFIER_CHOICES:
            act = self.window.actions_by_name[f"classifier_{name}"]
            act.setEnabled(name in installed)
            if name not in installed:
                act.setStatusTip(f"{name} is not installed in {checkpoints_dir()}")

    def _sync_classifier_actions(self) -> None:
        current = self.controller.classifier or ""
        for spec in action_table.ACTIONS:
            if spec.group == "classifier":
                act = self.window.actions_by_name[spec.name]
                act.blockSignals(True)
                act.setChecked(spec.value == current)  # a loaded checkpoint: none checked
                act.blockSignals(False)

    def _toggle_class_dock(self, on: bool) -> None:
        self.class_dock.setVisible(on)
        self.window.settings.classification_visible = on

    def _class_dock_visibility_changed(self, visible: bool) -> None:
        if not self.window.isHidden():
            # behind the Events tab (long-term view) the dock is not closed: only an explicit hide counts
            self.window.actions_by_name["show_classification"].setChecked(not self.class_dock.isHidden())

    def set_show_intervals(self, on: bool) -> None:
        """Show or hide the interval spans (rhythm strip and median beat)."""
        self.window.settings.show_intervals = on
        self.panel.set_show_intervals(on)
        self.panel.median_view.setVisible(on)
        action = self.window.actions_by_name["show_intervals"]
        if action.isChecked() != on:
            action.setChecked(on)
        self._place_spans()

    def _load_checkpoint(self) -> None:
        path = self.panel.file_dialog(self.window)
        if path:
            self.set_model(str(path))

    def _toggle_dock(self, on: bool) -> None:
        self.dock.setVisible(on)
        self.window.settings.measurements_visible = on

    def _dock_visibility_changed(self, visible: bool) -> None:
        if not self.window.isHidden():
            self.window.actions_by_name["show_measurements"].setChecked(visible)

    # -- results -------------------------------------------------------------------------
    def _on_record_shown(self, record) -> None:
        self.panel.set_vendor(record.vendor_measurements)
        self.window.actions_by_name["analyze"].setEnabled(True)
        self.panel.set_can_analyze(True)
        if self.panel.auto_analyze:
            self.controller.analyze(record)
        else:
            self.controller.clear()

    def _on_busy(self, busy: bool) -> None:
        if not busy and self.controller.prediction is not None:
            self.panel.set_prediction(self.controller.prediction)  # "done": the classifier ran after it

    def _on_classical(self, analysis) -> None:
        self.panel.set_classical(analysis)

    def _on_prediction(self, result) -> None:
        self.panel.set_prediction(result)

    def _on_analysis(self, analysis: RecordAnalysis | None) -> None:
        """The published analysis changed (None: cleared): the lead-quality marks in the view, the
        panel's quality line, and the spans of its beats and intervals."""
        quality = None if analysis is None else analysis.quality
        self.panel.set_quality(quality, None if analysis is None else analysis.withheld)
        self.window.view.set_lead_quality(quality)
        classical = analysis.classical if analysis is not None else None
        self.spans.set_beats(classical.beats if classical is not None else None)
        if analysis is None:
            self.spans.setVisible(False)
            return
        self.spans.set_intervals_from(
            analysis.prediction, classical.intervals if classical is not None else None
        )
        self._place_spans()

    def _rhythm_segment(self) -> Segment | None:
        """The longest drawn piece of lead II (the rhythm strip), else the longest piece of any lead."""
        layout = self.window.view.layout
        if layout is None or not layout.segments:
            return None

        def key(seg: Segment) -> tuple[bool, float, int]:
            return (seg.lead == "II", seg.t_stop_s - seg.t_start_s, seg.row)

        return max(layout.segments, key=key)

    def _place_spans(self) -> None:
        """Put the span bars under the rhythm strip of the current layout, page and speed."""
        seg = self._rhythm_segment()
        visible = seg is not None and self.window.settings.show_intervals and self.spans.has_content()
        self.spans.setVisible(bool(visible))
        if not visible:
            return
        layout = self.window.view.layout
        speed = self.window.speed_mm_per_s
        x0, t0 = seg.x_start_mm, seg.t_start_s
        self.spans.set_geometry(
            lambda t: x0 + (t - t0) * speed,
            seg.baseline_mm - 0.45 * layout.row_height_mm,
            SPANS_HEIGHT_MM,
        )
        self.spans.set_time_range(seg.t_start_s, seg.t_stop_s)

    def shutdown(self) -> None:
        """Stop any running analysis (window closing); end the model process when there is one."""
        self.controller.cancel()
        if self.model_set is not None:
            self.model_set.close()


def install_analysis(window: MainWindow) -> AnalysisUi:
    """Add the measurements dock, the Analyze actions and the interval spans to ``window``."""
    return AnalysisUi(window)
