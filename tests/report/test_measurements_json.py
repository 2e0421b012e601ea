"""Measurement documents validate against docs/measurements.schema.json; CSV rows carry the same values."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from pathlib import Path

import jsonschema
import pytest

from ecgviewer.core.beats import analyze_beats
from ecgviewer.core.qtc import qtc_bazett_ms
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import VendorMeasurements
from ecgviewer.inference.predictor import Predictor
from ecgviewer.report.measurements import (
    ROWS,
    SCHEMA_VERSION,
    csv_columns,
    csv_text,
    measurement_document,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "measurements.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def analysed(ptbxl_dir: Path):
    record = read_record(ptbxl_dir / "00002_hr.hea")
    return record, Predictor("vit1d", device="cpu").predict(record), analyze_beats(record)


def test_full_document_validates(analysed, validator) -> None:
    record, prediction, classical = analysed
    doc = json.loads(json.dumps(measurement_document(record, prediction, classical, filters="HP 0.5 Hz")))
    validator.validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION == 5
    assert doc["model"]["name"] == "vit1d" and doc["model"]["warning"] == prediction.display_warning
    m = doc["measurements"]
    assert m["qrs_ms"]["model"] == pytest.approx(prediction["qrs_ms"].value)
    assert m["qrs_ms"]["classical"] == pytest.approx(classical.intervals.qrs_ms)
    assert m["qtc_bazett_ms"]["classical"] == pytest.approx(
        qtc_bazett_ms(classical.intervals.qt_ms, classical.intervals.rr_ms)
    )
    assert m["hr_bpm"]["model_spread"]["n_windows"] == prediction.n_windows
    assert all(row["vendor"] is None for row in m.values())


def test_empty_and_vendor_documents_validate(analysed, validator) -> None:
    record, _, _ = analysed
    bare = measurement_document(record)
    validator.validate(bare)
    assert bare["model"] is None and bare["classical"] is None
    assert all(row["model"] is None and row["classical"] is None for row in bare["measurements"].values())
    vendor = VendorMeasurements("Philips", {"hr_bpm": 72, "qt_ms": 388, "qtc_ms": 424, "qrs_axis_deg": -15})
    doc = measurement_document(dataclasses.replace(record, vendor_measurements=vendor))
    validator.validate(doc)
    assert doc["measurements"]["qt_ms"]["vendor"] == 388.0
    assert doc["vendor"]["values"]["qrs_axis_deg"] == -15.0
    # a broken document is refused: the test can fail
    doc["measurements"]["qt_ms"]["model"] = "long"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_csv_row_matches_document(analysed) -> None:
    record, prediction, classical = analysed
    vendor = VendorMeasurements("GE MUSE (12SL)", {"pr_ms": 150, "qtc_ms": 430})
    doc = measurement_document(dataclasses.replace(record, vendor_measurements=vendor), prediction, classical)
    rows = list(csv.DictReader(io.StringIO(csv_text([doc, doc]))))
    assert len(rows) == 2 and list(rows[0]) == csv_columns()
    row = rows[0]
    for key, _, _ in ROWS:
        for src in ("model", "classical", "vendor"):
            want = doc["measurements"][key][src]
            got = row[f"{key}_{src}"]
            assert (got == "") if want is None else math.isclose(float(got), want, rel_tol=1e-5), (key, src)
    assert row["vendor_qtc_ms"] == "430" and row["vendor_source"] == "GE MUSE (12SL)"
    assert row["model"] == "vit1d" and row["schema_version"] == "5"
    assert row["model_trained"] == ("true" if prediction.trained else "false")
    assert row["model_warning"] == (prediction.display_warning or "")
