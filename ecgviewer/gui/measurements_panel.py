"""Dock panel with the interval measurements of every source, the headline first.

:class:`MeasurementsPanel` shows, for HR, RR, PR, QRS, QT and QTc (Bazett,
Fridericia), the wave delineation network's value (the headline) with its spread
and confidence, or why it is absent, beside the classical median-beat value, the
interval model's and the value the acquiring device stored in the file (``Device``
column, hidden when the file has none; the device's QTc and axes are listed under
the table); values that differ from the headline are highlighted
(:mod:`~ecgviewer.gui.measurement_table`). It carries the
model and device selectors, Analyze/Cancel, a progress bar, the "Analyze on
open" and "Show intervals" options, the untrained-placeholder warning, an error
line and a :class:`~ecgviewer.gui.median_beat_view.MedianBeatView`.

The panel holds no analysis logic: it emits requests and is fed results (see
:class:`~ecgviewer.gui.analysis.AnalysisController`).

Signals
-------
modelChanged(str)
    Bundled model name (``"resnet1d"``, ``"vit1d"``) or checkpoint path chosen.
deviceChanged(str)
    ``"auto"``, ``"cpu"`` or ``"cuda"``.
analyzeRequested(), cancelRequested()
autoAnalyzeChanged(bool), showIntervalsChanged(bool)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.gui.dialogs import ask_checkpoint_path
from ecgviewer.gui.measurement_table import (
    DEVICE_COLUMN,
    HEADLINE_THRESHOLDS,
    HIGHLIGHT_BG,
    MeasurementTable,
)
from ecgviewer.gui.median_beat_view import MedianBeatView
from ecgviewer.report.measurements import DISAGREEMENT_THRESHOLDS, ROWS, VENDOR_EXTRA
from ecgviewer.resources import bundled_checkpoints, default_checkpoint

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.quality import QualityReport
    from ecgviewer.core.record import VendorMeasurements
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult

__all__ = ["DEVICE_COLUMN", "HIGHLIGHT_BG", "LOAD_CHECKPOINT", "MeasurementsPanel"]

#: Bundled models offered by the selector: (label, model name), the default first.
BUNDLED_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (c.label, c.name) for c in bundled_checkpoints("intervals")
)
LOAD_CHECKPOINT = "Load checkpoint…"
_LOAD_SENTINEL = "\x00load"
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
WARNING_STYLE = (
    "QLabel { color: #b00020; font-weight: bold; background: #fdecea;"
    " border: 1px solid #b00020; border-radius: 3px; padding: 4px; }"
)
ERROR_STYLE = "QLabel { color: #b00020; }"


class MeasurementsPanel(QWidget):
    """Interval measurements (model vs classical), model controls and the median beat."""

    modelChanged = Signal(str)
    deviceChanged = Signal(str)
    analyzeRequested = Signal()
    cancelRequested = Signal()
    autoAnalyzeChanged = Signal(bool)
    showIntervalsChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MeasurementsPanel")
        #: Called as ``file_dialog(self)`` for "Load checkpoint…"; returns a path or None (replace in tests).
        self.file_dialog: Callable[[QWidget | None], str | None] = ask_checkpoint_path
        self._prediction: PredictionResult | None = None
        self._classical: BeatAnalysis | None = None
        self._vendor: VendorMeasurements | None = None
        self._quality: QualityReport | None = None
        self._withheld: dict[str, str] = {}
        self._model = default_checkpoint("intervals") or "resnet1d"
        self._can_analyze = True
        self._waves: DelineationResult | None = None
        self._waves_error: str | None = None

        # model / device
        self.model_combo = QComboBox()
        for label, name in BUNDLED_CHOICES:
            self.model_combo.addItem(label, name)
        self.model_combo.insertSeparator(self.model_combo.count())
        self.model_combo.addItem(LOAD_CHECKPOINT, _LOAD_SENTINEL)
        self.model_combo.setToolTip("Interval model: a bundled checkpoint or one loaded from a file")
        self.model_combo.currentIndexChanged.connect(self._on_model_index)
        self.device_combo = QComboBox()
        for d in DEVICE_CHOICES:
            self.device_combo.addItem(d, d)
        self.device_combo.setToolTip("Where the model runs (auto: GPU when available)")
        self.device_combo.currentIndexChanged.connect(
            lambda i: self.deviceChanged.emit(str(self.device_combo.itemData(i)))
        )
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model"))
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(QLabel("Device"))
        model_row.addWidget(self.device_combo)

        # run controls
        self.analyze_button = QPushButton("Analyze")
        self.analyze_button.setToolTip("Measure the intervals of the open record")
        self.analyze_button.clicked.connect(self.analyzeRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        run_row = QHBoxLayout()
        run_row.addWidget(self.analyze_button)
        run_row.addWidget(self.progress_bar, 1)
        run_row.addWidget(self.cancel_button)

        self.auto_check = QCheckBox("Analyze on open")
        self.auto_check.toggled.connect(self.autoAnalyzeChanged)
        self.spans_check = QCheckBox("Show intervals")
        self.spans_check.setToolTip("Draw PR/QRS/QT spans on the rhythm strip")
        self.spans_check.toggled.connect(self.showIntervalsChanged)
        options_row = QHBoxLayout()
        options_row.addWidget(self.auto_check)
        options_row.addWidget(self.spans_check)
        options_row.addStretch(1)

        # status
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.warning_label.hide()
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("QLabel { color: #444; }")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        self.quality_label = QLabel()
        self.quality_label.setWordWrap(True)
        self.quality_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quality_label.hide()

        # table
        self.table = MeasurementTable()
        self.note_label = QLabel(
            "Waves: the delineation network, the headline (±: robust SD over leads and beats; Conf.: "
            "its confidence). Highlighted: differs from it by more than "
            f"{HEADLINE_THRESHOLDS['pr_ms']:.0f} ms (PR, QRS), {HEADLINE_THRESHOLDS['qt_ms']:.0f} ms "
            f"(QT, QTc), {HEADLINE_THRESHOLDS['hr_bpm']:.0f} bpm (HR); with no headline, model vs "
            f"classical by {DISAGREEMENT_THRESHOLDS['pr_ms']:.0f}/{DISAGREEMENT_THRESHOLDS['qt_ms']:.0f} ms, "
            f"{DISAGREEMENT_THRESHOLDS['hr_bpm']:.0f} bpm."
        )
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("QLabel { color: #666; font-size: 8pt; }")
        self.absent_label = QLabel()  # why headline values are missing
        self.absent_label.setWordWrap(True)
        self.absent_label.setStyleSheet("QLabel { color: #8a4b00; font-size: 8pt; }")
        self.absent_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.absent_label.hide()
        self.device_label = QLabel()  # the device's QTc and axes, which have no row
        self.device_label.setWordWrap(True)
        self.device_label.setStyleSheet("QLabel { color: #444; font-size: 8pt; }")
        self.device_label.hide()

        self.median_view = MedianBeatView()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(model_row)
        layout.addLayout(run_row)
        layout.addLayout(options_row)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.quality_label)
        layout.addWidget(self.info_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table)
        layout.addWidget(self.absent_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.device_label)
        layout.addWidget(self.median_view, 1)
        self._refresh()

    # -- options -------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The selected model (bundled name or checkpoint path)."""
        return self._model

    def set_model(self, model: str | Path) -> None:
        """Select ``model`` (adding a checkpoint path to the list) without emitting ``modelChanged``."""
        model = str(model)
        index = self.model_combo.findData(model)
        if index < 0:
            index = self.model_combo.count() - 1  # before "Load checkpoint…"
            self.model_combo.insertItem(index, Path(model).name, model)
            self.model_combo.setItemData(index, model, Qt.ItemDataRole.ToolTipRole)
        self._model = model
        self.model_combo.blockSignals(True)
        self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(False)

    def set_device(self, device: str) -> None:
        """Select ``device`` without emitting ``deviceChanged``."""
        index = self.device_combo.findData(device)
        if index < 0:
            self.device_combo.addItem(device, device)
            index = self.device_combo.count() - 1
        self.device_combo.blockSignals(True)
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    @property
    def auto_analyze(self) -> bool:
        """State of "Analyze on open"."""
        return self.auto_check.isChecked()

    def set_auto_analyze(self, on: bool) -> None:
        """Set "Analyze on open" without emitting."""
        self.auto_check.blockSignals(True)
        self.auto_check.setChecked(on)
        self.auto_check.blockSignals(False)

    @property
    def show_intervals(self) -> bool:
        """State of "Show intervals"."""
        return self.spans_check.isChecked()

    def set_show_intervals(self, on: bool) -> None:
        """Set "Show intervals" without emitting."""
        self.spans_check.blockSignals(True)
        self.spans_check.setChecked(on)
        self.spans_check.blockSignals(False)

    def set_can_analyze(self, on: bool) -> None:
        """Enable the Analyze button (e.g. only while a record is open)."""
        self.analyze_button.setEnabled(on and not self.cancel_button.isEnabled())
        self._can_analyze = on

    def _on_model_index(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data == _LOAD_SENTINEL:
            path = self.file_dialog(self)
            if not path:
                self.set_model(self._model)  # back to the previous choice
                return
            self.set_model(path)
            self.modelChanged.emit(str(path))
            return
        if data is not None and data != self._model:
            self._model = str(data)
            self.modelChanged.emit(self._model)

    # -- state from the controller ---------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """A request runs: disable Analyze, enable Cancel, animate the progress bar."""
        self.cancel_button.setEnabled(busy)
        self.analyze_button.setEnabled(not busy and self._can_analyze)
        if busy:
            self.error_label.hide()
            self.progress_bar.setRange(0, 0)  # indeterminate until the first batch
            self.progress_bar.setFormat("analysing…")
        else:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("")

    def set_progress(self, done: int, total: int) -> None:
        """Windows done of total."""
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"{done} / {total} windows")

    def set_prediction(self, result: PredictionResult | None) -> None:
        """Show a model result (None: clear the model column)."""
        self._prediction = result
        self.median_view.set_prediction(result)
        if result is not None:
            self.error_label.hide()
            if not self.cancel_button.isEnabled():  # not busy: the run that produced it is over
                self.progress_bar.setRange(0, 1)
                self.progress_bar.setValue(1)
                self.progress_bar.setFormat(f"done · {result.n_windows} window(s)")
        self._refresh()

    def set_classical(self, analysis: BeatAnalysis | None) -> None:
        """Show a classical analysis (None: clear the classical column and the median beat)."""
        self._classical = analysis
        self.median_view.set_analysis(analysis)
        self._refresh()

    def set_delineation(self, result: DelineationResult | None, error: str | None = None) -> None:
        """Show the wave delineation's headline (None: none, ``error`` saying why when it failed)."""
        self._waves, self._waves_error = result, error
        self.median_view.set_delineation(result)
        self._refresh()

    def set_vendor(self, vendor: VendorMeasurements | None) -> None:
        """Show the measurements stored in the file (None: hide the Device column)."""
        self._vendor = vendor
        self.table.setColumnHidden(DEVICE_COLUMN, vendor is None)
        header = self.table.horizontalHeaderItem(DEVICE_COLUMN)
        header.setToolTip(f"Measured by the acquiring device: {vendor.source}" if vendor else "")
        extra = []
        if vendor is not None:
            extra = [f"{label} {vendor.values[k]:.0f}{'' if u == '°' else ' '}{u}"
                     for k, label, u in VENDOR_EXTRA if k in vendor.values]  # fmt: skip
        self.device_label.setText(f"Device ({vendor.source}): " + ", ".join(extra) if extra else "")
        self.device_label.setVisible(bool(extra))
        self._refresh()

    def set_quality(self, quality: QualityReport | None, withheld: Mapping[str, str] | None = None) -> None:
        """Show the signal quality: "No measurable ECG: <reason>" in place of numbers, the leads left
        out, or nothing (None: not assessed)."""
        self._quality = quality
        self._withheld = dict(withheld or {})
        if quality is None:
            self.quality_label.hide()
        elif not quality.measurable:
            reason = (quality.reason or "").removeprefix("no measurable ECG: ")
            self.quality_label.setText(f"<b>No measurable ECG</b>: {reason}<br>No values are given.")
            self.quality_label.setStyleSheet(ERROR_STYLE)
            self.quality_label.show()
            self.error_label.hide()  # the same reason, said once
        else:
            bad = quality.unusable_leads
            text = quality.summary()
            self.quality_label.setText(f"Signal quality: {text}")
            self.quality_label.setStyleSheet(WARNING_STYLE if bad else "QLabel { color: #444; }")
            self.quality_label.setVisible(bool(bad) or text != f"all {len(quality.leads)} leads usable")
        self._refresh()

    def set_error(self, message: str | None) -> None:
        """Show a failure message (None or empty hides it)."""
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))

    def clear(self) -> None:
        """Drop results, error and progress (the options stay)."""
        self._prediction = None
        self._classical = None
        self._waves, self._waves_error = None, None
        self._quality, self._withheld = None, {}
        self.quality_label.hide()
        self.median_view.clear_all()
        self.set_error(None)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        self._refresh()

    # -- read-back (tests, copy to clipboard) -------------------------------------------
    def row_texts(self, key: str) -> dict[str, str]:
        """Texts of one row (:meth:`MeasurementTable.row_texts`): ``label``, ``waves`` (the headline),
        ``spread``, ``confidence``, ``classical``, ``model``, ``device`` and ``model_spread``."""
        return self.table.row_texts(key)

    def is_highlighted(self, key: str) -> bool:
        """True when a value in the row of ``key`` is highlighted as a disagreement."""
        return self.table.is_highlighted(key)

    # -- rendering --------------------------------------------------------------------
    def _refresh(self) -> None:
        result = self._prediction
        vendor = dict(self._vendor.values) if self._vendor is not None else None
        self.table.set_sources(self._waves, result, self._classical, vendor)
        labels = {k: label for k, label, _ in ROWS}
        absent = [
            f"<b>{labels[k]} —</b> {why}" for k, why in self.table.absent_reasons().items() if "qtc" not in k
        ]
        self.absent_label.setText("<br>".join(absent))
        self.absent_label.setVisible(bool(absent))
        warning = None if result is None else result.display_warning
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        lines = [self._waves_line()]
        if result is None and "intervals" in self._withheld:
            lines.append("Model: withheld (signal quality)")
        elif result is None:
            lines.append("Model: no result yet")
        else:
            lines.append(
                f"Model <b>{result.model_name}</b> · device {result.device} · "
                f"checkpoint: {result.checkpoint_status} · {result.n_windows} window(s), "
                f"{result.elapsed_s:.2f} s"
            )
        if self._classical is not None:
            lines.append(
                f"Classical: {self._classical.intervals.n_beats} beats"
                + (
                    f" on {', '.join(self._classical.beats.leads)}"
                    if self._quality and self._quality.unusable_leads
                    else ""
                )
            )
        elif "classical" in self._withheld:
            why = self._withheld["classical"] if self._quality is None or self._quality.measurable else ""
            lines.append("Classical: withheld" + (f" ({why})" if why else ""))
        self.info_label.setText("<br>".join(lines))

    def _waves_line(self) -> str:
        """The delineation's line of the info text: network, leads, beats, or why there is none."""
        d = self._waves
        if d is not None:
            n = len(d.delineation.leads)
            held = f" ({', '.join(d.withheld)} left out)" if d.withheld else ""
            return (
                f"Waves <b>{d.model_name}</b> · {n} lead{'s' if n != 1 else ''}{held} · "
                f"{d.delineation.n_beats} beats, {d.elapsed_s:.2f} s"
            )
        if "delineation" in self._withheld:
            return f"Waves: withheld ({self._withheld['delineation']})"
        if self._waves_error:
            return f"Waves: failed ({self._waves_error})"
        return "Waves: no result yet"
