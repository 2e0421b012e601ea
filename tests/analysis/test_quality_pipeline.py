"""The quality stage: flat, lead-off and clipped records get withheld results with reasons everywhere
(pipeline, document, CSV, ``analyze``, batch); a clean record's results do not change."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.analysis import AnalysisOptions, ModelSet, StageFailed, StageFinished, analyze_record
from ecgviewer.analysis.errors import SignalQualityWithheld
from ecgviewer.cli import main
from ecgviewer.core.leads import STANDARD_LEADS
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.report.measurements import ROWS, csv_text

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def models():
    return ModelSet()


@pytest.fixture(scope="module")
def clean(ptbxl_dir):
    return read_record(ptbxl_dir / "00001_hr.hea")


def _options(tiny_classifier, **kw) -> AnalysisOptions:
    return AnalysisOptions(classifier=str(tiny_classifier), device="cpu", **kw)


def _save_npz(path: Path, record: EcgRecord) -> Path:
    np.savez(
        path,
        signals=record.signals,
        fs_hz=np.float64(record.fs_hz),
        lead_names=np.array(record.lead_names),
        units=np.array(record.units),
    )
    return path


def _flat() -> EcgRecord:
    return EcgRecord(np.zeros((12, 5000), np.float32), 500.0, STANDARD_LEADS, ("mV",) * 12)


def _lead_off(clean: EcgRecord) -> EcgRecord:
    x = clean.signals.copy()
    x[clean.lead_names.index("V1")] = 0.0
    x[clean.lead_names.index("V3")] = 5.0
    return clean.with_signals(x)


def test_flat_record_withholds_everything(models, tiny_classifier):
    events = []
    a = analyze_record(_flat(), _options(tiny_classifier), models=models, on_event=events.append)
    assert not a.measurable and a.quality is not None
    reason = "no measurable ECG: all 12 leads flat"
    assert a.withheld == {
        "classical": reason,
        "delineation": reason,
        "intervals": reason,
        "classification": reason,
    }
    assert a.delineation is None and a.delineation_error is None
    assert a.classical is None and a.prediction is None and a.interval_error is None
    assert a.classification.withheld and a.classification_error is None  # withheld is not a failure
    failed = [e for e in events if isinstance(e, StageFailed)]
    assert [e.stage for e in failed] == ["delineation", "intervals", "classification"]
    assert all(isinstance(e.error, SignalQualityWithheld) for e in failed)
    assert failed[0].message == f"Withheld: {reason}"
    assert [e.stage for e in events if isinstance(e, StageFinished)] == ["quality", "classical"]

    doc = a.document()
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["quality"]["measurable"] is False and doc["quality"]["reason"] == reason
    assert doc["quality"]["withheld"]["intervals"] == reason
    assert doc["model"] is None and doc["classical"] is None
    assert all(doc["measurements"][k]["model"] is None for k, _, _ in ROWS)
    assert all(doc["measurements"][k]["classical"] is None for k, _, _ in ROWS)
    assert doc["classification"] == {"name": "tiny_cls", "error": reason, "withheld": True}
    assert doc["delineation"] == {"model": "unet_delineation", "error": reason, "withheld": True}
    assert doc["intervals"]["reason"] == f"delineation withheld: {reason}"
    assert all(v["value"] is None for v in doc["intervals"]["values"].values())
    row = next(csv.DictReader(io.StringIO(csv_text([doc]))))
    assert row["measurable"] == "false" and row["quality"] == reason
    assert row["hr_bpm_classical"] == "" and row["statements"] == ""


def test_lead_off_withholds_the_models_and_measures_on_the_other_leads(models, tiny_classifier, clean):
    a = analyze_record(_lead_off(clean), _options(tiny_classifier), models=models)
    why = "lead V1 unusable (flat); lead V3 unusable (lead off)"
    assert a.measurable
    assert a.withheld == {"intervals": why, "classification": why}
    assert a.prediction is None and a.classical is not None
    assert a.classical.beats.leads == ("I", "II", "V2", "V4", "V5", "V6")
    full = analyze_record(clean, _options(None, classical=True), models=models).classical
    assert a.classical.intervals.hr_bpm == pytest.approx(full.intervals.hr_bpm, abs=1.0)
    assert a.classical.intervals.qrs_ms == pytest.approx(full.intervals.qrs_ms, abs=10.0)
    doc = a.document()
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["quality"]["leads"]["V1"] == {
        **doc["quality"]["leads"]["V1"],
        "usable": False,
        "reasons": ["flat"],
    }
    assert doc["quality"]["unusable_leads"] == ["V1", "V3"]
    # the delineation leaves the two leads out and measures on the others
    assert doc["delineation"]["withheld_leads"] == ["V1", "V3"]
    assert "V1" not in doc["delineation"]["leads"] and len(doc["delineation"]["leads"]) == 10
    row = next(csv.DictReader(io.StringIO(csv_text([doc]))))
    assert row["measurable"] == "true" and f"withheld: intervals ({why})" in row["quality"]


def test_clipped_record_withholds_the_models(models, tiny_classifier, clean):
    a = analyze_record(clean.with_signals(np.clip(clean.signals, -0.5, 0.5)), _options(None), models=models)
    assert "clipped" in a.withheld["intervals"] and a.prediction is None


def test_clean_record_is_analysed_as_without_the_assessment(models, tiny_classifier, clean):
    with_q = analyze_record(clean, _options(tiny_classifier), models=models)
    without = analyze_record(clean, _options(tiny_classifier, quality=False), models=models)
    assert with_q.quality.measurable and not with_q.withheld and without.quality is None
    assert with_q.classical.intervals == without.classical.intervals
    a, b = with_q.document(), without.document()
    assert a["measurements"] == b["measurements"] and a["classification"] == b["classification"]
    assert a["quality"]["summary"] == "all 12 leads usable" and b["quality"] is None
    jsonschema.Draft202012Validator(SCHEMA).validate(b)


def test_reclassify_keeps_the_quality(models, tiny_classifier):
    first = analyze_record(_flat(), _options(None), models=models)
    again = analyze_record(
        _flat(), _options(tiny_classifier), models=models, stages=("classification",), previous=first
    )
    assert again.quality is first.quality and again.classification.withheld


def test_analyze_cli_prints_withheld_results(tmp_path, capsys, clean):
    flat = _save_npz(tmp_path / "flat.npz", _flat())
    off = _save_npz(tmp_path / "off.npz", _lead_off(clean))
    assert main(["analyze", str(flat), str(off), "--device", "cpu", "--classifier", "none", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert docs[0]["quality"]["measurable"] is False and docs[0]["model"] is None
    assert docs[1]["quality"]["withheld"]["intervals"].startswith("lead V1 unusable (flat)")
    assert main(["analyze", str(flat), "--device", "cpu", "--classifier", "none"]) == 0
    out = capsys.readouterr().out
    assert "quality: no measurable ECG: all 12 leads flat" in out and "model: withheld" in out


def test_batch_writes_withheld_records(tmp_path, capsys, ptbxl_dir):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    _save_npz(inp / "flat.npz", _flat())
    args = ["analyze", str(inp), "--out", str(out), "--report", "json,csv,pdf", "--workers", "0"]
    assert main([*args, "--device", "cpu", "-q", "--classifier", "none"]) == 0, capsys.readouterr().err
    doc = json.loads((out / "flat.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["quality"]["measurable"] is False and doc["model"] is None
    assert (out / "flat.pdf").read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader(io.StringIO((out / "measurements.csv").read_text(encoding="utf-8"))))
    assert rows[0]["measurable"] == "false" and "flat" in rows[0]["quality"]
    assert (out / "errors.csv").read_text(encoding="utf-8").count("\n") == 1  # header only


def test_clipped_everywhere_withholds_the_classical_too(models, clean):
    x = clean.signals.astype(np.float64)
    a = analyze_record(
        clean.with_signals(np.clip(x, -0.15, 0.15).astype(np.float32)), _options(None), models=models
    )
    assert a.classical is None and a.prediction is None
    assert a.withheld["classical"].startswith("no usable lead for the median beat")
    assert "clipped" in a.withheld["intervals"]
    doc = a.document()
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["quality"]["withheld"]["classical"] == a.withheld["classical"]
