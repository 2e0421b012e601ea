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
(:class:`ecgviewer.core.record.VendorMeasurements`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ecgviewer

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.result import PredictionResult

#: Version of the JSON document (and of the CSV columns).
SCHEMA_VERSION = 1
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
    from ecgviewer.inference.result import qtc_bazett_ms, qtc_fridericia_ms

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


def model_version(result: PredictionResult) -> str:
    """Short checkpoint identity shown in reports: the first 12 hex digits of the weights' sha256."""
    return result.checkpoint_sha256[:12] if result.checkpoint_sha256 else "unknown"


def record_section(record: EcgRecord) -> dict[str, Any]:
    """What the file holds (the same fields as ``ecgviewer info --json``)."""
    from ecgviewer.core.info import describe

    return describe(record)


def measurement_document(
    record: EcgRecord,
    prediction: PredictionResult | None = None,
    classical: BeatAnalysis | None = None,
    *,
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
    }


# -- CSV ---------------------------------------------------------------------------------
def csv_columns() -> list[str]:
    """Header of ``measurements.csv`` (one row per record; values from :func:`csv_row`)."""
    cols = ["file", "format", "fs_hz", "duration_s", "start_time", "model", "model_version", "model_trained"]
    for key, _, _ in ROWS:
        cols += [f"{key}_model", f"{key}_classical", f"{key}_vendor"]
    cols += [f"{key}_model_iqr" for key, _, _ in ROWS if key not in ("qtc_bazett_ms", "qtc_fridericia_ms")]
    cols += ["classical_n_beats", "vendor_source"] + [f"vendor_{k}" for k, _, _ in VENDOR_EXTRA]
    cols += ["model_warning", "schema_version"]
    return cols


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def csv_row(doc: Mapping[str, Any]) -> list[str]:
    """The :func:`csv_columns` cells of one :func:`measurement_document`."""
    rec, model, m = doc["record"], doc.get("model") or {}, doc["measurements"]
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
    }
    for key, _, _ in ROWS:
        row = m[key]
        values[f"{key}_model"] = row["model"]
        values[f"{key}_classical"] = row["classical"]
        values[f"{key}_vendor"] = row["vendor"]
        values[f"{key}_model_iqr"] = (row.get("model_spread") or {}).get("iqr")
    for key, _, _ in VENDOR_EXTRA:
        values[f"vendor_{key}"] = (vendor.get("values") or {}).get(key)
    return [_cell(values.get(c)) for c in csv_columns()]


def csv_text(docs: Iterable[Mapping[str, Any]]) -> str:
    """A complete CSV file (header + one row per document)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_columns())
    for doc in docs:
        writer.writerow(csv_row(doc))
    return buf.getvalue()
