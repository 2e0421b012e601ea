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
The signal-quality assessment (:func:`ecgviewer.core.quality.assess_quality`) adds
the ``quality`` section (schema version 3): whether the record is measurable and
why not, per-lead status and reasons, and which results were withheld because of it
(a withheld value is null, never a number made up from a flat or clipped lead).
The wave delineation (:class:`ecgviewer.inference.delineation.Delineator`, schema version 4)
gives the headline ``intervals`` (:func:`intervals_section`: each value with its spread and
confidence, or null with the reason) and the ``delineation`` section, every beat's boundaries
(:func:`delineation_section`); the interval model and the classical values stay in
``measurements`` beside the device's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import ecgviewer
from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.overread import EditedBeats, EditedDelineation, OverRead, StatementState
    from ecgviewer.core.quality import QualityReport
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult
    from ecgviewer.models.checkpoint import CheckpointMeta

#: Version of the JSON document (and of the CSV columns). 2: the ``classification`` section;
#: 3: the ``quality`` section (and the ``measurable``, ``quality`` CSV columns); 4: the headline
#: ``intervals`` from the wave delineation and the ``delineation`` section (and their CSV columns);
#: 5: the reader's over-read (``over_read`` section, per headline value its ``provenance``, edited
#: beats flagged in ``delineation.beats``; the ``over_read_*`` and ``*_source`` CSV columns).
SCHEMA_VERSION = 5
#: Keys of ``quality.withheld``: the results a poor signal can withhold (``intervals``: the
#: interval regression model; ``delineation``: the wave delineation, hence the headline intervals).
WITHHELD_KEYS: tuple[str, ...] = ("classical", "intervals", "classification", "delineation")
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
#: |model - classical| above which a row is highlighted (units of the row).
DISAGREEMENT_THRESHOLDS: dict[str, float] = {
    "hr_bpm": 10.0,
    "rr_ms": 150.0,
    "pr_ms": 20.0,
    "qrs_ms": 20.0,
    "qt_ms": 40.0,
    "qtc_bazett_ms": 40.0,
    "qtc_fridericia_ms": 40.0,
}
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


def model_version(result: PredictionResult | ClassificationResult | DelineationResult) -> str:
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
    withheld
        True when it did not run because the signal quality does not allow it (``message``
        says why, e.g. ``"lead V1 unusable (flat)"``); not an error.
    """

    model_name: str
    message: str
    withheld: bool = False


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
        out: dict[str, Any] = {"name": classification.model_name, "error": classification.message}
        if classification.withheld:
            out["withheld"] = True
        return out
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


def quality_section(
    quality: QualityReport | None, withheld: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The ``quality`` section: null when not assessed, else :meth:`QualityReport.to_dict` and
    ``withheld`` (result -> reason, for each of :data:`WITHHELD_KEYS` that was withheld)."""
    if quality is None:
        return None
    out = quality.to_dict()
    out["withheld"] = {k: withheld[k] for k in WITHHELD_KEYS if withheld and withheld.get(k)}
    return out


def withheld_text(doc: Mapping[str, Any], key: str) -> str | None:
    """Why result ``key`` (one of :data:`WITHHELD_KEYS`) of a document was withheld, else None."""
    return ((doc.get("quality") or {}).get("withheld") or {}).get(key)


def classification_notes(result: ClassificationResult | None) -> str:
    """Lines under the statements: classes above threshold not stated (and why), the calibration."""
    if result is None:
        return ""
    parts = [f"Not stated: {k.name} {100 * k.probability:.0f} % ({k.note})" for k in result.withheld]
    if result.calibration:
        parts.append(f"Probabilities {result.calibration} on validation records.")
    return "\n".join(parts)


#: Below this many training records the note says outright that the model saw few.
FEW_RECORDS = 5000


def _find_metric(metrics: Any, key: str, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], float] | None:
    """The first number stored under ``key`` anywhere in ``metrics``, with the keys leading to it."""
    if not isinstance(metrics, Mapping):
        return None
    value = metrics.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return path, float(value)
    for k, v in metrics.items():
        found = _find_metric(v, key, (*path, str(k)))
        if found is not None:
            return found
    return None


