"""Signal quality (ecgviewer.core.quality): flat, lead-off, clipped, noisy and paced records.

Generated problems on real PTB-XL records: what must be flagged is flagged with the right reason,
a clean record keeps every lead, and the classical measurement on a noisy record is either close
to the clean one or withheld, never invented.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.beat_pass import detect_r_peaks_long
from ecgviewer.core.beats import analyze_beats
from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.quality import (
    FLAT_MV,
    NOISE_RATIO,
    assess_quality,
    no_signal_spans,
    segment_bounds,
)
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord

#: A few PTB-XL records of different rhythms and amplitudes (the full 300 are in docs/quality.md).
CLEAN = ("00001", "00011", "00022", "00045", "00113", "00202")


def _ptbxl(ptbxl_dir, ecg_id: str) -> EcgRecord:
    return read_record(ptbxl_dir / f"{ecg_id}_hr.hea")


def _with(record: EcgRecord, signals: np.ndarray) -> EcgRecord:
    return record.with_signals(np.asarray(signals, dtype=np.float32))


def _add_noise(record: EcgRecord, snr_db: float, seed: int, emg: bool = False) -> EcgRecord:
    """White (or 20-150 Hz band-limited, EMG-like) noise at ``snr_db`` per lead (signal power: the
    mean-removed lead)."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    x = record.signals.astype(np.float64)
    noise = rng.standard_normal(x.shape)
    if emg:
        sos = signal.butter(4, [20.0, 150.0], "bandpass", fs=record.fs_hz, output="sos")
        noise = signal.sosfilt(sos, noise, axis=1)
    p_sig = np.mean((x - x.mean(axis=1, keepdims=True)) ** 2, axis=1, keepdims=True)
    noise *= np.sqrt(p_sig / 10 ** (snr_db / 10) / np.mean(noise**2, axis=1, keepdims=True))
    return _with(record, x + noise)


# -- clean records ------------------------------------------------------------------------------
@pytest.mark.parametrize("ecg_id", CLEAN)
def test_clean_record_keeps_every_lead_and_its_measurements(ptbxl_dir, ecg_id):
    record = _ptbxl(ptbxl_dir, ecg_id)
    q = assess_quality(record)
    assert q.measurable and q.reason is None
    assert q.usable_leads == record.display_leads and not q.unusable_leads
    assert q.skipped_s == () and not q.pacing
    assert q.lead_problem(INDEPENDENT_LEADS) is None
    # the quality-aware measurement is the measurement of old on a clean record
    leads = [n for n in INDEPENDENT_LEADS if q.is_usable(n)]
    assert analyze_beats(record, leads, exclude_s=q.skipped_s).intervals == analyze_beats(record).intervals


def test_segments_cover_the_record_and_a_short_tail_joins_the_last():
    assert segment_bounds(5000, 500.0) == [(0, 1250), (1250, 2500), (2500, 3750), (3750, 5000)]
    assert segment_bounds(5200, 500.0)[-1] == (3750, 5200)  # a 0.4 s tail is not a segment of its own
    assert segment_bounds(700, 500.0) == [(0, 700)]


# -- flat and lead off --------------------------------------------------------------------------
def test_all_zero_record_is_not_measurable():
    record = EcgRecord(np.zeros((12, 5000), np.float32), 500.0, STANDARD_LEADS, ("mV",) * 12)
    q = assess_quality(record)
    assert not q.measurable
    assert q.reason == "no measurable ECG: all 12 leads flat"
    assert all(not lq.usable and lq.reasons == ("flat",) for lq in q.leads.values())
    assert q.lead_problem(INDEPENDENT_LEADS) == q.reason
    doc = q.to_dict()
    assert doc["measurable"] is False and doc["unusable_leads"] == list(STANDARD_LEADS)


def test_low_level_noise_without_a_qrs_is_flat():
    rng = np.random.default_rng(3)
    x = (0.005 * rng.standard_normal((1, 5000))).astype(np.float32)  # 5 uV of amplifier noise
    q = assess_quality(EcgRecord(x, 500.0, ("II",), ("mV",)))
    assert not q.measurable and q.leads["II"].reasons == ("flat",)
    assert q.reason == "no measurable ECG: the only lead is flat"


