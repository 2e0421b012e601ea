"""Beat-classifier training (``train-beats``), its record split and ``evaluate-beats``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.beat_pass import BEAT_CLASSES
from trainer.cli import main
from trainer.data.arrays import DataError
from trainer.data.beats import BEAT_SPLIT_FILE, load_beats, read_annotated, read_split
from trainer.evaluate_beats import class_scores, confusion, episodes

#: A beatnet small enough to train in seconds.
TINY_BEATNET = {"channels": [4, 8, 8], "hidden": 16, "dropout": 0.0}


def test_split_file_gives_every_annotated_record_one_role(shared_data: Path) -> None:
    raw = json.loads(BEAT_SPLIT_FILE.read_text())
    sets = {role: set(raw[role]) for role in ("train", "val", "test")}
    assert sum(len(v) for v in sets.values()) == len(set.union(*sets.values()))  # no record twice
    assert not (sets["train"] & sets["test"]) and not (sets["val"] & (sets["train"] | sets["test"]))
    annotated = {"mitdb-208/208", "wfdb-samples/100"} | {
        f"qtdb/{p.stem}" for p in (shared_data / "qtdb").glob("*.atr")
    }
    assert set.union(*sets.values()) == annotated and len(annotated) == 57
    roles, groups = read_split()
    assert {"mitdb-208/208", "qtdb/sel223", "qtdb/sel803"} <= sets["test"]
    assert "qtdb/sel213" in sets["train"]
    # MIT-BIH 100 and its QTDB excerpt sel100 are one recording: one group, one role
    assert groups["wfdb-samples/100"] == groups["qtdb/sel100"] and roles["qtdb/sel100"] == "train"
    counts = {role: dict.fromkeys(BEAT_CLASSES, 0) for role in sets}
    for name, role in roles.items():
        _, labels = read_annotated(shared_data / f"{name}.hea")
        for c in BEAT_CLASSES:
            counts[role][c] += int(np.sum(labels == c))
    assert counts["train"]["F"] > 200 and counts["train"]["V"] > 200 and counts["train"]["Q"] > 500
    assert counts["val"]["V"] >= 50
    assert counts["test"]["V"] > 1000 and counts["test"]["F"] > 300


def test_a_record_in_two_roles_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "split.json"
    bad.write_text(json.dumps({"train": ["qtdb/sel100"], "val": [], "test": ["qtdb/sel100"]}))
    with pytest.raises(DataError, match="both"):
        read_split(bad)
    bad.write_text(json.dumps({"train": ["a"], "val": [], "test": ["b"], "groups": {"a": "g", "b": "g"}}))
    with pytest.raises(DataError, match="group g"):
        read_split(bad)


def test_beat_data_from_annotations(shared_data: Path) -> None:
    data = load_beats(shared_data, records=["qtdb/sel803"])
    assert data.x.shape[1:] == (4, 640) and data.splits == ["test"] * len(data)
    assert data.class_counts() == {"N": 952, "S": 0, "V": 74, "F": 0, "Q": 0}
    assert data.ids[0].startswith("qtdb/sel803:") and data.r_peaks[0] == int(data.ids[0].split(":")[1])
    centre = np.abs(data.x[:, 0, 300:340]).max(axis=1)
    assert np.median(centre) > 0.8 * np.median(np.abs(data.x[:, 0]).max(axis=1))  # R near the centre
    sub = data.subset([3, 1])
    assert sub.r_peaks.tolist() == data.r_peaks[[3, 1]].tolist() and len(sub) == 2
    with pytest.raises(DataError, match="not in the split file"):
        load_beats(shared_data, records=["qtdb/nope"])


def test_scores_of_a_hand_built_confusion() -> None:
    ref = np.array([100, 200, 300, 400, 500, 600])
    ref_lab = np.array(list("NVVNFN"))
    det = np.array([102, 198, 305, 450, 503, 800])  # 400 and 600 missed; 450 and 800 extra
    det_lab = np.array(list("NVNVNV"))
    m, ref_lab, det_lab, ri, di = confusion(ref, ref_lab, det, det_lab, 20)
    n, v, f = (BEAT_CLASSES.index(c) for c in "NVF")
    k = len(BEAT_CLASSES)
    assert m.sum() == 8 and m[n, n] == 1 and m[v, v] == 1 and m[v, n] == 1 and m[f, n] == 1
    assert m[n, k] == 2 and m[k, v] == 2  # missed N beats (last column), extra detections labelled V
    s = class_scores(m)
    assert s["V"]["sensitivity"] == pytest.approx(0.5) and s["V"]["ppv"] == pytest.approx(1 / 3)
    assert s["VF"]["tp"] == 1 and s["VF"]["n_ref"] == 3 and s["F"]["sensitivity"] == 0.0
    ep = episodes(ref_lab, det_lab, ri, di)
    # reference V/F runs: beats 1-2 (found through the V at 198) and the F at 500 (called N: missed);
    # runs of V/F labels: 198 (true), 450 and 800 (no reference beat: false)
    assert ep == {"n_true": 2, "n_detected": 1, "n_false": 2}
    # only beats from sample 250 on: the reference beats at 300-600, the extra detections at 450, 800
    m2, rl, dl, ri, di = confusion(ref, ref_lab, det, det_lab, 20, (250, 10**6))
    assert m2[:k].sum() == 4 and m2[k].sum() == 2 and rl.tolist() == list("VNFN")
    assert dl.tolist() == list("NVNV") and episodes(rl, dl, ri, di)["n_true"] == 2


@pytest.mark.slow
def test_train_beats_lowers_the_loss_and_evaluate_beats_writes_tables(shared_data: Path, tmp_path: Path):
    run = tmp_path / "run"
    code = main(["train-beats", "--data", str(shared_data), "--records", "qtdb/sel14046", "qtdb/sel14157",
                 "--out", str(run), "--epochs", "4", "--epoch-size", "512", "--batch-size", "64",
                 "--model-config", json.dumps(TINY_BEATNET), "--patience", "0", "--device", "cpu",
                 "--quiet"])  # fmt: skip
    assert code == 0
    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < 0.7 * losses[0], losses
    meta = json.loads((run / "best.json").read_text())
    assert meta["task"] == "beats" and [c["name"] for c in meta["classes"]] == list(BEAT_CLASSES)
    assert meta["input"]["rr_features"] and meta["training"]["counts"]["train"]["V"] == 27
    assert meta["training"]["data"]["records"]["qtdb/sel14157"]["role"] == "val"

    out = tmp_path / "eval"
    code = main(["evaluate-beats", "--data", str(shared_data), "--checkpoint", str(run / "best.json"),
                 "--records", "qtdb/sel808", "qtdb/sel803", "--bootstrap", "50", "--out", str(out),
                 "--quiet"])  # fmt: skip
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert res["records"] == ["qtdb/sel808", "qtdb/sel803"] and res["tolerance_ms"] == 150
    (clf,) = res["methods"]
    assert clf["name"] == "classifier" and clf["sha256"] == meta["weights_sha256"]
    assert clf["scores"]["V"]["n_ref"] == 77 and "sensitivity_ci" in clf["scores"]["V"]
    m = np.asarray(clf["pooled"]["confusion"])
    assert m.shape == (6, 6) and m[:5].sum() == 903 + 1026  # every reference beat is in a row
    assert m[BEAT_CLASSES.index("V")].sum() == 3 + 74 and m[BEAT_CLASSES.index("S")].sum() == 1
    per = [np.asarray(r["confusion"]) for r in clf["per_record"]]
    assert np.array_equal(per[0] + per[1], m)
    assert clf["pooled"]["classes"]["V"]["n_ref"] == 77 and clf["pooled"]["episodes"]["n_true"] > 0
    assert set(clf["ci95"]) >= {"V.sensitivity", "episodes.share_detected"}
    table = (out / "table.md").read_text()
    assert "python -m trainer evaluate-beats" in table and "| V+F (either) |" in table
    assert "episodes detected" in table and "| qtdb/sel803 |" in table


def test_ds1_folds_follow_the_inter_patient_rules(shared_data: Path, tmp_path: Path) -> None:
    from trainer.beats_cv import DS1_SPLIT_FILE, read_cv_split

    split = read_cv_split(DS1_SPLIT_FILE)
    ds1 = [str(r) for r in (101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124, 201, 203, 205, 207)]
    ds1 += ["208", "209", "215", "220", "223", "230"]
    folds = split["folds"]
    assert sorted(r for f in folds for r in f) == sorted(f"mitdb/{r}" for r in ds1)  # each once
    # DS2 excerpts and excerpts of DS1 patients never train (nor are scored)
    never = {"qtdb/sel100", "qtdb/sel103", "qtdb/sel117", "qtdb/sel213", "qtdb/sel232", "qtdb/sel233",
             "wfdb-samples/100", "qtdb/sel116", "qtdb/sel223", "qtdb/sel230"}  # fmt: skip
    assert not never & set(split["extra_train"])
    assert all((shared_data / f"{r}.atr").exists() for r in split["extra_train"])
    # the V-, S- and F-rich records are spread over the folds
    for rich in (("208", "106", "119", "203"), ("209", "201", "207", "118", "220")):
        at = [next(k for k, f in enumerate(folds) if f"mitdb/{r}" in f) for r in rich]
        assert len(set(at)) == len(at), rich
    bad = dict(split["raw"], extra_train=[*split["extra_train"], "qtdb/sel213"])
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    with pytest.raises(DataError, match="excluded"):
        read_cv_split(f)


def test_ventricular_flutter_of_207_is_left_out_of_the_comparison(shared_data: Path) -> None:
    # 207's flutter episodes ([ ... ] in its .atr) hold flutter waves, not beats: bxb leaves them out
    from trainer.data.beats import outside_spans, read_reference

    path = shared_data / "mitdb" / "207.hea"
    if not path.exists():
        pytest.skip("mitdb/207 not in the shared data")
    spans = read_reference(path)[2]
    assert len(spans) >= 2 and all(b > a for a, b in spans)
    assert 100 < sum(b - a for a, b in spans) / 360.0 < 300  # 2 min 40 s of 30 min
    ref, _ = read_annotated(path)
    assert outside_spans(ref, spans).all()  # no reference beat inside an episode
    inside = np.array([a + 10 for a, _ in spans] + [spans[0][0] - 10])
    assert outside_spans(inside, spans).tolist() == [False] * len(spans) + [True]
    assert read_reference(shared_data / "mitdb" / "101.hea")[2] == []


def test_ensemble_of_two_seeds_averages_their_probabilities(shared_data: Path, tmp_path: Path) -> None:
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.inference.beats import BeatClassifier
    from trainer.data.beats import read_annotated

    runs = []
    for seed in (0, 1):
        run = tmp_path / f"seed{seed}"
        code = main(["train-beats", "--data", str(shared_data), "--records", "qtdb/sel14046", "qtdb/sel14157",
                     "--out", str(run), "--epochs", "1", "--epoch-size", "256", "--batch-size", "64",
                     "--model-config", json.dumps(TINY_BEATNET), "--patience", "0", "--device", "cpu",
                     "--seed", str(seed), "--quiet"])  # fmt: skip
        assert code == 0
        runs.append(run / "best.json")
    out = tmp_path / "ens"
    assert main(["ensemble-beats", *map(str, runs), "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["architecture"] == "beatnet_ensemble" and meta["config"]["members"] == 2
    assert [m["checkpoint"] for m in meta["training"]["ensemble_of"]] == [str(r) for r in runs]
    path = shared_data / "qtdb" / "sel803.hea"
    r, _ = read_annotated(path)
    with open_long_record(path) as rec:
        probs = [
            BeatClassifier(p, device="cpu").classify(rec, r[:200])[1]
            for p in (*runs, out.with_suffix(".json"))
        ]
    assert not np.allclose(probs[0], probs[1], atol=1e-3)  # the seeds disagree
    assert np.allclose(probs[2], (probs[0] + probs[1]) / 2, atol=1e-5)
    # members that do not match are refused
    other = tmp_path / "other"
    small = json.dumps({**TINY_BEATNET, "hidden": 8})
    main(["train-beats", "--data", str(shared_data), "--records", "qtdb/sel14046", "qtdb/sel14157", "--out",
          str(other), "--epochs", "1", "--epoch-size", "128", "--batch-size", "64", "--model-config",
          small, "--patience", "0", "--device", "cpu", "--quiet"])  # fmt: skip
    assert (
        main(["ensemble-beats", str(runs[0]), str(other / "best.json"), "--out", str(tmp_path / "bad")]) == 2
    )


def test_cv_beats_trains_scores_and_rescores_a_fold(shared_data: Path, tmp_path: Path) -> None:
    # two one-record folds of QTDB records with S and V beats; fold 1 trains on sel14157, scores sel803
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"folds": [["qtdb/sel803"], ["qtdb/sel14157"]], "extra_train": [],
                                 "excluded": {}}))  # fmt: skip
    run, cache = tmp_path / "cv", tmp_path / "cache"

    def cv(out: Path, *more: str) -> int:
        return main(["cv-beats", "--data", str(shared_data), "--split-file", str(split), "--out", str(out),
                     "--cache", str(cache), "--folds", "1", "--bootstrap", "20", "--quiet", "--device", "cpu",
                     *more])  # fmt: skip

    tiny = json.dumps(TINY_BEATNET)
    assert cv(run, "--epochs", "1", "--epoch-size", "256", "--model-config", tiny, "--template",
              "--second-lead", "--rr-layout", "packed") == 0  # fmt: skip
    meta = json.loads((run / "fold1" / "last.json").read_text())
    assert meta["input"]["second_lead"] and meta["input"]["leads"] == [
        "II",
        "II template",
        "V1",
        "V1 template",
    ]
    assert meta["training"]["held_out"] == ["qtdb/sel803"]
    with_rule = json.loads((run / "results.json").read_text())
    assert with_rule["prematurity_rule"] == {"s_below": 0.8, "n_at_or_above": 0.9, "irregular_above": 0.15}
    assert [r["record"] for r in with_rule["per_record"]] == ["qtdb/sel803"]
    # the same fold model scored again without the rule: the same beats, other N/S labels only
    assert cv(run, "--evaluate-only", "--no-prematurity-rule") == 0
    plain = json.loads((run / "results-no-rule.json").read_text())
    assert plain["prematurity_rule"] is None and (run / "table-no-rule.md").exists()
    a, b = np.asarray(with_rule["pooled"]["confusion"]), np.asarray(plain["pooled"]["confusion"])
    assert np.array_equal(a.sum(axis=1), b.sum(axis=1))  # every reference beat counted in both
    v = BEAT_CLASSES.index("V")
    assert np.array_equal(a[:, v], b[:, v])  # the rule never touches V
    # nothing to re-score in a folder without fold models
    assert cv(tmp_path / "empty", "--evaluate-only") == 2
