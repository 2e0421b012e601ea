"""Teachers label real LUDB records close to the cardiologists; errors are clear."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import ecgviewer
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from trainer.data.ludb import Wave, expert_intervals, ludb_records
from trainer.teacher_accuracy import evaluate_teacher, main
from trainer.teachers import DEFAULT_TEACHER, TEACHERS, Teacher, get_teacher, record_level

#: LUDB records with P waves, spread over the set (every 20th of the 140).
RECORDS = [1, 21, 41, 61, 81, 102, 122, 141, 161, 181]

#: Bound on the MAE over RECORDS: 1.5-2.5 times the MAE each teacher has on all 140
#: records in the same 8-lead input form (python -m trainer.teacher_accuracy --input-leads;
#: classical PR 5.0, QRS 7.4, QT 13.2 ms; neurokit2 PR 49.7, QRS 70.0, QT 41.7 ms, its QRS
#: biased by +70 ms; ecgdeli 1.0.0 PR 11.4, QRS 25.8, QT 22.9 ms), so a broken delineation
#: or reduction fails while a 10-record sample of a correct one passes (these 10 records:
#: classical 3.8, 6.4, 18.5 ms; neurokit2 47.5, 71.2, 38.6 ms; ecgdeli 4.7, 28.4, 13.8 ms).
MAE_BOUND = {
    "classical": {"pr_ms": 12.0, "qrs_ms": 16.0, "qt_ms": 30.0},
    "neurokit2": {"pr_ms": 75.0, "qrs_ms": 105.0, "qt_ms": 65.0},
    "ecgdeli": {"pr_ms": 25.0, "qrs_ms": 50.0, "qt_ms": 45.0},
}


@pytest.fixture(scope="module")
def ludb_eight(shared_data):
    """RECORDS as (model-input 8 leads record, expert values)."""
    from trainer.data.arrays import INPUT_FS_HZ, INPUT_LEADS, record_input

    out = []
    for name in RECORDS:
        path = shared_data / "ludb" / "data" / str(name)
        rec = read_record(path.with_suffix(".hea"))
        eight = EcgRecord(record_input(rec), INPUT_FS_HZ, INPUT_LEADS, ("mV",) * len(INPUT_LEADS))
        out.append((eight, expert_intervals(path)))
    return out


@pytest.mark.parametrize(
    "name",
    [
        "classical",
        pytest.param("neurokit2", marks=pytest.mark.slow),
        pytest.param("ecgdeli", marks=pytest.mark.slow),
    ],
)
def test_teacher_close_to_ludb_experts(name, ludb_eight):
    if name == "ecgdeli":
        pytest.importorskip("ecgdeli", reason="optional GPL teacher: pip install ecgdeli")
    teacher = get_teacher(name)
    assert isinstance(teacher, Teacher) and teacher.name == name and teacher.version
    errors: dict[str, list[float]] = {"pr_ms": [], "qrs_ms": [], "qt_ms": []}
    for record, expert in ludb_eight:
        got = teacher(record)
        assert set(got) == {"rr_ms", "pr_ms", "qrs_ms", "qt_ms"}
        # R peaks are unambiguous: every teacher gets the median RR within 3 %
        assert got["rr_ms"] == pytest.approx(expert.rr_ms, rel=0.03), expert.record
        for key in errors:
            assert math.isfinite(got[key]), (expert.record, key)
            errors[key].append(abs(got[key] - getattr(expert, key)))
    for key, bound in MAE_BOUND[name].items():
        assert np.mean(errors[key]) < bound, (key, errors[key])


@pytest.mark.parametrize("name", ["classical", "neurokit2"])
def test_flat_record_is_not_measurable(name):
    flat = EcgRecord(np.zeros((8, 5000)), 500.0, ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6"), ("mV",) * 8)
    got = get_teacher(name)(flat)
    assert all(math.isnan(v) for v in got.values()), got


def test_record_level_follows_ludb_definition():
    fs = 500.0
    # lead II: two beats, PR 160/180 ms, QRS 100/80 ms, QT 400/420 ms, RR 1000 ms
    ii = [
        Wave("p", 100, 100, None), Wave("N", 200, 180, 230), Wave("t", 200, None, 380),
        Wave("p", 600, 590, None), Wave("N", 700, 680, 720), Wave("t", 700, None, 890),
    ]  # fmt: skip
    # lead V1: P onset 500 ms before the QRS (no PR), QRS 60 ms, T end 900 ms after (no QT)
    v1 = [Wave("p", 0, 0, None), Wave("N", 260, 250, 280), Wave("t", 260, None, 700)]
    got = record_level([("II", ii, np.array([200, 700])), ("V1", v1, np.array([260]))], fs)
    assert got["rr_ms"] == 1000.0
    assert got["pr_ms"] == 170.0  # median of II only (V1 has none)
    assert got["qrs_ms"] == pytest.approx(np.median([90.0, 60.0]))  # median over leads of lead medians
    assert got["qt_ms"] == 410.0
    assert all(math.isnan(v) for v in record_level([], fs).values())


def test_unknown_teacher_lists_known_names():
    with pytest.raises(ValueError, match="unknown teacher 'nope'") as err:
        get_teacher("nope")
    for name in TEACHERS:
        assert name in str(err.value)
    assert DEFAULT_TEACHER in TEACHERS


@pytest.mark.parametrize(("name", "module", "hint"), [
    ("ecgdeli", "ecgdeli", "pip install ecgdeli"),
    ("neurokit2", "neurokit2", "ecgviewer[train]"),
])  # fmt: skip
def test_missing_optional_teacher_says_what_to_install(name, module, hint, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(ImportError, match=f"teacher {name!r}.*{hint.replace('[', '.').replace(']', '.')}"):
        get_teacher(name)


def test_teacher_accuracy_scores_and_report(shared_data, tmp_path, capsys):
    paths = ludb_records(shared_data / "ludb")[:4]
    res = evaluate_teacher("classical", paths, n_boot=50)
    assert res.records == ["1", "2", "4", "5"] and res.pred.shape == res.ref.shape == (4, 4)
    # the scores are those of the per-record values
    err = np.abs(res.pred[:, 2] - res.ref[:, 2])
    assert res.scores["qrs_ms"].n == 4 and res.scores["qrs_ms"].mae == pytest.approx(err.mean())
    assert res.scores["hr_bpm"].mae < 2.0 and res.missed["qt_ms"] == 0

    out = tmp_path / "acc.json"
    assert main(["--ludb", str(shared_data / "ludb"), "--teachers", "classical", "--limit", "3",
                 "--json", str(out)]) == 0  # fmt: skip
    table = capsys.readouterr().out
    assert "| classical " + ecgviewer.__version__ in table and "QT (ms)" in table
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m trainer.teacher_accuracy --ludb")
    (cl,) = report["results"]
    assert cl["n_records"] == 3 and len(cl["rows"]) == 3 and cl["scores"]["pr_ms"]["n"] == 3