def training_summary(meta: CheckpointMeta, name: str) -> str:
    """What the checkpoint says about its training, for the decision-support note.

    Reads ``training.n_train``/``n_val``, the data sources' names and the
    ``macro_auc`` of ``metrics.test`` (else the validation one, else any in
    ``metrics``); all optional: a missing fact is said to be missing, never guessed.
    """
    if not meta.trained:
        return f"{name} is an untrained placeholder: its probabilities mean nothing."
    training = meta.training if isinstance(meta.training, Mapping) else {}
    n_train, n_val = training.get("n_train"), training.get("n_val")
    data = training.get("data")
    sources = data.get("sources", []) if isinstance(data, Mapping) else []
    names = sorted({str(s["source"]) for s in sources if isinstance(s, Mapping) and s.get("source")})
    of = f" {' + '.join(names)}" if names else ""
    if isinstance(n_train, int):
        text = f"{name} was trained on {n_train}{of} records"
        if isinstance(n_val, int):
            text += f" and validated on {n_val}"
    else:
        text = f"{name}: the checkpoint does not say how many records it was trained on"
    metrics = meta.metrics if isinstance(meta.metrics, Mapping) else {}
    auc = _find_metric(metrics.get("test"), "macro_auc", ("test",))  # held-out test set first
    if auc is None:
        auc = _find_metric(
            metrics, "macro_auc", (str(metrics.get("split", "")),) if "split" in metrics else ()
        )
    if auc is not None:
        where = f" ({'/'.join(p for p in auc[0] if p)})" if any(auc[0]) else ""
        text += f"; macro AUC {auc[1]:.2f}{where}"
    text += "."
    if isinstance(n_train, int) and n_train < FEW_RECORDS:
        text += " That is few: expect wrong statements, above all for rare classes."
    return text


# -- the wave delineation: headline intervals and per-beat boundaries (version 4) ---------------
#: Interval keys the delineation measures itself (the QTc rows follow from QT and RR).
DELINEATION_KEYS: tuple[str, ...] = ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms")
#: What ``spread`` is, said in the ``intervals`` section.
SPREAD_DEFINITION = "robust SD (1.4826 x MAD) over every lead's beats; HR and RR: over the R-R intervals"
#: Reason of every headline value when no delineation ran.
NOT_RUN = "wave delineation not run"


def _r(v: Any, digits: int) -> float | None:
    v = _num(v)
    return None if v is None else round(v, digits)


def delineation_absent_reason(
    delineation: DelineationResult | None, error: str | None = None, withheld: str | None = None
) -> str | None:
    """Why there is no delineation (withheld, failed, not run), None when there is one."""
    if delineation is not None:
        return None
    if withheld:
        return f"delineation withheld: {withheld}"
    if error:
        return f"delineation failed: {error}"
    return NOT_RUN


