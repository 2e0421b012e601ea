"""``ecgviewer beats FILE... [--json]``: every beat of a (long) record with its AAMI class.

Each file is opened lazily (:func:`ecgviewer.core.readers.registry.open_long_record`: a 24 h
Holter is never read whole) and goes through the same beat pass as the viewer's long-term
mode (:func:`ecgviewer.inference.beats.run_beat_pass`: the classical detector on the beat
lead in chunks, then the bundled beat classifier, ``beatnet``, or ``--model``). Per file:

- ``--json``: a list with one object per file: ``file``, ``fs_hz``, ``beat_lead``, ``method``,
  ``n_beats``, ``counts`` (per class N / S / V / F / Q), ``mean_hr_bpm``, ``events`` (the event
  list of the viewer: PVCs, couplets, runs, bigeminy, APCs, atrial couplets and runs, fusion
  beats, pauses, highest and lowest rate; ``start``/``stop`` in samples, ``beat`` an index into
  ``beats``) and ``beats``: ``{"sample": int, "time_s": float, "label": "N"|"S"|"V"|"F"|"Q"}``
  for every detected beat; ``qt_trend`` (unless ``--no-qt``): every beat delineated by the
  bundled delineation network, the QT/QTc trend as in ``ecgviewer analyze`` (method, QTc
  formulas, record and per-hour medians of QT, RR, QTc Fridericia and Bazett, PR, QRS, the
  hour and the minute of longest QTc; see ``docs/measurements.md``) plus ``per_minute``, the
  same values per minute; the longest-QTc minute is also an event (``max_qtc``). A file that
  fails gives ``{"file": ..., "error": ...}``.
- otherwise a short text: beats, counts, mean rate, QT/QTc and the events.

The exit code is 0 when every file was analysed, 1 when at least one failed (the others
still ran), 2 for a usage error. Decision support only, like every result of the viewer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ecgviewer.core.beat_pass import BEAT_CLASSES, BeatPassResult
from ecgviewer.core.errors import EcgReadError
from ecgviewer.inference.errors import PredictionError
from ecgviewer.models.checkpoint import CheckpointError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgviewer beats",
        description="Detect every beat of ECG files (long records too) and label it with the AAMI "
        "classes N (normal), S (supraventricular ectopic), V (ventricular ectopic), F (fusion), "
        "Q (paced/unclassifiable), as the viewer's long-term mode does; print the beats, counts and events.",
    )
    p.add_argument("files", nargs="+", type=Path, help="ECG files (any format ecgviewer reads)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    p.add_argument(
        "--model",
        default=None,
        metavar="NAME|PATH|none",
        help="beat classifier (default the bundled beatnet); none: detection only (every beat N)",
    )
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"), help="default cpu")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the classifier (default 1)")
    p.add_argument(
        "--no-qt",
        action="store_true",
        help="do not delineate the beats (no QT/QTc trend; about half the time)",
    )
    return p


def beats_document(path: Path, result: BeatPassResult, seconds: float | None = None) -> dict[str, Any]:
    """The JSON object of one file (see the module docstring)."""
    summary = result.to_dict()
    fs = float(result.fs_hz)
    doc: dict[str, Any] = {
        "file": str(path),
        "fs_hz": fs,
        "beat_lead": result.lead,
        "method": result.method,
        "duration_s": round(result.duration_s, 3),
        "n_beats": result.n_beats,
        "counts": summary["counts"],
        "mean_hr_bpm": summary["mean_hr_bpm"],
        "events": [
            {**e, "time_s": round(e["start"] / fs, 3), "value": e["value"]} for e in summary["events"]
        ],
        "beats": [
            {"sample": int(s), "time_s": round(int(s) / fs, 3), "label": str(lab)}
            for s, lab in zip(result.r_peaks.tolist(), result.labels.tolist())
        ],
    }
    trend = result.intervals
    if trend is not None:
        doc["qt_trend"] = {
            **summary["interval_trend"],
            "per_minute": [trend.minutes.row(i) for i in range(len(trend.minutes))],
        }
    elif result.intervals_note:
        doc["qt_trend"] = {"error": result.intervals_note}
    if seconds is not None:
        doc["seconds"] = round(seconds, 2)
    return doc


def format_text(doc: dict[str, Any], max_events: int = 20) -> str:
    """A short text of one file's document."""
    if "error" in doc:
        return f"{doc['file']}: error: {doc['error']}"
    counts = ", ".join(f"{doc['counts'][c]} {c}" for c in BEAT_CLASSES)
    hr = f", mean HR {doc['mean_hr_bpm']:.0f} bpm" if doc["mean_hr_bpm"] is not None else ""
    lines = [
        f"{doc['file']}: {doc['n_beats']} beats in {doc['duration_s'] / 60:.1f} min "
        f"on lead {doc['beat_lead']} "
        f"({doc['fs_hz']:g} Hz, {doc['method']}){hr}",
        f"  beats: {counts}",
    ]
    kinds: dict[str, int] = {}
    for e in doc["events"]:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    rec = (doc.get("qt_trend") or {}).get("record") or {}
    if rec.get("qtc_fridericia_ms") is not None:
        longest = (doc["qt_trend"].get("longest_qtc_minute") or {}).get("qtc_fridericia_ms")
        lines.append(
            f"  QT {rec['qt_ms']:.0f} ms, QTc {rec['qtc_fridericia_ms']:.0f} ms (Fridericia), "
            f"{rec['qtc_bazett_ms']:.0f} ms (Bazett), PR {rec['pr_ms'] or float('nan'):.0f} ms "
            f"(medians of normal beats)" + (f"; longest QTc {longest:.0f} ms (1 min)" if longest else "")
        )
    if kinds:
        lines.append("  events: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    shown = [e for e in doc["events"] if e["kind"] not in ("PVC", "APC", "fusion")][:max_events]
    for e in shown:
        t = e["time_s"]
        lines.append(f"    {int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}  {e['text']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``ecgviewer beats``."""
    args = _parser().parse_args(argv)
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.inference.beats import DEFAULT_BEAT_MODEL, BeatClassifier, run_beat_pass

    classifier = None
    if (args.model or "").lower() != "none":
        try:
            classifier = BeatClassifier(
                args.model or DEFAULT_BEAT_MODEL, device=args.device, threads=args.threads
            )
        except (CheckpointError, OSError, ValueError) as exc:
            print(f"ecgviewer beats: cannot load the beat classifier: {exc}", file=sys.stderr)
            return 2
    delineator = None
    if not args.no_qt:
        try:
            from ecgviewer.inference.delineation import Delineator

            delineator = Delineator(device=args.device, batch_size=16)
            delineator.load()
        except (CheckpointError, OSError, ValueError, PredictionError) as exc:
            print(
                f"ecgviewer beats: no QT trend, cannot load the delineation network: {exc}", file=sys.stderr
            )
            delineator = None
    docs: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        t0 = time.perf_counter()
        try:
            with open_long_record(path) as rec:
                result = run_beat_pass(rec, classifier, delineator=delineator)
            assert result is not None  # never cancelled here
            doc = beats_document(path, result, time.perf_counter() - t0)
        except (EcgReadError, PredictionError, CheckpointError, OSError, ValueError) as exc:
            failed += 1
            doc = {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}
            print(f"ecgviewer beats: {path}: {exc}", file=sys.stderr)
        docs.append(doc)
        if not args.json:
            print(format_text(doc), flush=True)
    if args.json:
        json.dump(docs, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
