"""Measurements of one record as rows, as a JSON document and as CSV (no Qt, no torch).

One document per record (:func:`measurement_document`) is the single source of
every export: the per-file JSON, the rows of ``measurements.csv``
(:func:`csv_row`) and the measurements block of the PDF report. Its layout is
``docs/measurements.schema.json`` (JSON Schema 2020-12), described in
``docs/measurements.md``; :data:`SCHEMA_VERSION` changes when a field changes
meaning or disappears.

Three sources can stand side by side: the interval model, the classical
median-beat measurement (:func:`ecgviewer.core.beats.analyze_beats`), and the
measurements the acquiring device stored in the file
(:class:`ecgviewer.core.record.VendorMeasurements`). A statement classifier
(:class:`ecgviewer.inference.classifier.Classifier`) adds the ``classification``
section: per-class probabilities, thresholds and the thresholded statements
(schema version 2), or the reason it failed (:class:`ClassificationFailure`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ecgviewer
from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.inference.result import PredictionResult

#: Version of the JSON document (and of the CSV columns). 2: the ``classification`` section.
SCHEMA_VERSION = 2
#: Banner of an untrained classification checkpoint (every display and report shows it).
CLASSIFIER_PLACEHOLDER_WARNING = "UNTRAINED PLACEHOLDER — class probabilities are not a reading"
#: Said wherever statements are shown: what they are and what they are not.
DECISION_SUPPORT_NOTE = "decision support only, not a diagnosis"
#: Measurement rows: key, label, unit (the order of every table, JSON object and CSV column group).
ROWS: tuple[tuple[str, str, str], ...] = (
    ("hr_bpm", "HR", "bpm"),
    ("rr_ms", "RR", "ms"),
    ("pr_ms", "PR", "ms"),
    ("qrs_ms", "QRS", "ms"),
    ("qt_ms", "QT", "ms"),
    ("qtc_bazett_ms", "QTc Bazett", "ms"),
    ("qtc_fridericia_ms", "QTc Fridericia", "ms"),
)
#: Rows a device's own measurements fill (its QTc formula is not known, so it is listed apart).
VENDOR_ROW_KEYS: tuple[str, ...] = ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms")
#: Device values shown outside the rows: key, label, unit.
VENDOR_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("qtc_ms", "QTc", "ms"),
    ("p_axis_deg", "P axis", "°"),
    ("qrs_axis_deg", "QRS axis", "°"),
    ("t_axis_deg", "T axis", "°"),
)


def _num(v: Any) -> float | None:
    """A finite float, else None (JSON has no NaN)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def classical_values(analysis: BeatAnalysis | None) -> dict[str, float | None]:
    """Classical value per row key (QTc computed from the classical QT and RR)."""
    if analysis is None:
        return {}
    iv = analysis.intervals
    out: dict[str, float | None] = {
        "hr_bpm": iv.hr_bpm,
        "rr_ms": iv.rr_ms,
        "pr_ms": iv.pr_ms,
        "qrs_ms": iv.qrs_ms,
        "qt_ms": iv.qt_ms,
        "qtc_bazett_ms": None,
        "qtc_fridericia_ms": None,
    }
    if iv.qt_ms and iv.rr_ms:
        out["qtc_bazett_ms"] = qtc_bazett_ms(iv.qt_ms, iv.rr_ms)
        out["qtc_fridericia_ms"] = qtc_fridericia_ms(iv.qt_ms, iv.rr_ms)
    return out


def model_values(result: PredictionResult | None) -> dict[str, tuple[float, float | None]]:
    """Model value and half-IQR per row key (QTc rows have no spread)."""
    if result is None:
        return {}
    out: dict[str, tuple[float, float | None]] = {
        k: (e.value, e.iqr / 2.0) for k, e in result.intervals.items()
    }
    out["qtc_bazett_ms"] = (result.qtc_bazett_ms, None)
    out["qtc_fridericia_ms"] = (result.qtc_fridericia_ms, None)
    return out


def model_version(result: PredictionResult | ClassificationResult) -> str:
    """Short checkpoint identity shown in reports: the first 12 hex digits of the weights' sha256."""
    return result.checkpoint_sha256[:12] if result.checkpoint_sha256 else "unknown"


