"""MeasurementsPanel, MedianBeatView and IntervalSpansItem (display tests with hand-made results)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from ecgviewer.core.beats import BeatAnalysis, Beats, ClassicalIntervals, analyze_beats
from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms
from ecgviewer.core.readers import read_record
from ecgviewer.gui.interval_spans import IntervalSpansItem
from ecgviewer.gui.measurement_table import MODEL_COLUMN
from ecgviewer.gui.measurements_panel import (
    HIGHLIGHT_BG,
    LOAD_CHECKPOINT,
    MeasurementsPanel,
)
from ecgviewer.gui.median_beat_view import MedianBeatView, ms_to_mm
from ecgviewer.inference.result import PLACEHOLDER_WARNING, IntervalEstimate, PredictionResult

pytestmark = pytest.mark.gui


def make_result(
    hr=60.0, pr=210.0, qrs=95.0, qt=480.0, trained=False, spread=20.0, model="resnet1d"
) -> PredictionResult:
    rr = 60000.0 / hr

    def est(name, unit, v):
        return IntervalEstimate.from_values(name, unit, np.array([v - spread / 2, v, v + spread / 2]))

    intervals = {
        "hr_bpm": est("hr_bpm", "bpm", hr),
        "rr_ms": est("rr_ms", "ms", rr),
        "pr_ms": est("pr_ms", "ms", pr),
        "qrs_ms": est("qrs_ms", "ms", qrs),
        "qt_ms": est("qt_ms", "ms", qt),
    }
    return PredictionResult(
        intervals=intervals,
        qtc_bazett_ms=qtc_bazett_ms(qt, rr),
        qtc_fridericia_ms=qtc_fridericia_ms(qt, rr),
        model_name=model,
        checkpoint_status="trained" if trained else "untrained placeholder",
        checkpoint_sha256="0" * 64,
        trained=trained,
        device="cpu",
        elapsed_s=0.5,
        window_starts_s=(0.0, 5.0, 10.0),
    )


def make_classical(hr=60.0, pr=150.0, qrs=90.0, qt=400.0) -> BeatAnalysis:
    beats = Beats(np.array([100, 600]), np.array([80, 580]), np.array([130, 630]), 500.0)
    return BeatAnalysis(beats, None, ClassicalIntervals(60000.0 / hr, hr, pr, qrs, qt, 10))


@pytest.fixture(scope="module")
def real_analysis(ptbxl_dir) -> BeatAnalysis:
    return analyze_beats(read_record(ptbxl_dir / "00001_hr.hea"))


@pytest.fixture
def panel(qtbot):
    p = MeasurementsPanel()
    qtbot.addWidget(p)
    p.resize(420, 760)
    return p


def test_panel_values_units_warning_and_disagreement(panel):
    panel.set_classical(make_classical())
    panel.set_prediction(make_result())
    hr, pr, qt = (panel.row_texts(k) for k in ("hr_bpm", "pr_ms", "qt_ms"))
    assert hr["model"] == "60 bpm" and hr["classical"] == "60 bpm" and hr["label"] == "HR"
    assert pr["model"] == "210 ms" and pr["classical"] == "150 ms" and pr["model_spread"] == "±5"
    assert pr["waves"] == "—"  # no delineation: no headline
    assert qt["model"] == "480 ms" and qt["classical"] == "400 ms"
    assert panel.row_texts("qtc_bazett_ms")["model"] == f"{qtc_bazett_ms(480, 1000):.0f} ms"
    # disagreement: PR +60 (> 20), QT +80 (> 40), QTc +80; QRS +5 and HR 0 agree
    assert panel.is_highlighted("pr_ms") and panel.is_highlighted("qt_ms")
    assert not panel.is_highlighted("qrs_ms") and not panel.is_highlighted("hr_bpm")
    r = 2  # PR row: the model's value is flagged
    assert panel.table.item(r, MODEL_COLUMN).background().color() == QColor(HIGHLIGHT_BG)
    assert panel.table.item(3, MODEL_COLUMN).background().color() != QColor(HIGHLIGHT_BG)
    assert "+60 ms (model − classical)" in panel.table.item(r, 0).toolTip()
    # untrained placeholder: the warning is shown, bold red
    assert not panel.warning_label.isHidden()
    assert PLACEHOLDER_WARNING in panel.warning_label.text()
    assert "bold" in panel.warning_label.styleSheet() and "#b00020" in panel.warning_label.styleSheet()
    assert "resnet1d" in panel.info_label.text() and "untrained placeholder" in panel.info_label.text()
    assert "cpu" in panel.info_label.text()

    panel.set_prediction(make_result(trained=True))
    assert panel.warning_label.isHidden()
    panel.set_prediction(None)
    assert panel.row_texts("pr_ms")["model"] == "—" and not panel.is_highlighted("pr_ms")
    assert panel.row_texts("pr_ms")["classical"] == "150 ms"
    panel.clear()
    assert panel.row_texts("pr_ms")["classical"] == "—"


def test_panel_hr_threshold(panel):
    panel.set_classical(make_classical(hr=60.0))
    panel.set_prediction(make_result(hr=75.0, pr=150, qrs=90, qt=400))
    assert panel.is_highlighted("hr_bpm") and not panel.is_highlighted("pr_ms")


def test_model_selector(qtbot, panel, tmp_path):
    with qtbot.waitSignal(panel.modelChanged) as blocker:
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("vit1d"))
    assert blocker.args == ["vit1d"] and panel.model == "vit1d"

    ckpt = tmp_path / "mine.safetensors"
    panel.file_dialog = lambda parent: str(ckpt)
    with qtbot.waitSignal(panel.modelChanged) as blocker:
        panel.model_combo.setCurrentIndex(panel.model_combo.findText(LOAD_CHECKPOINT))
    assert blocker.args == [str(ckpt)]
    assert panel.model_combo.currentText() == "mine.safetensors" and panel.model == str(ckpt)

    # a cancelled dialog keeps the previous choice and emits nothing
    panel.file_dialog = lambda parent: None
    with qtbot.assertNotEmitted(panel.modelChanged):
        panel.model_combo.setCurrentIndex(panel.model_combo.findText(LOAD_CHECKPOINT))
    assert panel.model_combo.currentText() == "mine.safetensors"

    with qtbot.assertNotEmitted(panel.modelChanged):
        panel.set_model("resnet1d")
    assert panel.model == "resnet1d" and panel.model_combo.currentData() == "resnet1d"


def test_panel_controls(qtbot, panel):
    with qtbot.waitSignal(panel.analyzeRequested):
        panel.analyze_button.click()
    panel.set_busy(True)
    assert not panel.analyze_button.isEnabled() and panel.cancel_button.isEnabled()
    panel.set_progress(3, 12)
    assert panel.progress_bar.value() == 3 and panel.progress_bar.maximum() == 12
    assert "3 / 12" in panel.progress_bar.format()
    with qtbot.waitSignal(panel.cancelRequested):
        panel.cancel_button.click()
    panel.set_busy(False)
    assert panel.analyze_button.isEnabled() and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.autoAnalyzeChanged) as blocker:
        panel.auto_check.click()
    assert blocker.args == [True]
    with qtbot.waitSignal(panel.showIntervalsChanged) as blocker:
        panel.spans_check.click()
    assert blocker.args == [True]
    with qtbot.waitSignal(panel.deviceChanged) as blocker:
        panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    assert blocker.args == ["cpu"]
    panel.set_error("Cannot analyse this record: record is 5.00 s long")
    assert not panel.error_label.isHidden() and "5.00 s" in panel.error_label.text()
    panel.set_error(None)
    assert panel.error_label.isHidden()


def test_median_beat_view_model_spans(qtbot, real_analysis):
    view = MedianBeatView()
    qtbot.addWidget(view)
    view.set_analysis(real_analysis)
    assert view.span_source == "classical" and view.lead == "II"
    beat = real_analysis.median_beat
    fs = beat.fs_hz
    on = beat.fiducials["qrs_onset"]
    x_on = ms_to_mm((on - beat.r_index) * 1000.0 / fs)
    spans = view.spans()
    assert spans["QRS"][0] == pytest.approx(x_on)
    qrs_cl = (beat.fiducials["qrs_offset"] - on) * 1000.0 / fs
    assert spans["QRS"][1] - spans["QRS"][0] == pytest.approx(qrs_cl / 1000 * 25)

    view.set_prediction(make_result(pr=160.0, qrs=100.0, qt=400.0))
    assert view.span_source == "model"
    spans = view.spans()
    for name, ms in (("PR", 160.0), ("QRS", 100.0), ("QT", 400.0)):
        x0, x1 = spans[name]
        assert x1 - x0 == pytest.approx(ms / 1000.0 * 25.0)
    assert spans["PR"][1] == pytest.approx(x_on)
    assert spans["QRS"][0] == pytest.approx(x_on) and spans["QT"][0] == pytest.approx(x_on)
    assert view.span_labels() == {"PR": "PR 160 ms", "QRS": "QRS 100 ms", "QT": "QT 400 ms"}
    view.resize(320, 260)
    assert not view.grab().isNull()
    view.clear_all()
    assert view.spans() == {}


def test_interval_spans_item(qtbot):
    speed, x0 = 25.0, 10.0
    item = IntervalSpansItem(lambda t: x0 + t * speed, baseline_y=-20.0, height=3.0, max_beats=100)
    item.set_onsets_s([1.0, 2.0, 3.0, 12.0])
    item.set_intervals(160.0, 100.0, 400.0)
    bars = item.bars()
    assert bars["QRS"].shape == (4, 2)
    assert np.allclose(bars["PR"][:, 1] - bars["PR"][:, 0], 0.160 * speed)
    assert np.allclose(bars["QT"][:, 1] - bars["QT"][:, 0], 0.400 * speed)
    assert np.allclose(bars["QRS"][:, 0], x0 + np.array([1.0, 2.0, 3.0, 12.0]) * speed)
    # PR row on top, QT at the bottom, inside [baseline, baseline + height]
    assert item.row_y("PR")[0] > item.row_y("QT")[1]
    assert item.row_y("QT")[0] >= -20.0 and item.row_y("PR")[1] <= -17.0

    item.set_time_range(0.0, 10.0)
    assert item.bars()["QRS"].shape == (3, 2)
    item.max_beats = 2
    item.set_time_range(None)
    assert item.bars()["QRS"].shape == (2, 2)
    beats = Beats(np.array([600, 1100]), np.array([580, 1080]), np.array([630, 1130]), 500.0)
    item.set_beats(beats)
    assert np.allclose(item.bars()["QRS"][:, 0], x0 + np.array([580, 1080]) / 500.0 * speed)
    classical = ClassicalIntervals(1000.0, 60.0, None, 90.0, 400.0, 5)
    assert item.set_intervals_from(None, classical) == "classical"
    assert item.bars()["PR"].shape == (0, 2) and item.bars()["QT"].shape == (2, 2)
    assert item.set_intervals_from(make_result()) == "model"

    # draws in a real view (paint path)
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.addItem(item)
    widget.setRange(xRange=(0, 100), yRange=(-25, 0))
    widget.resize(400, 200)
    assert not widget.grab().isNull()
    assert item.boundingRect().width() > 0


def test_uncertainty_of_a_heteroscedastic_model_is_shown(panel):
    result = make_result(trained=True)
    sig = IntervalEstimate.from_values(
        "qt_ms", "ms", np.array([470.0, 480.0, 490.0]), np.array([9.0, 12.0, 15.0])
    )
    result = dataclasses.replace(result, intervals={**result.intervals, "qt_ms": sig})
    panel.set_prediction(result)
    assert panel.row_texts("qt_ms")["model_spread"] == "±12 σ"  # the median predicted SD over the windows
    assert panel.row_texts("pr_ms")["model_spread"] == "±5"  # no σ for PR: half the IQR of v-10, v, v+10
    assert "±12 σ" in panel.table.item(4, MODEL_COLUMN).toolTip()
