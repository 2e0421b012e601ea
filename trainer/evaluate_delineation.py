"""``python -m trainer evaluate-delineation``: wave delineation against experts, carts and rate stress.

One call scores every delineation method on the records that no checkpoint saw in
training or selection (the ``test`` records of ``trainer/splits/ludb.json`` and
``trainer/splits/qtdb.json``) and writes every number to a JSON file and the tables
to Markdown (:mod:`trainer.delineation_tables`):

1. **Boundaries** (P on/off, QRS on/off, T on/off): sensitivity, positive
   predictivity and mean ± SD of the error at a 150 ms tolerance
   (:func:`trainer.metrics.boundary_tally`). LUDB: each lead against its own
   annotation, false positives counted only inside the annotated part of the lead.
   QTDB: ``q1c`` boundaries, false positives only inside annotated beats; the
   prediction is the consensus of the two leads (the median over the leads having
   the point, what the viewer shows) and, as two-lead QTDB results are commonly
   reported, the best lead (per reference boundary the lead with the smaller error;
   no PPV then).
2. **Record intervals** on LUDB (``ludb/INTERVALS.md``): HR, PR, QRS, QT with
   MAE, bias, SD and share within tolerance, each with a bootstrap 95 % CI
   (:func:`trainer.metrics.clustered_agreement`), for every bundled delineation
   checkpoint (through :class:`ecgviewer.inference.delineation.Delineator`), the
   classical delineator, NeuroKit2, ECGdeli (when installed) and the interval
   regression models (:class:`ecgviewer.inference.Predictor`).
3. The same with only lead II, I or V5, and per annotated beat on QTDB (2 leads).
4. **Rate stress**: LUDB records time-stretched to 40 and 150 bpm, the expert
   intervals multiplied by the same factor (:func:`stretch_record`).
5. **Cart agreement**: the measurements stored in the vendor files.
6. **Speed**: time per 10 s 12-lead LUDB record of each method on one CPU thread
   (:func:`measure_speed`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.delineation import POINTS, Delineation
from ecgviewer.core.record import EcgRecord
from trainer.commands import Command
from trainer.delineation_methods import VALUE_KEYS, Method, Run, build_methods, safe_run, with_hr
from trainer.metrics import INTERVALS, boundary_summary, boundary_tally, clustered_agreement, match_boundaries

#: Matching tolerance of a predicted boundary (ms), as in the LUDB and QTDB delineation literature.
TOLERANCE_MS = 150.0
#: Heart rates of the rate-stress test (bpm) and the growth of the error it allows (x the unstretched).
STRETCH_BPM = (40.0, 150.0)
STRETCH_LIMIT = 1.5
#: LUDB test records the speed is measured on (each method 3 times on each, the fastest kept).
SPEED_RECORDS = 10
#: Single-lead variants of the record-interval table.
SINGLE_LEADS = ("II", "I", "V5")
#: QTDB: signal kept around the annotated beats (s); a predicted beat counts for an annotated one
#: within this distance of its QRS annotation (ms).
QTDB_MARGIN_S = 3.0
BEAT_MATCH_MS = 150.0
#: WFDB beat labels: the QRS peak symbols of a QTDB ``q1c`` file (N, A, V, B ... not only N).
BEAT_LABELS = frozenset("NLRBAaJSVrFejnE/fQ?")
_KIND_POINTS = {"p": ("p_on", "p_off"), "N": ("qrs_on", "qrs_off"), "t": ("t_on", "t_off")}


# -- rate stress --------------------------------------------------------------------------------


def stretch_factor(hr_bpm: float, target_bpm: float) -> Fraction:
    """The time stretch that takes a record at ``hr_bpm`` to ``target_bpm`` (> 1 slows it down).

    A fraction with a denominator of at most 1000 (what the polyphase resampler uses),
    so the signal and the labels are stretched by exactly the same factor.
    """
    if not (hr_bpm > 0 and target_bpm > 0):
        raise ValueError(f"heart rates must be positive, got {hr_bpm} and {target_bpm}")
    return Fraction(hr_bpm / target_bpm).limit_denominator(1000)


def stretch_record(record: EcgRecord, factor: Fraction) -> EcgRecord:
    """``record`` played ``factor`` times slower: every wave and interval lasts ``factor`` times longer.

    The samples are resampled by ``factor`` (polyphase, anti-aliased) and kept at the
    record's own rate, so a record of ``n`` samples gets ``ceil(n * factor)``.
    """
    from scipy.signal import resample_poly

    factor = Fraction(factor)
    y = resample_poly(
        np.asarray(record.signals, dtype=np.float64), factor.numerator, factor.denominator, axis=-1
    )
    return record.with_signals(y)


def stretch_reference(values: dict[str, float], factor: float) -> dict[str, float]:
    """Reference intervals of a record stretched by ``factor``: durations x factor, HR / factor."""
    f = float(factor)
    out = {k: float(v) * f for k, v in values.items() if k in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms")}
    if "hr_bpm" in values:
        out["hr_bpm"] = float(values["hr_bpm"]) / f
    return out


# -- references ---------------------------------------------------------------------------------


def _std_lead(ludb_lead: str) -> str:
    """LUDB's annotation name of a lead (``avr``) -> the standard name (``aVR``)."""
    return "a" + ludb_lead[1:].upper() if ludb_lead.startswith("a") else ludb_lead.upper()