def headline_values(
    delineation: DelineationResult | None, reason: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per :data:`ROWS` key ``{value, spread, confidence, n_beats, n_leads, reason}`` from the delineation.

    QTc (Bazett, Fridericia) comes from the delineation's QT and RR, with QT's confidence and
    counts; a value the delineation could not measure is None with its reason, never filled in
    from another source. Without a delineation every value is None with ``reason``.
    """
    out: dict[str, dict[str, Any]] = {}
    ivs = delineation.intervals if delineation is not None else {}
    for key, _, _ in ROWS:
        out[key] = {
            "value": None,
            "spread": None,
            "confidence": None,
            "n_beats": 0,
            "n_leads": 0,
            "reason": reason or NOT_RUN,
        }
    if delineation is None:
        return out
    for key in DELINEATION_KEYS:
        iv = ivs.get(key)
        if iv is None:
            continue
        value = _num(iv.value)
        out[key] = {
            "value": _r(value, 1),
            "spread": _r(iv.spread, 1),
            "confidence": _r(iv.confidence, 3),
            "n_beats": int(iv.n_beats),
            "n_leads": int(iv.n_leads),
            "reason": None if value is not None else (iv.reason or "not measured"),
        }
    qt, rr = ivs.get("qt_ms"), ivs.get("rr_ms")
    for key, formula in (("qtc_bazett_ms", qtc_bazett_ms), ("qtc_fridericia_ms", qtc_fridericia_ms)):
        if qt is not None and rr is not None and _num(qt.value) and _num(rr.value):
            out[key] = {
                "value": _r(formula(qt.value, rr.value), 1),
                "spread": None,
                "confidence": _r(qt.confidence, 3),
                "n_beats": int(qt.n_beats),
                "n_leads": int(qt.n_leads),
                "reason": None,
            }
        else:
            missing = qt if qt is None or not _num(qt.value) else rr
            why = (missing.reason if missing is not None else None) or "QT or RR not measured"
            out[key]["reason"] = f"{'QT' if missing is qt else 'RR'} absent: {why}"
    return out


def headline_provenance(
    delineation: DelineationResult | None, overread_result: EditedDelineation | None = None
) -> dict[str, dict[str, Any] | None]:
    """Per :data:`ROWS` key where the headline value comes from (None without a delineation).

    ``{"source": "computed", "method": ..., "convention": ...}`` (the delineation network for PR,
    QRS and QT; the R peaks for RR and HR), or with an over-read the provenance of
    :attr:`EditedDelineation.provenance` (``{"source": "edited", "by", "at", "edits", "method"}``
    when the reader's edits went into it). QTc follows QT and RR: edited when either is.
    """
    from ecgviewer.core.delineation import CONVENTION
    from ecgviewer.core.overread import computed

    out: dict[str, dict[str, Any] | None] = {key: None for key, _, _ in ROWS}
    if delineation is None:
        return out
    if overread_result is not None:
        for key in DELINEATION_KEYS:
            out[key] = dict(overread_result.provenance[key])
    else:
        method = delineation.model_name or delineation.delineation.method or "delineation"
        for key in DELINEATION_KEYS:
            out[key] = computed("R peaks" if key in ("rr_ms", "hr_bpm") else method, convention=CONVENTION)
    qt, rr = out["qt_ms"], out["rr_ms"]
    for key, formula in (("qtc_bazett_ms", "Bazett"), ("qtc_fridericia_ms", "Fridericia")):
        parts = [p for p in (qt, rr) if p is not None and p.get("source") == "edited"]
        if parts:
            by = ", ".join(dict.fromkeys(a.strip() for p in parts for a in str(p["by"]).split(",")))
            at = max(str(p["at"]) for p in parts)
            n = max(int(p.get("edits", 1)) for p in parts)
            out[key] = {
                "source": "edited",
                "by": by,
                "at": at,
                "edits": n,
                "method": f"{formula} formula of the QT and RR edited by the reader",
            }
        else:
            out[key] = computed(f"{formula} formula of the delineation's QT and RR", convention=CONVENTION)
    return out


def intervals_section(
    delineation: DelineationResult | None,
    error: str | None = None,
    withheld: str | None = None,
    overread_result: EditedDelineation | None = None,
) -> dict[str, Any]:
    """The headline ``intervals`` section: the delineation's record intervals (:func:`headline_values`),
    each with its ``provenance`` (:func:`headline_provenance`).

    ``error``/``withheld``: why the delineation gave no result (it failed; the signal
    quality withheld it); the values are then null with that reason. With an over-read,
    ``delineation`` is the edited one and ``overread_result`` what the edits did.
    """
    from ecgviewer.core.delineation import CONVENTION

    reason = delineation_absent_reason(delineation, error, withheld)
    values = headline_values(delineation, reason)
    provenance = headline_provenance(delineation, overread_result)
    for key, label, unit in ROWS:
        values[key] = {"label": label, "unit": unit, **values[key], "provenance": provenance[key]}
    return {
        "source": "delineation" if delineation is not None else None,
        "method": delineation.model_name if delineation is not None else None,
        "convention": CONVENTION,
        "spread": SPREAD_DEFINITION,
        "reason": reason,
        "edited": any((p or {}).get("source") == "edited" for p in provenance.values()),
        "values": values,
    }


def _sample(v: float) -> int | None:
    return round(float(v)) if math.isfinite(v) else None


def delineation_beats(
    delineation: DelineationResult, edited_beats: Iterable[int] = ()
) -> list[dict[str, Any]]:
    """One compact entry per beat: R peak, per-beat intervals, consensus and per-lead boundaries;
    ``edited: true`` for the beats (R-peak samples) in ``edited_beats`` (a mark edited by the reader,
    or a beat the reader added)."""
    from ecgviewer.core.delineation import POINTS

    edited = {int(b) for b in edited_beats}
    d = delineation.delineation
    fs = float(d.fs_hz)
    consensus = d.consensus
    per_beat = d.beat_intervals()
    beats = []
    for b in range(d.n_beats):
        r = int(d.r_peaks[b])
        entry: dict[str, Any] = {"r_sample": r, "r_time_s": round(r / fs, 4)}
        for key in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
            entry[key] = _r(per_beat[key][b], 1)
        entry["consensus"] = {
            name: (
                {"sample": _sample(v), "time_s": round(float(v) / fs, 4)}
                if math.isfinite(v := consensus[b, i])
                else None
            )
            for i, name in enumerate(POINTS)
        }
        entry["leads"] = {
            lead: {name: _sample(d.points[li, b, i]) for i, name in enumerate(POINTS)}
            for li, lead in enumerate(d.leads)
        }
        if r in edited:
            entry["edited"] = True
        beats.append(entry)
    return beats


def delineation_section(
    delineation: DelineationResult | None,
    error: str | None = None,
    withheld: str | None = None,
    model_name: str | None = None,
    overread_result: EditedDelineation | None = None,
) -> dict[str, Any] | None:
    """The ``delineation`` section: null when none ran, ``{model, error, withheld}`` when it failed
    or was withheld (``error`` is the reason), else the checkpoint, leads and :func:`delineation_beats`.

    With an over-read (``overread_result``), ``delineation`` is the edited one: its beats are the
    beats after the reader's edits, each beat whose marks the reader edited (or that the reader
    added) flagged ``edited``, and ``edited_by_reader`` says how many."""
    from ecgviewer.core.delineation import CONVENTION

    if delineation is None:
        if not (error or withheld):
            return None
        return {"model": model_name, "error": withheld or error, "withheld": bool(withheld)}
    d = delineation.delineation
    has_qrs = np.isfinite(d.points[:, :, 2]).any(axis=0) if d.points.size else np.zeros(0, bool)
    edited = edited_beat_samples(overread_result)
    return {
        "model": delineation.model_name,
        "version": model_version(delineation),
        "status": delineation.checkpoint_status or None,
        "trained": bool(delineation.trained),
        "checkpoint_sha256": delineation.checkpoint_sha256 or None,
        "device": delineation.device or None,
        "convention": CONVENTION,
        "fs_hz": float(d.fs_hz),
        "leads": list(d.leads),
        "withheld_leads": list(delineation.withheld),
        "n_beats": int(d.n_beats),
        "n_delineated": int(has_qrs.sum()),
        "n_edited": len(edited),
        "beats": delineation_beats(delineation, edited),
    }


def edited_beat_samples(overread_result: EditedDelineation | None) -> set[int]:
    """R-peak samples of the beats of an edited delineation whose marks the reader edited or which
    the reader added."""
    if overread_result is None:
        return set()
    from ecgviewer.core.overread import BeatAdded

    kept = {int(r) for r in overread_result.delineation.r_peaks}
    out = {int(b) for (b, _lead, _p) in overread_result.point_edits}
    out |= {int(e.sample) for e in overread_result.beat_edits if isinstance(e, BeatAdded)}
    return out & kept


# -- the reader's over-read (version 5) ------------------------------------------------------
#: How every output names the statements the model proposed and the reader has not confirmed.
OVERREAD_NOT_CONFIRMED = "Proposed by the model (not confirmed)"
#: The parts of ``over_read.statements``.
STATEMENT_GROUPS: tuple[str, ...] = ("confirmed", "rejected", "proposed_unreviewed")


def statement_groups(states: Mapping[str, StatementState] | None) -> dict[str, list[str]] | None:
    """``{"confirmed", "rejected", "proposed_unreviewed"}`` codes of the statements after an over-read.

    ``confirmed``: ticked by the reader (a proposed statement or one the reader added);
    ``rejected``: unticked by the reader; ``proposed_unreviewed``: stated by the classifier and not
    reviewed (no edit). None when no over-read applies.
    """
    if states is None:
        return None
    out: dict[str, list[str]] = {g: [] for g in STATEMENT_GROUPS}
    for code, st in states.items():
        if st.provenance.get("source") == "edited":
            out["confirmed" if st.stated else "rejected"].append(code)
        elif st.stated:
            out["proposed_unreviewed"].append(code)
    return out


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def overread_section(
    overread: OverRead | None,
    status: str | None = None,
    message: str = "",
    result: EditedDelineation | None = None,
    statement_states: Mapping[str, StatementState] | None = None,
    beats: EditedBeats | None = None,
) -> dict[str, Any] | None:
    """The ``over_read`` section: null when there is no over-read and none was looked for.

    ``status`` (``"applied"``, ``"none"``, ``"record changed"``, ``"unreadable"``, ``"ignored"``)
    and ``message`` say whether the reader's over-read went into the values; the reader, times,
    software, edits (as in the sidecar) and their counts by kind; the edits that could not be
    applied; the statements confirmed, rejected and left unreviewed (:func:`statement_groups`);
    the interpretation; with a classified beat list, its counts after the edits.
    """
    if overread is None and status in (None, "none"):
        return None
    from ecgviewer.core.overread import EDIT_KINDS, interpretation_edit

    applied = status == "applied" and overread is not None
    out: dict[str, Any] = {"status": status, "applied": applied, "message": message or None}
    if overread is None:
        return {**out, "reader": None, "n_edits": 0, "edits": [], "statements": None, "interpretation": None}
    kinds = {k: 0 for k in EDIT_KINDS}
    for e in overread.edits:
        kinds[e.kind] += 1
    times = [e.at for e in overread.edits]
    last = interpretation_edit(overread.edits)
    unapplied = [*(result.unapplied if result is not None else ()), *(beats.unapplied if beats else ())]
    out.update(
        {
            "reader": overread.reader,
            "authors": list(overread.authors),
            "created": _iso(overread.created),
            "modified": _iso(overread.modified),
            "last_edit": _iso(max(times)) if times else None,
            "software": overread.software or None,
            "models": dict(overread.models),
            "n_edits": len(overread.edits),
            "counts": kinds,
            "edits": [e.to_dict() for e in overread.edits],
            "unapplied": [{"edit": e.to_dict(), "reason": why} for e, why in dict.fromkeys(unapplied)],
            "statements": statement_groups(statement_states) if applied else None,
            "interpretation": (
                {"text": last.text, "by": last.by, "at": last.at.isoformat()} if last and last.text else None
            ),
            "beats": _beats_counts(beats) if applied and beats is not None else None,
        }
    )
    return out


def _beats_counts(beats: EditedBeats) -> dict[str, Any]:
    """Counts of a classified beat list after the over-read (``over_read.beats``)."""
    from ecgviewer.core.overread import BeatAdded, BeatLabelEdit

    return {
        "method": beats.method or None,
        "n_beats": int(beats.beats_only()[0].size),
        "counts": beats.counts(),
        "excluded_in_artefact": int(beats.excluded.size),
        "added": sum(bool(es) and isinstance(es[0], BeatAdded) for es in beats.beat_edits),
        "relabelled": sum(any(isinstance(e, BeatLabelEdit) for e in es) for es in beats.beat_edits),
    }


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
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | None = None,
    delineation_error: str | None = None,
    delineator_name: str | None = None,
    overread: OverRead | None = None,
    overread_status: str | None = None,
    overread_message: str = "",
    overread_result: EditedDelineation | None = None,
    statement_states: Mapping[str, StatementState] | None = None,
    overread_beats: EditedBeats | None = None,
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
    quality
        The signal-quality assessment (None: not assessed; the section is null).
    withheld
        Results left out because of the signal quality: key of :data:`WITHHELD_KEYS` -> reason.
        Pass None for them in ``prediction``/``classical``.
    delineation, delineation_error, delineator_name
        The wave delineation's result (the headline ``intervals`` and the ``delineation``
        section), or why it failed, and the delineator's name (for a failure); all None when
        none ran. With an applied over-read, ``delineation`` is the edited one
        (:attr:`~ecgviewer.analysis.pipeline.RecordAnalysis.effective_delineation`).
    overread, overread_status, overread_message, overread_result, statement_states, overread_beats
        The reader's over-read and what it changed (:func:`overread_section`; the values'
        provenance, :func:`headline_provenance`); all None when there is none.
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
    held = (withheld or {}).get("delineation")
    if held:
        delineation, delineation_error, overread_result = None, None, None
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "ecgviewer", "version": ecgviewer.__version__},
        "created": stamp.isoformat(timespec="seconds"),
        "record": record_section(record),
        "filters": filters,
        "intervals": intervals_section(delineation, delineation_error, held, overread_result),
        "model": model_section,
        "classical": classical_section,
        "vendor": vendor_section,
        "measurements": rows,
        "classification": classification_section(classification),
        "quality": quality_section(quality, withheld),
        "delineation": delineation_section(
            delineation, delineation_error, held, delineator_name, overread_result
        ),
        "over_read": overread_section(
            overread, overread_status, overread_message, overread_result, statement_states, overread_beats
        ),
    }


# -- CSV ---------------------------------------------------------------------------------
#: Classification columns after the interval and :data:`QUALITY_COLUMNS`; then ``prob_NAME`` per class.
CLASSIFICATION_COLUMNS: tuple[str, ...] = (
    "classifier",
    "classifier_version",
    "classifier_trained",
    "statements",
    "classifier_error",
)
#: Headline columns (version 4, after ``start_time``): the delineation's values under the row keys
#: (:data:`ROWS`), then :data:`HEADLINE_SPREAD_KEYS` spreads, ``n_beats_delineated``, ``intervals_note``.
HEADLINE_SPREAD_KEYS: tuple[str, ...] = DELINEATION_KEYS
#: Over-read columns (version 5, after ``intervals_note``): whose values are edited, per headline value
#: (:data:`ROWS`) ``KEY_source`` (``computed`` or ``edited``), then these.
OVERREAD_COLUMNS: tuple[str, ...] = (
    "over_read_status",
    "over_read_by",
    "over_read_at",
    "n_edits",
    "confirmed_statements",
)
#: Signal-quality columns (version 3, after ``schema_version``): ``measurable`` (true/false, empty
#: when not assessed) and ``quality`` (the reason when not measurable, else the one-line summary,
#: and what was withheld).
QUALITY_COLUMNS: tuple[str, ...] = ("measurable", "quality")


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
    cols = ["file", "format", "fs_hz", "duration_s", "start_time", "method"]
    cols += [key for key, _, _ in ROWS] + [f"{key}_spread" for key in HEADLINE_SPREAD_KEYS]
    cols += ["n_beats_delineated", "intervals_note"]
    cols += [f"{key}_source" for key, _, _ in ROWS] + list(OVERREAD_COLUMNS)
    cols += ["model", "model_version", "model_trained"]
    for key, _, _ in ROWS:
        cols += [f"{key}_model", f"{key}_classical", f"{key}_vendor"]
    cols += [f"{key}_model_iqr" for key, _, _ in ROWS if key not in ("qtc_bazett_ms", "qtc_fridericia_ms")]
    cols += ["classical_n_beats", "vendor_source"] + [f"vendor_{k}" for k, _, _ in VENDOR_EXTRA]
    cols += ["model_warning", "schema_version"]
    cols += [*QUALITY_COLUMNS, *CLASSIFICATION_COLUMNS, *(f"prob_{name}" for name in class_names)]
    return cols


def quality_cell(doc: Mapping[str, Any]) -> str | None:
    """The ``quality`` CSV cell: the reason or summary, then ``withheld: intervals (lead V1 ...)``."""
    q = doc.get("quality")
    if not q:
        return None
    text = q.get("reason") or q.get("summary") or ""
    held = q.get("withheld") or {}
    if held and q.get("measurable", True):
        text += "; withheld: " + ", ".join(f"{k} ({v})" for k, v in held.items())
    return text


def intervals_note(doc: Mapping[str, Any]) -> str | None:
    """The ``intervals_note`` CSV cell: why the headline intervals are absent, or which are and why."""
    iv = doc.get("intervals") or {}
    if iv.get("reason"):
        return iv["reason"]
    absent = [
        f"{key}: {v['reason']}"
        for key, v in (iv.get("values") or {}).items()
        if v.get("value") is None and key in DELINEATION_KEYS
    ]
    return "; ".join(absent) or None


def overread_cells(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`OVERREAD_COLUMNS` cells of a document (empty when it has no over-read)."""
    o = doc.get("over_read") or {}
    if not o:
        return {}
    st = o.get("statements") or {}
    applied = bool(o.get("applied"))
    return {
        "over_read_status": o.get("status"),
        "over_read_by": ", ".join(o.get("authors") or ([o["reader"]] if o.get("reader") else [])) or None,
        "over_read_at": o.get("modified") or o.get("last_edit"),
        "n_edits": o.get("n_edits") if applied else 0,
        "confirmed_statements": ";".join(st.get("confirmed", [])) if applied else None,
    }


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
    iv = doc.get("intervals") or {}
    dl = doc.get("delineation") or {}
    values: dict[str, Any] = {
        "method": iv.get("method"),
        "n_beats_delineated": dl.get("n_delineated"),
        "intervals_note": intervals_note(doc),
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
        "measurable": (doc.get("quality") or {}).get("measurable"),
        "quality": quality_cell(doc),
    }
    for c in cls.get("classes", ()):
        values[f"prob_{c['name']}"] = c["probability"]
    for key, v in (iv.get("values") or {}).items():
        values[key] = v.get("value")
        values[f"{key}_spread"] = v.get("spread")
        values[f"{key}_source"] = (v.get("provenance") or {}).get("source")
    values.update(overread_cells(doc))
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
