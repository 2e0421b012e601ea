"""Beat classifier end to end on a real segment of MIT-BIH 208, the model input and the beat pass."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.core.beat_pass import BEAT_CLASSES, BeatPassResult, classes_from_symbols, match_beats
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.readers.registry import open_long_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.inference.beats import (
    RR_FEATURES,
    BeatClassifier,
    BeatInputSpec,
    apply_prematurity_rule,
    beat_inputs,
    beat_waves,
    iter_beat_waves,
    rr_features,
    run_beat_pass,
)
from ecgviewer.models import build_model
from ecgviewer.models.checkpoint import CheckpointError

#: The first 5 minutes of 208: 518 beats, 168 of them PVCs (V) and 72 fusion beats (F).
SEGMENT_S = 300.0


@pytest.fixture(scope="module")
def segment(shared_data: Path) -> tuple[EcgRecord, np.ndarray, np.ndarray]:
    import wfdb

    base = shared_data / "mitdb-208" / "208"
    with open_long_record(base.with_suffix(".hea")) as rec:
        n = round(SEGMENT_S * rec.fs_hz)
        chunk = rec.read(0, n)
    ann = wfdb.rdann(str(base), "atr", sampto=n)
    ref, labels = classes_from_symbols(ann.symbol, ann.sample)
    return chunk, ref, labels


@pytest.fixture(scope="module")
def classifier() -> BeatClassifier:
    return BeatClassifier("beatnet", device="cpu")


def test_the_segment_holds_pvcs_and_fusion_beats(segment) -> None:
    _, ref, labels = segment
    assert 400 < ref.size < 600
    assert np.sum(labels == "V") > 100 and np.sum(labels == "F") > 20


def test_bundled_classifier_end_to_end(segment, classifier: BeatClassifier) -> None:
    record, ref, ref_labels = segment
    seen: list[tuple[int, int]] = []
    result = run_beat_pass(record, classifier, progress=lambda d, t: seen.append((d, t)))
    assert isinstance(result, BeatPassResult)
    assert result.method == "beatnet + prematurity rule" and result.lead == "II"
    n = result.n_beats
    assert result.labels.shape == (n,) and set(result.labels) <= set(BEAT_CLASSES)
    assert result.probabilities.shape == (n, len(BEAT_CLASSES))
    assert np.allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)
    argmax = np.asarray(BEAT_CLASSES)[result.probabilities.argmax(axis=1)]
    # the labels are the network's argmax with the prematurity rule applied to its N / S calls
    assert np.array_equal(result.labels, apply_prematurity_rule(argmax, result.r_peaks, record.fs_hz))
    assert np.array_equal(result.labels != argmax, np.isin(argmax, ("N", "S")) & (result.labels != argmax))
    assert seen[-1] == (2 * record.n_samples, 2 * record.n_samples)
    # score the PVCs against the cardiologists' labels: a constant classifier fails one of the bounds
    ri, di = match_beats(ref, result.r_peaks, round(0.15 * record.fs_hz))
    assert ri.size / ref.size > 0.95
    true_v = ref_labels[ri] == "V"
    said_v = result.labels[di] == "V"
    sensitivity = np.sum(true_v & said_v) / np.sum(true_v)
    ppv = np.sum(true_v & said_v) / max(1, np.sum(result.labels == "V"))
    assert sensitivity > 0.6, sensitivity
    assert ppv > 0.6, ppv
    assert np.sum(result.labels == "N") > 0.3 * n
    assert any(e.kind in ("PVC", "couplet", "run") for e in result.events)


def test_detection_only_and_cancel(segment) -> None:
    record, ref, _ = segment
    plain = run_beat_pass(record)
    assert plain.method == "detection only" and plain.probabilities is None
    assert set(plain.labels) == {"N"} and abs(plain.n_beats - ref.size) < 20
    assert run_beat_pass(record, cancelled=lambda: True) is None


def test_classify_cancel_and_long_record_chunks(segment, classifier: BeatClassifier) -> None:
    record, ref, _ = segment
    long = LongRecord.from_record(record)
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 1

    assert classifier.classify(long, ref, cancelled=cancelled) is None
    labels, probs = classifier.classify(long, ref)
    # the same beats cut from one array give the same answer as the chunked pass
    whole = classifier.classify_inputs(beat_inputs(record, ref, classifier.spec))
    assert np.allclose(whole, probs, atol=1e-3)
    assert labels.shape == ref.shape


def test_refuses_other_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a beat model"):
        BeatClassifier("resnet1d")
    with pytest.raises(CheckpointError, match="not found"):
        BeatClassifier(tmp_path / "missing")


def test_bundled_checkpoint_is_a_trained_beat_model(classifier: BeatClassifier) -> None:
    meta = classifier.meta
    assert meta.task == "beats" and meta.trained and meta.activation == "softmax"
    assert meta.class_names == BEAT_CLASSES and meta.architecture in ("beatnet", "beatnet_ensemble")
    assert classifier.spec == BeatInputSpec.from_meta(meta)
    # every member trained inside MIT-BIH DS1 (and QTDB records that are not DS2 excerpts)
    members = [m["training"] for m in meta.training.get("ensemble_of", [])] or [meta.training]
    assert len(members) == meta.config.get("members", 1)
    for training in members:
        assert training["data"]["split_file"].endswith("beats_ds1.json")
        trained_on = set(training["data"]["records"])
        assert {"mitdb/208", "mitdb/209"} <= trained_on
        assert not trained_on & {"qtdb/sel100", "qtdb/sel103", "qtdb/sel117", "qtdb/sel213", "qtdb/sel232",
                                 "qtdb/sel233", "wfdb-samples/100"}  # fmt: skip


def test_window_puts_the_r_peak_at_the_centre() -> None:
    fs = 360.0
    x = np.zeros(int(20 * fs), dtype=np.float32)
    r = np.array([int(5 * fs), int(9.3 * fs), int(19.9 * fs)])
    x[r] = 2.0
    spec = BeatInputSpec()
    w = beat_waves(x, fs, 0, r, spec)
    assert w.shape == (3, 1, spec.window_samples)
    assert np.all(np.abs(np.argmax(w[:2, 0], axis=1) - spec.center_sample) <= 1)
    assert np.all(np.isfinite(w))  # the last window runs past the end: edge-padded
    # an offset chunk gives the same windows
    w2 = beat_waves(x[int(4 * fs) :], fs, int(4 * fs), r[:2], spec)
    assert np.allclose(w2, w[:2], atol=0.05)


def test_packed_layout_and_template_rows() -> None:
    fs = 250.0
    x = np.zeros(int(70 * fs), dtype=np.float32)
    r = (np.arange(1, 69) * fs).astype(np.int64)
    x[r] = 1.0
    spec = BeatInputSpec(rr_features=RR_FEATURES, rr_layout="packed", template=True)
    inputs = beat_inputs(EcgRecord(x[None], fs, ("II",), ("mV",)), r, spec)
    assert inputs.shape == (r.size, 3, spec.window_samples) and spec.n_leads == 2
    assert np.allclose(inputs[:, 2, : len(RR_FEATURES)], rr_features(r, fs))
    assert not inputs[:, 2, len(RR_FEATURES) :].any()
    # the template row is the same for the beats of one chunk and looks like them
    assert np.allclose(inputs[1, 1], inputs[2, 1])
    assert np.allclose(inputs[5, 1], inputs[5, 0], atol=1e-4)  # regular identical beats: template = beat
    model = build_model("beatnet", {"n_leads": 2, "n_rr_features": len(RR_FEATURES), "rr_packed": True,
                                    "joint_scale": True, "n_classes": 5}).eval()  # fmt: skip
    with torch.inference_mode():
        assert model(torch.from_numpy(inputs)).shape == (r.size, 5)


def test_a_four_class_checkpoint_still_runs(tmp_path: Path) -> None:
    from ecgviewer.models.checkpoint import read_meta, save_checkpoint
    from ecgviewer.resources import checkpoints_dir

    meta = read_meta(checkpoints_dir() / "beatnet")
    single = {k: v for k, v in meta.config.items() if k != "members"}  # one member of the bundled ensemble
    old = dataclasses.replace(
        meta,
        architecture="beatnet",
        classes=tuple(c for c in meta.classes if c.name != "S"),
        config={**single, "n_classes": 4},
    )
    model = build_model("beatnet", old.config)
    save_checkpoint(model, old, tmp_path / "old")
    clf = BeatClassifier(tmp_path / "old.json", device="cpu")
    spec = clf.spec
    fs = 250.0
    r = (np.arange(1, 30) * fs).astype(np.int64)
    x = np.zeros(int(31 * fs), dtype=np.float32)
    x[r] = 1.0
    probs = clf.classify_inputs(beat_inputs(EcgRecord(x[None], fs, ("II",), ("mV",)), r, spec))
    assert probs.shape == (r.size, 5) and np.all(probs[:, BEAT_CLASSES.index("S")] == 0)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_iter_beat_waves_reads_chunks(segment) -> None:
    record, ref, _ = segment
    spec = BeatInputSpec()
    parts = list(iter_beat_waves(LongRecord.from_record(record), ref, spec, chunk_s=30.0))
    assert len(parts) == 10
    assert sum(len(w) for _, w in parts) == ref.size
    assert parts[0][0].start == 0 and parts[-1][0].stop == ref.size


def test_beatnet_shapes() -> None:
    model = build_model("beatnet").eval()
    with torch.inference_mode():
        y = model(torch.randn(2, 4, 640))
    assert y.shape == (2, 4) and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(2, 1, 640))
    assert sum(p.numel() for p in model.parameters()) < 200_000
    assert build_model("beatnet", {"n_classes": 0}).eval()(torch.randn(1, 4, 640)).shape == (1, 4)


def test_second_lead_rows_and_their_scaling(shared_data: Path) -> None:
    from ecgviewer.core.leads import second_beat_lead

    spec = BeatInputSpec(rr_features=RR_FEATURES, rr_layout="packed", template=True, second_lead=True)
    assert spec.n_leads == 4 and spec.row_names == ("II", "II template", "V1", "V1 template")
    assert BeatInputSpec.from_meta(_meta_of(spec)) == spec
    with pytest.raises(ValueError):
        BeatInputSpec(second_lead=True)  # needs the template rows
    with open_long_record(shared_data / "mitdb" / "101.hea") as rec:
        assert second_beat_lead(rec) == "V1"
        r = np.array([1000, 1500, 2000, 2400])
        x = beat_inputs(rec, r, spec)
        v1 = beat_inputs(
            rec, r, BeatInputSpec(rr_features=RR_FEATURES, rr_layout="packed", template=True), lead="V1"
        )
    assert x.shape == (4, 5, spec.window_samples)
    assert np.allclose(x[:, 2:4], v1[:, :2], atol=1e-5)  # rows 3-4: the V1 window and V1 template
    # a one-lead record: the second-lead rows are zeros
    one = EcgRecord(np.sin(np.arange(7500) / 20.0)[None].astype(np.float32), 250.0, ("II",), ("mV",))
    assert second_beat_lead(one) is None
    x1 = beat_inputs(one, np.array([2000, 4000]), spec)
    assert x1.shape == (2, 5, spec.window_samples) and not x1[:, 2:4].any() and x1[:, 0].any()
    # the network scales each (window, template) pair by its window, so the V1 gain does not matter
    model = build_model(
        "beatnet", {"n_leads": 4, "n_rr_features": len(RR_FEATURES), "rr_packed": True, "joint_scale": True,
                    "n_classes": 5},
    ).eval()  # fmt: skip
    louder = x.copy()
    louder[:, 2:4] *= 7.0
    with torch.no_grad():
        assert torch.allclose(model(torch.from_numpy(x)), model(torch.from_numpy(louder)), atol=1e-4)


def _meta_of(spec: BeatInputSpec):
    """A stand-in for a checkpoint's meta with ``spec``'s input fields."""

    @dataclasses.dataclass
    class Meta:
        fs_hz: float
        window_samples: int
        input_extra: dict
        scaling: dict

    return Meta(spec.fs_hz, spec.window_samples, spec.input_extra(), spec.scaling)