def wave_points(waves: Sequence[Any]) -> dict[str, np.ndarray]:
    """Reference boundaries (samples) per point of :data:`POINTS` from ``p``/``N``/``t`` waves."""
    out: dict[str, list[int]] = {p: [] for p in POINTS}
    for w in waves:
        if w.kind not in _KIND_POINTS:
            continue
        on, off = _KIND_POINTS[w.kind]
        if w.onset is not None:
            out[on].append(w.onset)
        if w.offset is not None:
            out[off].append(w.offset)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def ludb_lead_references(path: Path) -> dict[str, tuple[dict[str, np.ndarray], tuple[int, int]]]:
    """Per standard lead name: its expert boundaries and the annotated span (first, last annotation)."""
    import wfdb

    from trainer.data.ludb import LUDB_LEADS, parse_waves

    out = {}
    for lead in LUDB_LEADS:
        ann = wfdb.rdann(str(path), lead)
        waves = parse_waves(list(ann.symbol), list(ann.sample))
        out[_std_lead(lead)] = (wave_points(waves), (int(np.min(ann.sample)), int(np.max(ann.sample))))
    return out


def qtdb_waves(path: Path, annotator: str = "q1c", offset: int = 0) -> list[Any]:
    """The annotator's P, QRS and T waves of a QTDB record (QRS: any beat label), samples minus ``offset``."""
    import wfdb

    from trainer.data.ludb import parse_waves

    ann = wfdb.rdann(str(path), annotator)
    symbols = ["N" if s in BEAT_LABELS else s for s in ann.symbol]
    waves = parse_waves(symbols, [int(s) - offset for s in ann.sample], peaks={"p", "N", "t", "u"})
    return [w for w in waves if w.kind != "u"]


@dataclass(frozen=True)
class AnnotatedBeat:
    """One QTDB annotated beat: its QRS annotation, the span it covers and its intervals (ms, nan absent)."""

    peak: int
    span: tuple[int, int]
    pr_ms: float
    qrs_ms: float
    qt_ms: float


def annotated_beats(waves: Sequence[Any], fs_hz: float) -> list[AnnotatedBeat]:
    """The annotated beats of a wave list, their intervals as ``ludb/INTERVALS.md`` defines them per beat."""
    from trainer.data.ludb import lead_intervals

    beats = []
    for i, w in enumerate(waves):
        if w.kind != "N":
            continue
        before = waves[i - 1] if i > 0 and waves[i - 1].kind == "p" else None
        after = waves[i + 1] if i + 1 < len(waves) and waves[i + 1].kind == "t" else None
        part = [x for x in (before, w, after) if x is not None]
        iv = lead_intervals(part, fs_hz)
        marks = [v for x in part for v in (x.onset, x.peak, x.offset) if v is not None]
        beats.append(AnnotatedBeat(w.peak, (min(marks), max(marks)), iv["pr_ms"], iv["qrs_ms"], iv["qt_ms"]))
    return beats


