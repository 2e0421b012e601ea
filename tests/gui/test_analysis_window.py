"""Interval analysis inside the main window: runs on open, fills the panel, draws spans on the strip."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.record import EcgRecord

LOAD_TIMEOUT_MS = 60_000

pytestmark = pytest.mark.gui


def _wait_prediction(qtbot, window, action):
    with qtbot.waitSignal(window.analysis.controller.predictionReady, timeout=LOAD_TIMEOUT_MS) as got:
        action()
    return got.args[0]


def test_open_analyses_and_draws_spans_under_rhythm_strip(window, sample_path, qtbot):
    result = _wait_prediction(qtbot, window, lambda: window.open_file(sample_path))
    ui = window.analysis
    assert ui.controller.record is window.record  # the unfiltered record is analysed
    panel_text = ui.panel.row_texts("hr_bpm")["model"]
    assert panel_text.endswith("bpm") and f"{result.intervals['hr_bpm'].value:.0f}" in panel_text
    assert ui.panel.warning_label.isHidden()  # the bundled checkpoints are trained: no warning
    # the spans sit under the lead II rhythm strip, one bar per beat, inside the strip's time span
    seg = ui._rhythm_segment()
    assert seg.lead == "II" and seg.t_stop_s - seg.t_start_s == pytest.approx(10.0)
    bars = ui.spans.bars()
    n_beats = len(ui.controller.classical.beats.qrs_onsets)
    assert len(bars["QRS"]) == n_beats > 5
    speed = window.speed_mm_per_s
    widths_mm = bars["QRS"][:, 1] - bars["QRS"][:, 0]
    np.testing.assert_allclose(widths_mm, result.intervals["qrs_ms"].value / 1000 * speed, rtol=1e-6)
    strip_end_mm = seg.x_start_mm + (seg.t_stop_s - seg.t_start_s) * speed
    assert bars["QRS"][:, 0].min() >= seg.x_start_mm and bars["QRS"][:, 1].max() <= strip_end_mm + 1
    assert ui.spans.isVisible()
    assert ui.spans.row_y("QT")[1] < seg.baseline_mm  # drawn below the trace's baseline


def test_speed_change_moves_spans(window, sample_path, qtbot):
    _wait_prediction(qtbot, window, lambda: window.open_file(sample_path))
    before = window.analysis.spans.bars()["QT"].copy()
    window.set_speed(50)
    after = window.analysis.spans.bars()["QT"]
    np.testing.assert_allclose(np.diff(after, axis=1), 2 * np.diff(before, axis=1), rtol=1e-6)


def test_show_intervals_toggle_and_setting(window, sample_path, qtbot):
    _wait_prediction(qtbot, window, lambda: window.open_file(sample_path))
    window.action("show_intervals").trigger()
    assert not window.analysis.spans.isVisible() and not window.settings.show_intervals
    assert not window.analysis.panel.show_intervals
    window.action("show_intervals").trigger()
    assert window.analysis.spans.isVisible() and window.settings.show_intervals


def test_no_auto_analyze_then_action(window, sample_path, qtbot, open_and_wait):
    window.analysis.panel.auto_check.click()
    assert window.settings.auto_analyze is False
    open_and_wait(window, sample_path)
    assert window.analysis.controller.prediction is None and not window.analysis.controller.is_busy
    result = _wait_prediction(qtbot, window, window.action("analyze").trigger)
    assert np.isfinite(result.intervals["qt_ms"].value)


def test_refusal_is_shown_not_raised(window, qtbot, ptbxl_dir):
    from ecgviewer.core import read_record

    rec = read_record(ptbxl_dir / "00001_hr.hea")
    short = EcgRecord(rec.signals[:, :2000], rec.fs_hz, rec.lead_names, rec.units)  # 4 s
    with qtbot.waitSignal(window.analysis.controller.failed, timeout=LOAD_TIMEOUT_MS) as got:
        window.show_record(short)
    assert "10 s" in got.args[0]
    assert window.analysis.panel.error_label.isVisible()
    assert window.record is short  # the record stays on screen


def test_model_switch_reanalyses(window, sample_path, qtbot):
    _wait_prediction(qtbot, window, lambda: window.open_file(sample_path))
    result = _wait_prediction(qtbot, window, lambda: window.analysis.set_model("vit1d"))
    assert result.model_name == "vit1d" and window.settings.model == "vit1d"
