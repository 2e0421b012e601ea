"""The training loop on tiny real data: it learns, resumes exactly, freezes, and runs under DDP."""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.inference.predictor import Predictor
from ecgviewer.models.checkpoint import load_checkpoint
from tests.trainer.conftest import TINY_RESNET
from trainer.augment import NO_AUGMENT, Augment
from trainer.train import TrainConfig, lr_factor, masked_loss, train

REPO = Path(__file__).resolve().parents[2]


def tiny(**kw) -> TrainConfig:
    base = dict(model="resnet1d", model_config=TINY_RESNET, epochs=2, batch_size=8, lr=3e-3, device="cpu",
                patience=0, seed=7, augment=None)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _weights(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model.state_dict()


def _log(out: Path) -> list[dict[str, str]]:
    with open(out / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_training_lowers_the_loss(ludb_small, tmp_path):
    cfg = tiny(epochs=4, lr=1e-2, batch_size=4, schedule="constant")
    train(cfg, ludb_small, tmp_path / "run", progress=False)
    log = _log(tmp_path / "run")
    losses = [float(r["train_loss"]) for r in log]
    assert len(losses) == 4
    assert losses[-1] < 0.96 * losses[0], losses  # measured: about 6 % lower after 16 steps
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["trained"] is True and meta["status"] == "trained"
    assert meta["training"]["n_train"] == 16 and meta["training"]["n_val"] == 4
    best = min(log, key=lambda r: float(r["val_score"]))
    assert meta["metrics"]["epoch"] == int(best["epoch"])
    # label normalisation comes from the training rows
    y = ludb_small.split("train").y
    assert meta["targets"][2]["mean"] == pytest.approx(float(np.nanmean(y[:, 2])), abs=1e-3)


def test_checkpoint_loads_in_the_viewer_predictor(ludb_small, tmp_path, shared_data):
    from ecgviewer.core.readers import read_record

    train(tiny(epochs=1), ludb_small, tmp_path / "run", progress=False)
    result = (
        Predictor(str(tmp_path / "run" / "best.json"), device="cpu")
        .load()
        .predict(read_record(shared_data / "ludb" / "data" / "1.hea"))
    )
    assert result.trained and result.checkpoint_status == "trained"
    assert all(math.isfinite(result[t].value) for t in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms"))


def test_resume_continues_exactly(ludb_small, tmp_path):
    cfg = tiny(epochs=3, augment=Augment())
    train(cfg, ludb_small, tmp_path / "straight", progress=False)

    class Kill(Exception):
        pass

    def stop_after_first(row):
        if int(row["epoch"]) == 0:
            raise Kill

    with pytest.raises(Kill):
        train(cfg, ludb_small, tmp_path / "killed", progress=False, on_epoch=stop_after_first)
    assert len(_log(tmp_path / "killed")) == 1
    with pytest.raises(Exception, match="--resume"):
        train(cfg, ludb_small, tmp_path / "killed", progress=False)
    train(cfg, ludb_small, tmp_path / "killed", progress=False, resume=True)
    a, b = _weights(tmp_path / "straight" / "last"), _weights(tmp_path / "killed" / "last")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    assert [r["epoch"] for r in _log(tmp_path / "killed")] == ["0", "1", "2"]  # no duplicate rows
    assert _log(tmp_path / "killed")[-1]["step"] == _log(tmp_path / "straight")[-1]["step"]


def test_early_stopping_stops(ludb_small, tmp_path):
    result = train(tiny(epochs=20, lr=1e-9, patience=2), ludb_small, tmp_path / "run", progress=False)
    assert result.stopped_early and result.epochs_run < 20


def test_finetune_with_frozen_backbone(ludb_small, tmp_path):
    train(tiny(epochs=1), ludb_small, tmp_path / "pre", progress=False)
    init = tmp_path / "pre" / "best.json"
    train(tiny(epochs=1, init=str(init), freeze_epochs=1), ludb_small, tmp_path / "ft", progress=False)
    before, after = _weights(init), _weights(tmp_path / "ft" / "last")
    head = [k for k in before if k.startswith("head.")]
    backbone = [k for k in before if not k.startswith("head.") and "num_batches" not in k]
    assert head and backbone
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # weights and BN statistics kept
    assert any(not torch.equal(before[k], after[k]) for k in head)
    meta = json.loads((tmp_path / "ft" / "best.json").read_text())
    assert meta["training"]["init"]["checkpoint"] == str(init)
    assert meta["targets"] == json.loads(init.read_text())["targets"]  # normalisation kept


def test_heteroscedastic_model_gives_uncertainty(ludb_small, tmp_path, shared_data):
    from ecgviewer.core.readers import read_record

    train(tiny(epochs=1, heteroscedastic=True), ludb_small, tmp_path / "run", progress=False)
    result = (
        Predictor(str(tmp_path / "run" / "best.json"), device="cpu")
        .load()
        .predict(read_record(shared_data / "ludb" / "data" / "1.hea"))
    )
    assert result["qt_ms"].sigma is not None and result["qt_ms"].sigma > 0


def test_masked_loss_ignores_missing_labels():
    out = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    y = torch.tensor([[1.0, 100.0], [2.0, 0.0]])
    mask = torch.tensor([[True, False], [True, True]])
    loss = masked_loss(out, y, mask, tiny(loss="l1"))
    assert float(loss) == pytest.approx(1.0 / 3)  # |0-1| + 0 + 0 over 3 labelled entries


def test_schedules():
    assert lr_factor("constant", 50, 100, 10) == 1.0
    assert lr_factor("cosine", 0, 100, 10) == pytest.approx(0.01)
    assert lr_factor("cosine", 10, 100, 10) == pytest.approx(1.0)
    assert lr_factor("cosine", 100, 100, 10) == pytest.approx(0.01)
    assert lr_factor("onecycle", 30, 100, 0) == pytest.approx(1.0)
    assert lr_factor("onecycle", 0, 100, 0) == pytest.approx(1 / 25)


def test_augmentations_keep_shape_and_are_seeded(ludb_small):
    x = ludb_small.x[0]
    aug = Augment()
    a = aug(x, 500.0, np.random.default_rng([1, 2, 3]))
    b = aug(x, 500.0, np.random.default_rng([1, 2, 3]))
    assert a.shape == x.shape and np.array_equal(a, b) and not np.array_equal(a, x)
    assert np.array_equal(NO_AUGMENT(x, 500.0, np.random.default_rng(0)), x)


@pytest.mark.slow
def test_ddp_two_gloo_processes(ludb_npz, tmp_path):
    """torchrun with 2 CPU processes (gloo): one checkpoint, both ranks agree, same as documented."""
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "trainer", "pretrain", "--data", f"npz:{ludb_npz}", "--out", str(out), "--epochs", "2",
           "--batch-size", "8", "--model-config", json.dumps(TINY_RESNET), "--device", "cpu", "--quiet"]  # fmt: skip  # noqa: E501
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("best epoch") == 1  # rank 0 reports, rank 1 does not
    meta = json.loads((out / "best.json").read_text())
    assert meta["training"]["processes"] == 2
    assert [r["epoch"] for r in _log(out)] == ["0", "1"]
    # 16 training rows over 2 processes x 4 rows per batch = 2 steps per epoch
    assert _log(out)[-1]["step"] == "4"
    load_checkpoint(out / "best")
