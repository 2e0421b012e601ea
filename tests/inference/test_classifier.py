"""The Classifier: probabilities, thresholds and statements from a classification checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.core import read_record
from ecgviewer.inference import Classifier, Predictor
from ecgviewer.inference.errors import PredictionError
from ecgviewer.models import build_model
from ecgviewer.models.checkpoint import CheckpointError, CheckpointMeta, ClassSpec, save_checkpoint
from ecgviewer.resources import checkpoints_dir

CLASSES = (
    ClassSpec("NORM", "normal ECG", 0.5),
    ClassSpec("MI", "myocardial infarction", 0.0),  # always stated
    ClassSpec("CD", "conduction disturbance", 1.0),  # stated only at probability 1
)


def _save(tmp_path: Path, activation: str = "sigmoid", calibration: dict | None = None) -> Path:
    torch.manual_seed(0)
    model = build_model("crnn", {"n_classes": 3, "conv_channels": [8, 8, 8, 8], "rnn_hidden": 8})
    meta = CheckpointMeta(
        architecture="crnn",
        config={"n_classes": 3, "conv_channels": [8, 8, 8, 8], "rnn_hidden": 8},
        input_leads=("I", "II", "V1", "V2", "V3", "V4", "V5", "V6"),
        fs_hz=500.0,
        window_samples=5000,
        scaling={"unit": "mV", "center": "median", "scale_mv": 1.0},
        targets=(),
        task="classification",
        classes=CLASSES,
        activation=activation,
        calibration=calibration or {},
    )
    name = "cls-calibrated" if calibration else "cls"
    save_checkpoint(model.eval(), meta, tmp_path / name)
    return tmp_path / name


@pytest.fixture(scope="module")
def record(ptbxl_dir: Path):
    return read_record(ptbxl_dir / "00001_hr.hea")


def test_classify_gives_probabilities_and_thresholded_statements(tmp_path: Path, record) -> None:
    clf = Classifier(_save(tmp_path), device="cpu")
    res = clf.classify(record)
    probs = np.array([c.probability for c in res.classes])
    assert [c.name for c in res.classes] == ["NORM", "MI", "CD"]
    assert np.all((probs > 0) & (probs < 1))
    assert "MI" in res.above_threshold and "CD" not in res.above_threshold
    assert ("NORM" in res.above_threshold) == (res["NORM"].probability >= 0.5)
    # coherent: never NORM with MI; the more probable of the two is stated when both pass
    if "NORM" in res.above_threshold:
        winner = "NORM" if res["NORM"].probability >= res["MI"].probability else "MI"
        assert res.statements == (winner,) and res.withheld[0].note
    else:
        assert res.statements == ("MI",) and not res.withheld
    assert res.n_windows == 1 and res.trained is False and res.device == "cpu"
    doc = res.to_dict()
    assert doc["statements"] == list(res.statements)
    assert [c["threshold"] for c in doc["classes"]] == [0.5, 0.0, 1.0]
    # the first window of a longer record is this record: same probabilities
    longer = record.with_signals(np.concatenate([record.signals, record.signals[:, ::-1]], axis=1))
    both = clf.classify(longer)
    assert both.n_windows >= 2
    first = clf.probabilities(clf._forward(_windows(clf, longer)[:1]))[0]
    assert np.all(np.abs(first - probs) < 1e-5)


def _windows(clf: Classifier, record) -> np.ndarray:
    from ecgviewer.inference.preprocess import prepare_windows

    return prepare_windows(record, **clf.input_spec()).data


def test_the_stored_temperature_and_offsets_calibrate_the_probabilities(tmp_path: Path, record) -> None:
    plain = Classifier(_save(tmp_path), device="cpu").classify(record)
    cal = {"method": "temperature", "temperature": 2.5, "logit_offset": [1.0, 0.0, -2.0]}
    scaled = Classifier(_save(tmp_path, calibration=cal), device="cpu").classify(record)
    p = np.array([c.probability for c in plain.classes])  # one window: the mean is the window's value
    z = np.log(p / (1 - p))
    want = 1 / (1 + np.exp(-(z - np.array(cal["logit_offset"])) / cal["temperature"]))
    assert [c.probability for c in scaled.classes] == pytest.approx(want.tolist(), abs=1e-5)
    assert "T = 2.50" in scaled.to_dict()["probabilities"]
    assert plain.to_dict()["probabilities"] == "uncalibrated"
    with pytest.raises(CheckpointError, match="logit_offset"):
        _save(tmp_path, calibration={**cal, "logit_offset": [0.0]})
    with pytest.raises(CheckpointError, match="temperature"):
        _save(tmp_path, calibration={**cal, "temperature": 0})


def test_softmax_probabilities_sum_to_one(tmp_path: Path, record) -> None:
    res = Classifier(_save(tmp_path, "softmax"), device="cpu").classify(record)
    assert sum(c.probability for c in res.classes) == pytest.approx(1.0, abs=1e-6)


def test_classify_windows_matches_classify(tmp_path: Path, record) -> None:
    clf = Classifier(_save(tmp_path), device="cpu")
    from ecgviewer.inference.preprocess import prepare_windows

    [batch] = clf.classify_windows([prepare_windows(record, **clf.input_spec())])
    single = clf.classify(record)
    assert [c.probability for c in batch.classes] == pytest.approx([c.probability for c in single.classes])


def test_tasks_are_not_mixed_up(tmp_path: Path, record) -> None:
    with pytest.raises(CheckpointError, match="classification checkpoint, not an interval model"):
        Predictor(_save(tmp_path)).load()
    with pytest.raises(CheckpointError, match="intervals checkpoint, not a classification model"):
        Classifier(checkpoints_dir() / "resnet1d").load()


def test_missing_leads_are_refused(tmp_path: Path, record) -> None:
    from dataclasses import replace

    two = replace(
        record, signals=record.signals[:2], lead_names=record.lead_names[:2], units=record.units[:2]
    )
    with pytest.raises(PredictionError, match="missing"):
        Classifier(_save(tmp_path), device="cpu").classify(two)