def test_lead_off_zero_railed_nan_and_step(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00001")
    x = record.signals.astype(np.float64).copy()
    names = list(record.lead_names)
    x[names.index("V1")] = 0.0  # zeroed by the cart
    x[names.index("V3")] = 5.0  # pinned at the rail
    x[names.index("V5")] = np.nan  # no samples
    x[names.index("aVL"), 2600:] += 40.0  # an electrode pop: a 40 mV step that stays
    q = assess_quality(_with(record, x))
    assert q.measurable
    assert q.leads["V1"].reasons == ("flat",)
    assert q.leads["V3"].reasons == ("lead_off",)
    assert q.leads["V5"].reasons == ("lead_off",)
    assert "lead_off" in q.leads["aVL"].flags  # the segment with the step
    assert set(q.unusable_leads) == {"V1", "V3", "V5"}
    assert q.lead_problem(INDEPENDENT_LEADS) == "lead V1 unusable (flat); leads V3, V5 unusable (lead off)"
    assert q.lead_problem(("I", "II")) is None


def test_derived_leads_inherit_the_state_of_i_and_ii(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00001")
    eight = EcgRecord(record.leads_array(INDEPENDENT_LEADS).copy(), 500.0, INDEPENDENT_LEADS, ("mV",) * 8)
    eight.signals[0] = 0.0  # lead I flat
    q = assess_quality(eight)
    assert q.leads["III"].derived_from == ("I", "II")
    for name in ("III", "aVR", "aVL", "aVF"):
        assert not q.leads[name].usable and q.leads[name].reasons == ("I flat",)
    assert tuple(q.leads) == eight.display_leads
    assert q.measurable  # II and the chest leads are fine


def test_a_lead_off_for_a_while_skips_its_segments(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00011")
    x = record.signals.astype(np.float64).copy()
    x[:, 1250:2500] = 0.0  # every lead off for the second segment
    q = assess_quality(_with(record, x))
    assert q.measurable and not q.unusable_leads  # 1 of 4 segments: the leads stay
    assert q.skipped_s == ((2.5, 5.0),)
    assert q.leads["II"].skipped_segments[0].flags == ("flat",)
    a = analyze_beats(_with(record, x), exclude_s=q.skipped_s)
    clean = analyze_beats(record)
    assert not np.any((a.beats.r_peaks >= 1250) & (a.beats.r_peaks < 2500))
    assert a.intervals.hr_bpm == pytest.approx(clean.intervals.hr_bpm, abs=3.0)


# -- clipping ---------------------------------------------------------------------------------
def test_clipped_at_half_a_millivolt(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00001")  # R waves of 0.6-1.4 mV in I and V1-V3
    q = assess_quality(_with(record, np.clip(record.signals, -0.5, 0.5)))
    assert q.measurable  # the small leads (II, aVF, V4-V6 ...) still carry the rhythm
    for name in ("I", "V1", "V2", "V3"):
        assert q.leads[name].reasons == ("clipped",), name
    assert "clipped" in (q.lead_problem(INDEPENDENT_LEADS) or "")


def test_clipped_everywhere_is_not_measurable(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00001")
    x = record.signals.astype(np.float64)
    lim = 0.3 * np.max(np.abs(x - np.median(x, axis=1, keepdims=True)), axis=1, keepdims=True)
    med = np.median(x, axis=1, keepdims=True)
    q = assess_quality(_with(record, np.clip(x, med - lim, med + lim)))
    assert not q.measurable
    assert "clipped" in q.reason


def test_a_flat_baseline_at_the_bottom_of_a_lead_is_not_clipping(ptbxl_dir):
    """Records 200 and 292 of PTB-XL have wander troughs and flat baselines at a lead's extreme."""
    for ecg_id in ("00200", "00292"):
        q = assess_quality(_ptbxl(ptbxl_dir, ecg_id))
        assert not any("clipped" in lq.flags for lq in q.leads.values()), ecg_id


# -- noise --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ecg_id", CLEAN[:4])
def test_noise_degrades_gracefully_and_is_withheld_below_the_threshold(ptbxl_dir, ecg_id):
    from ecgviewer.analysis.pipeline import classical_analysis, classical_withheld

    record = _ptbxl(ptbxl_dir, ecg_id)
    clean = analyze_beats(record).intervals
    usable, given = {}, {}
    for snr in (20, 10, 7, 5, 0):
        noisy = _add_noise(record, snr, seed=snr)
        q = assess_quality(noisy)
        usable[snr] = len(q.usable_leads)
        got = classical_analysis(noisy, q)
        given[snr] = got is not None
        if got is None:
            assert classical_withheld(noisy, q)  # withheld with a reason
            continue
        got = got.intervals
        # what is reported is near the clean value, or not reported: never a made-up number
        assert got.hr_bpm == pytest.approx(clean.hr_bpm, abs=2.0), snr
        assert got.qrs_ms == pytest.approx(clean.qrs_ms, abs=16.0), snr
        if clean.qt_ms is not None:
            assert got.qt_ms == pytest.approx(clean.qt_ms, abs=30.0), snr
        if clean.pr_ms is not None and got.pr_ms is not None:
            assert got.pr_ms == pytest.approx(clean.pr_ms, abs=10.0 if snr == 20 else 35.0), snr
    assert usable[20] == len(record.display_leads) and given[20]  # no false alarm at 20 dB
    assert not given[5] and not given[0] and usable[0] <= 2  # below ~5 dB: withheld


def test_emg_like_noise_is_flagged(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00022")
    q = assess_quality(_add_noise(record, 0, seed=1, emg=True))
    assert not q.measurable and "noise" in q.reason
    assert all(lq.reasons == ("noise",) for lq in q.leads.values() if not lq.derived_from)
    assert assess_quality(_add_noise(record, 25, seed=1, emg=True)).usable_leads == record.display_leads


def test_noise_ratio_threshold_sits_between_clean_and_noisy(ptbxl_dir):
    for ecg_id in CLEAN:
        q = assess_quality(_ptbxl(ptbxl_dir, ecg_id))
        assert max(lq.metrics["noise_ratio"] for lq in q.leads.values() if lq.metrics) < NOISE_RATIO


# -- pacing -------------------------------------------------------------------------------------
def test_pacing_spikes_are_a_flag_not_a_reason(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00011")
    beats = analyze_beats(record).beats
    x = record.signals.astype(np.float64).copy()
    for r in beats.r_peaks[1:-1]:  # a 2 ms, 4 mV ventricular pacing stimulus 40 ms before each R
        x[:, r - 20] += 4.0
    q = assess_quality(_with(record, x))
    assert q.pacing and q.measurable
    assert not q.unusable_leads
    assert all("pacing" in lq.flags for lq in q.leads.values())
    assert "pacing spikes" in q.summary()
    assert not assess_quality(record).pacing


def test_pacing_is_not_judged_below_500_hz(ptbxl_dir):
    record = _ptbxl(ptbxl_dir, "00011")
    x = record.signals[:, ::2].astype(np.float64).copy()
    x[:, 500::400] += 4.0
    q = assess_quality(EcgRecord(x.astype(np.float32), 250.0, record.lead_names, record.units))
    assert not q.pacing and not q.pacing_assessed


# -- long records ---------------------------------------------------------------------------------
def test_six_minutes_of_constant_signal_have_no_beats():
    const = EcgRecord(np.full((1, 360 * 500), 0.2, np.float32), 500.0, ("II",), ("mV",))
    assert detect_r_peaks_long(LongRecord.from_record(const)).size == 0
    assert analyze_beats(const).intervals.n_beats == 0
    q = assess_quality(const)
    assert not q.measurable and q.reason == "no measurable ECG: the only lead is flat"


def test_long_pass_drops_beats_in_a_flat_stretch_only(ptbxl_dir):
    lead = _ptbxl(ptbxl_dir, "00001").lead("II").astype(np.float64)
    x = np.tile(lead, 12)  # 2 minutes
    x[30_000:45_000] = x[30_000]  # 30 s of a disconnected lead
    rec = EcgRecord(x[None].astype(np.float32), 500.0, ("II",), ("mV",))
    peaks = detect_r_peaks_long(LongRecord.from_record(rec))
    assert not np.any((peaks >= 30_000) & (peaks < 45_000))
    assert peaks.size > 0.7 * 120 * 64 / 60  # the rest is found (about 64 bpm)
    assert (
        no_signal_spans(x[30_000:45_000], 500.0) == [(0, 15_000)]
        or no_signal_spans(x[30_000:45_000], 500.0)[0][0] == 0
    )


def test_flat_threshold_is_below_every_real_lead(ptbxl_dir):
    for ecg_id in CLEAN:
        q = assess_quality(_ptbxl(ptbxl_dir, ecg_id))
        assert min(lq.metrics["amplitude_mv"] for lq in q.leads.values() if lq.metrics) > 2 * FLAT_MV
