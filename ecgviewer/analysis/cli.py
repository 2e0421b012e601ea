"""``ecgviewer analyze FILE...``: model and classical intervals (and statements) from the command line.

Each file goes through :func:`ecgviewer.analysis.pipeline.analyze_record`; the
output is its measurement document (:meth:`~ecgviewer.analysis.RecordAnalysis.document`,
``docs/measurements.md``): ``--json`` prints a list of them, one per file, the
same documents ``--out`` writes as ``KEY.json`` (:mod:`ecgviewer.analysis.batch`);
without ``--json`` a short text is printed from each document. ``--classifier``
adds the statement classifier; by default the first installed bundled one, else
none (with a one-line note).

The command is registered in :data:`ecgviewer.cli.SUBCOMMANDS`; torch is imported
only when a model loads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecgviewer.analysis.batch import (
    BatchConfig,
    ClassifierLoadError,
    discover,
    format_summary,
    parse_reports,
    run_batch,
)
from ecgviewer.analysis.models import ModelSet, check_classifier
from ecgviewer.analysis.pipeline import DEFAULT_MODEL, AnalysisOptions, RecordAnalysis, analyze_record
from ecgviewer.core.errors import EcgReadError
from ecgviewer.inference.errors import PredictionError
from ecgviewer.models.checkpoint import CheckpointError
from ecgviewer.report.formatting import format_value
from ecgviewer.report.measurements import CLASSIFIER_PLACEHOLDER_WARNING, DECISION_SUPPORT_NOTE
from ecgviewer.resources import bundled_checkpoints, checkpoints_dir, installed_checkpoints


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgviewer analyze",
        description="Predict heart rate, PR, QRS and QT (and QTc) of ECG files with an interval "
        "model, next to a classical median-beat measurement.",
    )
    p.add_argument(
        "files", nargs="+", type=Path, help="ECG files (any format ecgviewer reads) and folders of them"
    )
    models = ", ".join(c.name for c in bundled_checkpoints("intervals"))
    classifiers = ", ".join(c.name for c in bundled_checkpoints("classification"))
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"{models} or a checkpoint path (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--classifier",
        metavar="NAME|PATH|none",
        help=f"statement classifier: {classifiers}, a classification checkpoint path, or none "
        "(default: the first bundled one that is installed, else none)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto: cuda > mps > cpu)")
    p.add_argument("--stride", type=float, default=5.0, metavar="S", help="window hop in seconds (default 5)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list with the measurement document of each file (as --out writes it)",
    )
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


def classifier_choice(choice: str | None, note: Callable[[str], None] | None = None) -> str | None:
    """The classifier ``--classifier`` names, or None for none.

    ``choice`` None: the first installed bundled classifier, else None with a
    one-line ``note``; ``"none"`` (any case): None; anything else as given.
    """
    if choice is None:
        names = [c.name for c in bundled_checkpoints("classification")]
        installed = installed_checkpoints(names)
        if not installed:
            if note is not None:
                listed = f"{', '.join(names)} are not in " if names else "none is in "
                note(
                    f"note: no statement classifier installed ({listed}{checkpoints_dir()}): intervals only; "
                    "--classifier PATH uses a checkpoint"
                )
            return None
        return installed[0]
    return None if choice.strip().lower() == "none" else choice


def _print_text(doc: dict[str, Any]) -> None:
    """The human-readable summary of one measurement document."""
    m, model = doc["measurements"], doc["model"]
    print(doc["record"]["file"])
    print(f"  model: {model['name']} ({model['status']}, {model['device']}, {model['n_windows']} windows)")
    if model["warning"]:
        print(f"  *** {model['warning']} ***")
    for name in ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
        row, s = m[name], m[name]["model_spread"]
        print(
            f"  {name:8s} {row['model']:7.1f} {row['unit']:3s}  (IQR {s['iqr']:.1f}, "
            f"min {s['min']:.1f}, max {s['max']:.1f}, n={s['n_windows']})"
        )
    bazett, fridericia = m["qtc_bazett_ms"]["model"], m["qtc_fridericia_ms"]["model"]
    print(f"  QTc      Bazett {format_value(bazett, 'ms')}, Fridericia {format_value(fridericia, 'ms')}")
    if doc["classical"]:

        def cl(key: str, unit: str) -> str:
            return format_value(m[key]["classical"], unit, missing="n/a")

        print(
            f"  classical: HR {cl('hr_bpm', 'bpm')}, PR {cl('pr_ms', 'ms')}, QRS {cl('qrs_ms', 'ms')}, "
            f"QT {cl('qt_ms', 'ms')} ({doc['classical']['n_beats']} beats)"
        )
    for w in model["warnings"]:
        print(f"  note: {w}")
    k = doc["classification"]
    if k and "error" in k:
        print(f"  classifier {k['name']}: error: {k['error']}")
    elif k:
        if not k["trained"]:
            print(f"  *** classifier: {CLASSIFIER_PLACEHOLDER_WARNING} ***")
        stated = ", ".join(k["statements"]) or "none above threshold"
        print(f"  statements: {stated}  ({k['name']}, {k['status']}; {DECISION_SUPPORT_NOTE})")
        probs = ", ".join(
            f"{c['name']} {100 * c['probability']:.0f}%"
            + ("*" if c.get("stated", c["positive"]) else "+" if c["positive"] else "")
            for c in k["classes"]
        )
        print(f"  classes:  {probs}  (* = stated; + = above its threshold, withheld for coherence)")


def analyze_file(path: Path, options: AnalysisOptions, models: ModelSet) -> RecordAnalysis:
    """Read one file and analyse it (:func:`~ecgviewer.analysis.pipeline.analyze_record`).

    Raises
    ------
    EcgReadError, OSError
        The file cannot be read.
    """
    from ecgviewer.core.readers import read_record

    return analyze_record(read_record(path), options, models=models, source=str(path))


def main(argv: list[str]) -> int:
    """Analyse each file; return 1 if any failed (after processing the rest), 2 if a model failed to load."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.out is not None:
        try:
            reports = parse_reports(args.report)
        except ValueError as exc:
            parser.error(str(exc))
        if args.workers < 0 or args.batch_size < 1 or args.pages < 1:
            parser.error("--workers must be >= 0, --batch-size and --pages >= 1")
    options = AnalysisOptions(
        model=args.model,
        classifier=classifier_choice(args.classifier, note=lambda msg: print(msg, file=sys.stderr)),
        device=args.device,
        stride_s=args.stride,
        batch_size=max(1, args.batch_size),
        classical=not args.no_classical,
    )
    models = ModelSet()
    run = dict(stride_s=options.stride_s, batch_size=options.batch_size)
    classifier = None
    try:
        if options.classifier is not None:
            classifier = models.classifier(options.classifier, options.device, **run, load=False)
            check_classifier(classifier)  # the JSON only: a wrong checkpoint is refused before any work
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load classifier {args.classifier!r}: {exc}", file=sys.stderr)
        return 2
    try:
        # --out: the batch engine loads the models while its workers start
        predictor = models.predictor(options.model, options.device, **run, load=args.out is None)
        if args.out is not None:
            return _batch(args, reports, predictor, classifier)
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
    results: list[dict[str, Any]] = []
    failed = False
    for path in files:
        try:
            analysis = analyze_file(path, options, models)
        except (EcgReadError, OSError, ValueError) as exc:
            entry: dict[str, Any] = {"file": str(path), "error": _file_error(path, str(exc))}
        else:
            if analysis.prediction is None:  # no intervals: the file failed
                entry = {"file": str(path), "error": _file_error(path, analysis.interval_error or "")}
            else:
                entry = analysis.document()
                if analysis.classification_error is not None:
                    failed = True
                    print(f"error: {path}: classifier: {analysis.classification_error}", file=sys.stderr)
        if "error" in entry:
            failed = True
            print(f"error: {entry['error']}", file=sys.stderr)
        results.append(entry)
        if not args.json and "error" not in entry:
            _print_text(entry)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def _file_error(path: Path, message: str) -> str:
    return message if str(path) in message else f"{path}: {message}"


def _batch(args: argparse.Namespace, reports: tuple[str, ...], predictor: Any, classifier: Any) -> int:
    """``--out``: the batch engine (:mod:`ecgviewer.analysis.batch`)."""
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
