"""Long-term view: MIT-BIH 208 (30 min) opens paged, with overview, time-of-day axis, beat pass and events."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from ecgviewer.core.beat_pass import BEAT_CLASSES
from ecgviewer.gui.longterm.paging import LONG_TERM_MIN_S, PAGE_SIZES_S, Pager
from ecgviewer.gui.workers import wait_for_workers

pytestmark = pytest.mark.gui
#: Longest wait for the beat pass over 30 min (detection and, when installed, classification).
BEAT_PASS_TIMEOUT_MS = 240_000


@pytest.fixture(autouse=True)
def pyramid_cache(tmp_path, monkeypatch):
    """Pyramids are cached in the test's own folder, never in the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def rec208(shared_data) -> Path:
    return shared_data / "mitdb-208" / "208.hea"


@pytest.fixture(scope="session")
def samples208(rec208):
    """Record 208 read whole by the ordinary reader: the reference for what the pages draw."""
    from ecgviewer.core.readers import read_record

    return read_record(rec208)


@pytest.fixture
def clocked208(rec208, tmp_path) -> Path:
    """Record 208 with a start time in its header (08:30:00): the same samples, a time of day."""
    folder = tmp_path / "clocked"
    folder.mkdir()
    lines = rec208.read_text().splitlines()
    lines[0] = f"{lines[0]} 08:30:00 05/03/2024"
    (folder / "208.hea").write_text("\n".join(lines) + "\n")
    os.symlink(rec208.with_suffix(".dat"), folder / "208.dat")
    return folder / "208.hea"


def _open_long(window, path, qtbot, auto_beats=False):
    window.longterm.auto_beats = auto_beats
    with qtbot.waitSignal(window.recordShown, timeout=60_000):
        window.open_file(path)
    return window.longterm


@pytest.fixture
def lt208(window, rec208, qtbot):
    """The window with record 208 open in the long-term view (no beat pass)."""
    return _open_long(window, rec208, qtbot)


def _settle(qtbot, lt):
    """Wait until the page shown is drawn and no page or envelope is being read."""
    qtbot.waitUntil(lambda: lt.drawn_page() == lt.page and not lt.reading_pages, timeout=30_000)


