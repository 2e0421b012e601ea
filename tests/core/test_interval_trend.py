"""The QT/QTc trend of a long record from per-beat intervals: binning, QTc of the same beats, longest QTc."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.beat_pass import EVENT_KINDS, BeatPassResult
from ecgviewer.core.interval_trend import (
    MIN_BIN_BEATS,
    QT_RANGE_MS,
    IntervalTrend,
    group_median,
)
from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms, qtc_ms_array

FS = 250.0


def test_group_median_matches_numpy():
    rng = np.random.default_rng(0)
    bins = rng.integers(0, 7, 500)
    values = rng.normal(400, 30, 500)
    med = group_median(bins, values, 9)
    for b in range(9):
        sel = values[bins == b]
        assert (np.isnan(med[b]) and sel.size == 0) or med[b] == pytest.approx(np.median(sel))


def test_qtc_arrays_match_the_scalar_formulas():
    qt = np.array([350.0, 420.0, 480.0, np.nan])
    rr = np.array([600.0, 1000.0, 1400.0, 800.0])
    f, b = qtc_ms_array(qt, rr, "fridericia"), qtc_ms_array(qt, rr, "bazett")
    for i in range(3):
        assert f[i] == pytest.approx(qtc_fridericia_ms(qt[i], rr[i]))
        assert b[i] == pytest.approx(qtc_bazett_ms(qt[i], rr[i]))
    assert np.isnan(f[3]) and np.isnan(b[3])
    with pytest.raises(ValueError, match="unknown QTc formula"):
        qtc_ms_array(qt, rr, "hodges")


def _beats(minutes: int = 10):
    """Beats 0.8 s apart with a PVC every 40 beats; QT = 380 + 2 * minute (ms), PR 160, QRS 90."""
    r = np.arange(int(minutes * 60 / 0.8)) * 200 + 50
    labels = np.full(r.size, "N", dtype="<U1")
    labels[20::40] = "V"
    minute = (r / FS // 60).astype(int)
    qt = (380.0 + 2 * minute).astype(np.float32)
    qt[labels == "V"] = 460.0  # a PVC's wide complex: not counted
    qt[np.flatnonzero(labels == "V") + 1] = 300.0  # the beat after the PVC: its RR is no NN interval
    pr = np.full(r.size, 160.0, np.float32)
    qrs = np.full(r.size, 90.0, np.float32)
    return r, labels, qt, pr, qrs, minute


def test_minute_trend_uses_normal_beats_after_normal_beats():
    r, labels, qt, pr, qrs, minute = _beats()
    # minute 4: no T-wave end found in most beats; minute 6: a few stray, very long QT values only
    qt[minute == 4] = np.nan
    m6 = np.flatnonzero((minute == 6) & (labels == "N"))
    qt[m6] = np.nan
    qt[m6[:8]] = 700.0
    trend = IntervalTrend.from_beats(FS, r, labels, qt, pr, qrs, n_samples=10 * 60 * 250, leads=("II", "V5"))
    m = trend.minutes
    assert len(m) == 10 and np.array_equal(m.t_s, np.arange(10) * 60.0) and len(trend.hours) == 1
    # PVCs and the beats after them are never measurable
    v = np.flatnonzero(labels == "V")
    assert not trend.measurable[v].any() and not trend.measurable[v + 1].any()
    for k in (0, 1, 2, 3, 5, 7, 8, 9):
        assert m.qt_ms[k] == pytest.approx(380.0 + 2 * k) and m.rr_ms[k] == pytest.approx(800.0)
        assert m.qtc_fridericia_ms[k] == pytest.approx((380.0 + 2 * k) / 0.8 ** (1 / 3), rel=1e-6)
        assert m.qtc_bazett_ms[k] == pytest.approx((380.0 + 2 * k) / 0.8**0.5, rel=1e-6)
        assert m.pr_ms[k] == 160.0 and m.qrs_ms[k] == 90.0
    assert np.isnan(m.qt_ms[4]) and np.isnan(m.qtc_fridericia_ms[4]) and m.n_qt[4] == 0
    assert m.pr_ms[4] == 160.0  # the PR does not need the T wave
    assert m.qt_ms[6] == 700.0 and m.n_qt[6] == 8 >= MIN_BIN_BEATS  # a value, but ...
    # ... not the longest QTc: measured in too few of its 70-odd normal beats
    lq = trend.longest
    assert lq is not None and lq.bin_index == 9 and lq.qtc_ms == pytest.approx(m.qtc_fridericia_ms[9])
    assert minute[lq.beat] == 9 and trend.measurable[lq.beat]
    assert r[lq.beat] >= lq.start >= 9 * 60 * FS and lq.stop < 10 * 60 * FS
    assert trend.max_qtc_hour == 0


def test_too_few_beats_give_no_value():
    r, labels, qt, pr, qrs, _ = _beats(1)
    keep = np.arange(MIN_BIN_BEATS)  # five beats in one minute, the first has no previous beat
    trend = IntervalTrend.from_beats(FS, r[keep], labels[keep], qt[keep], pr[keep], qrs[keep])
    assert trend.minutes.n_qt[0] == MIN_BIN_BEATS - 1 and np.isnan(trend.minutes.qt_ms[0])
    assert trend.longest is None and trend.events() == ()
    assert trend.to_dict()["longest_qtc_minute"] is None and trend.to_dict()["max_qtc_hour"] is None


def test_qt_outside_the_physiological_range_is_not_counted():
    r, labels, qt, pr, qrs, _ = _beats(2)
    qt[:] = QT_RANGE_MS[1] + 50.0
    trend = IntervalTrend.from_beats(FS, r, labels, qt, pr, qrs)
    assert not trend.measurable.any() and np.all(np.isnan(trend.minutes.qt_ms))


def test_beat_pass_result_carries_the_trend_and_its_event():
    r, labels, qt, pr, qrs, _ = _beats()
    trend = IntervalTrend.from_beats(FS, r, labels, qt, pr, qrs, model="net", leads=("II",))
    result = BeatPassResult(FS, r, labels, intervals=trend)
    [event] = [e for e in result.events if e.kind == "max_qtc"]
    assert "max_qtc" in EVENT_KINDS and event.beat == trend.longest.beat
    assert event.value == pytest.approx(trend.longest.qtc_ms, abs=0.05) and "Fridericia" in event.text
    starts = [e.start for e in result.events]
    assert starts == sorted(starts)
    doc = result.to_dict()["interval_trend"]
    assert "Fridericia" in doc["qtc_formulas"]["fridericia"] and "Bazett" in doc["qtc_formulas"]["bazett"]
    assert "median" in doc["method"] and doc["model"] == "net" and doc["leads"] == ["II"]
    [hour] = doc["per_hour"]
    assert hour["hour"] == 0 and hour["qtc_fridericia_ms"] == pytest.approx(
        qtc_fridericia_ms(hour["qt_ms"], hour["rr_ms"]), abs=0.1
    )
    assert doc["max_qtc_hour"]["hour"] == 0 and doc["longest_qtc_minute"]["start_s"] == 540.0
    with pytest.raises(ValueError, match="intervals of"):
        BeatPassResult(FS, r[:-1], labels[:-1], intervals=trend)
    plain = BeatPassResult(FS, r, labels)
    assert plain.intervals is None and not any(e.kind == "max_qtc" for e in plain.events)
