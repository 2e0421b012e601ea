"""RR features of beats and the prematurity rule (core/beat_rr.py), on generated RR series and on
the cardiologists' labels of MIT-BIH 220 (APCs in sinus rhythm) and 201 (atrial fibrillation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.beat_rr import (
    BASIC_RR_FEATURES,
    PREMATURITY_RULE,
    RR_FEATURES,
    PrematurityRule,
    apply_prematurity_rule,
    rr_features,
    rr_irregularity,
)


def test_rr_features_mark_premature_beats() -> None:
    r = np.cumsum(np.r_[0, [1.0] * 10, 0.6, 1.4, [1.0] * 10]) * 250
    f = rr_features(r.astype(np.int64), 250.0)
    assert f.shape == (r.size, len(RR_FEATURES)) and f.dtype == np.float32
    pvc = 11
    i = {k: RR_FEATURES.index(k) for k in RR_FEATURES}
    assert f[pvc, i["prev_rr_rel"]] == pytest.approx(0.6, abs=0.02)
    assert f[pvc, i["next_rr_rel"]] == pytest.approx(1.4, abs=0.02)
    assert f[pvc, i["prev_rr_long"]] == pytest.approx(0.6, abs=0.02)
    assert f[pvc, i["prev_rr_change"]] == pytest.approx(0.6, abs=0.02)
    assert f[pvc + 1, i["prev_rr_change"]] == pytest.approx(1.4 / 0.6, abs=0.05)
    assert f[5, 0] == pytest.approx(1.0) and f[5, 2] == pytest.approx(1.0) and f[5, i["local_rr_long"]] == 1.0
    assert rr_features(np.array([100]), 250.0).tolist() == [[1.0] * len(RR_FEATURES)]
    assert rr_features(r.astype(np.int64), 250.0, BASIC_RR_FEATURES).shape == (r.size, 3)


def test_long_rr_sees_a_run_of_premature_beats() -> None:
    # 200 beats at 1 s, then 20 at 0.6 s: the local median follows the run, the long-term one does not
    r = (np.cumsum(np.r_[0, [1.0] * 200, [0.6] * 20, [1.0] * 100]) * 250).astype(np.int64)
    f = rr_features(r, 250.0)
    k = 215
    assert f[k, RR_FEATURES.index("prev_rr_rel")] > 0.9
    assert f[k, RR_FEATURES.index("prev_rr_long")] == pytest.approx(0.6, abs=0.02)


def _beats(rr_s: list[float], fs: float = 250.0) -> np.ndarray:
    return (np.cumsum(np.r_[0.0, rr_s]) * fs).astype(np.int64)


def test_an_early_normal_looking_beat_becomes_s_and_a_late_s_becomes_n() -> None:
    # 300 beats at 0.8 s; beat 150 comes 30 % early (an APC the network called N); beat 200 is on
    # time but the network called it S
    rr = [0.8] * 300
    rr[149], rr[150] = 0.56, 0.9
    r = _beats(rr)
    labels = np.full(r.size, "N")
    labels[200] = "S"
    labels[[10, 11]] = ["V", "F"]
    out = apply_prematurity_rule(labels, r, 250.0)
    assert out[150] == "S" and out[200] == "N"
    assert np.sum(out != labels) == 2 and labels[200] == "S"  # a new array; V and F kept
    assert out[10] == "V" and out[11] == "F"
    # 10 % early stays N (the rule needs 20 %), and a beat 15 % early the network called S stays S
    rr2 = [0.8] * 300
    rr2[149], rr2[199] = 0.72, 0.68
    r2 = _beats(rr2)
    lab2 = np.full(r2.size, "N")
    lab2[200] = "S"
    out2 = apply_prematurity_rule(lab2, r2, 250.0)
    assert out2[150] == "N" and out2[200] == "S"


def test_no_apcs_are_made_in_an_irregular_rhythm() -> None:
    rng = np.random.default_rng(0)
    rr = rng.uniform(0.45, 1.1, 400)  # atrial fibrillation: irregularly irregular
    r = _beats(list(rr))
    assert np.median(rr_irregularity(r, 250.0)) > 0.2
    labels = np.full(r.size, "N")
    # stretches that look regular by chance may still give an odd S
    assert np.mean(apply_prematurity_rule(labels, r, 250.0) == "S") < 0.03
    # the same series with the gate opened: many "APCs"
    loose = PrematurityRule(irregular_above=10.0)
    assert np.sum(apply_prematurity_rule(labels, r, 250.0, loose) == "S") > 50


def test_rule_checks_its_input() -> None:
    with pytest.raises(ValueError):
        PrematurityRule(s_below=0.95, n_at_or_above=0.9)
    with pytest.raises(ValueError):
        apply_prematurity_rule(np.array(["N", "N"]), np.array([1, 2, 3]), 250.0)
    assert apply_prematurity_rule(np.array(["S", "N"]), np.array([0, 200]), 250.0).tolist() == ["S", "N"]
    assert PREMATURITY_RULE.to_dict() == {"s_below": 0.8, "n_at_or_above": 0.9, "irregular_above": 0.15}


def _annotated(shared_data: Path, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    import wfdb

    from ecgviewer.core.beat_pass import classes_from_symbols

    base = shared_data / "mitdb" / name
    if not base.with_suffix(".atr").exists():
        pytest.skip(f"{base}.atr not in the shared data")
    ann = wfdb.rdann(str(base), "atr")
    samples, labels = classes_from_symbols(ann.symbol, ann.sample)
    return samples, labels, float(ann.fs or 360.0)


def test_rule_on_the_cardiologists_beats(shared_data: Path) -> None:
    # 220: sinus rhythm with 94 APCs. Start from "every beat N" (a network blind to timing): the
    # rule alone finds most APCs and few false ones; in 201's atrial fibrillation it stays quiet
    r, ref, fs = _annotated(shared_data, "220")
    out = apply_prematurity_rule(np.where(ref == "S", "N", ref), r, fs)
    tp = np.sum((out == "S") & (ref == "S"))
    assert tp / np.sum(ref == "S") > 0.6
    assert tp / np.sum(out == "S") > 0.6
    r, ref, fs = _annotated(shared_data, "201")
    irregular = rr_irregularity(r, fs) > PREMATURITY_RULE.irregular_above
    assert 0.1 < irregular.mean() < 0.95  # 201 has atrial fibrillation and stretches of sinus rhythm
    out = apply_prematurity_rule(np.where(ref == "S", "N", ref), r, fs)
    assert not np.any((out == "S") & irregular)
