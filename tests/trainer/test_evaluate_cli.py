"""Scores on a hand-checked case, and the trainer commands end to end on tiny real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.trainer.conftest import TINY_RESNET
from trainer.cli import build_parser, main
from trainer.metrics import agreement, score


def test_agreement_hand_checked():
    # differences: +5, -10, +2, nan (left out) -> |d| = 5, 10, 2
    a = agreement("pr_ms", "ms", np.array([105, 90, 152, np.nan]), np.array([100, 100, 150, 120]), 10.0)
    assert a.n == 3
    assert a.mae == pytest.approx(17 / 3)
    assert a.mean_diff == pytest.approx(-1.0)
    assert a.sd_diff == pytest.approx(math.sqrt(((5 + 1) ** 2 + (-10 + 1) ** 2 + (2 + 1) ** 2) / 2))
    assert a.within == pytest.approx(1.0)  # all three within 10 ms (inclusive)
    assert a.mae_ci_low <= a.mae <= a.mae_ci_high
    assert a.mae_ci_low >= 2 and a.mae_ci_high <= 10  # bootstrap means of {5, 10, 2} stay in [2, 10]


def test_score_reports_hr_from_rr():
    pred = np.array([[1000.0, 160, 100, 400], [750.0, 150, 90, 380]])
    ref = np.array([[1000.0, 150, 100, 410], [600.0, 150, 95, 380]])
    s = score(pred, ref, n_boot=0)
    assert s["hr_bpm"].mae == pytest.approx((0 + (100 - 80)) / 2)  # 60 vs 60 bpm, 80 vs 100 bpm
    assert s["pr_ms"].mae == pytest.approx(5.0) and s["qt_ms"].within == pytest.approx(1.0)
    assert s["qrs_ms"].mean_diff == pytest.approx(-2.5)


def test_every_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "pretrain" in a.choices)
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_pretrain_finetune_evaluate_export_chain(ludb_npz, tmp_path, capsys):
    """The documented chain on tiny data: pretrain -> finetune -> evaluate (with peers) -> export."""
    common = ["--epochs", "1", "--batch-size", "8", "--device", "cpu", "--quiet", "--no-augment"]
    assert main(["pretrain", "--data", f"npz:{ludb_npz}", "--out", str(tmp_path / "pre"),
                 "--model-config", json.dumps(TINY_RESNET), *common]) == 0  # fmt: skip
    assert main(["finetune", "--init", str(tmp_path / "pre" / "best.json"), "--data", f"npz:{ludb_npz}",
                 "--out", str(tmp_path / "ft"), "--freeze-epochs", "1", *common]) == 0  # fmt: skip
    meta = json.loads((tmp_path / "ft" / "best.json").read_text())
    assert meta["training"]["stage"] == "finetune" and "finetune" in meta["training"]["command"]
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "ft" / "best.json"), "--data", f"npz:{ludb_npz}",
                 "--peers", "classical", "--bootstrap", "200", "--out", str(out), "--quiet"]) == 0  # fmt: skip  # noqa: E501
    report = json.loads((out / "results.json").read_text())
    assert report["split"] == "test" and report["n_records"] == 4
    assert [m["name"] for m in report["methods"]] == ["ft", "classical"]
    # the reported MAE is the mean absolute difference of the stored per-record values
    recs = report["per_record"]
    diffs = [abs(r["classical"]["qt_ms"] - r["reference"]["qt_ms"]) for r in recs
             if r["classical"]["qt_ms"] is not None and r["reference"]["qt_ms"] is not None]  # fmt: skip
    assert report["methods"][1]["scores"]["qt_ms"]["mae"] == pytest.approx(np.mean(diffs))
    table = (out / "table.md").read_text()
    assert "| QT MAE (ms) |" in table and "ft on" in table and "python -m trainer evaluate" in table
    assert (out / "results.csv").read_text().count("\n") == 1 + 2 * 4
    capsys.readouterr()
    assert main(["export", str(tmp_path / "ft"), "--name", "mymodel", "--to", str(tmp_path / "bundle")]) == 0
    exported = json.loads((tmp_path / "bundle" / "mymodel.json").read_text())
    assert exported["training"]["export_command"].startswith("python -m trainer export")
    assert exported["weights_sha256"] == meta["weights_sha256"]  # same weights, bit for bit


def test_bad_data_spec_is_a_clear_error(tmp_path, capsys):
    code = main(["pretrain", "--data", "nope:/x", "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 2 and "KIND:PATH" in capsys.readouterr().err


def test_vendor_measurements_of_the_xml_fixtures(shared_data):
    from trainer.data.vendor import load_vendor

    data = load_vendor(shared_data / "formats")
    assert set(data.splits) == {"test"}
    muse = data.ids.index("ge-muse-xml/muse-sinus.xml")
    from ecgviewer.core.readers import read_record

    vm = read_record(shared_data / "formats" / "ge-muse-xml" / "muse-sinus.xml").vendor_measurements
    assert data.y[muse][2] == pytest.approx(vm.values["qrs_ms"])
    assert any("MUSE" in s for s in data.provenance["labels"])
