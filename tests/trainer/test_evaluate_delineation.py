"""``python -m trainer evaluate-delineation``: its statistics on hand-built cases, the rate stress, and a
small real run of the command on LUDB, QTDB and the vendor files."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from ecgviewer.core.record import EcgRecord
from trainer.data.ludb import Wave
from trainer.evaluate_delineation import (
    VALUE_KEYS,
    annotated_beats,
    original_scale_mae,
    qtdb_waves,
    stretch_factor,
    stretch_record,
    stretch_reference,
    wave_points,
)
from trainer.metrics import boundary_summary, boundary_tally, clustered_agreement, match_boundaries

FS = 500.0
MS = 1000.0 / FS  # ms per sample
TOL = 150.0 / MS  # 150 ms in samples


# -- boundaries ---------------------------------------------------------------------------------


def test_constant_offset_gives_that_mean_no_spread_and_full_detection():
    ref = np.array([1000.0, 1400.0, 1800.0, 2200.0])
    pred = ref + 4.0 / MS  # every boundary 4 ms late
    s = boundary_summary([boundary_tally(ref, pred, TOL)], scale=MS)
    assert (s["tp"], s["fn"], s["fp"]) == (4, 0, 0)
    assert s["se"] == 1.0 and s["ppv"] == 1.0
    assert s["mean"] == pytest.approx(4.0) and s["sd"] == pytest.approx(0.0)


def test_known_errors_pool_over_leads_into_mean_and_sd():
    # lead 1: errors +2 and -2 samples; lead 2: +4 samples -> 4, -4, 8 ms
    t1 = boundary_tally(np.array([100.0, 600.0]), np.array([102.0, 598.0]), TOL)
    t2 = boundary_tally(np.array([300.0]), np.array([304.0]), TOL)
    s = boundary_summary([t1, t2], scale=MS)
    assert s["n_ref"] == 3 and s["tp"] == 3
    assert s["mean"] == pytest.approx(8.0 / 3)
    assert s["sd"] == pytest.approx(np.std([4.0, -4.0, 8.0], ddof=1))


def test_a_boundary_beyond_the_tolerance_is_a_miss_and_a_false_positive():
    ref = np.array([1000.0])
    t = boundary_tally(ref, ref + 76.0, TOL)  # 152 ms away
    assert (t["tp"], t["fn"], t["fp"]) == (0, 1, 1)
    s = boundary_summary([t])
    assert s["se"] == 0.0 and s["ppv"] == 0.0 and s["mean"] is None
    exactly = boundary_tally(ref, ref + 75.0, TOL)  # exactly 150 ms: still a match
    assert (exactly["tp"], exactly["fn"], exactly["fp"]) == (1, 0, 0)


def test_matching_is_one_to_one_and_nearest_first():
    # two references 20 samples apart, one prediction between them nearer the second
    i, j = match_boundaries(np.array([100.0, 120.0]), np.array([115.0]), TOL)
    assert i.tolist() == [1] and j.tolist() == [0]
    t = boundary_tally(np.array([100.0, 120.0]), np.array([115.0]), TOL)
    assert (t["tp"], t["fn"], t["fp"]) == (1, 1, 0)
    # two predictions for one reference: the nearer matches, the other is a false positive
    t = boundary_tally(np.array([100.0]), np.array([90.0, 103.0]), TOL)
    assert (t["tp"], t["fn"], t["fp"]) == (1, 0, 1) and t["errors"].tolist() == [3.0]


def test_false_positives_count_only_inside_the_annotated_spans():
    ref = np.array([1000.0, 1500.0])
    pred = np.array([200.0, 1001.0, 1500.0, 1700.0, 4000.0])  # 200 and 4000 lie outside, 1700 inside
    t = boundary_tally(ref, pred, TOL, spans=[(900, 2000)])
    assert (t["tp"], t["fn"], t["fp"]) == (2, 0, 1)
    # a match just outside the span still counts: the span only limits false positives
    t = boundary_tally(np.array([905.0]), np.array([890.0]), TOL, spans=[(900, 2000)])
    assert (t["tp"], t["fn"], t["fp"]) == (1, 0, 0)


def test_nan_boundaries_are_absent_not_zero():
    t = boundary_tally(np.array([100.0, np.nan]), np.array([np.nan, 101.0]), TOL)
    assert (t["tp"], t["fn"], t["fp"]) == (1, 0, 0)


def test_best_lead_has_no_positive_predictivity():
    s = boundary_summary([{"tp": 2, "fn": 0, "fp": None, "errors": np.array([1.0, -1.0])}])
    assert s["se"] == 1.0 and s["ppv"] is None and s["fp"] is None


# -- record intervals ----------------------------------------------------------------------------


def test_clustered_agreement_hand_checked():
    pred = np.array([105.0, 90.0, 152.0, np.nan, 130.0])
    ref = np.array([100.0, 100.0, 150.0, 120.0, np.nan])  # a miss, and a value the reference lacks
    a = clustered_agreement(pred, ref, 10.0, n_boot=200)
    assert a["n"] == 3 and a["missed"] == 1 and a["extra"] == 1
    assert a["mae"] == pytest.approx(17 / 3) and a["mean_diff"] == pytest.approx(-1.0)
    assert a["sd_diff"] == pytest.approx(np.std([5.0, -10.0, 2.0], ddof=1))
    assert a["within"] == pytest.approx(1.0)
    for key in ("mae", "mean_diff", "sd_diff", "within"):
        lo, hi = a[f"{key}_ci"]
        assert lo <= a[key] + 1e-9 and a[key] <= hi + 1e-9, key
    assert a["mae_ci"][0] >= 2.0 and a["mae_ci"][1] <= 10.0


def test_clustered_agreement_resamples_clusters_not_rows():
    # record 0: three beats each off by 10; record 1: three beats exact -> resamples give 0, 5 or 10
    pred = np.array([10.0, 10.0, 10.0, 0.0, 0.0, 0.0])
    a = clustered_agreement(pred, np.zeros(6), 5.0, clusters=np.array([0, 0, 0, 1, 1, 1]), n_boot=500)
    assert a["n"] == 6 and a["n_clusters"] == 2 and a["mae"] == pytest.approx(5.0)
    assert a["mae_ci"] == [pytest.approx(0.0), pytest.approx(10.0)]
    assert a["within"] == pytest.approx(0.5)


# -- rate stress ---------------------------------------------------------------------------------


def test_stretch_factor_and_reference_scale_exactly():
    f = stretch_factor(60.0, 40.0)
    assert f == Fraction(3, 2)
    ref = {"rr_ms": 1000.0, "hr_bpm": 60.0, "pr_ms": 160.0, "qrs_ms": 100.0, "qt_ms": 400.0}
    out = stretch_reference(ref, float(f))
    assert out == {"rr_ms": 1500.0, "hr_bpm": 40.0, "pr_ms": 240.0, "qrs_ms": 150.0, "qt_ms": 600.0}
    assert stretch_reference(ref, float(stretch_factor(60.0, 150.0)))["hr_bpm"] == pytest.approx(150.0)
    with pytest.raises(ValueError):
        stretch_factor(0.0, 40.0)


def test_stretched_errors_measured_back_on_the_original_time_scale():
    # two records stretched x2 and x0.5; references already scaled like stretch_reference does
    ref = np.array([[2000.0, 30.0, 320.0, 200.0, 800.0], [500.0, 120.0, 80.0, 50.0, 200.0]])
    pred = ref + np.array([[0.0, 1.0, 0.0, 0.0, 20.0], [0.0, -2.0, 0.0, 0.0, -5.0]])
    f = np.array([2.0, 0.5])
    assert VALUE_KEYS.index("qt_ms") == 4
    assert original_scale_mae(pred, ref, f, "qt_ms") == pytest.approx((20 / 2 + 5 / 0.5) / 2)
    assert original_scale_mae(pred, ref, f, "hr_bpm") == pytest.approx((1 * 2 + 2 * 0.5) / 2)
    assert original_scale_mae(pred, ref, f, "pr_ms") == pytest.approx(0.0)


def test_stretch_record_moves_a_wave_by_the_factor():
    n = 5000
    t = np.arange(n)
    x = np.exp(-0.5 * ((t - 1000) / 20.0) ** 2)  # a bump at sample 1000, SD 20 samples
    rec = EcgRecord(np.stack([x, -x]), FS, ("I", "II"), ("mV", "mV"))
    out = stretch_record(rec, Fraction(3, 2))
    assert out.fs_hz == FS and out.n_samples == math.ceil(n * 3 / 2) and out.lead_names == ("I", "II")
    assert abs(int(np.argmax(out.signals[0])) - 1500) <= 1
    width = np.sum(out.signals[0] > 0.5 * out.signals[0].max())  # full width at half maximum x 1.5
    assert width == pytest.approx(1.5 * np.sum(x > 0.5), abs=2)


def test_a_real_record_stretched_to_40_bpm_beats_at_40(shared_data):
    from ecgviewer.core.beats import detect_r_peaks
    from ecgviewer.core.readers import read_record
    from trainer.data.ludb import expert_intervals

    path = shared_data / "ludb" / "data" / "2"
    rec = read_record(path.with_suffix(".hea"))
    hr = expert_intervals(path).hr_bpm
    f = stretch_factor(hr, 40.0)
    out = stretch_record(rec, f)
    r = detect_r_peaks(out.signals, out.fs_hz)
    assert 60000.0 / (np.median(np.diff(r)) * 1000.0 / out.fs_hz) == pytest.approx(40.0, abs=1.0)


# -- references ------------------------------------------------------------------------------------


def test_annotated_beat_intervals_follow_intervals_md():
    waves = [
        Wave("p", 120, 100, 150),
        Wave("N", 200, 180, 230),
        Wave("t", 350, 300, 400),
        Wave("N", 700, 680, 725),  # no P before it, T too late (> 800 ms after the QRS onset)
        Wave("t", 1200, 1150, 1150 + 181),
    ]
    beats = annotated_beats(waves, 500.0)  # 2 ms per sample
    assert [b.peak for b in beats] == [200, 700]
    assert beats[0].pr_ms == pytest.approx(160.0) and beats[0].qrs_ms == pytest.approx(100.0)
    assert beats[0].qt_ms == pytest.approx(440.0) and beats[0].span == (100, 400)
    assert (
        math.isnan(beats[1].pr_ms) and math.isnan(beats[1].qt_ms) and beats[1].qrs_ms == pytest.approx(90.0)
    )
    points = wave_points(waves)
    assert points["p_on"].tolist() == [100.0] and points["qrs_off"].tolist() == [230.0, 725.0]


def test_qtdb_beats_with_other_labels_than_n_are_qrs_complexes(shared_data):
    # sel232 (a QTDB test record) labels its annotated QRS complexes "A", not "N"
    waves = qtdb_waves(shared_data / "qtdb" / "sel232")
    qrs = [w for w in waves if w.kind == "N"]
    assert len(qrs) == 30 and all(w.onset is not None and w.offset is not None for w in qrs)
    assert {w.kind for w in waves} <= {"p", "N", "t"}


# -- the command -------------------------------------------------------------------------------------


def test_command_writes_every_table_on_a_small_real_run(shared_data, tmp_path, capsys):
    from trainer.cli import main

    out = tmp_path / "delineation.json"
    argv = [
        "evaluate-delineation",
        "--ludb", str(shared_data / "ludb"),
        "--qtdb", str(shared_data / "qtdb"),
        "--formats", str(shared_data / "formats"),
        "--limit", "2", "--qtdb-limit", "1", "--boot", "50",
        "--out", str(out), "--markdown", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(out.read_text())
    text = out.with_suffix(".md").read_text()
    assert text == capsys.readouterr().out
    default = report["default_delineator"]
    names = [m["name"] for m in report["methods"]]
    assert default in names and {"classical", "neurokit2"} <= set(names)
    assert len(report["ludb"]["records"]) == 2 and len(report["qtdb"]["records"]) == 1
    # boundaries: the default network gives every point in every lead; the classical one no P offset
    b = report["ludb"]["boundaries"][default]
    assert all(0.0 <= b[p]["se"] <= 1.0 and b[p]["n_ref"] > 0 for p in b)
    assert report["ludb"]["boundaries"]["classical"]["p_off"]["tp"] == 0
    assert set(report["qtdb"]["boundaries"]) == {"consensus", "best lead"}
    # record intervals: 12 leads, single leads, the stretched rates; regression models need 8 leads
    iv = report["ludb"]["intervals"]
    assert set(iv) == {"12 leads", "lead II", "lead I", "lead V5", "40 bpm", "150 bpm"}
    assert iv["12 leads"][default]["qt_ms"]["n"] == 2 and iv["12 leads"][default]["qt_ms"]["mae_ci"]
    regression = [m["name"] for m in report["methods"] if m["kind"] == "interval regression"]
    assert regression and all("n/a" in iv["lead II"][m] for m in regression)
    assert set(report["ludb"]["stretch"][default]["qt_ms"]) >= {
        "unstretched",
        "40 bpm",
        "150 bpm",
        "within_limit",
    }
    assert report["qtdb"]["intervals"][default]["qt_ms"]["n"] > 0
    assert len(report["cart"]["files"]) >= 8 and report["cart"]["summary"][default]["qt_ms"]["n"] >= 7
    speed = report["speed"]["methods"][default]
    assert speed["records"] == 2 and speed["median_ms"] > 0 and report["speed"]["threads"] == 1
    for heading in ("boundaries, each lead", "record intervals, 12 leads", "only lead V5", "Rate stress",
                    "QTDB test", "best of the 2 leads", "Cart measurements", "Speed"):  # fmt: skip
        assert heading in text, heading
