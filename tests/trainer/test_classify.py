"""Classifier training on real PTB-XL rows: labels from scp_codes, statistics, training, transfer, CSVs."""

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

from ecgviewer.inference.classifier import BUNDLED_CLASSIFIERS, DEFAULT_CLASSIFIER, Classifier
from ecgviewer.models.checkpoint import load_checkpoint, read_meta
from trainer.classify import class_groups
from trainer.cli import main
from trainer.data.arrays import DataError
from trainer.data.ptbxl import read_database
from trainer.data.statements import (
    PTBXL_RHYTHM,
    SUPERCLASSES,
    class_def,
    labels_of,
    load_labels_csv,
    load_ptbxl_classes,
    read_statements,
    resolve_classes,
)
from trainer.metrics import auc, best_f1_threshold, binary_counts, classification_scores
from trainer.tasks import ClassificationTask
from trainer.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]
#: A small resnet18_1d that trains in a second or two on the CPU.
TINY = {"stem_channels": 8, "stage_channels": [8, 8], "blocks_per_stage": 1, "dropout": 0.0}
SUPER = list(SUPERCLASSES)


@pytest.fixture(scope="module")
def ptbxl_root(shared_data) -> Path:
    return shared_data / "ptb-xl"


@pytest.fixture(scope="module")
def statements(ptbxl_root):
    return read_statements(ptbxl_root)


@pytest.fixture(scope="module")
def codes(ptbxl_root) -> dict[int, dict[str, float]]:
    return {r.ecg_id: r.scp_codes for r in read_database(ptbxl_root)}


@pytest.fixture(scope="module")
def shared_classes(ptbxl_root):
    """All 300 shared records with superclass labels; folds 1-6 train, 7 validation, 8 test."""
    return load_ptbxl_classes(ptbxl_root, "superclasses", val_folds=(7,), test_folds=(8,))


@pytest.fixture(scope="module")
def small(shared_classes):
    """48 training and 16 validation rows of the shared set (every superclass has a training positive)."""
    train_idx = [i for i, s in enumerate(shared_classes.splits) if s == "train"][:48]
    val_idx = [i for i, s in enumerate(shared_classes.splits) if s == "val"][:16]
    return shared_classes.subset(train_idx + val_idx)


