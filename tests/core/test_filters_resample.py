"""Display filters and resampling on real signals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from ecgviewer.core import FilterSettings, apply_filters, filtered_record, read_record, resample_record


@pytest.fixture(scope="module")
def rec(ptbxl_dir):
    return read_record(ptbxl_dir / "00001_hr.hea")


def _power_at(x, fs, f_hz):
    freqs, pxx = signal.welch(x, fs=fs, nperseg=2048)
    return pxx[np.argmin(np.abs(freqs - f_hz))]


def test_highpass_removes_baseline_wander(rec):
    t = rec.time_s()
    wander = 0.8 * np.sin(2 * np.pi * 0.15 * t).astype(np.float32)
    x = rec.lead("II") + wander
    y = apply_filters(x, rec.fs_hz, FilterSettings(highpass_hz=0.5))
    clean = apply_filters(rec.lead("II"), rec.fs_hz, FilterSettings(highpass_hz=0.5))
    # the 0.15 Hz drift is gone: filtering with and without it gives the same trace
    assert np.abs(y - clean)[250:-250].max() < 0.05
    assert np.abs(x - clean).max() > 0.5
    # zero phase: the tallest R peak stays where it was
    r = int(np.argmax(rec.lead("II")))
    assert int(np.argmax(clean[r - 50 : r + 50])) + r - 50 == pytest.approx(r, abs=2)


def test_notch_removes_mains(rec):
    t = rec.time_s()
    x = rec.lead("V2") + 0.3 * np.sin(2 * np.pi * 50 * t).astype(np.float32)
    y = apply_filters(x, rec.fs_hz, FilterSettings(notch_hz=50))
    assert _power_at(y, rec.fs_hz, 50) < 0.01 * _power_at(x, rec.fs_hz, 50)


def test_lowpass_and_original_untouched(rec):
    before = rec.signals.copy()
    y = apply_filters(rec.signals, rec.fs_hz, FilterSettings(0.5, 50, 40))
    assert y.shape == rec.signals.shape and y.dtype == np.float32
    np.testing.assert_array_equal(rec.signals, before)
    assert _power_at(y[1], rec.fs_hz, 100) < 0.05 * _power_at(rec.signals[1], rec.fs_hz, 100)


def test_lowpass_above_nyquist_is_skipped():
    x = np.random.default_rng(0).normal(size=2000).astype(np.float32)
    s = FilterSettings(lowpass_hz=150)
    np.testing.assert_array_equal(apply_filters(x, 250, s), x)
    assert s.describe(250) == "no filters" and s.describe(500) == "LP 150 Hz"


def test_resample_to_500(shared_data):
    mit = read_record(shared_data / "wfdb-samples/100.hea")
    short = mit.with_signals(mit.signals[:, : 360 * 20])
    up = resample_record(short, 500)
    assert up.fs_hz == 500 and up.n_samples == 500 * 20
    # the R peaks stay at the same times
    t_in = np.argmax(short.lead("II")) / 360
    t_out = np.argmax(up.lead("II")) / 500
    assert abs(t_in - t_out) < 0.004
    assert short.fs_hz == 360  # the input record is untouched


def test_filtered_record_copies_filters_mv_leads_and_stops_on_request(rec):
    before = rec.signals.copy()
    assert filtered_record(rec, (None, None, None)) is rec
    out = filtered_record(rec, (0.5, None, 40.0))
    assert out is not rec and out.signals.shape == rec.signals.shape
    assert np.array_equal(rec.signals, before)  # the record is never modified
    expected = apply_filters(rec.lead("II"), rec.fs_hz, FilterSettings(0.5, None, 40.0))
    assert np.allclose(out.lead("II"), expected)
    assert filtered_record(rec, (0.5, None, None), should_stop=lambda: True) is rec
