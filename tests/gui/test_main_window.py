"""Main window: opening files, layouts, scales, filters, errors, drag and drop."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from ecgviewer.layout.paper import GRID_COLUMNS

pytestmark = pytest.mark.gui
STANDARD_12 = [lead for column in GRID_COLUMNS for lead in column]


def _drawn(window):
    return [(seg.lead, seg.row, seg.column) for seg, _ in window.view.curves()]


def test_sample_drawn_as_3x4_with_rhythm_strip(loaded):
    win = loaded
    assert win.record.n_leads == 12 and win.layout_name == "3x4"
    drawn = _drawn(win)
    assert len(drawn) == 13
    assert sorted(lead for lead, row, _ in drawn if row < 3) == sorted(STANDARD_12)
    assert [(lead, col) for lead, row, col in drawn if row == 3] == [("II", 0)]
    segs = {seg.lead: seg for seg, _ in win.view.curves() if seg.row < 3}
    # columns are consecutive in time: column k shows 2.5 k .. 2.5 (k + 1) s
    for k, leads in enumerate(GRID_COLUMNS):
        for lead in leads:
            assert segs[lead].t_start_s == pytest.approx(2.5 * k)
            assert segs[lead].t_stop_s == pytest.approx(2.5 * (k + 1))
    rhythm = next(seg for seg, _ in win.view.curves() if seg.row == 3)
    assert (rhythm.t_start_s, rhythm.t_stop_s) == (0.0, pytest.approx(10.0))
    assert len(win.view.labels()) == 13
    assert win.info_panel.info["recorded_leads"] == list(win.record.lead_names)
    assert "ptbxl_00001_hr" in win.windowTitle()


def _x_span_mm(window):
    spans = [curve.xData[-1] - curve.xData[0] for _, curve in window.view.curves()]
    return max(spans)


def test_layout_speed_and_gain_change_geometry(loaded):
    win = loaded
    fs = win.record.fs_hz
    win.action("layout_12x1").trigger()
    assert win.layout_name == "12x1" and win.action("layout_12x1").isChecked()
    assert [lead for lead, _, _ in _drawn(win)] == STANDARD_12
    assert _x_span_mm(win) == pytest.approx(250.0 - 25.0 / fs)
    win.action("speed_50").trigger()
    assert win.speed_mm_per_s == 50.0
    assert _x_span_mm(win) == pytest.approx(500.0 - 50.0 / fs)
    # 3x4 at 50 mm/s: a 2.5 s column is 125 mm wide
    win.set_layout("3x4")
    seg, curve = win.view.curves()[0]
    assert curve.xData[-1] - curve.xData[0] == pytest.approx(125.0 - 50.0 / fs)
    # gain: the trace is baseline + v * gain
    for gain in (5.0, 20.0):
        win.action(f"gain_{gain:g}").trigger()
        seg, curve = win.view.curves()[0]
        lead = win.display_record.lead(seg.lead, 0, 10)
        np.testing.assert_allclose(curve.yData[:10], seg.baseline_mm + gain * lead, atol=1e-4)
        assert win.view.layout.row_height_mm >= 3 * gain
    win.action("layout_3x4").trigger()
    assert len(win.view.curves()) == 13


def test_view_actions_zoom_pan_reset(loaded):
    win, view = loaded, loaded.view
    home = view.visible_rect_mm()
    win.action("zoom_in").trigger()
    zoomed = view.visible_rect_mm()
    assert zoomed.width() == pytest.approx(home.width() / 1.25, rel=0.02)
    # aspect ratio stays 1:1 in pixels (grid squares stay square)
    px = view.mm_to_viewport(10, 0) - view.mm_to_viewport(0, 0)
    py = view.mm_to_viewport(0, 0) - view.mm_to_viewport(0, 10)
    assert abs(px.x()) == pytest.approx(abs(py.y()), abs=1.5)
    win.action("pan_right").trigger()
    assert view.visible_rect_mm().left() > zoomed.left()
    win.action("reset_view").trigger()
    assert view.visible_rect_mm().center().x() == pytest.approx(home.center().x(), abs=0.5)


def test_crosshair_readout(loaded, qtbot):
    win, view = loaded, loaded.view
    lay = view.layout
    # column 1 (aVR, aVL, aVF), row 1 = aVL, 3.0 s, 0.5 mV above the baseline
    x = lay.x_at(3.0)
    y = lay.baseline_mm(1) + 0.5 * lay.gain_mm_per_mv
    loc = view.locate(x, y)
    assert (loc.lead, loc.t_s, loc.value, loc.unit) == ("aVL", pytest.approx(3.0), pytest.approx(0.5), "mV")
    view.move_crosshair(x, y)
    assert win.cursor_label.text() == "aVL   t 3.000 s   +0.50 mV"
    # a real mouse move over the viewport gives the same readout (to a pixel)
    qtbot.mouseMove(view.viewport(), view.mm_to_viewport(lay.x_at(7.6), lay.baseline_mm(2)))
    qtbot.waitUntil(lambda: win.cursor_label.text().startswith("V6"), timeout=2000)
    t = float(win.cursor_label.text().split()[2])
    assert t == pytest.approx(7.6, abs=0.02)
    assert view.locate(lay.x0_mm - 2, 0) is None


def test_caliper_by_mouse_clicks(loaded, qtbot):
    win, view = loaded, loaded.view
    lay = view.layout
    win.action("caliper").trigger()
    assert win.caliper.enabled
    b = lay.baseline_mm(3)  # rhythm strip, lead II
    p1 = view.mm_to_viewport(lay.x_at(1.0), b)
    p2 = view.mm_to_viewport(lay.x_at(1.8), b + lay.gain_mm_per_mv)
    with qtbot.waitSignal(win.caliper.measured, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=p1)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=p2)
    m = blocker.args[0]
    mm_per_px = view.visible_rect_mm().width() / view.viewport().width()
    tol_ms = 1.5 * mm_per_px / lay.speed_mm_per_s * 1000
    assert m.dt_ms == pytest.approx(800.0, abs=tol_ms)
    assert m.rate_bpm == pytest.approx(75.0, rel=0.02)
    assert m.dv_mv == pytest.approx(1.0, abs=2 * mm_per_px / lay.gain_mm_per_mv)
    assert m.lead1 == m.lead2 == "II"
    assert "Δt" in win.caliper_label.text() and "bpm" in win.caliper_label.text()
    win.action("clear_caliper").trigger()
    assert win.caliper.measurement is None and win.caliper_label.text() == ""


def test_caliper_api_exact_values(loaded):
    win = loaded
    lay = win.view.layout
    win.caliper.set_enabled(True)
    assert win.caliper.add_point(lay.x_at(2.6), lay.baseline_mm(0) + 5.0) is None  # V? no: aVR column
    m = win.caliper.add_point(lay.x_at(3.6), lay.baseline_mm(0) - 2.0)
    assert (m.dt_ms, m.rate_bpm) == (pytest.approx(1000.0), pytest.approx(60.0))
    assert m.dv_mv == pytest.approx(-0.7) and m.lead1 == "aVR"
    assert m.describe() == "Δt 1000 ms · 60 bpm · ΔV -0.70 mV"


def test_bad_file_shows_error_and_keeps_record(loaded, tmp_path, monkeypatch, qtbot):
    win = loaded
    shown_before = win.record
    dialogs = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *args, **kw: dialogs.append(args))
    (tmp_path / "bad.hea").write_bytes(b"")
    (tmp_path / "bad.dat").write_bytes(np.random.default_rng(0).bytes(1000))
    for name in ("bad.hea", "bad.dat", "missing.hea"):
        with qtbot.waitSignal(win.loadFailed, timeout=60_000) as blocker:
            win.open_file(tmp_path / name)
        assert name.split(".")[0] in blocker.args[0]
    assert len(dialogs) == 3 and "bad.hea" in dialogs[0][2]
    assert win.record is shown_before and len(win.view.curves()) == 13


def test_two_lead_mitbih_record(window, shared_data, open_and_wait):
    window.long_term_min_s = float("inf")  # the paper view of a whole long record, not the long-term view
    record = open_and_wait(window, shared_data / "wfdb-samples" / "100.hea")
    assert record.lead_names == ("II", "V5") and record.duration_s > 1800
    # 3x4: only the present leads, and a 10 s page of the 30 min record
    assert sorted(_drawn(window)) == [("II", 1, 0), ("II", 3, 0), ("V5", 1, 3)]
    window.page(+1)
    assert window.view.page_start_s == 10.0
    assert all(seg.t_start_s >= 10.0 for seg, _ in window.view.curves())
    window.set_layout("12x1")
    assert [lead for lead, _, _ in _drawn(window)] == ["II", "V5"]
    _, curve = window.view.curves()[0]
    assert curve.xData[-1] == pytest.approx(window.view.layout.x0_mm + record.duration_s * 25.0, abs=0.1)
    # the initial view shows the first ~10 s, not 30 minutes squeezed
    assert window.view.visible_rect_mm().width() < 600


def test_filters_change_display_not_record(loaded, qtbot):
    win = loaded
    original = np.array(win.record.signals, copy=True)
    _, curve = win.view.curves()[1]
    before = np.array(curve.yData, copy=True)
    win.action("highpass_0.5").trigger()
    win.action("notch_50").trigger()
    win.action("lowpass_40").trigger()
    assert win.filters_hz == (0.5, 50.0, 40.0)
    assert win.display_record is not win.record
    _, curve = win.view.curves()[1]
    assert not np.allclose(curve.yData, before)
    np.testing.assert_array_equal(win.record.signals, original)
    assert "HP 0.5 Hz" in win.mode_label.text() and "LP 40 Hz" in win.info_panel.toPlainText()
    win.action("notch_60").trigger()  # exclusive with 50 Hz
    assert win.filters_hz == (0.5, 60.0, 40.0) and not win.action("notch_50").isChecked()
    win.action("filters_off").trigger()
    assert win.display_record is win.record
    _, curve = win.view.curves()[1]
    np.testing.assert_allclose(curve.yData, before)


def test_long_record_filtered_off_the_gui_thread(window, shared_data, open_and_wait, qtbot):
    window.long_term_min_s = float("inf")  # the whole record in memory, as without the long-term view
    record = open_and_wait(window, shared_data / "wfdb-samples" / "100.hea")
    with qtbot.waitSignal(window.displayChanged, timeout=60_000):
        window.set_filters(0.5, None, None)
        assert window.display_record is record  # not filtered yet: the worker is running
    assert window.display_record is not record
    assert window.record is record


def test_newer_open_wins(window, shared_data, sample_path, qtbot):
    shown = []
    window.recordShown.connect(shown.append)
    window.open_file(shared_data / "wfdb-samples" / "100.hea")
    window.open_file(sample_path)
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    from ecgviewer.gui.workers import wait_for_workers

    wait_for_workers()
    QApplication.processEvents()  # deliver any queued stale result (it must be dropped)
    assert [r.source_path.name for r in shown] == ["ptbxl_00001_hr.hea"]
    assert window.record.source_path.name == "ptbxl_00001_hr.hea"


def test_drag_and_drop_opens_file(window, sample_path, qtbot):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_path))])
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.recordShown, timeout=60_000):
        window.dropEvent(drop)
    assert window.record.source_path == sample_path


def test_derived_leads_are_marked(window, sample_path, qtbot):
    from ecgviewer.core.readers import read_record
    from ecgviewer.core.record import EcgRecord

    full = read_record(sample_path)
    keep = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    eight = EcgRecord(full.leads_array(keep), full.fs_hz, tuple(keep), ("mV",) * 8)
    with qtbot.waitSignal(window.recordShown, timeout=5000):
        window.show_record(eight)
    labels = {label.text(): label for label in window.view.labels().values()}
    assert {n for n, lab in labels.items() if lab.derived} == {"III", "aVR", "aVL", "aVF"}
    assert labels["aVF"].font().italic() and not labels["V1"].font().italic()
    assert "derived" in labels["III"].toolTip()
    assert "aVR" in window.info_panel.toPlainText()


def test_recent_files_and_settings_persist(window, sample_path, open_and_wait, isolated_settings):
    from ecgviewer.gui.settings import ViewerSettings

    open_and_wait(window, sample_path)
    window.set_layout("12x1")
    window.set_gain(20.0)
    window.set_filters(None, 60.0, None)
    window.close()
    assert isolated_settings.exists()
    again = ViewerSettings()
    assert (again.layout, again.gain_mm_per_mv, again.filters_hz) == ("12x1", 20.0, (None, 60.0, None))
    assert again.recent_files() == [sample_path.resolve()]
    assert again.last_directory == str(sample_path.parent.resolve())
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == [sample_path.name]


def test_keyboard_shortcuts_reach_the_actions(loaded, qtbot):
    win, view = loaded, loaded.view
    win.activateWindow()
    qtbot.waitActive(win, timeout=2000)
    view.setFocus()
    width = view.visible_rect_mm().width()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.visible_rect_mm().width() < width
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.visible_rect_mm().width() == pytest.approx(width, rel=0.01)
    qtbot.keyClick(view, Qt.Key.Key_C)
    assert win.caliper.enabled
    lay = view.layout
    win.caliper.add_point(lay.x_at(1.0), 0.0)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert win.caliper.points == []
    qtbot.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert win.layout_name == "12x1"