# -- the evaluation ---------------------------------------------------------------------------------


def _log(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _lead_boundary_tallies(
    run: Run, refs: dict[str, tuple[dict[str, np.ndarray], tuple[int, int]]], tol: float
) -> dict[str, list[dict[str, Any]]]:
    """LUDB: per point, the tallies of every lead against its own annotation inside its annotated span."""
    out: dict[str, list[dict[str, Any]]] = {p: [] for p in POINTS}
    if run.lead_points is None:
        return out
    for lead, (points, span) in refs.items():
        pred = run.lead_points.get(lead, run.lead_points.get("*"))
        if pred is None:  # a per-lead method that could not delineate this lead: every boundary missed
            pred = np.full((0, len(POINTS)), np.nan)
        for k, point in enumerate(POINTS):
            out[point].append(boundary_tally(points[point], pred[:, k], tol, [span]))
    return out


def _best_lead_tally(ref: np.ndarray, per_lead: np.ndarray, tol: float) -> dict[str, Any]:
    """Per reference boundary the lead whose matched prediction is closest (no PPV: ``fp`` None)."""
    ref = ref[np.isfinite(ref)]
    if per_lead.shape[0] == 0 or not ref.size:
        return {"tp": 0, "fn": int(ref.size), "fp": None, "errors": np.zeros(0)}
    err = np.full((per_lead.shape[0], ref.size), np.nan)
    for li, pred in enumerate(per_lead):
        pred = pred[np.isfinite(pred)]
        i, j = match_boundaries(ref, pred, tol)
        err[li, i] = pred[j] - ref[i]
    have = np.isfinite(err).any(axis=0)
    best = np.nanargmin(np.where(np.isfinite(err), np.abs(err), np.inf), axis=0)
    errors = err[best, np.arange(ref.size)][have]
    return {"tp": int(have.sum()), "fn": int((~have).sum()), "fp": None, "errors": errors}


def evaluate_ludb(
    methods: Sequence[Method], paths: Sequence[Path], *, stretch: bool, progress: bool
) -> dict[str, Any]:
    """Record values of every method and variant, boundary tallies and timings on LUDB ``paths``."""
    from ecgviewer.core.readers import read_record
    from trainer.data.ludb import expert_intervals

    variants = ["12 leads", *[f"lead {lead}" for lead in SINGLE_LEADS]]
    variants += [f"{bpm:g} bpm" for bpm in STRETCH_BPM] if stretch else []
    values = {v: {m.name: [] for m in methods} for v in variants}
    errors = {v: {m.name: [] for m in methods} for v in variants}
    refs = {v: [] for v in variants}
    tallies = {m.name: {p: [] for p in POINTS} for m in methods if m.boundaries}
    factors = {f"{bpm:g} bpm": [] for bpm in STRETCH_BPM}
    names = []
    for n, path in enumerate(paths):
        record = read_record(path.with_suffix(".hea"))
        expert = expert_intervals(path).as_dict()
        ref = {k: float(expert[k]) for k in VALUE_KEYS}
        lead_refs = ludb_lead_references(path)
        tol = TOLERANCE_MS * record.fs_hz / 1000.0
        names.append(path.name)
        jobs: list[tuple[str, EcgRecord, Sequence[str] | None, dict[str, float]]] = [
            ("12 leads", record, None, ref)
        ]
        jobs += [(f"lead {lead}", record, (lead,), ref) for lead in SINGLE_LEADS]
        if stretch:
            for bpm in STRETCH_BPM:
                f = stretch_factor(ref["hr_bpm"], bpm)
                factors[f"{bpm:g} bpm"].append(float(f))
                jobs.append(
                    (f"{bpm:g} bpm", stretch_record(record, f), None, stretch_reference(ref, float(f)))
                )
        for variant, rec, leads, r in jobs:
            refs[variant].append([r[k] for k in VALUE_KEYS])
            for m in methods:
                run = safe_run(m, rec, leads)
                values[variant][m.name].append([run.values[k] for k in VALUE_KEYS])
                errors[variant][m.name].append(run.error)
                if variant == "12 leads" and m.boundaries:
                    for point, t in _lead_boundary_tallies(run, lead_refs, tol).items():
                        tallies[m.name][point] += t
        _log(progress, f"LUDB {path.name}: {n + 1}/{len(paths)} records")
    ms = 1000.0 / 500.0  # LUDB is 500 Hz
    return {
        "records": names,
        "variants": variants,
        "reference": {v: np.asarray(refs[v], dtype=np.float64) for v in variants},
        "values": {v: {k: np.asarray(a, dtype=np.float64) for k, a in d.items()} for v, d in values.items()},
        "errors": errors,
        "boundaries": {m: {p: boundary_summary(t, ms) for p, t in d.items()} for m, d in tallies.items()},
        "stretch_factors": {k: v for k, v in factors.items() if v},
    }


def measure_speed(
    methods: Sequence[Method], paths: Sequence[Path], repeats: int = 3, threads: int = 1
) -> dict[str, Any]:
    """Seconds per record of each method on 10 s 12-lead LUDB records (CPU, ``threads`` torch threads).

    Each method runs once untimed (loading, first-call set-up), then ``repeats`` times on
    every record; a record's time is the fastest of its repeats (the least disturbed by
    other jobs on the machine), and the report gives the median and the mean over records.
    """
    import torch

    from ecgviewer.core.readers import read_record

    records = [read_record(p.with_suffix(".hea")) for p in paths]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out: dict[str, Any] = {}
        for m in methods:
            safe_run(m, records[0])
            best = []
            for rec in records:
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    run = safe_run(m, rec)
                    times.append(time.perf_counter() - t0 if run.error is None else math.nan)
                best.append(min(times))
            ms = 1000.0 * np.asarray(best)
            out[m.name] = {
                "records": int(np.isfinite(ms).sum()),
                "median_ms": float(np.nanmedian(ms)),
                "mean_ms": float(np.nanmean(ms)),
            }
        return {"threads": threads, "repeats": repeats, "methods": out}
    finally:
        torch.set_num_threads(before)


def evaluate_qtdb(methods: Sequence[Method], paths: Sequence[Path], *, progress: bool) -> dict[str, Any]:
    """Boundaries (consensus and best lead) and per-beat intervals on QTDB ``paths`` (``q1c``)."""
    from ecgviewer.core.readers import read_record

    methods = [m for m in methods if m.boundaries]
    consensus = {m.name: {p: [] for p in POINTS} for m in methods}
    best = {m.name: {p: [] for p in POINTS} for m in methods}
    beat_ref: list[list[float]] = []
    beat_pred = {m.name: [] for m in methods}
    clusters: list[int] = []
    names = []
    for n, path in enumerate(paths):
        full = read_record(path.with_suffix(".hea"))
        fs = full.fs_hz
        raw = qtdb_waves(path)
        marks = [v for w in raw for v in (w.onset, w.peak, w.offset) if v is not None]
        a = max(0, min(marks) - round(QTDB_MARGIN_S * fs))
        b = min(full.n_samples, max(marks) + round(QTDB_MARGIN_S * fs))
        record = EcgRecord(
            full.signals[:, a:b], fs, full.lead_names, full.units, format_name=full.format_name
        )
        waves = qtdb_waves(path, offset=a)
        points = wave_points(waves)
        beats = annotated_beats(waves, fs)
        spans = [bt.span for bt in beats]
        tol = TOLERANCE_MS * fs / 1000.0
        present = [p for p in POINTS if points[p].size]
        names.append(path.name)
        for bt in beats:
            beat_ref.append([bt.pr_ms, bt.qrs_ms, bt.qt_ms])
            clusters.append(n)
        for m in methods:
            run = safe_run(m, record)
            d = run.delineation
            if d is None:
                d = Delineation(fs, (), np.zeros(0, np.int64), np.zeros((0, 0, 6)), np.zeros((0, 0, 3)))
            cons = d.consensus if d.leads else np.full((0, len(POINTS)), np.nan)
            for k, point in enumerate(POINTS):
                if point not in present:
                    continue
                consensus[m.name][point].append(boundary_tally(points[point], cons[:, k], tol, spans))
                per_lead = d.points[:, :, k] if d.leads else np.zeros((0, 0))
                best[m.name][point].append(_best_lead_tally(points[point], per_lead, tol))
            iv = d.beat_intervals() if d.n_beats else {k: np.zeros(0) for k in ("pr_ms", "qrs_ms", "qt_ms")}
            for bt in beats:
                row = [math.nan] * 3
                if d.n_beats:
                    j = int(np.argmin(np.abs(d.r_peaks - bt.peak)))
                    if abs(d.r_peaks[j] - bt.peak) <= BEAT_MATCH_MS * fs / 1000.0:
                        row = [float(iv[k][j]) for k in ("pr_ms", "qrs_ms", "qt_ms")]
                beat_pred[m.name].append(row)
        _log(progress, f"QTDB {path.name}: {n + 1}/{len(paths)} records")
    ms = 1000.0 / 250.0  # QTDB is 250 Hz
    return {
        "records": names,
        "boundaries": {
            "consensus": {
                m: {p: boundary_summary(t, ms) for p, t in d.items() if t} for m, d in consensus.items()
            },
            "best lead": {
                m: {p: boundary_summary(t, ms) for p, t in d.items() if t} for m, d in best.items()
            },
        },
        "beat_reference": np.asarray(beat_ref, dtype=np.float64).reshape(-1, 3),
        "beat_values": {k: np.asarray(v, dtype=np.float64).reshape(-1, 3) for k, v in beat_pred.items()},
        "clusters": np.asarray(clusters, dtype=np.int64),
    }


#: Vendor files whose stored measurements do not describe their waveform: shown, but left out of the
#: cart scores (file name -> why).
NOT_A_REFERENCE = {
    "liryc_hl7aecg_example.xml": "synthetic waveform written by a library's example program (its SOURCE.md); "
    "the measurements in the file are not of this signal",
}


def vendor_files(formats_dir: Path) -> list[tuple[Path, EcgRecord]]:
    """Files under ``formats_dir`` that ecgviewer reads and that carry cart RR/HR, PR, QRS or QT values."""
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    out = []
    for path in sorted(
        p for p in formats_dir.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".dat")
    ):
        try:
            record = read_record(path)
        except EcgReadError:
            continue
        vm = record.vendor_measurements
        if vm is not None and any(k in vm.values for k in VALUE_KEYS):
            out.append((path, record))
    return out


