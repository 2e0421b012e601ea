"""``ecgviewer analyze --classifier``: statements in the single-file output and in every batch output."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from ecgviewer.analysis.batch import STATE_DIR
from ecgviewer.cli import main
from ecgviewer.core.readers import read_record
from ecgviewer.inference.classifier import BUNDLED_CLASSIFIERS, Classifier
from ecgviewer.resources import checkpoints_dir, installed_checkpoints

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))
NAMES = ("00005_hr", "00006_hr", "00007_hr")


@pytest.fixture
def inputs(ptbxl_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in NAMES:
        for suffix in (".hea", ".dat"):
            shutil.copy(ptbxl_dir / f"{name}{suffix}", folder)
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _direct(classifier: Path, folder: Path) -> dict[str, list[float]]:
    """Per record, the probabilities of the classifier run on its own (not through the batch engine)."""
    clf = Classifier(classifier, device="cpu")
    return {n: [k.probability for k in clf.classify(read_record(folder / f"{n}.hea")).classes] for n in NAMES}


def test_batch_writes_statements_everywhere_and_redoes_on_a_changed_setting(
    inputs: Path, tmp_path: Path, tiny_classifier: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["analyze", str(inputs), "--out", str(out), "--report", "pdf,json,csv", "--device", "cpu", "-q"]
    assert main([*args, "--classifier", str(tiny_classifier), "--workers", "1"]) == 0
    want = _direct(tiny_classifier, inputs)
    rows = {Path(r["file"]).stem: r for r in _rows(out / "measurements.csv")}
    assert sorted(rows) == sorted(NAMES)
    for name in NAMES:
        doc = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, SCHEMA)
        section = doc["classification"]
        got = [c["probability"] for c in section["classes"]]
        assert got == pytest.approx(want[name], abs=1e-4)  # shared windows = the classifier's own
        above = [c["name"] for c in section["classes"] if c["probability"] >= c["threshold"]]
        assert section["above_threshold"] == above and "MI" in above and "CD" not in above
        stated = [c["name"] for c in section["classes"] if c["stated"]]  # coherent: never NORM with MI
        assert section["statements"] == stated and set(stated) <= set(above)
        assert not {"NORM", "MI"} <= set(stated)
        row = rows[name]
        assert row["statements"] == ";".join(stated) and row["classifier"] == "tiny_cls"
        for c in section["classes"]:
            assert float(row[f"prob_{c['name']}"]) == pytest.approx(c["probability"], abs=1e-4)
        if shutil.which("pdftotext") is not None:
            text = subprocess.run(
                ["pdftotext", "-layout", str(out / f"{name}.pdf"), "-"], capture_output=True, text=True
            ).stdout
            probs = {c["name"]: c["probability"] for c in section["classes"]}
            said = ", ".join(f"{n} {100 * probs[n]:.0f} %" for n in stated)
            assert "Statements" in text and said in text
        state = json.loads((out / STATE_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert state["classifier"]["name"] == "tiny_cls" and len(state["classifier"]["sha256"]) == 64
    capsys.readouterr()

    # the same setting again: nothing to do
    assert main([*args, "--classifier", str(tiny_classifier), "--workers", "0"]) == 0
    assert "3 of 3 record(s) already done" in capsys.readouterr().err
    # the classifier switched off: every record is redone, without statements
    assert main([*args, "--classifier", "none", "--workers", "0"]) == 0
    assert "3 analysed" in capsys.readouterr().err
    for name in NAMES:
        doc = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        assert doc["classification"] is None
    header = (out / "measurements.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert not any(h.startswith("prob_") for h in header) and "statements" in header


def test_a_classifier_with_its_own_input_and_one_that_fails(
    inputs: Path, tmp_path: Path, make_tiny_classifier, capsys: pytest.CaptureFixture[str]
) -> None:
    """A classifier at 250 Hz gets its own windows; one needing a lead the files lack fails per record."""
    slow = make_tiny_classifier(tmp_path / "cls250", fs_hz=250.0)
    out = tmp_path / "out250"
    base = ["analyze", str(inputs), "--report", "json,csv", "--device", "cpu", "-q", "--workers", "0"]
    assert main([*base, "--out", str(out), "--classifier", str(slow)]) == 0
    want = _direct(slow, inputs)
    for name in NAMES:
        section = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))["classification"]
        assert [c["probability"] for c in section["classes"]] == pytest.approx(want[name], abs=1e-4)
        assert section["warnings"] == ["resampled from 500 Hz to 250 Hz"]

    leads = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V7")  # no PTB-XL record has V7
    odd = make_tiny_classifier(tmp_path / "cls_v7", leads=leads)
    out = tmp_path / "out_v7"
    capsys.readouterr()
    assert main([*base, "--out", str(out), "--classifier", str(odd)]) == 1  # something went wrong
    err = capsys.readouterr().err
    assert "3 analysed" in err and "3 written without statements" in err
    errors = _rows(out / "errors.csv")
    assert sorted(Path(e["file"]).stem for e in errors) == sorted(NAMES)
    assert all(e["stage"] == "classifier" and "V7" in e["error"] for e in errors)
    for name in NAMES:  # the intervals are written all the same
        doc = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, SCHEMA)
        assert doc["classification"]["name"] == "cls_v7" and "V7" in doc["classification"]["error"]
        assert doc["measurements"]["qt_ms"]["model"] is not None
    rows = _rows(out / "measurements.csv")
    assert all(r["classifier_error"] and r["qt_ms_model"] for r in rows)


def test_single_file_mode_and_bad_classifiers(
    inputs: Path, tiny_classifier: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(inputs / f"{n}.hea") for n in NAMES[:2]]
    assert main(["analyze", *files, "--classifier", str(tiny_classifier), "--device", "cpu", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    want = _direct(tiny_classifier, inputs)
    assert [e["record"]["file"] for e in entries] == files
    for e in entries:
        jsonschema.validate(e, SCHEMA)
        k = e["classification"]
        assert k["name"] == "tiny_cls" and k["trained"] is False and k["warning"]
        stem = Path(e["record"]["file"]).stem
        assert [c["probability"] for c in k["classes"]] == pytest.approx(want[stem], abs=1e-4)
        assert k["statements"] == [c["name"] for c in k["classes"] if c["probability"] >= c["threshold"]]
        assert e["measurements"]["qt_ms"]["model"] > 0  # the intervals are there too
    assert main(["analyze", files[0], "--classifier", str(tiny_classifier), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "statements: " in text and "decision support only" in text and "UNTRAINED" in text
    # an interval checkpoint, a missing file: exit code 2 with the reason
    assert main(["analyze", files[0], "--classifier", str(checkpoints_dir() / "resnet1d")]) == 2
    assert "cannot load classifier" in capsys.readouterr().err
    assert main(["analyze", files[0], "--classifier", "no_such_classifier", "--out", "x"]) == 2
    assert "no_such_classifier" in capsys.readouterr().err
    # the default: the bundled classifier when installed, else none with a one-line note
    assert main(["analyze", files[0], "--device", "cpu", "--json"]) == 0
    captured = capsys.readouterr()
    [entry] = json.loads(captured.out)
    if installed_checkpoints(BUNDLED_CLASSIFIERS):
        assert entry["classification"]["name"] == installed_checkpoints(BUNDLED_CLASSIFIERS)[0]
    else:
        assert entry["classification"] is None
        assert "no statement classifier installed" in captured.err
    assert main(["analyze", files[0], "--device", "cpu", "--json", "--classifier", "none"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["classification"] is None
