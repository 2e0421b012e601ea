"""``ecgviewer analyze FILE...``: model and classical intervals (and statements) from the command line.

Each file goes through :func:`ecgviewer.analysis.pipeline.analyze_record`; the
output is its measurement document (:meth:`~ecgviewer.analysis.RecordAnalysis.document`,
``docs/measurements.md``): ``--json`` prints a list of them, one per file, the
same documents ``--out`` writes as ``KEY.json`` (:mod:`ecgviewer.analysis.batch`);
without ``--json`` a short text is printed from each document. ``--classifier``
adds the statement classifier; by default the first installed bundled one, else
none (with a one-line note). ``--delineator`` chooses the wave delineation network
whose boundaries give the headline intervals (default the bundled one;
``--no-delineation`` or ``--delineator none``: not run, the headline values are then
null with the reason).

A record's **over-read** (the reader's corrections, ``docs/overread.md``) is looked up
beside it and in the user folder (:func:`ecgviewer.core.sidecar.load_sidecar`) and applied:
the headline values are then those after the reader's edits, each marked computed or edited
(``provenance``), and the document has an ``over_read`` section. A sidecar made when the
record's content was different is not applied (the document says so, and a warning goes to
stderr); ``--ignore-overread`` uses the computed values only. The batch (``--out``) does the
same per record and redoes a finished record whose sidecar changed since.

The command is registered in :data:`ecgviewer.cli.SUBCOMMANDS`. The networks
are loaded once, lazily: after the first file has been read (a bad path is
refused without importing torch), and with ``--out`` by the batch engine
(``--engine local`` or ``ray``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecgviewer.analysis.batch import (
    ENGINES,
    BatchConfig,
    ClassifierLoadError,
    DelineatorLoadError,
    EngineError,
    discover,
    format_summary,
    parse_reports,
    run_batch,
)
from ecgviewer.analysis.long_record import LongRecordAnalysis, analyze_long_record
from ecgviewer.analysis.models import ModelSet, check_classifier, check_delineator
from ecgviewer.analysis.overread import with_sidecar
from ecgviewer.analysis.pipeline import (
    DEFAULT_DELINEATOR,
    DEFAULT_MODEL,
    AnalysisOptions,
    RecordAnalysis,
    analyze_record,
)
from ecgviewer.core.errors import EcgReadError
from ecgviewer.inference.errors import PredictionError
from ecgviewer.models.checkpoint import CheckpointError
from ecgviewer.report.formatting import format_value
from ecgviewer.report.measurements import CLASSIFIER_PLACEHOLDER_WARNING, DECISION_SUPPORT_NOTE
from ecgviewer.resources import bundled_checkpoints, checkpoints_dir, installed_checkpoints


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgviewer analyze",
        description="Measure heart rate, PR, QRS and QT (and QTc) of ECG files: per-beat wave "
        "boundaries from a delineation network (the headline values), next to an interval regression "
        "model and a classical median-beat measurement.",
    )
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="ECG files (any format ecgviewer reads), folders of them, glob patterns ('ecgs/**/*.hea') "
        "and @LIST files (one path per line)",
    )
    models = ", ".join(c.name for c in bundled_checkpoints("intervals"))
    classifiers = ", ".join(c.name for c in bundled_checkpoints("classification"))
    delineators = ", ".join(c.name for c in bundled_checkpoints("delineation"))
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"{models} or a checkpoint path (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--classifier",
        metavar="NAME|PATH|none",
        help=f"statement classifier: {classifiers}, a classification checkpoint path, or none "
        "(default: the first bundled one that is installed, else none)",
    )
    p.add_argument(
        "--delineator",
        metavar="NAME|PATH|none",
        default=DEFAULT_DELINEATOR,
        help=f"wave delineation network (the headline intervals): {delineators or 'none bundled'}, a "
        f"delineation checkpoint path, or none (default {DEFAULT_DELINEATOR})",
    )
    p.add_argument(
        "--no-delineation",
        action="store_true",
        help="do not delineate the waves (as --delineator none): the headline intervals are null",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto: cuda > mps > cpu)")
    p.add_argument(
        "--stride",
        type=float,
        metavar="S",
        help="window hop in seconds (default 5; records of 5 min or more: 6 spaced windows per 10 min)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list with the measurement document of each file (as --out writes it)",
    )
    p.add_argument("--no-classical", action="store_true", help="skip the classical measurement")
    p.add_argument(
        "--ignore-overread",
        action="store_true",
        help="do not apply the reader's over-read files (RECORD.ecgv.json): the computed values only",
    )
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
    b.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: worker processes of this machine (default); ray: a Ray cluster (pip install "
        "'ecgviewer[distributed]'), embedded on this machine with --workers CPUs unless --ray-address",
    )
    b.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="--engine ray: join this running cluster (e.g. 127.0.0.1:6379 of 'ray start --head', or "
        "'auto'); default $RAY_ADDRESS, else a cluster embedded in this run",
    )
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


def delineator_choice(choice: str | None, off: bool = False) -> str | None:
    """The delineator ``--delineator`` names, None for ``none`` (any case) or ``--no-delineation``."""
    if off or choice is None or choice.strip().lower() == "none":
        return None
    return choice


def _print_text(doc: dict[str, Any]) -> None:
    """The human-readable summary of one measurement document."""
    m, model, quality = doc["measurements"], doc["model"], doc.get("quality")
    print(doc["record"]["file"])
    if quality is not None:
        print(f"  quality: {quality['reason'] or quality['summary']}")
    _print_intervals(doc)
    _print_overread(doc)
    if model is None:  # withheld (signal quality): no numbers
        why = (quality or {}).get("withheld", {}).get("intervals", "not run")
        print(f"  interval model: withheld ({why})")
    else:
        _print_model(model, m)
    _print_text_rest(doc)


def _print_intervals(doc: dict[str, Any]) -> None:
    """The headline intervals (the delineation's), each with its spread, or why absent."""
    iv = doc.get("intervals")
    if not iv:
        return
    if iv["method"] is None:
        print(f"  intervals: none ({iv['reason']})")
        return
    dl = doc.get("delineation") or {}
    n = f", {dl['n_delineated']} of {dl['n_beats']} beats, {len(dl['leads'])} leads" if "beats" in dl else ""
    print(f"  intervals: {iv['method']} (wave delineation{n})")
    for key, v in iv["values"].items():
        prov = v.get("provenance") or {}
        by = f"  edited by {prov['by']}" if prov.get("source") == "edited" else ""
        if v["value"] is None:
            print(f"  {key:17s}       —      absent: {v['reason']}{by}")
            continue
        spread = f"  ± {v['spread']:.1f}" if v["spread"] is not None else ""
        conf = f"  confidence {v['confidence']:.2f}" if v["confidence"] is not None else ""
        print(f"  {key:17s} {v['value']:7.1f} {v['unit']:3s}{spread}{conf}{by}")


def _print_overread(doc: dict[str, Any]) -> None:
    """Whose over-read the values carry, what the reader confirmed, the interpretation."""
    o = doc.get("over_read")
    if not o:
        return
    if not o["applied"]:
        print(f"  over-read: not applied ({o['message'] or o['status']})")
        return
    when = (o.get("modified") or o.get("last_edit") or "")[:10]
    print(f"  over-read by {o['reader']}" + (f" on {when}" if when else "") + f" ({o['n_edits']} edits)")
    st = o.get("statements") or {}
    if st.get("confirmed") or st.get("rejected"):
        print(f"  confirmed by the reader: {', '.join(st['confirmed']) or 'none'}")
        if st.get("rejected"):
            print(f"  rejected by the reader: {', '.join(st['rejected'])}")
    if o.get("interpretation"):
        print(f"  interpretation: {o['interpretation']['text']}")


def _print_model(model: dict[str, Any], m: dict[str, Any]) -> None:
    print(
        f"  interval model: {model['name']} ({model['status']}, {model['device']}, "
        f"{model['n_windows']} windows)"
    )
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
    for w in model["warnings"]:
        print(f"  note: {w}")


def _print_text_rest(doc: dict[str, Any]) -> None:
    m = doc["measurements"]
    if doc["classical"]:

        def cl(key: str, unit: str) -> str:
            return format_value(m[key]["classical"], unit, missing="n/a")

        print(
            f"  classical: HR {cl('hr_bpm', 'bpm')}, PR {cl('pr_ms', 'ms')}, QRS {cl('qrs_ms', 'ms')}, "
            f"QT {cl('qt_ms', 'ms')} ({doc['classical']['n_beats']} beats)"
        )
    k = doc["classification"]
    if k and k.get("withheld"):
        print(f"  classifier {k['name']}: withheld ({k['error']})")
    elif k and "error" in k:
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


class _NetworksNotLoaded(Exception):
    """A network could not be loaded (message: the one line to print); ends ``analyze`` with exit code 2."""


def analyze_file(
    path: Path,
    options: AnalysisOptions,
    models: ModelSet,
    progress_bar: bool = True,
    opened: Callable[[], None] | None = None,
    *,
    overread: bool = True,
) -> RecordAnalysis | LongRecordAnalysis:
    """Open one file with the viewer's reading path and analyse it.

    A short record is read whole and analysed with
    :func:`~ecgviewer.analysis.pipeline.analyze_record`; a long one
    (:func:`~ecgviewer.core.opening.is_long`) is streamed segment by segment with
    :func:`~ecgviewer.analysis.long_record.analyze_long_record` (record values plus
    ``per_hour``), with a progress bar on stderr unless ``progress_bar`` is False.
    ``opened`` is called once the file is open (``analyze`` loads its networks then,
    so a bad path is refused before any network loads). The record's over-read (its sidecar) is
    applied (:func:`ecgviewer.analysis.overread.with_sidecar`; a long record's beat list too);
    ``overread`` False: ignored (status ``"ignored"``).

    Raises
    ------
    EcgReadError, OSError
        The file cannot be read.
    """
    if not path.exists() and not path.with_name(path.name + ".hea").exists():
        raise FileNotFoundError(f"{path}: no such file or folder")  # before the readers are imported
    from ecgviewer.core.opening import is_long, open_record

    with open_record(path) as rec:
        if opened is not None:
            opened()
        if not is_long(rec):
            record = rec.read_all()
        else:
            from tqdm import tqdm

            total = round(rec.duration_s)
            with tqdm(
                total=total, desc=path.name, unit="s", file=sys.stderr, disable=not progress_bar, leave=False
            ) as bar:
                long = analyze_long_record(
                    rec,
                    options,
                    models=models,
                    progress=lambda done, _total: bar.update(round(done) - bar.n),
                    source=str(path),
                )
                with_read = with_sidecar(long.analysis, path, ignore=not overread, beats=long.beats)
                return dataclasses.replace(long, analysis=with_read)
    analysis = analyze_record(record, options, models=models, source=str(path))
    return with_sidecar(analysis, path, ignore=not overread)


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
        delineator=delineator_choice(args.delineator, args.no_delineation),
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
    delineator = None
    try:
        if options.delineator is not None:
            delineator = models.delineator(
                options.delineator, options.device, batch_size=run["batch_size"], load=False
            )
            check_delineator(delineator)  # the JSON only, as for the classifier
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load delineator {args.delineator!r}: {exc}", file=sys.stderr)
        return 2
    try:
        # loaded once, lazily: by the batch engine, or below after the first file is read
        predictor = models.predictor(options.model, options.device, **run, load=False)
        if args.out is not None:
            return _batch(args, reports, predictor, classifier, delineator)
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load model {args.model!r}: {exc}", file=sys.stderr)
        return 2
    files: list[Path] = []
    for f in args.files:  # folders, patterns and lists expand to records; files are taken as they are
        try:
            files += [i.path for i in discover([f], args.recursive)] if not f.is_file() else [f]
        except FileNotFoundError:
            files.append(f)  # reported below, with the others
    results: list[dict[str, Any]] = []
    failed = False
    loaded = False

    def load_networks() -> None:  # once, after the first file that opens
        nonlocal loaded
        if loaded:
            return
        loaded, what, name = True, "model", args.model
        try:
            predictor.load()
            if classifier is not None:
                what, name = "classifier", args.classifier
                classifier.load()
            if delineator is not None:
                what, name = "delineator", args.delineator
                delineator.load()
        except (CheckpointError, PredictionError, ValueError) as exc:
            raise _NetworksNotLoaded(f"error: cannot load {what} {name!r}: {exc}") from exc

    for path in files:
        try:
            analysis = analyze_file(
                path,
                options,
                models,
                progress_bar=not args.quiet,
                opened=load_networks,
                overread=not args.ignore_overread,
            )
        except _NetworksNotLoaded as exc:
            print(exc, file=sys.stderr)
            return 2
        except (EcgReadError, OSError, ValueError) as exc:
            entry: dict[str, Any] = {"file": str(path), "error": _file_error(path, str(exc))}
        else:
            if analysis.prediction is None and "intervals" not in analysis.withheld:  # the file failed
                entry = {"file": str(path), "error": _file_error(path, analysis.interval_error or "")}
            else:
                _warn_overread(path, getattr(analysis, "analysis", analysis))
                entry = analysis.document()
                if analysis.classification_error is not None:
                    failed = True
                    print(f"error: {path}: classifier: {analysis.classification_error}", file=sys.stderr)
                why = getattr(analysis, "delineation_error", None)  # a long record is not delineated
                if why is not None:  # written without headline intervals
                    failed = True
                    print(f"error: {path}: delineation: {why}", file=sys.stderr)
        if "error" in entry:
            failed = True
            print(f"error: {entry['error']}", file=sys.stderr)
        results.append(entry)
        if not args.json and "error" not in entry:
            _print_text(entry)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def _warn_overread(path: Path, analysis: RecordAnalysis) -> None:
    """A warning line on stderr when the record's over-read exists but is not applied."""
    if analysis.overread_status in ("record changed", "unreadable"):
        print(f"warning: {path}: {analysis.overread_message}", file=sys.stderr)


def _file_error(path: Path, message: str) -> str:
    return message if str(path) in message else f"{path}: {message}"


def _batch(
    args: argparse.Namespace,
    reports: tuple[str, ...],
    predictor: Any,
    classifier: Any,
    delineator: Any = None,
) -> int:
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
        stride_s=args.stride if args.stride is not None else 5.0,
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
        engine=args.engine,
        ray_address=args.ray_address,
        overread=not args.ignore_overread,
    )
    try:
        summary = run_batch(config, predictor, classifier=classifier, delineator=delineator)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DelineatorLoadError as exc:
        print(f"error: cannot load delineator {delineator.model_name!r}: {exc}", file=sys.stderr)
        return 2
    except ClassifierLoadError as exc:
        print(f"error: cannot load classifier {classifier.model_name!r}: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"error: --engine {args.engine}: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.out), file=sys.stderr)
    if summary.interrupted:
        return 130
    return 1 if summary.failed or summary.not_classified or summary.not_delineated else 0
