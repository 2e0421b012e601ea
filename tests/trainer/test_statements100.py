"""The 100 Hz PTB-XL source (subclasses, the held-out half of fold 9, the cache) and calibration."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.record import EcgRecord
from ecgviewer.inference.classifier import Classifier
from trainer.data.statements import SUBCLASSES, load_ptbxl_classes, read_statements, subclass_def
from trainer.metrics import (
    calibrated_probabilities,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from trainer.tasks import MIN_THRESHOLD_POSITIVES, ClassificationTask
from trainer.train import TrainConfig, train

LIMIT = 200  # database order: folds 1-9, 20 records of fold 9


@pytest.fixture(scope="module")
def root(shared_data) -> Path:
    return shared_data / "ptb-xl-100hz"


@pytest.fixture(scope="module")
def data100(root, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    d = load_ptbxl_classes(
        root, "NORM,MI,CD,IMI,CLBBB,SR", val_folds=(9,), test_folds=(), val_holdout=0.5, rate="lr",
        limit=LIMIT, cache_dir=cache,
    )  # fmt: skip
    return d, cache


def test_100hz_rows_subclass_labels_and_patient_wise_holdout(data100, root):
    data, cache = data100
    assert data.x.shape[1:] == (8, 1000) and data.fs_hz == 100.0
    assert data.classes == ("NORM", "MI", "CD", "IMI", "CLBBB", "SR")
    # the fold-9 rows are split by patient into val and test; the other folds train
    from trainer.data.ptbxl import read_database

    rows = {f"ptbxl-{r.ecg_id:05d}": r for r in read_database(root)[:LIMIT]}
    roles = dict(zip(data.ids, data.splits, strict=True))
    assert {roles[i] == "train" for i in roles} == {True, False}
    assert all((rows[i].strat_fold == 9) == (roles[i] != "train") for i in roles)
    assert {roles[i] for i in roles if rows[i].strat_fold == 9} == {"val", "test"}
    by_patient: dict[str, set[str]] = {}
    for g, s in zip(data.groups, data.splits, strict=True):
        by_patient.setdefault(g, set()).add(s)
    assert all(len(v) == 1 for v in by_patient.values())
    # IMI is the subclass (IMI, ILMI, IPLMI, IPMI, INJIL, ...), not only the statement IMI
    statements = read_statements(root)
    imi = subclass_def("IMI", statements)
    assert {"IMI", "ILMI", "IPLMI"} <= imi.codes and "AMI" not in imi.codes
    j = data.classes.index("IMI")
    for i, rid in enumerate(data.ids):
        codes = set(rows[rid].scp_codes)
        want = 1.0 if codes & imi.codes else (0.0 if codes & imi.scope else math.nan)
        assert (data.y[i, j] == want) or (math.isnan(want) and math.isnan(data.y[i, j]))
    # the inputs are the viewer's preprocessing of the 100 Hz file, and come back from the cache
    assert len(list(cache.glob("*.npz"))) == 1
    again = load_ptbxl_classes(root, "NORM", val_folds=(9,), test_folds=(), rate="lr", limit=LIMIT,
                               cache_dir=cache)  # fmt: skip
    assert np.array_equal(again.x, data.x)
    assert set(SUBCLASSES) >= {"IMI", "AMI", "CLBBB", "CRBBB", "LVH", "_AVB", "NST_", "ISC_"}


def test_temperature_is_recovered_and_lowers_the_calibration_error():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(4000, 3))
    y = (rng.uniform(size=z.shape) < 1 / (1 + np.exp(-z / 2.0))).astype(np.float64)  # true T = 2
    y[:10, 0] = np.nan  # unknown labels are left out
    t = fit_temperature(z, y)
    assert t == pytest.approx(2.0, rel=0.1)
    before = expected_calibration_error(calibrated_probabilities(z), y)
    after = expected_calibration_error(calibrated_probabilities(z, t), y)
    assert after < 0.5 * before
    bins = reliability_bins(calibrated_probabilities(z, t), y)
    assert sum(b["n"] for b in bins) == np.isfinite(y).sum() and len(bins) == 10
    # an offset (the class weighting of the loss) is undone before the temperature
    off = np.array([1.0, 0.0, -1.0])
    assert fit_temperature(z + off, y, off) == pytest.approx(t, rel=1e-3)


@pytest.mark.slow
def test_a_100hz_classifier_stores_its_calibration_and_reads_any_rate(data100, tmp_path):
    data, _ = data100
    small = data.subset([i for i, s in enumerate(data.splits) if s != "test"])
    task = ClassificationTask(small.classes, small.descriptions, fs_hz=100.0, window_samples=1000)
    cfg = TrainConfig(model="resnet1d", model_config={"stem_channels": 8, "stage_channels": [8, 8],
                      "blocks_per_stage": 1}, epochs=1, batch_size=32, lr=3e-3, device="cpu", patience=0,
                      seed=1, augment=None)  # fmt: skip
    train(cfg, small, tmp_path / "run", task=task, progress=False)
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["input"]["fs_hz"] == 100.0 and meta["input"]["window_samples"] == 1000
    cal = meta["calibration"]
    assert cal["method"] == "temperature" and cal["temperature"] > 0
    assert cal["logit_offset"] == pytest.approx(np.log(task.pos_weight).tolist(), abs=1e-5)
    # a class with fewer than 5 validation positives keeps 0.5 (calibrated): no threshold from noise
    val_pos = (small.split("val").y == 1).sum(axis=0)
    for c, n in zip(meta["classes"], val_pos, strict=True):
        if n < MIN_THRESHOLD_POSITIVES:
            assert c["threshold"] == 0.5, (c, n)
    # classify-calibrate chooses them again on the same rows: same weights, same answer
    from trainer.classify import recalibrate

    again = json.loads(recalibrate(tmp_path / "run" / "best.json", small, tmp_path / "again").read_text())
    assert again["weights_sha256"] == meta["weights_sha256"] and "recalibrated" in again["training"]
    assert [c["threshold"] for c in again["classes"]] == pytest.approx(
        [c["threshold"] for c in meta["classes"]]
    )
    assert again["calibration"]["temperature"] == pytest.approx(cal["temperature"], rel=1e-4)
    # a 500 Hz, 12 s, 12-lead record is resampled and windowed for the 100 Hz model
    rng = np.random.default_rng(1)
    leads = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    rec = EcgRecord(rng.normal(0, 0.2, (12, 6000)).astype(np.float32), 500.0, leads, ("mV",) * 12)
    res = Classifier(str(tmp_path / "run" / "best.json"), device="cpu").classify(rec)
    assert res.n_windows == 2 and any("resampled" in w for w in res.warnings)
    assert res.calibration.startswith("temperature-scaled")
    # a record without the leads the model needs is a clear error
    from ecgviewer.inference.errors import PredictionError

    two = EcgRecord(rec.signals[:2], 500.0, leads[:2], ("mV",) * 2)
    with pytest.raises(PredictionError, match="needs leads"):
        Classifier(str(tmp_path / "run" / "best.json"), device="cpu").classify(two)
