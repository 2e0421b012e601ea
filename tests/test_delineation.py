"""Wave delineation: boundaries -> per-beat and record intervals, absent waves, any lead set, checkpoints."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil

import numpy as np
import pytest

from ecgviewer.core.delineation import (
    CONVENTION,
    POINTS,
    Wave,
    assign_beats,
    delineation_from_labels,
    labels_from_probabilities,
    record_intervals,
    waves_from_labels,
)

FS = 500.0


def beat_waves(r: int, p: bool = True, t: bool = True, shift: int = 0) -> list[Wave]:
    """One beat around R at sample ``r``: P 100 ms long ending 40 ms before QRS onset (PR 160 ms),
    QRS 90 ms (onset 40 ms before R), T ending 380 ms after QRS onset (QT 380 ms)."""
    on = r - 20 + shift
    waves = [Wave("QRS", on, on + 45)]
    if p:
        waves.append(Wave("P", on - 80, on - 30))
    if t:
        waves.append(Wave("T", on + 100, on + 190))
    return sorted(waves, key=lambda w: w.onset)


def record_of(r_peaks, leads=("I", "II"), **kw):
    per_lead = [[w for r in r_peaks for w in beat_waves(r, **kw)] for _ in leads]
    return assign_beats(per_lead, np.asarray(r_peaks), FS, leads, method="hand")


def test_hand_built_beats_give_exact_intervals():
    r = np.arange(300, 5000, 500)  # RR 1000 ms
    d = record_of(r)
    iv = record_intervals(d)
    assert iv["rr_ms"].value == pytest.approx(1000.0)
    assert iv["hr_bpm"].value == pytest.approx(60.0)
    assert iv["pr_ms"].value == pytest.approx(160.0)
    assert iv["qrs_ms"].value == pytest.approx(90.0)
    assert iv["qt_ms"].value == pytest.approx(380.0)
    assert iv["qt_ms"].n_leads == 2 and iv["qt_ms"].n_beats == r.size
    assert iv["qrs_ms"].spread == pytest.approx(0.0)
    beat = d.beat_intervals()
    assert np.allclose(beat["pr_ms"], 160.0) and np.allclose(beat["qt_ms"], 380.0)
    assert math.isnan(beat["rr_ms"][0]) and np.allclose(beat["rr_ms"][1:], 1000.0)
    c = d.consensus
    assert c.shape == (r.size, len(POINTS))
    assert np.allclose(c[:, POINTS.index("qrs_on")], r - 20)


def test_record_value_is_median_over_beats_then_over_leads():
    r = np.arange(300, 5000, 500)
    lead_a = [w for x in r for w in beat_waves(x)]
    # lead B: every QRS 10 ms (5 samples) later onset -> QRS 80, PR 170, QT 370 ms in that lead
    lead_b = []
    for x in r:
        for w in beat_waves(x):
            lead_b.append(Wave("QRS", w.onset + 5, w.offset) if w.kind == "QRS" else w)
    lead_c = lead_a
    d = assign_beats([lead_a, lead_b, lead_c], r, FS, ("I", "II", "V5"))
    iv = record_intervals(d)
    assert iv["qrs_ms"].value == pytest.approx(90.0)  # median of 90, 80, 90
    per = d.lead_beat_intervals()
    assert np.allclose(per["qrs_ms"][1], 80.0)
    assert "median over beats, then the median over leads" in CONVENTION


def test_no_p_waves_is_absent_with_reason_not_a_number():
    r = np.arange(300, 5000, 430)
    d = record_of(r, p=False)
    iv = record_intervals(d)
    assert iv["pr_ms"].value is None and not iv["pr_ms"].present
    assert "no P wave" in iv["pr_ms"].reason and "atrial fibrillation" in iv["pr_ms"].reason
    assert iv["qrs_ms"].present and iv["qt_ms"].present


def test_missing_t_waves_and_a_dead_lead():
    r = np.arange(300, 5000, 500)
    d = record_of(r, t=False)
    assert record_intervals(d)["qt_ms"].reason.startswith("no T-wave end")
    # one lead without any wave (lead off) does not change the values of the others
    good = [w for x in r for w in beat_waves(x)]
    d2 = assign_beats([good, []], r, FS, ("II", "V1"))
    iv = record_intervals(d2)
    assert iv["qt_ms"].value == pytest.approx(380.0) and iv["qt_ms"].n_leads == 1
    empty = assign_beats([], np.zeros(0, int), FS, ())
    assert record_intervals(empty, withheld=("I",))["qrs_ms"].reason == "no usable lead (I withheld)"


def test_p_wave_too_early_or_of_another_beat_is_not_taken():
    r = np.array([1000, 1500])
    waves = [*beat_waves(1000), Wave("QRS", 1480, 1525), Wave("P", 1480 - 260, 1480 - 230)]  # 520 ms early
    d = assign_beats([sorted(waves, key=lambda w: w.onset)], r, FS, ("II",))
    pts = d.points[0]
    assert np.isfinite(pts[0, POINTS.index("p_on")])
    assert np.isnan(pts[1, POINTS.index("p_on")])  # beyond 400 ms: not this beat's P


def test_waves_from_labels_bridges_flicker_and_drops_slivers():
    lab = np.zeros(1000, np.int8)
    lab[100:150] = 2
    lab[152:160] = 2  # 2-sample gap: bridged
    lab[300:305] = 1  # 10 ms P: dropped
    lab[400:500] = 3
    conf = np.full(1000, 0.8, np.float32)
    waves = waves_from_labels(lab, FS, conf)
    assert [(w.kind, w.onset, w.offset) for w in waves] == [("QRS", 100, 159), ("T", 400, 499)]
    assert waves[0].confidence == pytest.approx(0.8)


def test_labels_from_probabilities_and_single_lead():
    rng = np.random.default_rng(0)
    prob = rng.dirichlet(np.ones(4), size=(1, 2000)).transpose(0, 2, 1)  # (1 lead, 4, n)
    labels, conf = labels_from_probabilities(prob)
    assert labels.shape == (1, 2000) and np.allclose(conf, prob.max(axis=1))
    # a single lead record: intervals from that lead alone
    lab = np.zeros((1, 5000), np.int8)
    r = np.arange(300, 5000, 500)
    for x in r:
        for w in beat_waves(x):
            lab[0, w.onset : w.offset + 1] = {"P": 1, "QRS": 2, "T": 3}[w.kind]
    d = delineation_from_labels(lab, FS, ("ECG",), r)
    iv = record_intervals(d)
    assert iv["qt_ms"].value == pytest.approx(380.0)  # runs are inclusive, as the painted waves
    assert iv["qt_ms"].n_leads == 1


# -- the network, through the real checkpoint -----------------------------------------------
def test_bundled_delineation_checkpoint_loads_and_refuses_a_wrong_task(tmp_path):
    from ecgviewer.inference.delineation import Delineator
    from ecgviewer.models.checkpoint import CheckpointError, read_meta
    from ecgviewer.resources import bundled_checkpoints, checkpoints_dir

    found = bundled_checkpoints("delineation")
    assert found and found[0].name == "unet_delineation"
    meta = read_meta(checkpoints_dir() / "unet_delineation")
    assert meta.task == "delineation" and meta.input_leads == ("any",) and meta.fs_hz == 250
    assert [c.name for c in meta.classes] == ["none", "P", "QRS", "T"]
    with pytest.raises(CheckpointError, match="not a delineation model"):
        Delineator(checkpoints_dir() / "resnet1d").load()
    # a delineation JSON that claims fixed leads is refused
    for suffix in (".json", ".safetensors"):
        shutil.copy(checkpoints_dir() / f"unet_delineation{suffix}", tmp_path / f"bad{suffix}")
    obj = json.loads((tmp_path / "bad.json").read_text())
    obj["input"]["leads"] = ["I", "II"]
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(CheckpointError, match="any lead"):
        read_meta(tmp_path / "bad")


def test_delineator_on_any_lead_set_and_rate(sample_path):
    """12 leads, one lead, and the same lead at another sampling rate all give beats and intervals."""
    from ecgviewer.core.readers import read_record
    from ecgviewer.core.resample import resample_record
    from ecgviewer.inference.delineation import Delineator

    rec = read_record(sample_path)
    net = Delineator(device="cpu")
    full = net.delineate(rec)
    assert len(full.delineation.leads) == 12 and full.delineation.n_beats >= 8
    assert full.intervals["qrs_ms"].present and 50 < full.intervals["qrs_ms"].value < 160
    one = net.delineate(rec, leads=("II",))
    assert one.delineation.leads == ("II",)
    assert one.intervals["qt_ms"].present
    # boundaries are in the record's own samples whatever the network's rate
    rec250 = resample_record(rec, 250.0)
    half = net.delineate(rec250, leads=("II",))
    a = one.delineation.consensus[:, POINTS.index("qrs_on")]
    b = half.delineation.consensus[:, POINTS.index("qrs_on")] * 2
    n = min(a.size, b.size)
    ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
    assert ok.sum() >= 5 and np.median(np.abs(a[:n][ok] - b[:n][ok])) <= 6  # within 12 ms
    with pytest.raises(Exception, match="too short"):
        net.delineate(rec.with_signals(rec.signals[:, :500], rec.fs_hz))


def test_p_waves_without_a_constant_pr_give_no_pr():
    """Fibrillation waves taken for P waves: PR varying beat to beat is reported absent, not averaged."""
    r = np.arange(300, 5000, 430)
    jitter = np.array([-70, 0, -35, 10, -60, -20, 15, -50, -5, -40, 5])  # samples, P still before QRS
    waves = []
    for x, j in zip(r, jitter, strict=True):
        for w in beat_waves(x):
            waves.append(Wave("P", w.onset + j, w.offset + j) if w.kind == "P" else w)
    per_lead = [sorted(waves, key=lambda w: w.onset)] * 2
    iv = record_intervals(assign_beats(per_lead, r, FS, ("II", "V1")))
    assert iv["pr_ms"].value is None and "constant relation" in iv["pr_ms"].reason
    assert iv["qrs_ms"].present and iv["qt_ms"].present
    # a steady PR (the same beats without jitter) stays a number
    assert record_intervals(record_of(r))["pr_ms"].value == pytest.approx(160.0)


def test_single_lead_edf_gets_boundaries_and_intervals(shared_data, tmp_path):
    """A one-channel EDF at 1000 Hz (a patch or event recorder): the pipeline delineates that lead."""
    from ecgviewer.analysis.pipeline import AnalysisOptions, analyze_record
    from ecgviewer.core.opening import open_record
    from ecgviewer.core.readers import read_record
    from ecgviewer.core.resample import resample_signals
    from ecgviewer.core.writers import write_record

    mit = read_record(shared_data / "mitdb" / "101.hea")
    ii = mit.lead_names.index("II")
    x = resample_signals(mit.signals[ii : ii + 1, : int(60 * mit.fs_hz)], mit.fs_hz, 1000.0)
    one = dataclasses.replace(mit, signals=x, fs_hz=1000.0, lead_names=("ECG",), units=("mV",))
    [edf] = [p for p in write_record(one, tmp_path / "patch.edf") if p.suffix == ".edf"]
    rec = open_record(edf).read_all()  # the path every surface opens files through
    assert rec.lead_names == ("ECG",) and rec.fs_hz == 1000.0
    a = analyze_record(rec, AnalysisOptions(classifier=None))
    d = a.delineation
    assert d is not None and d.delineation.leads == ("ECG",)
    assert d.delineation.n_beats >= 50
    assert np.isfinite(d.delineation.consensus[:, POINTS.index("qrs_on")]).mean() > 0.9
    for name in ("hr_bpm", "qrs_ms", "qt_ms"):
        assert d.intervals[name].present, d.intervals[name].reason
    assert 40 < d.intervals["qrs_ms"].value < 160 and 250 < d.intervals["qt_ms"].value < 550
    doc = a.document()
    assert doc["intervals"]["values"]["qt_ms"]["value"] == pytest.approx(d.intervals["qt_ms"].value)
