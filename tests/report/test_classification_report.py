"""The classification section of the reports: JSON (schema 2), CSV columns, the PDF's statements block."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from ecgviewer.core.beats import analyze_beats
from ecgviewer.core.readers import read_record
from ecgviewer.inference.classifier import Classifier
from ecgviewer.inference.predictor import Predictor
from ecgviewer.report.measurements import (
    CLASSIFICATION_COLUMNS,
    CLASSIFIER_PLACEHOLDER_WARNING,
    SCHEMA_VERSION,
    ClassificationFailure,
    csv_columns,
    csv_text,
    measurement_document,
)
from ecgviewer.report.pdf import ReportOptions, render_report
from tests.tools import require_tool

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "measurements.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def analysed(ptbxl_dir: Path, tiny_classifier: Path):
    record = read_record(ptbxl_dir / "00003_hr.hea")
    prediction = Predictor("resnet1d", device="cpu").predict(record)
    classification = Classifier(tiny_classifier, device="cpu").classify(record)
    return record, prediction, analyze_beats(record), classification


def _stated(classification) -> list[str]:
    """The statements recomputed from the probabilities and thresholds (and the coherence rules)."""
    from ecgviewer.core.statements import coherent_statements

    k = classification.classes
    out = coherent_statements([c.name for c in k], [c.probability for c in k], [c.threshold for c in k])
    return [d.name for d in out if d.stated]


def test_json_section_validates_and_carries_every_class(analysed, validator) -> None:
    record, prediction, classical, classification = analysed
    doc = json.loads(
        json.dumps(measurement_document(record, prediction, classical, classification=classification))
    )
    validator.validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION == 5
    section = doc["classification"]
    assert section["name"] == "tiny_cls" and section["trained"] is False
    assert section["warning"] == CLASSIFIER_PLACEHOLDER_WARNING  # untrained: the banner goes along
    assert section["version"] == classification.checkpoint_sha256[:12]
    assert section["n_windows"] == 1 and section["window_starts_s"] == [0.0]
    assert [c["name"] for c in section["classes"]] == ["NORM", "MI", "STTC", "CD", "HYP"]
    for got, want in zip(section["classes"], classification.classes):
        assert got["probability"] == pytest.approx(want.probability, abs=1e-4)
        assert got["threshold"] == want.threshold
        assert got["positive"] == (want.probability >= want.threshold)
    assert section["statements"] == _stated(classification)
    assert "MI" in section["statements"] and "CD" not in section["statements"]  # thresholds 0 and 1
    # the version 1 fields are all still there, unchanged
    plain = measurement_document(record, prediction, classical)
    assert plain["classification"] is None
    assert {k: v for k, v in doc.items() if k not in ("classification", "created")} == {
        k: v for k, v in json.loads(json.dumps(plain)).items() if k not in ("classification", "created")
    }
    # the schema can fail: a probability above 1 and a missing statements list are refused
    doc["classification"]["classes"][0]["probability"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)
    del doc["classification"]["statements"]
    doc["classification"]["classes"][0]["probability"] = 0.5
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_failed_classifier_is_reported_in_the_document(analysed, validator) -> None:
    record, prediction, classical, _ = analysed
    failure = ClassificationFailure("ptbxl_crnn", "the model needs leads V7; missing V7")
    doc = measurement_document(record, prediction, classical, classification=failure)
    validator.validate(doc)
    assert doc["classification"] == {"name": "ptbxl_crnn", "error": failure.message}
    assert doc["measurements"]["qt_ms"]["model"] == pytest.approx(prediction["qt_ms"].value)


def test_csv_statements_and_probability_columns(analysed) -> None:
    record, prediction, classical, classification = analysed
    with_cls = measurement_document(record, prediction, classical, classification=classification)
    without = measurement_document(record, prediction, classical)
    failed = measurement_document(
        record, prediction, classical, classification=ClassificationFailure("x", "boom")
    )
    rows = list(csv.DictReader(io.StringIO(csv_text([with_cls, without, failed]))))
    names = [c.name for c in classification.classes]
    header = list(rows[0])
    assert header == csv_columns(names)
    assert header[: len(csv_columns())] == csv_columns()  # old columns first, in their order
    assert header[len(csv_columns()) - len(CLASSIFICATION_COLUMNS) :] == [
        *CLASSIFICATION_COLUMNS,
        *(f"prob_{n}" for n in names),
    ]
    row = rows[0]
    assert row["classifier"] == "tiny_cls" and row["classifier_trained"] == "false"
    assert row["statements"] == ";".join(_stated(classification))
    for c in classification.classes:
        assert float(row[f"prob_{c.name}"]) == pytest.approx(c.probability, abs=1e-4)
    assert rows[1]["statements"] == "" and rows[1]["prob_NORM"] == "" and rows[1]["classifier"] == ""
    assert rows[2]["classifier_error"] == "boom" and rows[2]["prob_MI"] == ""
    # without any classification the header is the plain one
    assert csv_text([without]).splitlines()[0] == ",".join(csv_columns())


def _pdf_text(path: Path) -> str:
    pdftotext = require_tool("pdftotext", "text")
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True).stdout


def test_pdf_prints_statements_and_probabilities(analysed, tmp_path: Path) -> None:
    record, prediction, classical, classification = analysed
    out = tmp_path / "cls.pdf"
    info = render_report(out, record, prediction, classical, ReportOptions(), classification)
    assert info.n_pages == 1
    text = _pdf_text(out)
    assert "Statements" in text and "decision support only" in text
    stated_line = next(line for line in text.splitlines() if "MI" in line and "Statements" not in line)
    said = ", ".join(f"{n} {100 * classification[n].probability:.0f} %" for n in _stated(classification))
    assert said in stated_line
    compact = "".join(text.split())  # pdftotext may drop the spaces of "≥ 0 %"
    for c in classification.classes:
        assert c.name in text
        assert f"{100 * c.probability:.0f} %" in text
        assert f"≥{100 * c.threshold:.0f}%" in compact
    assert "UNTRAINED PLACEHOLDER" in text and "tiny_cls" in text
    assert f"{prediction['qt_ms'].value:.0f} ms" in text  # the intervals are still there
    # without a classifier there is no statements block
    plain = tmp_path / "plain.pdf"
    render_report(plain, record, prediction, classical, ReportOptions())
    assert "Statements" not in _pdf_text(plain)


def test_pdf_prints_a_classifier_failure(analysed, tmp_path: Path) -> None:
    record, prediction, classical, _ = analysed
    out = tmp_path / "failed.pdf"
    failure = ClassificationFailure("ptbxl_crnn", "missing lead V7")
    render_report(out, record, prediction, classical, ReportOptions(layout="12x1"), failure)
    text = _pdf_text(out)
    assert "ptbxl_crnn: failed" in text and "missing lead V7" in text
    assert f"{prediction['qrs_ms'].value:.0f} ms" in text