def _expected_start(centre_sample: int, size_s: float, n: int, fs: float) -> int:
    length = round(size_s * fs)
    return min(max(0, centre_sample - length // 2), max(0, n - length))


# -- opening -------------------------------------------------------------------------------
def test_208_opens_in_the_long_term_view(lt208, samples208, qtbot):
    win, lt = lt208.parent(), lt208
    assert samples208.duration_s > LONG_TERM_MIN_S
    assert lt.active and lt.overview.isVisible() and lt.toolbar.isVisible() and lt.events_dock.isVisible()
    assert lt.record.n_samples == samples208.n_samples and lt.record.lead_names == ("II", "V1")
    page = lt.page
    assert (page.start, page.stop, page.size_s) == (0, 3600, 10.0)
    # the window's record is the page, read lazily: the same samples as the whole record read at once
    assert win.record.n_samples == 3600
    np.testing.assert_array_equal(win.record.signals, samples208.signals[:, :3600])
    drawn = sorted((seg.lead, seg.row, seg.column) for seg, _ in win.view.curves())
    assert drawn == [("II", 1, 0), ("II", 3, 0), ("V1", 0, 2)]
    assert lt.stack.currentWidget() is win.view and lt.ruler.isVisible()
    assert "1805.56 s" in win.info_panel.toPlainText()
    # the pyramid is built in the background and then used
    qtbot.waitUntil(lambda: lt.pyramid is not None, timeout=60_000)
    assert lt.pyramid.n_samples == samples208.n_samples and lt.pyramid.folder is not None
    assert not lt.pyramid_task.isVisible()


def test_short_records_keep_the_ordinary_view(window, rec208, sample_path, open_and_wait, qtbot):
    record = open_and_wait(window, sample_path)
    lt = window.longterm
    assert not lt.active and record.duration_s == 10.0
    assert not lt.overview.isVisible() and not lt.toolbar.isVisible() and not lt.events_dock.isVisible()
    assert window.record is record and len(window.view.curves()) == 13
    assert not window.action("page_end").isEnabled() and not window.action("analyze_beats").isEnabled()
    _open_long(window, rec208, qtbot)
    assert lt.active and window.action("page_end").isEnabled()
    again = open_and_wait(window, sample_path)  # back to the ordinary view
    assert not lt.active and not lt.overview.isVisible() and lt.record is None
    assert lt.stack.currentWidget() is window.view and window.record is again
    assert len(window.view.curves()) == 13 and window.view.page_start_s == 0.0


# -- paging --------------------------------------------------------------------------------
def test_keyboard_paging_moves_and_clamps(lt208, samples208, qtbot):
    win, lt = lt208.parent(), lt208
    n, fs = samples208.n_samples, samples208.fs_hz
    view = win.view
    view.setFocus()
    _settle(qtbot, lt)
    shown = []
    lt.pageShown.connect(shown.append)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    # the next page was prefetched while the first was shown: it is drawn at once, from memory
    assert shown and shown[-1].start == 3600
    np.testing.assert_array_equal(win.record.signals, samples208.signals[:, 3600:7200])
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    _settle(qtbot, lt)
    assert lt.page.start == 0
    qtbot.keyClick(view, Qt.Key.Key_PageUp)  # clamped at the start
    assert lt.page.start == 0
    qtbot.keyClick(view, Qt.Key.Key_Right)  # a quarter page
    _settle(qtbot, lt)
    assert lt.page.start == 900
    qtbot.keyClick(view, Qt.Key.Key_End)
    _settle(qtbot, lt)
    assert (lt.page.start, lt.page.stop) == (n - 3600, n)
    np.testing.assert_array_equal(win.record.signals, samples208.signals[:, n - 3600 :])
    qtbot.keyClick(view, Qt.Key.Key_PageDown)  # clamped at the end
    assert lt.page.stop == n
    qtbot.keyClick(view, Qt.Key.Key_Home)
    _settle(qtbot, lt)
    assert lt.page.start == 0 and win.record.n_samples == 3600
    # +/- change the page size about the page centre; the combo and the menu follow
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    _settle(qtbot, lt)
    assert lt.page.size_s == 30.0 and lt.page.start == 0
    assert lt.page_combo.currentText() == "30 s" and win.action("page_size_30").isChecked()
    lt.page_combo.setCurrentIndex(PAGE_SIZES_S.index(600.0))
    _settle(qtbot, lt)
    assert (lt.page.start, lt.page.stop) == (0, 216_000) and win.action("page_size_600").isChecked()
    assert lt.stack.currentWidget() is lt.strip and win.record is None
    qtbot.keyClick(lt.strip, Qt.Key.Key_End)
    _settle(qtbot, lt)
    assert lt.page.stop == n and lt.page.start == n - 216_000
    qtbot.keyClick(lt.strip, Qt.Key.Key_Plus)  # back to 1 min about the centre of the last 10 min
    _settle(qtbot, lt)
    centre = n - 108_000
    assert lt.page.size_s == 60.0 and lt.page.start == _expected_start(centre, 60.0, n, fs)


def test_strip_page_draws_exact_envelopes(lt208, samples208, qtbot):
    lt = lt208
    qtbot.waitUntil(lambda: lt.pyramid is not None, timeout=60_000)
    lt.set_page_size(600.0)
    _settle(qtbot, lt)
    page = lt.page
    assert lt.strip.leads == ("II", "V1") and lt.strip.x_range() == pytest.approx((0.0, 600.0))
    tiles = lt.strip.tiles()
    assert tiles and all(t.request.with_pyramid for t in tiles)
    assert tiles[0].start == page.start and tiles[-1].stop >= page.stop
    for row, curve in enumerate(lt.strip.curves()):
        x, y = curve.getData()
        values = (y - lt.strip.baseline(row)) + lt.strip.offsets[row]  # mV, both ends of every bin
        raw = samples208.signals[row, page.start : page.stop]
        # every drawn bin spans the min/max of its samples: the extremes of the page are the raw ones
        assert values.min() == pytest.approx(raw.min(), abs=1e-5)
        assert values.max() == pytest.approx(raw.max(), abs=1e-5)
        width = round((x[2] - x[0]) * samples208.fs_hz)  # samples per bin
        k = 123
        first = round(x[2 * k] * samples208.fs_hz)
        chunk = samples208.signals[row, first : first + width]
        assert (values[2 * k], values[2 * k + 1]) == pytest.approx((chunk.min(), chunk.max()), abs=1e-5)
    # neighbouring tiles were prefetched: the next page is drawn from memory
    shown = []
    lt.pageShown.connect(shown.append)
    lt.step(1)
    assert shown and shown[-1].start == 216_000


def test_one_minute_page_folds_the_rhythm_lead(lt208, samples208, qtbot):
    win, lt = lt208.parent(), lt208
    lt.set_page_size(60.0)
    _settle(qtbot, lt)
    assert lt.folded and not lt.ruler.isVisible()
    curves = win.view.curves()
    assert [seg.lead for seg, _ in curves] == [f"II  0:00:{s:02d}" for s in range(0, 60, 10)]
    gain = win.gain_mm_per_mv
    for k, (seg, curve) in enumerate(curves):
        raw = samples208.signals[0, k * 3600 : (k + 1) * 3600]
        np.testing.assert_allclose(curve.yData, seg.baseline_mm + gain * raw, atol=1e-4)
    assert win.record.n_samples == 21_600  # the page as read, for the caliper, analysis and exports


def test_time_axis_shows_the_time_of_day(window, clocked208, qtbot):
    lt = _open_long(window, clocked208, qtbot)
    _settle(qtbot, lt)
    assert lt.record.start_time.strftime("%H:%M:%S") == "08:30:00"
    assert "08:30:00 – 08:30:10" in lt.page_label.text()
    labels = lt.ruler.tick_labels()  # round clock times, only over the page
    assert (
        len(labels) >= 3 and labels[0] == "08:30:00" and labels == sorted(labels) and labels[-1] <= "08:30:10"
    )
    lt.step(1)
    _settle(qtbot, lt)
    labels = lt.ruler.tick_labels()
    assert labels[0] == "08:30:10" and labels[-1] <= "08:30:20"
    lt.set_page_size(3600.0)  # the whole 30 min on one strip
    _settle(qtbot, lt)
    axis = lt.strip.time_axis
    lo, hi = lt.strip.x_range()
    spacing, values = axis.tickValues(lo, hi, float(lt.strip.width()))[0]
    strings = axis.tickStrings(values, 1.0, spacing)
    assert "08:45:00" in strings and strings[0] >= "08:30:00"
    # the crosshair readout gives the clock time too
    lt.set_page_size(10.0)  # about the middle of what the 1 h page showed: the whole record
    _settle(qtbot, lt)
    assert lt.page.start == _expected_start(lt.record.n_samples // 2, 10.0, lt.record.n_samples, 360.0)
    lt.go_start()
    _settle(qtbot, lt)
    lay = window.view.layout
    window.view.move_crosshair(lay.x_at(2.5), lay.baseline_mm(3))
    assert "08:30:02.5" in window.cursor_label.text()


def test_elapsed_time_without_start_time(lt208, qtbot):
    _settle(qtbot, lt208)
    assert "0:00:00 – 0:00:10" in lt208.page_label.text()
    labels = lt208.ruler.tick_labels()
    assert labels[0] == "0:00:00" and all(label.startswith("0:00:") for label in labels)


# -- mouse -----------------------------------------------------------------------------------
def test_overview_click_jumps(lt208, samples208, qtbot):
    lt = lt208
    n, fs = samples208.n_samples, samples208.fs_hz
    ov = lt.overview
    x = ov.x_of_time(900.0)
    qtbot.mouseClick(ov.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, ov.y_of_rows()))
    _settle(qtbot, lt)
    s_per_px = samples208.duration_s / ov.width()
    centre = (lt.page.start + lt.page.stop) / 2 / fs
    assert abs(centre - 900.0) < 2 * s_per_px
    assert ov.page_region()[0] <= 900.0 <= ov.page_region()[1]
    # near the end the page is clamped to the record
    qtbot.mouseClick(
        ov.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(ov.x_of_time(1805.0), ov.y_of_rows())
    )
    _settle(qtbot, lt)
    assert lt.page.stop == n


def _mouse(widget, kind, pos: QPoint, buttons) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(
        kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)


def _drag(widget, points: list[QPoint]) -> None:
    left = Qt.MouseButton.LeftButton
    _mouse(widget, QEvent.Type.MouseButtonPress, points[0], left)
    for p in points[1:]:
        _mouse(widget, QEvent.Type.MouseMove, p, left)
    _mouse(widget, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)


def test_overview_and_strip_drags(lt208, samples208, qtbot):
    lt, fs = lt208, samples208.fs_hz
    ov = lt.overview
    y = ov.y_of_rows()
    _drag(ov.viewport(), [QPoint(ov.x_of_time(t), y) for t in (300, 320, 400, 600, 800)])
    _settle(qtbot, lt)
    s_per_px = samples208.duration_s / ov.width()
    assert abs((lt.page.start + lt.page.stop) / 2 / fs - 800.0) < 2 * s_per_px  # followed to the end
    lt.set_page_size(600.0)
    _settle(qtbot, lt)
    before = lt.page.start_s
    strip = lt.strip
    vp = strip.viewport()
    x0, y = vp.width() // 2, vp.height() // 2
    (t0, t1) = strip.x_range()
    s_per_px = (t1 - t0) / strip.getPlotItem().getViewBox().width()
    _drag(vp, [QPoint(x0 - dx, y) for dx in (0, 10, 50, 100, 200)])  # to the left: later in time
    _settle(qtbot, lt)
    assert lt.page.start_s - before == pytest.approx(200 * s_per_px, rel=0.02)
    assert strip.x_range() == pytest.approx((lt.page.start_s, lt.page.stop_s), abs=1e-6)
    assert lt.overview.page_region() == pytest.approx((lt.page.start_s, lt.page.stop_s))


def test_wheel_on_the_strip_changes_the_page_size_about_the_pointer(lt208, qtbot):
    lt = lt208
    lt.set_page_size(600.0)
    _settle(qtbot, lt)
    vp = lt.strip.viewport()
    pos = QPointF(vp.width() * 0.75, vp.height() / 2)

    def wheel(delta):
        event = QWheelEvent(
            pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(vp, event)

    wheel(-120)  # away from the user: a longer page
    _settle(qtbot, lt)
    assert lt.page.size_s == 3600.0
    lt.set_page_size(600.0)
    _settle(qtbot, lt)
    vb = lt.strip.getPlotItem().getViewBox()
    t_under = vb.mapSceneToView(lt.strip.mapToScene(pos.toPoint())).x()
    x0, x1 = lt.strip.x_range()
    fraction = (t_under - x0) / (x1 - x0)
    wheel(120)  # towards: a shorter page, with the time under the pointer where it was
    _settle(qtbot, lt)
    page = lt.page
    assert page.size_s == 60.0 and lt.showing_paper
    assert page.start_s + fraction * 60.0 == pytest.approx(t_under, abs=0.01)


# -- display settings -----------------------------------------------------------------------
def test_layout_and_filters_apply_to_the_page(lt208, samples208, qtbot):
    win, lt = lt208.parent(), lt208
    _settle(qtbot, lt)
    win.set_layout("12x1")
    _settle(qtbot, lt)
    assert [seg.lead for seg, _ in win.view.curves()] == ["II", "V1"]
    win.set_filters(0.5, None, None)
    qtbot.waitUntil(
        lambda: lt.drawn_page() == lt.page and win.display_record is not win.record, timeout=30_000
    )
    np.testing.assert_array_equal(win.record.signals, samples208.signals[:, :3600])
    assert not np.allclose(win.display_record.signals, win.record.signals)
    assert "HP 0.5 Hz" in win.info_panel.toPlainText()
    win.set_filters(None, None, None)
    qtbot.waitUntil(lambda: win.display_record is win.record, timeout=30_000)


# -- beat pass -------------------------------------------------------------------------------
def test_beat_pass_fills_overview_marks_and_events(window, rec208, qtbot):
    lt = window.longterm
    with qtbot.waitSignal(lt.beatsReady, timeout=BEAT_PASS_TIMEOUT_MS) as blocker:
        _open_long(window, rec208, qtbot, auto_beats=True)
        assert lt.beats_running and lt.beat_task.isVisible()
        assert not window.action("analyze_beats").isEnabled() and window.action("cancel_beats").isEnabled()
    result = blocker.args[0]
    assert lt.beats is result and not lt.beat_task.isVisible()
    assert 2500 < result.n_beats < 3500  # 2 955 annotated beats in 30 min
    # overview: the heart-rate trend and the class density of the result
    _t, mean, _lo, _hi = result.hr_trend(lt.overview.bin_s)
    _x, y = lt.overview.trend_data()
    np.testing.assert_allclose(y, mean)
    assert lt.overview.has_beats and np.nanmax(y) > 40
    # the beats of the page are marked on the paper
    r = result.r_peaks
    on_page = r[(r >= lt.page.start) & (r < lt.page.stop)]
    assert lt.paper_marks.count() == on_page.size > 5
    # the event list holds the result's events; a row jumps to its beat, centred, and marks it
    model = lt.events.model
    assert model.rowCount() == len(result.events) > 0
    n, fs = lt.record.n_samples, lt.record.fs_hz
    for row in (model.rowCount() - 1, model.rowCount() // 2):
        event = model.event(row)
        lt.events.select_row(row)
        _settle(qtbot, lt)
        beat = int(r[event.beat])
        assert lt.page.start == _expected_start(beat, 10.0, n, fs)
        assert lt.page.start <= beat < lt.page.stop and lt.selected_sample == beat
        assert lt.paper_selection.isVisible()
    # single PVCs show the classifier's probability of V
    pvcs = [k for k, e in enumerate(model.events()) if e.kind == "PVC"]
    if result.probabilities is not None and pvcs:
        event = model.event(pvcs[0])
        v = BEAT_CLASSES.index("V")
        assert model.data(model.index(pvcs[0], 2)) == f"p = {result.probabilities[event.beat, v]:.2f}"
        assert result.labels[event.beat] == "V"
    # the tachogram has one RR interval per beat pair
    assert lt.events.tachogram.line.getData()[0].size == result.n_beats - 1
    # the filter narrows the list to one kind
    lt.events.filter.setCurrentText("Pauses")
    assert all(e.kind == "pause" for e in model.events())
    assert model.rowCount() == sum(e.kind == "pause" for e in result.events)


def test_beat_pass_can_be_cancelled(window, rec208, qtbot):
    lt = _open_long(window, rec208, qtbot)
    ready = []
    lt.beatsReady.connect(ready.append)
    window.action("analyze_beats").trigger()
    assert lt.beats_running
    lt.beat_task.cancel_button.click()
    assert not lt.beats_running and not lt.beat_task.isVisible()
    assert "cancelled" in lt.events.summary.text()
    wait_for_workers()
    QApplication.processEvents()
    assert not ready and lt.beats is None
    assert window.action("analyze_beats").isEnabled()


def test_pager_arithmetic():
    p = Pager(n_samples=10_000, fs_hz=100.0)
    assert (p.page.start, p.page.stop) == (0, 1000)
    assert p.step(1) and p.page.start == 1000
    assert p.go_end() and p.page.stop == 10_000 and not p.step(1)
    assert p.centre_on(1.0) and p.page.start == 0
    assert p.set_size(600.0) and (p.page.start, p.page.stop) == (0, 10_000)  # longer than the record
    assert not p.step(1)
    assert p.set_size(10.0) and p.page.start == 4500  # about the middle of the record shown
    p.set_size(10.0, anchor_s=50.0, anchor_fraction=0.25)
    assert p.page.start_s == 47.5


def test_folded_pages_use_the_beat_pass_lead(rec208):
    """The folded pages show the lead the beats are detected on (one rule: core.leads.beat_lead)."""
    from ecgviewer.core.beat_pass import beat_lead
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.readers import read_record
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.longterm.jobs import rhythm_lead

    rec = open_long_record(rec208)
    assert rhythm_lead(rec) == beat_lead(rec) == "II"
    whole = read_record(rec208)
    v1_only = LongRecord.from_record(EcgRecord(whole.signals[1:], whole.fs_hz, ("V1",), ("mV",)))
    assert rhythm_lead(v1_only) == beat_lead(v1_only) == "V1"