def tiny(**kw) -> TrainConfig:
    base = dict(model="resnet18_1d", model_config=TINY, epochs=1, batch_size=16, lr=3e-3, device="cpu",
                patience=0, seed=3, augment=None)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _log(out: Path) -> list[dict[str, str]]:
    with open(out / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# -- labels ---------------------------------------------------------------------------------


def test_superclasses_of_real_records_by_hand(statements, codes):
    defs = [class_def(c, statements) for c in [*SUPER, "SR", "AFIB", "STACH"]]
    names = [d.name for d in defs]

    def row(ecg_id, min_likelihood=0.0):
        return dict(zip(names, labels_of(codes[ecg_id], defs, min_likelihood).tolist(), strict=True))

    # ecg 1: NORM 100, LVOLT 0 (a form statement, no class), SR 0
    assert codes[1] == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    assert row(1) == {"NORM": 1, "MI": 0, "STTC": 0, "CD": 0, "HYP": 0, "SR": 1, "AFIB": 0, "STACH": 0}
    # ecg 103: IMI 15 % (diagnostic_class MI), LAFB 100 (CD), ABQRS 0 (form), STACH 0 (rhythm)
    assert statements["IMI"].diagnostic_class == "MI" and statements["LAFB"].diagnostic_class == "CD"
    assert row(103) == {"NORM": 0, "MI": 1, "STTC": 0, "CD": 1, "HYP": 0, "SR": 0, "AFIB": 0, "STACH": 1}
    # the benchmark's rule counts IMI at 15 %; a likelihood bar of 50 % drops it
    assert row(103, min_likelihood=50)["MI"] == 0 and row(103, min_likelihood=50)["CD"] == 1
    # ecg 282: ASMI (MI), ILBBB (CD), LVH (HYP), ISC_ (STTC), PVC (form only), AFIB
    assert row(282) == {"NORM": 0, "MI": 1, "STTC": 1, "CD": 1, "HYP": 1, "SR": 0, "AFIB": 1, "STACH": 0}
    # ecg 258: IMI 50, NDT 100 (STTC) and no rhythm statement: rhythm labels unknown
    r = row(258)
    assert (r["MI"], r["STTC"], r["NORM"]) == (1, 1, 0)
    assert all(math.isnan(r[c]) for c in ("SR", "AFIB", "STACH"))


def test_rhythm_classes_are_chosen_by_training_counts(ptbxl_root, statements):
    rows = read_database(ptbxl_root)
    train = [r.strat_fold <= 6 for r in rows]
    defs, note = resolve_classes("superclasses,rhythm", statements, rows, train)
    assert [d.name for d in defs] == [*SUPER, "SR", "SARRH"]
    counts = note["rhythm"]["train_positives"]
    assert len(counts) == 12  # every rhythm statement of PTB-XL is considered
    assert counts["AFIB"] == sum(1 for r, t in zip(rows, train) if t and "AFIB" in r.scp_codes) == 5
    assert counts["SR"] == 185 and counts["SARRH"] == 16
    defs, note = resolve_classes("rhythm", statements, rows, train, min_positives=4)
    assert [d.name for d in defs] == ["SR", "SARRH", "AFIB", "STACH", "SBRAD"]  # most frequent first
    defs, _ = resolve_classes("NORM,AFIB", statements, rows, train)  # explicit codes: no count rule
    assert [d.name for d in defs] == ["NORM", "AFIB"]
    with pytest.raises(DataError, match="unknown class 'XYZ'"):
        resolve_classes("XYZ", statements, rows, train)
    assert set(PTBXL_RHYTHM) == {c for c, s in statements.items() if s.rhythm}  # the report's rhythm group
    assert class_groups(["NORM", "MI", "SR", "AFIB"]) == {
        "superclasses": ["NORM", "MI"],
        "rhythm": ["SR", "AFIB"],
    }
    assert class_groups(SUPER) == {}


def test_folds_give_the_roles(shared_classes, ptbxl_root, codes):
    folds = {f"ptbxl-{r.ecg_id:05d}": r.strat_fold for r in read_database(ptbxl_root)}
    roles = {"train": set(range(1, 7)), "val": {7}, "test": {8}}
    for rid, role in zip(shared_classes.ids, shared_classes.splits, strict=True):
        assert folds[rid] in roles[role]
    assert shared_classes.splits.count("test") == 38 and shared_classes.splits.count("val") == 37
    i = shared_classes.ids.index("ptbxl-00103")
    assert shared_classes.y[i].tolist() == [0, 1, 0, 1, 0]
    assert shared_classes.provenance["counts"]["test"]["MI"]["pos"] == 6
    # the recommended folds 9/10 are not in the shared subset: a clear error
    with pytest.raises(DataError, match=r"validation folds \[9\].*--val-folds"):
        load_ptbxl_classes(ptbxl_root, "superclasses", limit=5)


# -- statistics ------------------------------------------------------------------------------


def test_auc_and_f1_hand_checked():
    truth = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    p = np.array([0.9, 0.4, 0.35, 0.1, 0.8, 0.65])
    # positive-negative pairs ranked right: 0.9 > all 3, 0.4 > {0.35, 0.1}, 0.8 > all 3 -> 8 of 9
    assert auc(truth, p) == pytest.approx(8 / 9)
    assert auc(np.array([1, 0, 1, 0], bool), np.array([0.5, 0.5, 0.7, 0.2])) == pytest.approx(3.5 / 4)
    assert math.isnan(auc(np.array([1, 1], bool), np.array([0.2, 0.3])))
    # F1 by threshold: 0.9 -> 2/4, 0.8 -> 4/5, 0.65 -> 4/6, 0.4 -> 6/7 (best), 0.35 -> 6/8
    threshold, f1 = best_f1_threshold(truth, p)
    assert f1 == pytest.approx(6 / 7) and threshold == pytest.approx((0.4 + 0.35) / 2)
    c = binary_counts(truth, p >= threshold)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (3, 1, 0, 2)
    assert (
        c["sensitivity"] == 1.0
        and c["specificity"] == pytest.approx(2 / 3)
        and c["f1"] == pytest.approx(6 / 7)
    )
    assert best_f1_threshold(np.zeros(3, bool), np.array([0.1, 0.2, 0.3]))[0] == 0.5  # no positive: default


def test_classification_scores_with_bootstrap():
    y = np.array([[1, 0], [1, 0], [0, np.nan], [0, 0], [1, 0], [0, 0]], dtype=float)
    p = np.array([[0.9, 0.1], [0.4, 0.2], [0.35, 0.3], [0.1, 0.4], [0.8, 0.5], [0.65, 0.6]])
    s = classification_scores(["A", "B"], y, p, [0.375, 0.5], n_boot=500, groups={"only B": ["B"]})
    a, b = s["classes"]
    assert a.auc == pytest.approx(8 / 9) and a.f1 == pytest.approx(6 / 7) and a.n == 6 and a.n_pos == 3
    assert a.auc_ci[0] <= a.auc <= a.auc_ci[1] <= 1.0 and a.f1_ci[0] <= a.f1 <= a.f1_ci[1]
    assert b.n == 5 and b.n_pos == 0 and math.isnan(b.auc)  # unknown label left out; no positive: no AUC
    assert s["macro_classes"] == ["A"] and s["macro_auc"] == pytest.approx(a.auc)
    assert s["macro_auc_ci"] == pytest.approx(a.auc_ci)
    assert s["groups"]["only B"]["classes"] == [] and math.isnan(s["groups"]["only B"]["macro_auc"])
    assert json.dumps(b.to_dict())  # strict JSON (nan -> null)


# -- training ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_training_lowers_the_loss_and_round_trips_through_the_classifier(small, tmp_path, sample_path):
    from ecgviewer.core.readers import read_record

    task = ClassificationTask(small.classes, small.descriptions)
    train(tiny(epochs=4, lr=1e-2, schedule="constant"), small, tmp_path / "run", task=task, progress=False)
    log = _log(tmp_path / "run")
    losses = [float(r["train_loss"]) for r in log]
    assert losses[-1] < 0.9 * losses[0], losses
    # pos_weight = negatives / positives of the training rows
    train_y = small.split("train").y
    assert task.pos_weight[1] == pytest.approx((train_y[:, 1] == 0).sum() / (train_y[:, 1] == 1).sum())
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["task"] == "classification" and meta["activation"] == "sigmoid" and meta["targets"] == []
    assert [c["name"] for c in meta["classes"]] == SUPER
    assert meta["classes"][1]["description"] == "myocardial infarction"
    best = min(log, key=lambda r: float(r["val_score"]))
    assert meta["metrics"]["epoch"] == int(best["epoch"])
    assert meta["metrics"]["score"] == pytest.approx(1 - meta["metrics"]["macro_auc"])
    for c in meta["classes"]:  # thresholds chosen on the validation rows are in the JSON
        assert c["threshold"] == meta["metrics"]["classes"][c["name"]]["threshold"]
        assert 0 <= c["threshold"] <= 1
    result = Classifier(str(tmp_path / "run" / "best.json"), device="cpu").classify(read_record(sample_path))
    assert [c.name for c in result.classes] == SUPER and result.trained
    assert all(0 <= c.probability <= 1 for c in result.classes)
    assert [c.threshold for c in result.classes] == [c["threshold"] for c in meta["classes"]]


@pytest.mark.slow
def test_classifier_resume_continues_exactly(small, tmp_path):
    from trainer.augment import Augment

    cfg = tiny(epochs=2, augment=Augment(), patience=1)
    train(cfg, small, tmp_path / "straight", task=ClassificationTask(small.classes), progress=False)

    class Kill(Exception):
        pass

    def stop(row):
        raise Kill

    with pytest.raises(Kill):
        train(
            cfg,
            small,
            tmp_path / "killed",
            task=ClassificationTask(small.classes),
            progress=False,
            on_epoch=stop,
        )
    train(
        cfg, small, tmp_path / "killed", task=ClassificationTask(small.classes), progress=False, resume=True
    )
    a = load_checkpoint(tmp_path / "straight" / "last").model.state_dict()
    b = load_checkpoint(tmp_path / "killed" / "last").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (
        json.loads((tmp_path / "killed" / "last.json").read_text())["classes"]
        == json.loads((tmp_path / "straight" / "last.json").read_text())["classes"]
    )


@pytest.mark.slow
def test_init_from_the_interval_checkpoint_transfers_the_backbone(small, tmp_path):
    interval = REPO / "resources" / "checkpoints" / "resnet1d"
    task = ClassificationTask(small.classes, small.descriptions)
    cfg = tiny(init=str(interval), freeze_epochs=1, batch_size=32)
    train(cfg, small, tmp_path / "ft", task=task, progress=False)
    before = load_checkpoint(interval).model.state_dict()
    after = load_checkpoint(tmp_path / "ft" / "last").model.state_dict()
    backbone = [k for k in before if not k.startswith("head.") and "num_batches" not in k]
    assert len(backbone) > 20
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # frozen: weights and BN statistics
    assert before["head.linear.weight"].shape[0] == 4 and after["head.linear.weight"].shape[0] == 5
    meta = json.loads((tmp_path / "ft" / "best.json").read_text())
    assert meta["architecture"] == "resnet1d" and meta["config"]["n_classes"] == 5
    assert meta["training"]["init"]["task"] == "intervals"
    assert meta["training"]["init"]["head"].startswith("re-initialised")
    # a classifier with the same classes continues with its head
    task2 = ClassificationTask(small.classes, small.descriptions)
    train(tiny(init=str(tmp_path / "ft" / "best.json")), small, tmp_path / "ft2", task=task2, progress=False)
    assert json.loads((tmp_path / "ft2" / "best.json").read_text())["training"]["init"]["head"].startswith(
        "kept"
    )


def _labels_csv(path: Path, ptbxl_root: Path, shared_classes, rows: list[tuple[int, str]]) -> Path:
    """A user labels CSV for real shared records: file, NORM, MI, split."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "NORM", "MI", "split"])
        for ecg_id, split in rows:
            i = shared_classes.ids.index(f"ptbxl-{ecg_id:05d}")
            norm, mi = (str(int(v)) if np.isfinite(v) else "" for v in shared_classes.y[i, :2])
            w.writerow([str(ptbxl_root / "records500" / "00000" / f"{ecg_id:05d}_hr.hea"), norm, mi, split])
    return path


@pytest.fixture(scope="module")
def labels_csv(tmp_path_factory, ptbxl_root, shared_classes):
    ids = [r for r in shared_classes.ids if r.startswith("ptbxl-")]
    mi = [int(r[6:]) for r, y in zip(ids, shared_classes.y[:, 1]) if y == 1][:8]
    others = [int(r[6:]) for r, y in zip(ids, shared_classes.y[:, 1]) if y == 0][:16]
    rows = [(e, "train") for e in mi[:5] + others[:10]] + [(e, "val") for e in mi[5:7] + others[10:13]]
    rows += [(e, "test") for e in mi[7:] + others[13:]]
    return _labels_csv(tmp_path_factory.mktemp("labels") / "labels.csv", ptbxl_root, shared_classes, rows)


def test_labels_csv_reads_the_user_set(labels_csv):
    data = load_labels_csv(labels_csv)
    assert data.classes == ("NORM", "MI") and data.descriptions[1] == "myocardial infarction"
    assert len(data) == 24 and data.splits.count("train") == 15 and data.splits.count("test") == 4
    assert data.counts("train")["MI"] == {"pos": 5, "neg": 10, "unknown": 0}


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        (["path", "NORM"], ["a.hea", "1"], "needs a 'file' column"),
        (["file", "split"], ["a.hea", "train"], "no class column"),
        (["file", "NORM"], ["a.hea", "yes"], r"row 2, column 'NORM': class labels must be 1, 0 or empty"),
        (["file", "NORM", "split"], ["a.hea", "1", "holdout"], "split must be one of"),
    ],
)
def test_a_bad_labels_csv_is_a_clear_error(tmp_path, capsys, header, row, message):
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    with pytest.raises(DataError, match=message):
        load_labels_csv(path)
    assert main(["classify", "--labels", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "bad.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_classify_cli_with_labels_csv_then_evaluate_and_export(labels_csv, tmp_path, capsys):
    """Transfer as in "Are ECGs enough?": a small labelled set, the interval model's backbone frozen."""
    interval = str(REPO / "resources" / "checkpoints" / "resnet1d")
    run = tmp_path / "run"
    assert main(["classify", "--labels", str(labels_csv), "--init", interval, "--freeze-epochs", "2",
                 "--epochs", "2", "--batch-size", "8", "--device", "cpu", "--out", str(run), "--quiet",
                 "--evaluate", "--bootstrap", "100"]) == 0  # fmt: skip
    meta = json.loads((run / "best.json").read_text())
    assert [c["name"] for c in meta["classes"]] == ["NORM", "MI"]
    assert meta["training"]["data"]["source"] == "labels CSV" and "classify" in meta["training"]["command"]
    assert (run / "test" / "table.md").is_file()
    out = tmp_path / "eval"
    assert main(["classify-evaluate", str(run / "best.json"), "--labels", str(labels_csv), "--split", "all",
                 "--bootstrap", "200", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    report = json.loads((out / "results.json").read_text())
    assert report["n_records"] == 24 and report["split"] == "all"
    # the reported AUC is the AUC of the stored per-record probabilities
    recs = report["per_record"]
    truth = np.array([r["reference"]["MI"] for r in recs]) == 1
    prob = np.array([r["run"]["MI"] for r in recs])
    scores = report["methods"][0]["scores"]
    assert scores["classes"]["MI"]["auc"] == pytest.approx(auc(truth, prob), abs=1e-4)
    assert scores["classes"]["MI"]["threshold"] == meta["classes"][1]["threshold"]
    assert (out / "results.csv").read_text().count("\n") == 1 + 3  # 2 classes + macro
    assert "| run | MI | 24 | 8 |" in (out / "table.md").read_text()
    capsys.readouterr()
    assert main(["export", str(run), "--name", "mine", "--to", str(tmp_path / "bundle"),
                 "--test-results", str(out / "results.json")]) == 0  # fmt: skip
    exported = json.loads((tmp_path / "bundle" / "mine.json").read_text())
    assert exported["weights_sha256"] == meta["weights_sha256"]
    assert exported["metrics"]["test"]["macro_auc"] == scores["macro_auc"]
    assert exported["metrics"]["test"]["n_records"] == 24


@pytest.mark.slow
def test_classify_under_ddp_two_gloo_processes(labels_csv, tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "trainer", "classify", "--labels", str(labels_csv), "--out", str(out), "--epochs", "2",
           "--batch-size", "8", "--model-config", json.dumps(TINY), "--device", "cpu", "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("best epoch") == 1
    meta = json.loads((out / "best.json").read_text())
    assert meta["training"]["processes"] == 2 and meta["task"] == "classification"
    assert _log(out)[-1]["step"] == "4"  # 15 training rows over 2 processes x 4 per batch: 2 steps per epoch


# -- the bundled classifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED_CLASSIFIERS)
def test_bundled_classifiers_load_and_carry_their_test_metrics(name, sample_path):
    from ecgviewer.core.readers import read_record
    from ecgviewer.inference.predictor import resolve_checkpoint

    meta = read_meta(resolve_checkpoint(name))
    assert meta.task == "classification" and meta.trained and meta.activation == "sigmoid"
    assert meta.class_names[:5] == tuple(SUPER)
    test = meta.metrics["test"]
    assert test["split"] == "test" and test["n_records"] > 0
    assert (
        0.5 < test["macro_auc"] < 1 and test["macro_auc_ci"][0] < test["macro_auc"] < test["macro_auc_ci"][1]
    )
    assert set(test["classes"]) == set(meta.class_names)
    data = meta.training["data"]
    assert data["source"] == "PTB-XL"
    if meta.fs_hz == 100.0:  # the benchmark-scale classifiers: 100 Hz set, report half of fold 9
        assert data["n_records"] == 3801 and data["test_folds"] == [] and data["val_holdout"] == 0.5
        assert data["n_per_split"] == {"train": 3356, "val": 235, "test": 210}
        assert test["n_records"] == 210 and meta.calibration["method"] == "temperature"
    else:  # the earlier ones: the 300-record 500 Hz subset
        assert data["n_records"] == 300 and data["test_folds"] == [8]
    assert "python -m trainer classify" in meta.training["command"]
    result = Classifier(name, device="cpu").classify(read_record(sample_path))
    assert len(result.classes) == len(meta.classes) and result.trained
    assert BUNDLED_CLASSIFIERS[0] == DEFAULT_CLASSIFIER