def evaluate_cart(methods: Sequence[Method], formats_dir: Path, *, progress: bool) -> dict[str, Any]:
    """Every method's record values beside the cart's on each vendor file."""
    files = []
    for path, record in vendor_files(formats_dir):
        vm = record.vendor_measurements
        cart = with_hr({k: v for k, v in vm.values.items() if k in VALUE_KEYS})
        row = {
            "file": str(path.relative_to(formats_dir)),
            "source": vm.source,
            "cart": cart,
            "excluded": NOT_A_REFERENCE.get(path.name),
            "methods": {},
        }
        for m in methods:
            run = safe_run(m, record)
            row["methods"][m.name] = {"values": run.values, "error": run.error}
        files.append(row)
        _log(progress, f"cart {row['file']}")
    return {"files": files}


# -- scores -------------------------------------------------------------------------------------------


def interval_scores(
    pred: np.ndarray, ref: np.ndarray, n_boot: int, clusters: np.ndarray | None = None, keys=VALUE_KEYS
) -> dict[str, dict[str, Any]]:
    """:func:`clustered_agreement` of each reported interval (``pred``/``ref`` columns in ``keys`` order)."""
    out = {}
    for name, _, tol in INTERVALS:
        if name not in keys:
            continue
        j = list(keys).index(name)
        out[name] = clustered_agreement(pred[:, j], ref[:, j], tol, clusters, n_boot=n_boot)
    return out


