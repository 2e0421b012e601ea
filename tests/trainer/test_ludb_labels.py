"""LUDB expert intervals follow shared/data/ludb/INTERVALS.md exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainer.data.ludb import expert_intervals, lead_intervals, ludb_records, parse_waves


def test_parse_waves_pairs_onsets_and_offsets():
    sym = ["(", "p", ")", "(", "N", ")", "(", "t", ")"]
    smp = [100, 120, 150, 180, 200, 230, 300, 350, 420]
    waves = parse_waves(sym, smp)
    assert [(w.kind, w.onset, w.peak, w.offset) for w in waves] == [
        ("p", 100, 120, 150), ("N", 180, 200, 230), ("t", 300, 350, 420),
    ]  # fmt: skip
    got = lead_intervals(waves, fs_hz=500)
    assert got == {"pr_ms": 160.0, "qrs_ms": 100.0, "qt_ms": 480.0}


def test_onset_after_peak_is_dropped():
    # LUDB record 7, lead V1: "N ( )" -- the "(" after the peak is not the QRS onset
    waves = parse_waves(["p", ")", "N", "(", ")", "(", "t", ")"], [10, 20, 40, 41, 60, 90, 120, 150])
    qrs = waves[1]
    assert qrs.onset is None and qrs.offset == 60
    assert waves[2].onset == 90  # the T wave keeps its own onset


def test_limits_on_pr_and_qt():
    # P onset 500 ms before the QRS onset and T offset 900 ms after: neither counts
    waves = parse_waves(["(", "p", ")", "(", "N", ")", "(", "t", ")"],
                        [0, 10, 20, 250, 260, 280, 400, 500, 700])  # fmt: skip
    got = lead_intervals(waves, fs_hz=500)
    assert math.isnan(got["pr_ms"]) and math.isnan(got["qt_ms"]) and got["qrs_ms"] == 60.0


def test_whole_shared_ludb_matches_documented_statistics(shared_data):
    rows = [expert_intervals(r) for r in ludb_records(shared_data / "ludb")]
    assert len(rows) == 140
    stats = {}
    for key in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms"):
        v = np.array([getattr(r, key) for r in rows])
        v = v[~np.isnan(v)]
        stats[key] = (len(v), v.mean(), v.std(ddof=1))
    # INTERVALS.md: HR 67 ± 14 bpm, PR 157 ± 25 ms (n = 123), QRS 98 ± 18 ms, QT 396 ± 38 ms
    assert stats["pr_ms"][0] == 123 and stats["hr_bpm"][0] == stats["qt_ms"][0] == 140
    for key, (mean, sd) in {"hr_bpm": (67, 14), "pr_ms": (157, 25), "qrs_ms": (98, 18),
                            "qt_ms": (396, 38)}.items():  # fmt: skip
        assert stats[key][1] == pytest.approx(mean, abs=0.5)
        assert stats[key][2] == pytest.approx(sd, abs=0.5)
    no_pr = sorted(int(r.record) for r in rows if math.isnan(r.pr_ms))
    assert no_pr == [8, 34, 35, 38, 44, 45, 51, 52, 74, 88, 90, 95, 101, 104, 110, 111, 112]
