"""Checkpoint files: round trip, bundled placeholders, and every rejection."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ecgviewer.models import build_model
from ecgviewer.models.checkpoint import (
    REQUIRED_KEYS,
    CheckpointError,
    load_checkpoint,
    read_meta,
    save_checkpoint,
)
from ecgviewer.models.placeholders import placeholder_meta, write_placeholders
from ecgviewer.resources import checkpoints_dir


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = build_model("resnet1d", {"stage_channels": [8, 16]}).eval()
    meta = placeholder_meta("resnet1d", {"stage_channels": [8, 16]})
    save_checkpoint(model, meta, tmp_path / "m")
    return tmp_path / "m"


def _edit_json(base: Path, **changes: object) -> None:
    path = base.with_suffix(".json")
    obj = json.loads(path.read_text())
    obj.update(changes)
    path.write_text(json.dumps(obj))


def test_round_trip(saved: Path) -> None:
    torch.manual_seed(0)
    original = build_model("resnet1d", {"stage_channels": [8, 16]}).eval()
    for p in (saved, saved.with_suffix(".safetensors"), saved.with_suffix(".json")):
        loaded = load_checkpoint(p)
        assert not loaded.model.training
        x = torch.randn(2, 8, 5000)
        with torch.inference_mode():
            assert torch.allclose(loaded.model(x), original(x))
    meta = loaded.meta
    assert meta.architecture == "resnet1d" and meta.input_leads[:2] == ("I", "II")
    assert meta.fs_hz == 500 and meta.window_samples == 5000
    assert [t.name for t in meta.targets] == ["rr_ms", "pr_ms", "qrs_ms", "qt_ms"]
    assert meta.status == "untrained placeholder" and meta.trained is False
    assert len(loaded.sha256) == 64
    assert not list(saved.parent.glob("*.tmp"))  # atomic writes leave no temp files


def test_bundled_checkpoints_are_trained_with_the_trainer() -> None:
    for name in ("resnet1d", "vit1d"):
        ck = load_checkpoint(checkpoints_dir() / name)
        assert ck.meta.status == "trained" and ck.meta.trained
        assert (checkpoints_dir() / f"{name}.safetensors").stat().st_size < 2_000_000
        training = ck.meta.training
        # made by the documented chain: synthetic pretraining -> PTB-XL -> LUDB experts, then exported
        assert training["command"].startswith("python -m trainer finetune")
        assert (
            training["export_command"].startswith("python -m trainer export")
            and name in training["export_command"]
        )
        assert training["data"]["sources"][0]["source"] == "LUDB" and training["init"]["sha256"]
        assert ck.meta.metrics["split"] == "val" and ck.meta.metrics["qt_ms"]["n"] == 20


def test_placeholders_are_reproducible(tmp_path: Path) -> None:
    write_placeholders(tmp_path / "a")
    write_placeholders(tmp_path / "b")
    for name in ("resnet1d", "vit1d"):
        a, b = read_meta(tmp_path / "a" / name), read_meta(tmp_path / "b" / name)
        assert a.status == "untrained placeholder" and not a.trained
        assert a.weights_sha256 == b.weights_sha256


def test_unknown_architecture(saved: Path) -> None:
    _edit_json(saved, architecture="transformerXL")
    with pytest.raises(CheckpointError, match="unknown architecture"):
        load_checkpoint(saved)


def test_bad_config(saved: Path) -> None:
    _edit_json(saved, config={"stage_channels": [8, 16], "bogus": 1})
    with pytest.raises(CheckpointError, match="unknown config keys"):
        load_checkpoint(saved)


def test_wrong_shapes(saved: Path) -> None:
    # weights of a wider net under the JSON of the narrow one (sha256 updated so only shapes differ)
    wide = build_model("resnet1d", {"stage_channels": [8, 32]})
    save_file({k: v.contiguous() for k, v in wide.state_dict().items()}, saved.with_suffix(".safetensors"))
    import hashlib

    _edit_json(
        saved, weights_sha256=hashlib.sha256(saved.with_suffix(".safetensors").read_bytes()).hexdigest()
    )
    with pytest.raises(CheckpointError, match="wrong tensor shapes"):
        load_checkpoint(saved)


@pytest.mark.parametrize("mode", ["missing", "unexpected"])
def test_missing_or_unexpected_tensors(saved: Path, mode: str) -> None:
    import hashlib

    state = {
        k: v.contiguous()
        for k, v in build_model("resnet1d", {"stage_channels": [8, 16]}).state_dict().items()
    }
    if mode == "missing":
        state.pop("head.linear.weight")
    else:
        state["extra.weight"] = torch.zeros(3)
    path = saved.with_suffix(".safetensors")
    save_file(state, path)
    _edit_json(saved, weights_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(CheckpointError, match=mode):
        load_checkpoint(saved)


def test_sha256_mismatch(saved: Path) -> None:
    _edit_json(saved, weights_sha256="0" * 64)
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(saved)


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_json_key(saved: Path, key: str) -> None:
    path = saved.with_suffix(".json")
    obj = json.loads(path.read_text())
    del obj[key]
    path.write_text(json.dumps(obj))
    with pytest.raises(CheckpointError, match="missing keys"):
        load_checkpoint(saved)


def test_bad_version(saved: Path) -> None:
    _edit_json(saved, format_version=99)
    with pytest.raises(CheckpointError, match="unsupported format_version"):
        load_checkpoint(saved)


def test_bad_targets(saved: Path) -> None:
    _edit_json(saved, targets=[{"name": "hr_bpm", "unit": "bpm", "mean": 70, "std": 10}])
    with pytest.raises(CheckpointError, match="targets"):
        load_checkpoint(saved)


def test_missing_json_file(saved: Path) -> None:
    saved.with_suffix(".json").unlink()
    with pytest.raises(CheckpointError, match="metadata file not found"):
        load_checkpoint(saved)


def test_missing_weights_file(saved: Path) -> None:
    saved.with_suffix(".safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file not found"):
        load_checkpoint(saved)


def test_invalid_json(saved: Path) -> None:
    saved.with_suffix(".json").write_text("{not json")
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(saved)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt"])
def test_pickle_suffix_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    torch.save(build_model("fcn").state_dict(), path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


@pytest.mark.parametrize("kind", ["torch_zip", "raw_pickle"])
def test_pickle_content_under_safetensors_name_refused(saved: Path, kind: str) -> None:
    path = saved.with_suffix(".safetensors")
    if kind == "torch_zip":
        torch.save({"a": torch.zeros(1)}, path)
    else:
        path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(saved)


def test_garbage_weights_refused(saved: Path) -> None:
    saved.with_suffix(".safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00garbage garbage!")
    with pytest.raises(CheckpointError, match="not a safetensors"):
        load_checkpoint(saved)


def test_save_refuses_invalid_meta(tmp_path: Path) -> None:
    from dataclasses import replace

    meta = replace(placeholder_meta("fcn", {}), status="")
    with pytest.raises(CheckpointError):
        save_checkpoint(build_model("fcn"), meta, tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_copy_of_bundled_checkpoint_loads_by_path(tmp_path: Path) -> None:
    for suffix in (".safetensors", ".json"):
        shutil.copy(checkpoints_dir() / f"vit1d{suffix}", tmp_path / f"copy{suffix}")
    assert load_checkpoint(tmp_path / "copy.json").meta.architecture == "vit1d"


CLASSES = [
    {"name": "NORM", "description": "normal ECG", "threshold": 0.4},
    {"name": "MI", "description": "myocardial infarction", "threshold": 0.6},
]


def test_classification_metadata_round_trips(saved: Path) -> None:
    _edit_json(saved, task="classification", targets=[], classes=CLASSES, activation="sigmoid")
    meta = read_meta(saved)
    assert meta.task == "classification" and meta.activation == "sigmoid"
    assert meta.class_names == ("NORM", "MI") and meta.thresholds == (0.4, 0.6)
    assert meta.classes[1].description == "myocardial infarction"
    obj = meta.to_json_dict()
    assert obj["classes"] == CLASSES and obj["task"] == "classification"
    # interval checkpoints keep their JSON without the classifier keys
    assert "classes" not in read_meta(checkpoints_dir() / "resnet1d").to_json_dict()


def test_extra_input_keys_are_kept(saved: Path) -> None:
    obj = json.loads(saved.with_suffix(".json").read_text())
    obj["input"]["rr_features"] = ["rr_prev", "rr_next"]
    saved.with_suffix(".json").write_text(json.dumps(obj))
    meta = read_meta(saved)
    assert meta.input_extra == {"rr_features": ["rr_prev", "rr_next"]}
    assert meta.to_json_dict()["input"]["rr_features"] == ["rr_prev", "rr_next"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task": "segmentation"}, "unknown task"),
        ({"task": "classification", "classes": CLASSES, "activation": "sigmoid"}, "no interval 'targets'"),
        ({"task": "classification", "targets": [], "activation": "sigmoid"}, "'classes' must be"),
        ({"task": "beats", "targets": [], "classes": [{"name": "N"}], "activation": "softmax"}, "threshold"),
        (
            {
                "task": "beats",
                "targets": [],
                "classes": [{"name": "N", "threshold": 1.5}],
                "activation": "softmax",
            },
            "thresholds must lie",
        ),
        (
            {"task": "beats", "targets": [], "classes": CLASSES + CLASSES[:1], "activation": "softmax"},
            "unique",
        ),
        ({"task": "classification", "targets": [], "classes": CLASSES, "activation": "relu"}, "activation"),
    ],
)
def test_bad_classifier_metadata_is_refused(saved: Path, changes: dict, message: str) -> None:
    _edit_json(saved, **changes)
    with pytest.raises(CheckpointError, match=message):
        read_meta(saved)


def test_interval_predictor_refuses_a_classifier_checkpoint(saved: Path) -> None:
    from ecgviewer.inference.predictor import Predictor

    _edit_json(saved, task="classification", targets=[], classes=CLASSES, activation="sigmoid")
    with pytest.raises(CheckpointError, match="classification checkpoint, not an interval model"):
        Predictor(saved).load()