def score_report(raw: dict[str, Any], methods: Sequence[Method], n_boot: int) -> dict[str, Any]:
    """Scores of what :func:`evaluate_ludb`, :func:`evaluate_qtdb` and :func:`evaluate_cart` gathered."""
    out: dict[str, Any] = {}
    ludb = raw.get("ludb")
    if ludb is not None:
        intervals = {}
        for v in ludb["variants"]:
            ref = ludb["reference"][v]
            intervals[v] = {}
            for m in methods:
                errs = {e for e in ludb["errors"][v][m.name] if e}
                pred = ludb["values"][v][m.name]
                if errs and not np.isfinite(pred).any():
                    intervals[v][m.name] = {"n/a": sorted(errs)[0]}
                    continue
                intervals[v][m.name] = interval_scores(pred, ref, n_boot)
                if errs:
                    intervals[v][m.name]["failed"] = sorted(errs)
        out["ludb"] = {
            "records": ludb["records"],
            "boundaries": ludb["boundaries"],
            "intervals": intervals,
            "stretch_factors": {k: [min(f), max(f)] for k, f in ludb["stretch_factors"].items()},
            "per_record": {
                v: {
                    "reference": ludb["reference"][v].tolist(),
                    **{m: a.tolist() for m, a in ludb["values"][v].items()},
                }
                for v in ludb["variants"]
            },
        }
        original = {
            v: {
                m: {
                    name: original_scale_mae(a, ludb["reference"][v], ludb["stretch_factors"][v], name)
                    for name, _, _ in INTERVALS
                }
                for m, a in ludb["values"][v].items()
            }
            for v in ludb["stretch_factors"]
        }
        out["ludb"]["stretch"] = stretch_criterion(intervals, original)
    if raw.get("speed") is not None:
        out["speed"] = raw["speed"]
    qtdb = raw.get("qtdb")
    if qtdb is not None:
        keys = ("pr_ms", "qrs_ms", "qt_ms")
        out["qtdb"] = {
            "records": qtdb["records"],
            "boundaries": qtdb["boundaries"],
            "beats": int(qtdb["beat_reference"].shape[0]),
            "intervals": {
                m: interval_scores(v, qtdb["beat_reference"], n_boot, qtdb["clusters"], keys)
                for m, v in qtdb["beat_values"].items()
            },
        }
    cart = raw.get("cart")
    if cart is not None:
        used = [f for f in cart["files"] if not f["excluded"]]
        ref = np.array([[f["cart"][k] for k in VALUE_KEYS] for f in used], dtype=np.float64).reshape(-1, 5)
        summary = {}
        for m in methods:
            pred = np.array([[f["methods"][m.name]["values"][k] for k in VALUE_KEYS] for f in used]).reshape(
                -1, 5
            )
            summary[m.name] = interval_scores(pred, ref, n_boot)
        out["cart"] = {"files": cart["files"], "summary": summary}
    return out