@dataclass(frozen=True)
class ClassificationFailure:
    """A classifier ran on the record and failed: reported in place of its result.

    Parameters
    ----------
    model_name
        The classifier (bundled name or checkpoint file name).
    message
        Why it failed, one line.
    """

    model_name: str
    message: str


def classification_warning(result: ClassificationResult | None) -> str | None:
    """The banner every display of ``result`` must show (untrained checkpoint), else None."""
    if result is None or result.trained:
        return None
    return CLASSIFIER_PLACEHOLDER_WARNING


def classification_section(
    classification: ClassificationResult | ClassificationFailure | None,
) -> dict[str, Any] | None:
    """The ``classification`` section of a document: null, the result, or ``{name, error}``."""
    if classification is None:
        return None
    if isinstance(classification, ClassificationFailure):
        return {"name": classification.model_name, "error": classification.message}
    d = classification.to_dict()
    return {
        "name": classification.model_name,
        "version": model_version(classification),
        "status": classification.checkpoint_status,
        "trained": bool(classification.trained),
        "checkpoint_sha256": classification.checkpoint_sha256,
        "device": classification.device,
        "warning": classification_warning(classification),
        "n_windows": classification.n_windows,
        "window_starts_s": [float(s) for s in classification.window_starts_s],
        "warnings": list(classification.warnings),
        "statements": d["statements"],
        "above_threshold": d["above_threshold"],
        "probabilities": d["probabilities"],
        "classes": d["classes"],
    }


def classification_notes(result: ClassificationResult | None) -> str:
    """Lines under the statements: classes above threshold not stated (and why), the calibration."""
    if result is None:
        return ""
    parts = [f"Not stated: {k.name} {100 * k.probability:.0f} % ({k.note})" for k in result.withheld]
    if result.calibration:
        parts.append(f"Probabilities {result.calibration} on validation records.")
    return "\n".join(parts)


def record_section(record: EcgRecord) -> dict[str, Any]:
    """What the file holds (the same fields as ``ecgviewer info --json``)."""
    from ecgviewer.core.info import describe  # the reader registry: not while the viewer starts

    return describe(record)


def measurement_document(
    record: EcgRecord,
    prediction: PredictionResult | None = None,
    classical: BeatAnalysis | None = None,
    *,
    classification: ClassificationResult | ClassificationFailure | None = None,
    filters: str | None = None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """The JSON-ready measurements of one record (layout: ``docs/measurements.schema.json``).

    Parameters
    ----------
    record
        The analysed record (unfiltered: the models and the classical
        measurement always see the recorded samples).
    prediction, classical
        Model and classical results, None where not available.
    classification
        The statement classifier's result, its failure, or None when none ran.
    filters
        Display filters of the accompanying report (``FilterSettings.describe``), if any.
    created
        Time stamp (default: now, UTC).
    """
    model = model_values(prediction)
    cl = classical_values(classical)
    vm = record.vendor_measurements
    vendor_values = dict(vm.values) if vm is not None else {}
    rows: dict[str, Any] = {}
    for key, label, unit in ROWS:
        value, _ = model.get(key, (None, None))
        spread = None
        if prediction is not None and key in prediction.intervals:
            spread = {k: _num(v) for k, v in prediction.intervals[key].spread_dict().items()}
            spread["n_windows"] = prediction.intervals[key].n_windows
        rows[key] = {
            "label": label,
            "unit": unit,
            "model": _num(value),
            "model_spread": spread,
            "classical": _num(cl.get(key)),
            "vendor": _num(vendor_values.get(key)) if key in VENDOR_ROW_KEYS else None,
        }
    model_section = None
    if prediction is not None:
        model_section = {
            "name": prediction.model_name,
            "version": model_version(prediction),
            "status": prediction.checkpoint_status,
            "trained": bool(prediction.trained),
            "checkpoint_sha256": prediction.checkpoint_sha256,
            "device": prediction.device,
            "warning": prediction.display_warning,
            "n_windows": prediction.n_windows,
            "window_starts_s": [float(s) for s in prediction.window_starts_s],
            "warnings": list(prediction.warnings),
        }
    classical_section = None
    if classical is not None:
        classical_section = {
            "method": "median beat (ecgviewer.core.beats)",
            "n_beats": classical.intervals.n_beats,
        }
    vendor_section = None
    if vm is not None:
        vendor_section = {"source": vm.source, "values": {k: _num(v) for k, v in vendor_values.items()}}
    stamp = created or dt.datetime.now(dt.timezone.utc)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "ecgviewer", "version": ecgviewer.__version__},
        "created": stamp.isoformat(timespec="seconds"),
        "record": record_section(record),
        "filters": filters,
        "model": model_section,
        "classical": classical_section,
        "vendor": vendor_section,
        "measurements": rows,
        "classification": classification_section(classification),
    }


