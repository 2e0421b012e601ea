"""``ecgviewer beats``: every beat with its AAMI class, on a shared MIT-BIH record and a generated Holter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.cli import SUBCOMMANDS
from ecgviewer.cli import main as cli_main
from ecgviewer.core.beat_pass import BEAT_CLASSES, EVENT_KINDS, classes_from_symbols, match_beats


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli_main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def holter(tmp_path_factory) -> Path:
    from ecgviewer.core.simulate import write_long_wfdb

    return write_long_wfdb(tmp_path_factory.mktemp("holter") / "h", hours=0.25, seed=3, pvc_per_hour=400)


def _reference(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import wfdb

    ann = wfdb.rdann(str(path.with_suffix("")), "atr")
    return classes_from_symbols(ann.symbol, ann.sample)


def _check_document(doc: dict, path: Path) -> None:
    assert doc["file"] == str(path)
    assert {"fs_hz", "beat_lead", "beats", "counts", "events", "n_beats"} <= set(doc)
    beats = doc["beats"]
    assert len(beats) == doc["n_beats"] and beats
    assert all(set(b) == {"sample", "time_s", "label"} for b in beats[:50])
    assert {b["label"] for b in beats} <= set(BEAT_CLASSES)
    samples = [b["sample"] for b in beats]
    assert samples == sorted(samples) and all(isinstance(s, int) for s in samples[:50])
    assert beats[10]["time_s"] == pytest.approx(beats[10]["sample"] / doc["fs_hz"], abs=1e-3)
    assert sum(doc["counts"].values()) == doc["n_beats"] and list(doc["counts"]) == list(BEAT_CLASSES)
    assert all(e["kind"] in EVENT_KINDS and 0 <= e["beat"] < len(beats) for e in doc["events"])


def test_registered() -> None:
    assert SUBCOMMANDS["beats"][0] == "ecgviewer.analysis.beats_cli:main"


def test_beats_on_a_mitbih_record_with_a_failing_file(capsys, shared_data: Path, tmp_path: Path) -> None:
    rec = shared_data / "mitdb" / "119.hea"  # 1987 beats, 444 PVCs (bigeminy)
    missing = tmp_path / "missing.hea"
    code, out, err = _run(capsys, ["beats", str(missing), str(rec), "--json"])
    assert code == 1 and "missing.hea" in err  # the failure is reported, the next file still ran
    bad, doc = json.loads(out)
    assert bad["file"] == str(missing) and "error" in bad
    _check_document(doc, rec)
    assert doc["beat_lead"] == "II" and doc["fs_hz"] == 360.0
    ref, ref_lab = _reference(rec)
    det = np.asarray([b["sample"] for b in doc["beats"]])
    lab = np.asarray([b["label"] for b in doc["beats"]])
    ri, di = match_beats(ref, det, round(0.15 * doc["fs_hz"]))
    assert ri.size / ref.size > 0.99 and di.size / det.size > 0.99  # detection
    true_v, said_v = ref_lab[ri] == "V", lab[di] == "V"
    assert np.sum(true_v & said_v) / np.sum(true_v) > 0.7  # PVC sensitivity, not exact predictions
    assert np.sum(true_v & said_v) / max(1, np.sum(said_v)) > 0.7
    assert any(e["kind"] in ("PVC", "couplet", "run", "bigeminy") for e in doc["events"])


def test_beats_text_and_a_generated_holter(capsys, holter: Path) -> None:
    code, out, _ = _run(capsys, ["beats", str(holter)])
    assert code == 0 and str(holter) in out and "beats:" in out
    code, out, _ = _run(capsys, ["beats", str(holter), "--json"])
    assert code == 0
    (doc,) = json.loads(out)
    _check_document(doc, holter)
    ref, ref_lab = _reference(holter)
    det = np.asarray([b["sample"] for b in doc["beats"]])
    lab = np.asarray([b["label"] for b in doc["beats"]])
    ri, di = match_beats(ref, det, round(0.15 * doc["fs_hz"]))
    assert ri.size / ref.size > 0.98
    said_ectopic = np.isin(lab[di], ("V", "F"))
    true_v = ref_lab[ri] == "V"
    assert np.sum(true_v & said_ectopic) / np.sum(true_v) > 0.6
    assert np.mean(lab[di][~true_v] == "N") > 0.95


def test_detection_only(capsys, holter: Path) -> None:
    code, out, _ = _run(capsys, ["beats", str(holter), "--json", "--model", "none", "--no-qt"])
    (doc,) = json.loads(out)
    assert code == 0 and doc["method"] == "detection only" and set(doc["counts"]) == set(BEAT_CLASSES)
    assert doc["counts"]["N"] == doc["n_beats"] and "qt_trend" not in doc


def test_qt_trend_per_minute(capsys, holter: Path) -> None:
    code, out, _ = _run(capsys, ["beats", str(holter), "--json"])
    (doc,) = json.loads(out)
    qt = doc["qt_trend"]
    assert code == 0 and len(qt["per_minute"]) == 15 and len(qt["per_hour"]) == 1  # 15 min
    rows = [m for m in qt["per_minute"] if m["qt_ms"] is not None]
    assert len(rows) >= 12
    for m in rows:
        assert m["qtc_fridericia_ms"] == pytest.approx(m["qt_ms"] / (m["rr_ms"] / 1000) ** (1 / 3), abs=0.2)
    [event] = [e for e in doc["events"] if e["kind"] == "max_qtc"]
    longest = qt["longest_qtc_minute"]
    assert event["value"] == pytest.approx(longest["qtc_fridericia_ms"], abs=0.1)
    assert longest["start_s"] <= event["time_s"] < longest["start_s"] + 60
    assert longest["qtc_fridericia_ms"] == max(
        m["qtc_fridericia_ms"] for m in rows if m["n_beats_qt"] >= max(10, 0.5 * m["n_normal_beats"])
    )
