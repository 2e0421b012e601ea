"""The QT/QTc trend of the beat pass on a real 30 min MIT-BIH record (bundled beat and wave networks)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.record import EcgRecord
from ecgviewer.inference import beat_delineation
from ecgviewer.inference.beat_delineation import CHUNK_S, CONTEXT_S, delineate_beats, trend_leads

STANDARD_8 = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def rec101(shared_data):
    from ecgviewer.core.readers.registry import open_long_record

    return open_long_record(shared_data / "mitdb" / "101.hea")


@pytest.fixture(scope="module")
def delineator():
    from ecgviewer.inference.delineation import Delineator

    return Delineator(device="cpu", batch_size=16)


@pytest.fixture(scope="module")
def pass101(rec101, delineator):
    """The viewer's beat pass over record 101 with the delineation; the largest signal the network saw."""
    from ecgviewer.inference.beats import BeatClassifier, run_beat_pass

    seen = []
    original = type(delineator).probabilities

    def spy(self, x, fs_hz, *args, **kwargs):
        seen.append(np.shape(x))
        return original(self, x, fs_hz, *args, **kwargs)

    type(delineator).probabilities = spy
    try:
        result = run_beat_pass(rec101, BeatClassifier(device="cpu"), delineator=delineator)
    finally:
        type(delineator).probabilities = original
    return result, seen


def test_trend_has_one_value_per_minute(pass101, rec101):
    result, seen = pass101
    trend = result.intervals
    assert trend is not None and not result.intervals_note
    assert trend.leads == ("II", "V1") == trend_leads(rec101) and trend.n_beats == result.n_beats
    n_min = int(np.ceil(rec101.duration_s / 60))
    assert len(trend.minutes) == n_min == 31 and len(trend.hours) == 1
    np.testing.assert_array_equal(trend.minutes.t_s, np.arange(n_min) * 60.0)
    assert np.isfinite(trend.minutes.qtc_fridericia_ms).sum() >= 25  # a mostly normal rhythm
    assert trend.delineated.all()
    # chunk by chunk: never more than a chunk and its context through the network at once
    assert max(s[1] for s in seen) <= round((CHUNK_S + 2 * CONTEXT_S) * rec101.fs_hz)
    assert all(s[0] == 2 for s in seen)
    # plausible adult values (not a reference: the checkpoint may change)
    rec = trend.record
    assert 300 < rec["qt_ms"] < 500 and 340 < rec["qtc_fridericia_ms"] < 500
    assert 60 < rec["qrs_ms"] < 150 and 80 < rec["pr_ms"] < 300


def test_minute_values_are_medians_of_the_same_beats(pass101):
    result, _ = pass101
    trend = result.intervals
    fs = result.fs_hz
    r, labels = result.r_peaks, result.labels
    ok = trend.measurable
    assert np.all(labels[ok] == "N") and np.all(labels[np.flatnonzero(ok) - 1] == "N")
    rr_before = np.full(r.size, np.nan)
    rr_before[1:] = np.diff(r) * 1000.0 / fs
    minute = (r / fs // 60).astype(int)
    m = trend.minutes
    checked = 0
    for k in range(len(m)):
        beats = ok & (minute == k)
        if beats.sum() < 5:
            assert np.isnan(m.qt_ms[k])
            continue
        assert m.qt_ms[k] == pytest.approx(np.median(trend.qt_ms[beats]), abs=1e-3)
        assert m.rr_ms[k] == pytest.approx(np.median(rr_before[beats]), abs=1e-3)
        checked += 1
    assert checked >= 25
    # QTc from those two medians, by the two formulas, checked on the arrays
    fin = np.isfinite(m.qt_ms)
    rr_s = m.rr_ms[fin].astype(np.float64) / 1000.0
    np.testing.assert_allclose(m.qtc_fridericia_ms[fin], m.qt_ms[fin] / np.cbrt(rr_s), rtol=1e-5)
    np.testing.assert_allclose(m.qtc_bazett_ms[fin], m.qt_ms[fin] / np.sqrt(rr_s), rtol=1e-5)
    assert np.all(np.isnan(m.qtc_fridericia_ms[~fin]))


def test_longest_qtc_event_points_to_the_maximum_of_the_trend(pass101):
    result, _ = pass101
    trend = result.intervals
    m = trend.minutes
    [event] = [e for e in result.events if e.kind == "max_qtc"]
    eligible = m.eligible()
    assert eligible.sum() >= 20
    best = int(np.flatnonzero(eligible)[np.argmax(m.qtc_fridericia_ms[eligible])])
    assert event.value == pytest.approx(float(np.max(m.qtc_fridericia_ms[eligible])), abs=0.05)
    t_beat = result.r_peaks[event.beat] / result.fs_hz
    assert best * 60 <= event.start / result.fs_hz <= t_beat <= event.stop / result.fs_hz < (best + 1) * 60
    hours = trend.to_dict()
    assert hours["max_qtc_hour"]["hour"] == 0 and hours["longest_qtc_minute"]["start_s"] == best * 60.0


def test_sampled_delineation_and_cancellation(rec101, pass101, delineator):
    result, _ = pass101
    sampled = delineate_beats(rec101, result.r_peaks, result.labels, delineator, sample=(10.0, 30.0))
    share = sampled.delineated.mean()
    assert 0.25 < share < 0.42 and "10 s of every 30 s" in sampled.sampling
    assert np.all(np.isnan(sampled.qt_ms[~sampled.delineated]))
    assert np.isfinite(sampled.minutes.qt_ms).sum() >= 20  # still one value in most minutes
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3

    assert delineate_beats(rec101, result.r_peaks, result.labels, delineator, cancelled=cancelled) is None
    assert len(calls) < 40  # stopped soon, not after the whole record


def test_leads_of_a_holter():
    """The beat lead and one more: a 12-lead Holter costs what a 2-lead one does."""
    eight = LongRecord.from_record(EcgRecord(np.zeros((8, 100), np.float32), 250.0, STANDARD_8, ("mV",) * 8))
    assert trend_leads(eight) == ("II", "V5") and trend_leads(eight, 3) == ("II", "V5", "V6")
    v1 = LongRecord.from_record(EcgRecord(np.zeros((2, 100), np.float32), 250.0, ("V1", "X"), ("mV", "mV")))
    assert trend_leads(v1) == ("V1", "X")
    assert beat_delineation.MAX_LEADS == 2


def test_the_trend_recovers_the_qt_rate_relation_of_a_generated_holter(tmp_path, delineator):
    """The generator draws QT = 0.40 s x sqrt(RR) (Bazett, QTc 400 ms): per minute, the trend's QT
    follows the RR of the same beats with an exponent near 1/2, and its Bazett QTc stays flat."""
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.core.simulate import write_long_wfdb
    from ecgviewer.inference.beats import run_beat_pass

    rec = open_long_record(write_long_wfdb(tmp_path / "h", hours=0.5, fs_hz=250, seed=4))
    m = run_beat_pass(rec, None, delineator=delineator).intervals.minutes
    ok = np.isfinite(m.qt_ms)
    assert ok.sum() >= 25 and np.ptp(m.rr_ms[ok]) > 100  # the heart rate moves
    exponent = np.polyfit(np.log(m.rr_ms[ok] / 1000.0), np.log(m.qt_ms[ok]), 1)[0]
    assert 0.35 < exponent < 0.65
    assert np.ptp(m.qtc_bazett_ms[ok]) < 0.4 * np.ptp(m.qt_ms[ok])
    assert np.std(m.qtc_bazett_ms[ok]) < np.std(m.qtc_fridericia_ms[ok])
