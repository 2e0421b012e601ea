"""Long-term view of MIT-BIH 208: the QT/QTc trend of the beat pass and the page boundaries on demand."""

from __future__ import annotations

import threading
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from ecgviewer.gui.longterm import boundaries as boundaries_module
from ecgviewer.gui.longterm.boundaries import WAVE_POINTS

pytestmark = pytest.mark.gui
BEAT_PASS_TIMEOUT_MS = 240_000


@pytest.fixture(autouse=True)
def pyramid_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def rec208(shared_data):
    return shared_data / "mitdb-208" / "208.hea"


def _open_long(window, path, qtbot, auto_beats=False):
    window.longterm.auto_beats = auto_beats
    with qtbot.waitSignal(window.recordShown, timeout=60_000):
        window.open_file(path)
    return window.longterm


def _settle(qtbot, lt):
    qtbot.waitUntil(lambda: lt.drawn_page() == lt.page and not lt.reading_pages, timeout=30_000)


def test_beat_pass_shows_the_qt_trend_and_the_longest_qtc(window, rec208, qtbot):
    lt = window.longterm
    with qtbot.waitSignal(lt.beatsReady, timeout=BEAT_PASS_TIMEOUT_MS) as blocker:
        _open_long(window, rec208, qtbot, auto_beats=True)
    result = blocker.args[0]
    trend = result.intervals
    assert trend is not None and len(trend.minutes) == 31
    m = trend.minutes
    middle = m.t_s + 30.0
    # the overview's QT row: QTc (Fridericia) and QT per minute, the longest QTc as a dot
    x, y = lt.overview.qt_curves.data("qtc")
    np.testing.assert_allclose(x, middle)
    np.testing.assert_allclose(y, m.qtc_fridericia_ms, equal_nan=True)
    np.testing.assert_allclose(lt.overview.qt_curves.data("qt")[1], m.qt_ms, equal_nan=True)
    assert "longest QTc" in lt.overview.titles[lt.overview.qt_plot].toPlainText()
    # the tachogram: QTc, QT and PR on an axis of their own on the right
    tach = lt.events.tachogram
    np.testing.assert_allclose(tach.intervals.data("qtc")[1], m.qtc_fridericia_ms, equal_nan=True)
    np.testing.assert_allclose(tach.intervals.data("pr")[1], m.pr_ms, equal_nan=True)
    assert tach.getPlotItem().getAxis("right").isVisible()
    lo, hi = tach.intervals.viewbox.viewRange()[1]
    assert lo < np.nanmin(m.pr_ms) and np.nanmax(m.qtc_fridericia_ms) < hi
    assert tach.line.getData()[0].size == result.n_beats - 1  # the RR series is still there
    # a click on the tachogram still jumps there (the QTc axis's view box lets clicks through)
    lt.events.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: tach.isVisible() and tach.width() > 50, timeout=10_000)
    qtbot.wait(200)  # laid out
    vb = tach.getPlotItem().getViewBox()
    jumps = []
    tach.jumpRequested.connect(jumps.append)
    (_x0, _x1), (y0, y1) = vb.viewRange()
    # low in the plot, under every RR interval (a click on an S/V/F dot selects the dot instead)
    pos = tach.mapFromScene(vb.mapViewToScene(pg.Point(900.0, y0 + 0.03 * (y1 - y0))))
    qtbot.mouseClick(tach.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert jumps == [pytest.approx(900.0, abs=3 * result.duration_s / vb.width())]
    _settle(qtbot, lt)
    s_per_px = result.duration_s / vb.width()
    assert abs((lt.page.start + lt.page.stop) / 2 / result.fs_hz - 900.0) < 3 * s_per_px
    lt.events.tabs.setCurrentIndex(0)
    assert "QTc" in lt.events.summary.text()
    # the event list: one "Longest QTc" row at the trend's maximum; choosing it jumps there
    model = lt.events.model
    rows = [k for k, e in enumerate(model.events()) if e.kind == "max_qtc"]
    assert len(rows) == 1
    event = model.event(rows[0])
    eligible = m.eligible()
    assert event.value == pytest.approx(float(np.max(m.qtc_fridericia_ms[eligible])), abs=0.05)
    assert model.data(model.index(rows[0], 1)) == "Longest QTc"
    assert f"{event.value:.0f} ms" in model.data(model.index(rows[0], 2))
    lt.events.select_row(rows[0])
    _settle(qtbot, lt)
    beat = int(result.r_peaks[event.beat])
    assert lt.page.start <= beat < lt.page.stop and lt.selected_sample == beat
    assert trend.longest.bin_index * 60 <= beat / result.fs_hz < (trend.longest.bin_index + 1) * 60
    lt.events.filter.setCurrentText("Longest QTc")
    assert model.rowCount() == 1


def _gate(monkeypatch):
    """Page delineations wait for ``gate.set()`` (or their cancellation) before they run."""
    gate = threading.Event()
    original = boundaries_module.page_delineation_job

    def slow(*args):
        job = args[-1]
        t0 = time.monotonic()
        while not gate.is_set() and not job.cancelled and time.monotonic() - t0 < 60:
            time.sleep(0.01)
        return original(*args)

    monkeypatch.setattr(boundaries_module, "page_delineation_job", slow)
    return gate


def _check_ticks(view, marks, points_s, line_s=None):
    """Every tick sits at a boundary of the delineation, across the trace, on a lead that shows that time."""
    lay = view.layout
    expected = 0
    for seg, _curve in view.curves():
        t = points_s.ravel() - (seg.row * line_s if line_s else 0.0)
        expected += int(np.sum(np.isfinite(t) & (t >= seg.t_start_s) & (t < seg.t_stop_s)))
    assert marks.count() == expected > 0
    for wave, item in marks.items.items():
        x, y = item.getData()
        if x is None or not len(x):
            continue
        x0, y0, y1 = x[0::3], y[0::3], y[1::3]
        assert np.allclose(x[1::3], x0) and np.all(np.isnan(x[2::3]))
        wanted = points_s[:, list(WAVE_POINTS[wave])].ravel()
        wanted = wanted[np.isfinite(wanted)]
        for xi, lo, hi in zip(x0, y0, y1, strict=True):
            # the tick is centred on the trace of one drawn segment, at a time that segment shows
            on = [
                seg
                for seg, curve in view.curves()
                if abs(np.interp(xi, *curve.getData()) - (lo + hi) / 2) < 1e-6
                and seg.x_start_mm
                <= xi
                <= seg.x_start_mm + (seg.t_stop_s - seg.t_start_s) * lay.speed_mm_per_s
            ]
            assert on, (wave, xi)
            t = lay.time_at(xi) + (on[0].row * line_s if line_s else 0.0)
            assert np.min(np.abs(wanted - t)) < 1e-6


def test_page_boundaries_on_demand_cached_and_cancelled(window, rec208, qtbot, monkeypatch):
    gate = _gate(monkeypatch)
    lt = _open_long(window, rec208, qtbot)
    _settle(qtbot, lt)
    b = lt.boundaries
    # the first page is being delineated; nothing is drawn before its boundaries are there
    assert b.pending == (0, 3600) and lt.is_busy and b.marks.count() == 0
    first = b.job
    lt.step(1)  # the next page (prefetched) is drawn: the first page's delineation is cancelled
    _settle(qtbot, lt)
    assert first.cancelled and b.pending == (3600, 7200) and not b.job.cancelled
    gate.set()
    with qtbot.waitSignal(b.drawn, timeout=60_000) as drawn:
        pass
    assert drawn.args[0] == (3600, 7200) and b.cached((0, 3600)) is None
    points = b.cached((3600, 7200))
    assert points.shape[1] == 6 and points.shape[0] >= 10  # about 15 beats in 10 s of record 208
    _check_ticks(window.view, b.marks, points)
    qtbot.waitUntil(lambda: not lt.is_busy, timeout=30_000)
    # back and forth: a page already delineated is drawn from memory, without a new request
    lt.step(-1)
    _settle(qtbot, lt)
    qtbot.waitUntil(lambda: b.cached((0, 3600)) is not None, timeout=60_000)
    lt.step(1)
    _settle(qtbot, lt)
    assert not b.is_busy and b.marks.count() > 0
    # a strip page has no boundaries; a folded 1 min page gets its own, on the rhythm lines
    lt.set_page_size(600.0)
    _settle(qtbot, lt)
    assert b.marks.count() == 0 and not b.is_busy
    lt.set_page_size(60.0)
    _settle(qtbot, lt)
    key = (lt.page.start, lt.page.stop)
    qtbot.waitUntil(lambda: b.cached(key) is not None and b.marks.count() > 0, timeout=60_000)
    _check_ticks(window.view, b.marks, b.cached(key), line_s=10.0)
    # switched off: no request, no marks
    b.enabled = False
    lt.step(1)
    _settle(qtbot, lt)
    assert not b.is_busy and b.marks.count() == 0