def original_scale_mae(pred: np.ndarray, ref: np.ndarray, factors: np.ndarray, key: str) -> float | None:
    """MAE of a stretched variant measured back on the record's own time scale.

    A duration error is divided by the record's stretch factor, an HR error multiplied
    by it: how far off the method is relative to the waves it was shown, with the
    lengthening or shortening of every interval taken out.
    """
    j = VALUE_KEYS.index(key)
    f = np.asarray(factors, dtype=np.float64)
    d = (pred[:, j] - ref[:, j]) * (f if key == "hr_bpm" else 1.0 / f)
    d = d[np.isfinite(d)]
    return float(np.mean(np.abs(d))) if d.size else None


def stretch_criterion(
    intervals: dict[str, dict[str, Any]],
    original: dict[str, dict[str, dict[str, float | None]]] | None = None,
) -> dict[str, Any]:
    """Per method and interval: MAE at each stretched rate over the unstretched MAE, and whether it is
    at most :data:`STRETCH_LIMIT` (the issue's "errors may not grow by more than half").

    ``original`` (variant -> method -> interval -> MAE on the original time scale,
    :func:`original_scale_mae`) adds that MAE and its ratio to the unstretched one.
    """
    base = intervals.get("12 leads", {})
    out: dict[str, Any] = {}
    for m, scores in base.items():
        if "n/a" in scores:
            continue
        out[m] = {}
        for name, _, _ in INTERVALS:
            b = scores[name]["mae"]
            row: dict[str, Any] = {"unstretched": b}
            ok = True
            for bpm in STRETCH_BPM:
                v = f"{bpm:g} bpm"
                s = intervals.get(v, {}).get(m, {})
                mae = s.get(name, {}).get("mae") if "n/a" not in s else None
                ratio = mae / b if mae is not None and b else None
                cell = {"mae": mae, "ratio": ratio, "missed": s.get(name, {}).get("missed")}
                back = (original or {}).get(v, {}).get(m, {}).get(name) if mae is not None else None
                cell["mae_original_scale"] = back
                cell["ratio_original_scale"] = back / b if back is not None and b else None
                row[v] = cell
                ok = ok and ratio is not None and ratio <= STRETCH_LIMIT
            row["within_limit"] = ok
            out[m][name] = row
    return out


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def evaluate(
    *,
    ludb: Path | None,
    qtdb: Path | None,
    formats: Path | None,
    checkpoints: Sequence[str] | None = None,
    interval_models: Sequence[str] | None = None,
    peers: Sequence[str] = ("classical", "neurokit2", "ecgdeli"),
    device: str = "cpu",
    n_boot: int = 1000,
    limit: int | None = None,
    qtdb_limit: int | None = None,
    stretch: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """The whole evaluation (see the module docstring) as a JSON-ready report."""
    import torch

    from trainer.data.arrays import DataError
    from trainer.data.ludb import ludb_records, ludb_split
    from trainer.delineate import qtdb_split

    t0 = time.perf_counter()
    load_start = list(os.getloadavg())
    methods, notes = build_methods(checkpoints, interval_models, peers, device)
    raw: dict[str, Any] = {}
    if ludb is not None:
        roles = ludb_split()
        paths = [p for p in ludb_records(ludb) if roles.get(p.name) == "test"][:limit]
        if not paths:
            raise DataError(f"{ludb}: no LUDB test record of trainer/splits/ludb.json found")
        raw["ludb"] = evaluate_ludb(methods, paths, stretch=stretch, progress=progress)
        raw["speed"] = measure_speed(methods, paths[:SPEED_RECORDS])
        _log(progress, "speed measured")
    if qtdb is not None:
        names = sorted(n for n, role in qtdb_split().items() if role == "test")
        paths = [Path(qtdb) / n for n in names if (Path(qtdb) / f"{n}.q1c").exists()][:qtdb_limit]
        if not paths:
            raise DataError(f"{qtdb}: no QTDB test record of trainer/splits/qtdb.json found")
        raw["qtdb"] = evaluate_qtdb(methods, paths, progress=progress)
    if formats is not None:
        raw["cart"] = evaluate_cart(methods, Path(formats), progress=progress)
    report = score_report(raw, methods, n_boot)
    report.update(
        {
            "methods": [m.describe() for m in methods],
            "default_delineator": _default_delineator(),
            "notes": notes,
            "n_boot": n_boot,
            "tolerance_ms": TOLERANCE_MS,
            "split_files": ["trainer/splits/ludb.json", "trainer/splits/qtdb.json"],
            "machine": {
                "cpu_count": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "device": device,
                "python": platform.python_version(),
                "torch": torch.__version__,
                "load_average_at_start": load_start,
                "load_average_at_end": list(os.getloadavg()),
            },
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
    )
    return _json_safe(report)


def _default_delineator() -> str | None:
    from ecgviewer.resources import default_checkpoint

    return default_checkpoint("delineation")


# -- command line ------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer evaluate-delineation``."""
    p.add_argument("--ludb", type=Path, metavar="DIR", help="LUDB folder (RECORDS, data/); its test records")
    p.add_argument("--qtdb", type=Path, metavar="DIR", help="QTDB folder (sel*.hea, .q1c); its test records")
    p.add_argument("--formats", type=Path, metavar="DIR", help="vendor files with cart measurements")
    p.add_argument("--out", type=Path, required=True, metavar="JSON", help="write every number here")
    p.add_argument(
        "--markdown",
        nargs="?",
        const=True,
        default=None,
        metavar="MD",
        help="also write the tables to MD (default: the --out path with .md)",
    )
    p.add_argument(
        "--checkpoints",
        nargs="+",
        metavar="NAME",
        help="delineation checkpoints (default: every bundled one with task 'delineation')",
    )
    p.add_argument(
        "--interval-models",
        nargs="*",
        metavar="NAME",
        help="interval regression checkpoints (default: every bundled one with task 'intervals')",
    )
    p.add_argument(
        "--peers",
        nargs="*",
        default=["classical", "neurokit2", "ecgdeli"],
        choices=("classical", "neurokit2", "ecgdeli"),
        help="other delineators (default all three; one not installed is skipped with a note)",
    )
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per CI (default 1000)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu: the timings are CPU timings)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N LUDB test records")
    p.add_argument(
        "--qtdb-limit", type=int, default=None, metavar="N", help="only the first N QTDB test records"
    )
    p.add_argument("--no-stretch", action="store_true", help="leave out the 40 / 150 bpm rate stress")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer evaluate-delineation``: :func:`evaluate`, then the JSON and the tables."""
    from ecgviewer.core.io_utils import atomic_write
    from trainer.delineation_tables import markdown
    from trainer.options import command_line

    if args.ludb is None and args.qtdb is None and args.formats is None:
        raise ValueError("give at least one of --ludb, --qtdb, --formats")
    report = evaluate(
        ludb=args.ludb,
        qtdb=args.qtdb,
        formats=args.formats,
        checkpoints=args.checkpoints,
        interval_models=args.interval_models,
        peers=args.peers,
        device=args.device,
        n_boot=args.boot,
        limit=args.limit,
        qtdb_limit=args.qtdb_limit,
        stretch=not args.no_stretch,
        progress=not args.quiet,
    )
    report["command"] = command_line(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as fh:
        json.dump(report, fh, indent=1)
        fh.write("\n")
    text = markdown(report)
    print(text, end="")
    if args.markdown is not None:
        md = args.out.with_suffix(".md") if args.markdown is True else Path(args.markdown)
        with atomic_write(md) as fh:
            fh.write(text)
    return 0


COMMAND = Command(
    help="score wave delineation on LUDB/QTDB test records: boundaries, intervals, leads, rate, carts, speed",
    description=(
        "Scores every bundled delineation checkpoint, the classical delineator, NeuroKit2, ECGdeli (when "
        "installed) and the interval regression models on the LUDB and QTDB test records only: boundary "
        "sensitivity / positive predictivity / mean and SD of the error at 150 ms, record HR/PR/QRS/QT "
        "with bootstrap 95%% CIs (12 leads, lead II, I, V5; QTDB per annotated beat), LUDB stretched to "
        "40 and 150 bpm, agreement with cart measurements in vendor files, and CPU time per record."
    ),
    add_arguments=add_arguments,
    run=run,
)
