"""Trainer data sources on the real files in ../shared/data."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from trainer.data import load_data, parse_spec
from trainer.data.arrays import DataError, IntervalDataset, hashed_split
from trainer.data.folder import load_folder
from trainer.data.ludb import expert_intervals, ludb_split
from trainer.data.ptbxl import fold_split, load_ptbxl, read_database, read_ptbxl_plus


def test_ptbxl_database_rows(shared_data):
    rows = read_database(shared_data / "ptb-xl")
    assert len(rows) == 300
    assert {r.strat_fold for r in rows} <= set(range(1, 9))  # the shared subset has folds 1-8
    first = rows[0]
    assert first.ecg_id == 1 and first.patient_id == "15709" and first.is_normal
    assert first.filename_hr == "records500/00000/00001_hr"
    # patient-wise folds: every patient's records share one fold
    folds: dict[str, set[int]] = {}
    for r in rows:
        folds.setdefault(r.patient_id, set()).add(r.strat_fold)
    assert all(len(f) == 1 for f in folds.values())


def test_fold_split():
    assert fold_split(9, (9,), (10,)) == "val"
    assert fold_split(10, (9,), (10,)) == "test"
    assert fold_split(3, (9,), (10,)) == "train"


def _write_plus_table(path, rows):
    cols = ["ecg_id", "RR_Mean_Global", "PR_Int_Global", "QRS_Dur_Global", "QT_Int_Global"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerows(rows)


def test_ptbxl_plus_labels_and_folds(shared_data, tmp_path):
    # A table in the PTB-XL+ layout (the real tables are not available here).
    _write_plus_table(
        tmp_path / "12sl_features.csv",
        [[1, 1000, 160, 90, 400], [2, 1200, "", 100, 420], [3, 800, 150, 95, "nan"]],
    )
    table = read_ptbxl_plus(tmp_path, "12sl")
    assert table[1] == {"rr_ms": 1000.0, "pr_ms": 160.0, "qrs_ms": 90.0, "qt_ms": 400.0}
    assert math.isnan(table[2]["pr_ms"]) and math.isnan(table[3]["qt_ms"])
    data = load_ptbxl(shared_data / "ptb-xl", "12sl", features_dir=tmp_path, limit=4, val_folds=(5,))
    # record 4 has no row in the table and is left out, and says so
    assert data.ids == ["ptbxl-00001", "ptbxl-00002", "ptbxl-00003"]
    assert any(s.startswith("4:") for s in data.provenance["skipped"])
    assert data.x.shape == (3, 8, 5000) and data.x.dtype == np.float32
    np.testing.assert_array_equal(data.y[0], [1000, 160, 90, 400])
    rows = {r.ecg_id: r for r in read_database(shared_data / "ptb-xl")}
    assert data.splits == [fold_split(rows[i].strat_fold, (5,), (10,)) for i in (1, 2, 3)]
    assert data.groups[0] == "ptbxl-patient-15709"


def test_ptbxl_plus_missing_table_is_a_clear_error(shared_data, tmp_path):
    with pytest.raises(DataError, match=r"unig_features\.csv"):
        load_ptbxl(shared_data / "ptb-xl", "unig", features_dir=tmp_path, limit=2)


def test_ptbxl_teacher_labels_match_the_teacher(shared_data):
    from ecgviewer.core.readers import read_record
    from trainer.teachers import get_teacher

    data = load_ptbxl(shared_data / "ptb-xl", "teacher", teacher="classical", limit=2, normal_only=True)
    teacher = get_teacher("classical")
    rec = read_record(shared_data / "ptb-xl" / "records500" / "00000" / "00001_hr.hea")
    expected = teacher(rec)
    np.testing.assert_allclose(data.y[0], [expected[t] for t in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms")])
    assert "classical" in data.provenance["labels"]
    # the input row is the record's first 10 s of I, II, V1-V6 in mV
    np.testing.assert_allclose(data.x[0][1], rec.lead("II"), atol=1e-6)


def test_ludb_rows_use_expert_intervals_and_the_fixed_split(ludb_small, shared_data):
    roles = ludb_split()
    assert len(roles) == 140 and sorted(set(roles.values())) == ["test", "train", "val"]
    assert sum(r == "test" for r in roles.values()) == 40
    i = 0
    name = ludb_small.ids[i].removeprefix("ludb-")
    ref = expert_intervals(shared_data / "ludb" / "data" / name)
    np.testing.assert_allclose(ludb_small.y[i], [ref.rr_ms, ref.pr_ms, ref.qrs_ms, ref.qt_ms], equal_nan=True)
    assert all(roles[g.removeprefix("ludb-")] == s for g, s in zip(ludb_small.groups, ludb_small.splits))


def test_folder_with_labels_csv(shared_data, tmp_path):
    base = shared_data / "ptb-xl" / "records500" / "00000"
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "split"])
        w.writerow([str(base / "00001_hr.hea"), 60, 160, 90, 400, "train"])
        w.writerow([str(base / "00002_hr.hea"), "", "", 100, 410, "val"])
        w.writerow([str(tmp_path / "missing.hea"), 70, 150, 90, 380, "train"])
    data = load_folder(labels)
    assert len(data) == 2 and data.splits == ["train", "val"]
    np.testing.assert_allclose(data.y[0], [1000.0, 160, 90, 400])  # RR from HR
    assert math.isnan(data.y[1][0]) and math.isnan(data.y[1][1])
    assert "missing.hea" in data.provenance["skipped"][0]


def test_folder_csv_needs_file_and_label_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,qt\nx,1\n")
    with pytest.raises(DataError, match="'file' column"):
        load_folder(bad)


def test_dataset_round_trip_and_group_rule(ludb_small, tmp_path):
    path = ludb_small.save(tmp_path / "d.npz")
    back = IntervalDataset.load(path)
    np.testing.assert_array_equal(back.x, ludb_small.x)
    np.testing.assert_array_equal(back.y, ludb_small.y)
    assert back.ids == ludb_small.ids and back.splits == ludb_small.splits
    assert back.provenance == ludb_small.provenance
    with pytest.raises(DataError, match="splits must follow groups"):
        IntervalDataset(back.x[:2], back.y[:2], ["a", "b"], ["g", "g"], {}, ["train", "val"])
    assert load_data(f"npz:{path}").ids == ludb_small.ids


def test_hashed_split_is_stable_and_near_the_share():
    roles = [hashed_split(f"g{i}", 0.2, 0.1, salt="x") for i in range(2000)]
    assert roles == [hashed_split(f"g{i}", 0.2, 0.1, salt="x") for i in range(2000)]
    assert 0.17 < roles.count("val") / 2000 < 0.23 and 0.08 < roles.count("test") / 2000 < 0.12


@pytest.mark.parametrize("spec", ["ptbxl", "nope:/x", "ludb:"])
def test_bad_specs(spec):
    with pytest.raises(DataError, match="KIND:PATH"):
        parse_spec(spec)