# -- CSV ---------------------------------------------------------------------------------
#: Classification columns after the interval columns; then ``prob_NAME`` per class.
CLASSIFICATION_COLUMNS: tuple[str, ...] = (
    "classifier",
    "classifier_version",
    "classifier_trained",
    "statements",
    "classifier_error",
)


def csv_class_names(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Class names of the documents' classifications, in first-seen (checkpoint) order."""
    names: dict[str, None] = {}
    for doc in docs:
        for c in (doc.get("classification") or {}).get("classes", ()):
            names.setdefault(c["name"], None)
    return list(names)


def csv_columns(class_names: Iterable[str] = ()) -> list[str]:
    """Header of ``measurements.csv`` (one row per record; values from :func:`csv_row`).

    Parameters
    ----------
    class_names
        Classes of the classifier(s) that produced the rows: one ``prob_NAME``
        column each, after :data:`CLASSIFICATION_COLUMNS` (see :func:`csv_class_names`).
    """
    cols = ["file", "format", "fs_hz", "duration_s", "start_time", "model", "model_version", "model_trained"]
    for key, _, _ in ROWS:
        cols += [f"{key}_model", f"{key}_classical", f"{key}_vendor"]
    cols += [f"{key}_model_iqr" for key, _, _ in ROWS if key not in ("qtc_bazett_ms", "qtc_fridericia_ms")]
    cols += ["classical_n_beats", "vendor_source"] + [f"vendor_{k}" for k, _, _ in VENDOR_EXTRA]
    cols += ["model_warning", "schema_version"]
    cols += [*CLASSIFICATION_COLUMNS, *(f"prob_{name}" for name in class_names)]
    return cols


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def csv_row(doc: Mapping[str, Any], class_names: Iterable[str] = ()) -> list[str]:
    """The :func:`csv_columns` cells of one :func:`measurement_document` (statements joined by ``;``)."""
    rec, model, m = doc["record"], doc.get("model") or {}, doc["measurements"]
    cls = doc.get("classification") or {}
    vendor = doc.get("vendor") or {}
    values: dict[str, Any] = {
        "file": rec.get("file"),
        "format": rec.get("format"),
        "fs_hz": rec.get("fs_hz"),
        "duration_s": rec.get("duration_s"),
        "start_time": rec.get("start_time"),
        "model": model.get("name"),
        "model_version": model.get("version"),
        "model_trained": model.get("trained"),
        "classical_n_beats": (doc.get("classical") or {}).get("n_beats"),
        "vendor_source": vendor.get("source"),
        "model_warning": model.get("warning"),
        "schema_version": doc.get("schema_version"),
        "classifier": cls.get("name"),
        "classifier_version": cls.get("version"),
        "classifier_trained": cls.get("trained"),
        "statements": ";".join(cls["statements"]) if "statements" in cls else None,
        "classifier_error": cls.get("error"),
    }
    for c in cls.get("classes", ()):
        values[f"prob_{c['name']}"] = c["probability"]
    for key, _, _ in ROWS:
        row = m[key]
        values[f"{key}_model"] = row["model"]
        values[f"{key}_classical"] = row["classical"]
        values[f"{key}_vendor"] = row["vendor"]
        values[f"{key}_model_iqr"] = (row.get("model_spread") or {}).get("iqr")
    for key, _, _ in VENDOR_EXTRA:
        values[f"vendor_{key}"] = (vendor.get("values") or {}).get(key)
    return [_cell(values.get(c)) for c in csv_columns(class_names)]


def csv_text(docs: Iterable[Mapping[str, Any]]) -> str:
    """A complete CSV file (header + one row per document; ``prob_`` columns from :func:`csv_class_names`)."""
    docs = list(docs)
    names = csv_class_names(docs)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_columns(names))
    for doc in docs:
        writer.writerow(csv_row(doc, names))
    return buf.getvalue()
