"""``ecgviewer analyze FILE...``: model and classical intervals (and statements) from the command line.

Torch is imported inside :func:`main` only (via :class:`Predictor`), so registering
the subcommand at start-up costs nothing. ``--classifier`` adds the statement
classifier (:class:`~ecgviewer.inference.classifier.Classifier`); by default the
first installed bundled one, else none (with a one-line note).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecgviewer.cli import register_subcommand

register_subcommand(
    "analyze", "ecgviewer.inference.cli:main", "predict PR/QRS/QT/HR with a model (and classically)"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgviewer analyze",
        description="Predict heart rate, PR, QRS and QT (and QTc) of ECG files with an interval "
        "model, next to a classical median-beat measurement.",
    )
    p.add_argument(
        "files", nargs="+", type=Path, help="ECG files (any format ecgviewer reads) and folders of them"
    )
    p.add_argument(
        "--model", default="resnet1d", help="resnet1d, vit1d or a checkpoint path (default resnet1d)"
    )
    p.add_argument(
        "--classifier",
        metavar="NAME|PATH|none",
        help="statement classifier: ptbxl_resnet18, ptbxl_crnn, a classification checkpoint path, or none "
        "(default: the first bundled one that is installed, else none)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto: cuda > mps > cpu)")
    p.add_argument("--stride", type=float, default=5.0, metavar="S", help="window hop in seconds (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    p.add_argument("--no-classical", action="store_true", help="skip the classical measurement")
    b = p.add_argument_group(
        "batch (with --out)",
        "Analyse many records: files read in parallel, the model batched, per-file outputs plus one "
        "measurements.csv and errors.csv in OUTDIR; a rerun skips finished records.",
    )
    b.add_argument("-r", "--recursive", action="store_true", help="scan sub-folders of folder arguments")
    b.add_argument("--out", type=Path, metavar="OUTDIR", help="write results to OUTDIR (batch mode)")
    b.add_argument(
        "--report", default="json,csv", metavar="KINDS", help="any of pdf,json,csv (default json,csv)"
    )
    b.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="processes that read files and draw reports (0: all in this process; default: CPU count, max 4)",
    )
    b.add_argument("--force", action="store_true", help="redo records that an earlier run finished")
    b.add_argument(
        "--batch-size", type=int, default=32, metavar="B", help="windows per model batch (default 32)"
    )
    b.add_argument(
        "--paper", choices=("A4", "Letter"), default="A4", help="PDF paper size, landscape (default A4)"
    )
    b.add_argument("--layout", choices=("3x4", "6x2", "12x1"), default="3x4", help="PDF lead layout")
    b.add_argument(
        "--anonymize",
        action="store_true",
        help="leave the patient fields of the files (name, ID, birth date, age, sex ...) out of the PDFs",
    )
    b.add_argument("--speed", type=float, choices=(25.0, 50.0), default=25.0, help="PDF paper speed, mm/s")
    b.add_argument("--gain", type=float, choices=(5.0, 10.0, 20.0), default=10.0, help="PDF gain, mm/mV")
    b.add_argument(
        "--pages", type=int, default=1, metavar="N", help="PDF pages of 10 s per record (default 1)"
    )
    b.add_argument("--highpass", type=float, metavar="HZ", help="display filter of the PDF, e.g. 0.5")
    b.add_argument("--notch", type=float, metavar="HZ", help="display filter of the PDF: 50 or 60")
    b.add_argument("--lowpass", type=float, metavar="HZ", help="display filter of the PDF, e.g. 40")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def make_classifier(
    choice: str | None,
    device: str = "auto",
    stride_s: float = 5.0,
    batch_size: int = 32,
    note: Callable[[str], None] | None = None,
) -> Any:
    """The :class:`~ecgviewer.inference.classifier.Classifier` that ``--classifier`` names, or None.

    ``choice`` None: the first installed bundled classifier, else None with a
    one-line ``note``; ``"none"``: None. Only the checkpoint's JSON is read here
    (torch is not imported): a missing file or a checkpoint of another task
    raises :class:`~ecgviewer.models.checkpoint.CheckpointError` at once.
    """
    from ecgviewer.inference.classifier import BUNDLED_CLASSIFIERS, Classifier
    from ecgviewer.models.checkpoint import CheckpointError, read_meta
    from ecgviewer.resources import checkpoints_dir, installed_checkpoints

    if choice is None:
        installed = installed_checkpoints(BUNDLED_CLASSIFIERS)
        if not installed:
            if note is not None:
                note(
                    f"note: no statement classifier installed ({', '.join(BUNDLED_CLASSIFIERS)} are not in "
                    f"{checkpoints_dir()}): intervals only; --classifier PATH uses a checkpoint"
                )
            return None
        choice = installed[0]
    if choice.strip().lower() == "none":
        return None
    classifier = Classifier(choice, device=device, stride_s=stride_s, batch_size=batch_size)
    task = read_meta(classifier.checkpoint_path).task
    if task != "classification":
        raise CheckpointError(f"{classifier.checkpoint_path}: task {task!r}, not a classification checkpoint")
    return classifier


def analyze_file(
    path: Path, predictor: Any, classical: bool = True, classifier: Any = None
) -> dict[str, Any]:
    """Read one file and return its JSON-ready analysis (raises when the intervals fail).

    With a ``classifier`` the entry gets ``classification``: its result (run on the
    interval model's windows when both models take the same input), or
    ``{"model", "error"}`` when it failed on this record.
    """
    from ecgviewer.core.beats import analyze_beats
    from ecgviewer.core.readers import read_record
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.inference.preprocess import prepare_windows

    record = read_record(path)
    entry: dict[str, Any] = {"file": str(path)}
    t0 = time.perf_counter()
    spec = predictor.input_spec()
    windows = prepare_windows(record, **spec)
    [prediction] = predictor.predict_windows([windows])
    if isinstance(prediction, Exception):
        raise prediction
    entry.update(dataclasses.replace(prediction, elapsed_s=time.perf_counter() - t0).to_dict())
    if classical:
        entry["classical"] = {k: _finite(v) for k, v in analyze_beats(record).intervals.to_dict().items()}
    if classifier is not None:
        try:
            t0 = time.perf_counter()
            class_spec = classifier.input_spec()
            same = class_spec == spec
            [result] = classifier.classify_windows(
                [windows if same else prepare_windows(record, **class_spec)]
            )
            if isinstance(result, Exception):
                raise result
            entry["classification"] = dataclasses.replace(
                result, elapsed_s=time.perf_counter() - t0
            ).to_dict()
        except PredictionError as exc:
            entry["classification"] = {"model": classifier.model_name, "error": str(exc)}
    return entry


def _fmt(v: float | None, unit: str) -> str:
    return "n/a" if v is None else f"{v:.0f} {unit}"


def _print_text(e: dict[str, Any]) -> None:
    print(e["file"])
    print(f"  model: {e['model']} ({e['status']}, {e['device']}, {len(e['window_starts_s'])} windows)")
    if e.get("warning"):
        print(f"  *** {e['warning']} ***")
    for name in ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
        s = e["spread"][name]
        print(
            f"  {name:8s} {e[name]:7.1f} {e['units'][name]:3s}  (IQR {s['iqr']:.1f}, "
            f"min {s['min']:.1f}, max {s['max']:.1f}, n={s['n_windows']})"
        )
    print(f"  QTc      Bazett {e['qtc_bazett_ms']:.0f} ms, Fridericia {e['qtc_fridericia_ms']:.0f} ms")
    c = e.get("classical")
    if c:
        print(
            f"  classical: HR {_fmt(c['hr_bpm'], 'bpm')}, PR {_fmt(c['pr_ms'], 'ms')}, "
            f"QRS {_fmt(c['qrs_ms'], 'ms')}, QT {_fmt(c['qt_ms'], 'ms')} ({c['n_beats']} beats)"
        )
    for w in e["warnings"]:
        print(f"  note: {w}")
    k = e.get("classification")
    if k and "error" in k:
        print(f"  classifier {k['model']}: error: {k['error']}")
    elif k:
        from ecgviewer.report.measurements import CLASSIFIER_PLACEHOLDER_WARNING, DECISION_SUPPORT_NOTE

        if not k["trained"]:
            print(f"  *** classifier: {CLASSIFIER_PLACEHOLDER_WARNING} ***")
        stated = ", ".join(k["statements"]) or "none above threshold"
        print(f"  statements: {stated}  ({k['model']}, {k['checkpoint_status']}; {DECISION_SUPPORT_NOTE})")
        probs = ", ".join(
            f"{c['name']} {100 * c['probability']:.0f}%" + ("*" if c["positive"] else "")
            for c in k["classes"]
        )
        print(f"  classes:  {probs}  (* = at or above its threshold)")


def main(argv: list[str]) -> int:
    """Analyse each file; return 1 if any failed (after processing the rest), 2 if the model failed."""
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.inference.batch import discover, parse_reports
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.models.checkpoint import CheckpointError

    parser = _parser()
    args = parser.parse_args(argv)
    if args.out is not None:
        try:
            reports = parse_reports(args.report)
        except ValueError as exc:
            parser.error(str(exc))
        if args.workers < 0 or args.batch_size < 1 or args.pages < 1:
            parser.error("--workers must be >= 0, --batch-size and --pages >= 1")
    try:
        classifier = make_classifier(
            args.classifier,
            device=args.device,
            stride_s=args.stride,
            batch_size=max(1, args.batch_size),
            note=lambda msg: print(msg, file=sys.stderr),
        )
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load classifier {args.classifier!r}: {exc}", file=sys.stderr)
        return 2
    try:
        predictor = Predictor(
            args.model, device=args.device, stride_s=args.stride, batch_size=max(1, args.batch_size)
        )
        if args.out is not None:  # the batch engine loads them while its workers start
            return _batch(args, reports, predictor, classifier)
        predictor.load()
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load model {args.model!r}: {exc}", file=sys.stderr)
        return 2
    if classifier is not None:
        try:
            classifier.load()
        except (CheckpointError, PredictionError, ValueError) as exc:
            print(f"error: cannot load classifier {args.classifier!r}: {exc}", file=sys.stderr)
            return 2
    files: list[Path] = []
    for f in args.files:  # folders expand to the records in them; files are taken as they are
        files += [i.path for i in discover([f], args.recursive)] if f.is_dir() else [f]
    results, failed = [], False
    for path in files:
        try:
            entry = analyze_file(path, predictor, classical=not args.no_classical, classifier=classifier)
            if "error" in entry.get("classification", {}):
                failed = True
                print(f"error: {path}: classifier: {entry['classification']['error']}", file=sys.stderr)
        except (EcgReadError, PredictionError, OSError, ValueError) as exc:
            failed = True
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            print(f"error: {msg}", file=sys.stderr)
            entry = {"file": str(path), "error": msg}
        results.append(entry)
        if not args.json and "error" not in entry:
            _print_text(entry)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def _batch(args: argparse.Namespace, reports: tuple[str, ...], predictor: Any, classifier: Any) -> int:
    """``--out``: the batch engine (:mod:`ecgviewer.inference.batch`)."""
    from ecgviewer.inference.batch import BatchConfig, ClassifierLoadError, format_summary, run_batch

    config = BatchConfig(
        inputs=list(args.files),
        out_dir=args.out,
        reports=reports,
        recursive=args.recursive,
        model=args.model,
        device=args.device,
        workers=args.workers,
        force=args.force,
        stride_s=args.stride,
        batch_size=args.batch_size,
        classical=not args.no_classical,
        report_options={
            "paper": args.paper,
            "layout": args.layout,
            "speed_mm_per_s": args.speed,
            "gain_mm_per_mv": args.gain,
            "max_pages": args.pages,
            "include_patient": not args.anonymize,
        },
        filters_hz=(args.highpass, args.notch, args.lowpass),
        progress=not args.quiet,
    )
    try:
        summary = run_batch(config, predictor, classifier=classifier)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ClassifierLoadError as exc:
        print(f"error: cannot load classifier {classifier.model_name!r}: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.out), file=sys.stderr)
    if summary.interrupted:
        return 130
    return 1 if summary.failed or summary.not_classified else 0
