"""The batch engine of ``ecgviewer analyze DIR_OR_FILES... --out OUTDIR``.

Pipeline
--------
1. **Find** the inputs (:func:`discover`): files as given, folders scanned
   (``--recursive``: with subfolders) for the extensions the reader registry
   knows, glob patterns (``'ecgs/**/*.hea'``) and list files (``@LIST``: one
   path per line); a WFDB ``.dat`` beside its ``.hea`` is the same record and is
   skipped; nothing inside ``OUTDIR`` is taken as input.
2. **Prepare** (:func:`prepare_job`, in worker processes): read the file, cut
   and scale the model's windows
   (:func:`~ecgviewer.inference.preprocess.prepare_windows`), run the classical
   median-beat measurement (:func:`~ecgviewer.analysis.pipeline.classical_analysis`)
   and resample the leads the wave delineation takes
   (:func:`~ecgviewer.inference.delineation.prepare_delineation`, its beats the
   classical R peaks, as in ``ecgviewer analyze FILE``).
3. **Predict** (:func:`predict_records`): the windows of many records go
   through the model together, in batches (on the GPU when there is one); then,
   with a statement classifier, the same windows (or its own, when its input
   differs) through the classifier; then the delineation network's windows of the
   same records, batched across them too. A classifier or delineation failure on one
   record is logged (stage ``classifier``, ``delineation``) and its outputs are
   written without statements or without headline intervals (with the reason).
4. **Write** (:func:`write_job`): assemble the record's
   :class:`~ecgviewer.analysis.pipeline.RecordAnalysis` with
   :func:`~ecgviewer.analysis.pipeline.record_analysis` (the same code as
   ``ecgviewer analyze FILE``, so both give the same document), write
   ``KEY.json``, ``KEY.pdf`` and then the record's state file: the record is
   done as soon as its last output is.
5. **Keep the books** (:class:`BatchRun`): ``measurements.csv`` (all finished
   records) and ``errors.csv`` (file, stage, reason) rewritten while records
   finish (at most every :data:`CSV_FLUSH_S` s) and at the end.

Engines
-------
Only the scheduling of steps 2-4 differs between engines (``--engine``):
:class:`LocalEngine` (default; worker processes of this machine, the networks in
this process) and :class:`ecgviewer.analysis.ray_engine.RayEngine` (Ray tasks
on a cluster's CPUs, the networks in an actor pool, one actor per GPU). An
engine is an object with a ``name`` and ``run(batch_run)`` that calls
:meth:`BatchRun.finished` or :meth:`BatchRun.failed` once per record of
``batch_run.todo``; :func:`run_batch` does the rest.

Every file is written atomically (:mod:`ecgviewer.core.io_utils`), so a killed
run leaves only complete outputs (and perhaps temporary files, removed by the
next run). A record counts as finished when its state file
``OUTDIR/.ecgviewer-batch/KEY.json`` exists, names the same source file (size
and modification time), lists every requested output, was made with the same
classifier (name and weights' sha256, or none) and holds a document of the
current schema version; a rerun skips finished records (``--force`` redoes them)
and rebuilds ``measurements.csv`` from the state files, so every record appears
exactly once.

Worker processes are started with ``forkserver`` (``spawn`` where there is no
fork): never forked from this process, which holds torch and perhaps CUDA. They
end when this process ends, even by ``SIGKILL`` (:mod:`ecgviewer.analysis.lifeline`),
and so do the forkserver and the resource tracker.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ecgviewer.analysis.errors import reason
from ecgviewer.analysis.lifeline import die_with_parent, main_pid_env, watch_process
from ecgviewer.analysis.overread import (
    IGNORED,
    apply_overread,
    report_arguments,
    sidecar_changed,
    sidecar_possible,
    sidecar_stamp,
)
from ecgviewer.analysis.pipeline import (
    DEFAULT_DELINEATOR,
    DEFAULT_MODEL,
    assess,
    classical_analysis,
    delineation_plan,
    delineation_r_peaks,
    record_analysis,
    withheld_reasons,
)
from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.filters import FilterSettings, filtered_record
from ecgviewer.core.io_utils import atomic_write, atomic_write_bytes, remove_stale_temp_files
from ecgviewer.core.readers.wfdb_reader import header_path
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.sidecar import SIDECAR_SUFFIX, default_user_dir
from ecgviewer.inference.errors import PredictionError
from ecgviewer.layout.paper import PAGE_S
from ecgviewer.models.checkpoint import CheckpointError, read_meta
from ecgviewer.report.measurements import SCHEMA_VERSION, ClassificationFailure, csv_text

#: What ``--report`` accepts.
REPORT_KINDS: tuple[str, ...] = ("pdf", "json", "csv")
#: Folder (inside OUTDIR) of the per-record state files.
STATE_DIR = ".ecgviewer-batch"
MEASUREMENTS_CSV = "measurements.csv"
ERRORS_CSV = "errors.csv"
ERROR_COLUMNS = ("file", "stage", "error")
#: Seconds between rewrites of the two CSV files during a run.
CSV_FLUSH_S = 1.0
#: Records kept in a worker after preparing them, for its PDF job (bytes of samples at most).
_WORKER_CACHE_BYTES = 256 * 1024 * 1024


# -- inputs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputFile:
    """One record to analyse: its path and its output key (relative path without extension)."""

    path: Path
    key: str


def _known_extensions() -> set[str]:
    from ecgviewer.core.readers import readers

    return {e for r in readers() for e in r.extensions}


def _is_inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


_GLOB_CHARS = frozenset("*?[")


def _scan(
    folder: Path, files: Sequence[Path], exts: set[str], exclude: Path | None
) -> list[tuple[Path, str]]:
    """The ECG files among ``files`` (found in ``folder``), keyed by their path relative to it."""
    found = []
    for p in files:
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or _is_inside(p, exclude):
            continue
        suffix = p.suffix.lower()
        if suffix not in exts or p.name.endswith(SIDECAR_SUFFIX):  # an over-read is no record
            continue
        if suffix in (".dat", ".mat") and p.with_suffix(".hea").exists():
            continue  # the signal file of a WFDB record: the .hea is the record
        found.append((p, rel.with_suffix("").as_posix()))
    return found


def _glob_root(pattern: str) -> Path:
    """The folder part of ``pattern`` before its first wildcard (keys are relative to it)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def read_list_file(path: Path) -> list[Path]:
    """The inputs a list file names: one per line, as on the command line (blank and ``#`` lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FileNotFoundError(f"{path}: cannot read the list file ({exc.strerror or exc})") from None
    return [Path(s) for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def discover(inputs: Sequence[Path], recursive: bool = False, exclude: Path | None = None) -> list[InputFile]:
    """The records named by ``inputs``, each with a unique output key.

    Parameters
    ----------
    inputs
        Files (taken as they are, whatever their extension; key: the name without
        extension), folders (scanned for files with a known ECG extension, hidden
        files left out; key: the path relative to the folder), glob patterns
        (``ecgs/**/*.hea``, ``**`` for any depth; matches filtered as in a
        folder; key: relative to the pattern's fixed folder) and list files
        (``@LIST``: one input per line, as on the command line).
    recursive
        Scan sub-folders too.
    exclude
        A folder whose content is never taken (the output folder).

    Raises
    ------
    FileNotFoundError
        An input that does not exist, a pattern that matches nothing, a list file that cannot be read.
    """
    exts = _known_extensions()
    found: list[tuple[Path, str]] = []
    queue = [Path(i) for i in inputs]
    while queue:
        item = queue.pop(0)
        text = str(item)
        if item.is_dir():
            pattern = item.rglob("*") if recursive else item.glob("*")
            found += _scan(item, sorted(p for p in pattern if p.is_file()), exts, exclude)
        elif item.exists() or item.with_name(item.name + ".hea").exists():
            found.append((item, item.stem if item.suffix else item.name))
        elif text.startswith("@") and len(text) > 1:
            queue[:0] = read_list_file(Path(text[1:]))
        elif _GLOB_CHARS & set(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            root = _glob_root(text)
            hits = _scan(root, [p for p in matches if _is_inside(p, root)], exts, exclude)
            if not hits:
                raise FileNotFoundError(f"{item}: no ECG file matches this pattern")
            found += hits
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    out: list[InputFile] = []
    seen: dict[str, int] = {}
    for path, key in found:
        key = key or "record"
        n = seen.get(key, 0) + 1
        seen[key] = n
        out.append(InputFile(path, key if n == 1 else f"{key}~{n}"))
    return out


# -- passing frozen dataclasses between processes -----------------------------------------------
@dataclass(frozen=True)
class _Packed:
    cls: type
    fields: dict[str, Any]


def pack(obj: Any) -> Any:
    """Make ecgviewer's frozen result types picklable (their read-only mappings are not)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _Packed(
            type(obj), {f.name: pack(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        )
    if isinstance(obj, (MappingProxyType, dict)):
        return {k: pack(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(pack(v) for v in obj)
    return obj


def unpack(obj: Any) -> Any:
    """Inverse of :func:`pack` (constructors run again, so invariants are re-checked)."""
    if isinstance(obj, _Packed):
        return obj.cls(**{k: unpack(v) for k, v in obj.fields.items()})
    if isinstance(obj, dict):
        return {k: unpack(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(unpack(v) for v in obj)
    return obj


# -- worker side (also run in-process with --workers 0) -------------------------------------
_CACHE: dict[str, Any] = {}


def _nbytes(record: Any) -> int:
    """Sample bytes held in memory: a record's samples; a lazy long record holds none."""
    signals = getattr(record, "signals", None)
    return 0 if signals is None else int(signals.nbytes)


def _cache_put(path: str, record: Any) -> None:
    _CACHE[path] = record
    while len(_CACHE) > 1 and sum(_nbytes(r) for r in _CACHE.values()) > _WORKER_CACHE_BYTES:
        _CACHE.pop(next(iter(_CACHE)))


def _init_worker(main_pid: int | None = None) -> None:
    """Worker start-up: end with the run (even on SIGKILL); Qt offscreen (PDF only); ignore Ctrl+C.

    The kernel kills the worker when its parent (the forkserver) ends, and a
    thread ends it when the run's main process ``main_pid`` ends
    (:mod:`ecgviewer.analysis.lifeline`); the parent stops it on Ctrl+C.
    """
    die_with_parent()
    watch_process(main_pid if main_pid is not None else os.getppid())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def prepare_job(
    path: str,
    input_spec: dict[str, Any],
    classical: bool,
    keep: bool,
    class_spec: dict[str, Any] | None = None,
    delin_spec: dict[str, Any] | None = None,
) -> tuple[str, Any]:
    """Read one file, cut its model windows and measure it classically.

    Returns ``("ok", (record, windows, beat_analysis, class_windows, quality, delin_input))`` or
    ``(stage, reason)`` with stage ``"read"`` or ``"prepare"``; nothing is
    raised, so one bad file cannot stop the run. ``class_windows`` are the
    classifier's windows when it takes another input (``class_spec``), or the
    reason they could not be made (str); None when ``class_spec`` is None.
    ``delin_input`` is the delineator's input (:func:`prepare_record_delineation`) with
    ``delin_spec``, else None.
    """
    from ecgviewer.core.opening import is_long, open_record  # the readers and scipy: in the worker
    from ecgviewer.inference.preprocess import prepare_windows

    try:
        # the viewer's reading path; a long record is streamed (analysis.long_record.prepare_long_job)
        rec = open_record(path)
        if is_long(rec):
            from ecgviewer.analysis.long_record import prepare_long_job

            status, value = prepare_long_job(rec, input_spec, classical, class_spec)
            if status == "ok" and keep:  # for the PDF: the lazy record (its document needs the whole header)
                _cache_put(path, rec)
            return status, ((*value, None) if status == "ok" else value)  # not delineated (long)
        record = rec.read_all()
    except EcgReadError as exc:
        return "read", exc.reason
    except Exception as exc:  # a reader bug must not stop the batch
        return "read", f"{type(exc).__name__}: {exc}"
    try:
        windows = prepare_windows(record, **input_spec)
    except PredictionError as exc:
        return "prepare", str(exc)
    except Exception as exc:
        return "prepare", f"{type(exc).__name__}: {exc}"
    class_windows: Any = None
    if class_spec is not None:
        try:
            class_windows = prepare_windows(record, **class_spec)
        except Exception as exc:  # the intervals still count
            class_windows = reason(exc)
    quality = assess(record)  # the signal quality governs what is reported (as in analyze_record)
    analysis = classical_analysis(record, quality) if classical else None  # None: the column stays empty
    delin = prepare_record_delineation(record, delin_spec, quality, analysis)
    if keep:
        _cache_put(path, record)
    return "ok", (record, windows, analysis, class_windows, quality, delin)


def prepare_record_delineation(
    record: EcgRecord, spec: dict[str, Any] | None, quality: Any, classical: Any
) -> Any:
    """The delineator's input for ``record`` as ``analyze FILE`` makes it (its usable leads, the
    classical R peaks): a :class:`~ecgviewer.inference.delineation.DelineationInput`, the reason it
    cannot be made (str), or None (no delineator, or withheld for the signal quality)."""
    if spec is None:
        return None
    from ecgviewer.inference.delineation import prepare_delineation

    leads, unusable, why = delineation_plan(record, quality)
    if why is not None:
        return None  # withheld: write_job says why (withheld_reasons)
    try:
        return prepare_delineation(record, spec, leads, delineation_r_peaks(classical), unusable)
    except Exception as exc:
        return reason(exc)


# -- one record's outputs: assembled, written and registered as done (any process) --------------
@dataclass(frozen=True)
class OutputSpec:
    """What writing a record's outputs needs (plain values: it travels to worker processes and nodes)."""

    out_dir: str
    per_file: tuple[str, ...]
    classifier_id: dict[str, str] | None = None
    classifier_name: str | None = None
    #: The delineator (``{"name", "sha256"}``, its name), None: no delineation.
    delineator_id: dict[str, str] | None = None
    delineator_name: str | None = None
    report_options: dict[str, Any] = field(default_factory=dict)
    filters_hz: tuple[float | None, float | None, float | None] = (None, None, None)
    #: Input leads of the interval model and of the classifier (None: not run): what quality may withhold.
    interval_leads: tuple[str, ...] | None = None
    classifier_leads: tuple[str, ...] | None = None
    #: Delineation network of the QT/QTc trend of long records (None: no trend); see
    #: :func:`ecgviewer.analysis.qt_trend.qt_trend_for_document`.
    qt_trend: str | None = None
    #: Apply each record's over-read (its sidecar, :func:`ecgviewer.core.sidecar.load_sidecar`);
    #: False: ``--ignore-overread``.
    overread: bool = True
    #: The user folder of sidecars (:func:`ecgviewer.core.sidecar.default_user_dir`, resolved by the
    #: driver so that every worker and node looks in the same one).
    overread_user_dir: str | None = None


def state_document(
    item: InputFile, spec: OutputSpec, doc: dict[str, Any], overread: Any = IGNORED
) -> dict[str, Any]:
    """The content of a finished record's state file (:func:`load_finished` reads it back).

    ``overread``: the :func:`~ecgviewer.analysis.overread.sidecar_stamp` of the record's sidecars
    when they were looked up, ``"ignored"`` when not (``--ignore-overread``)."""
    state = {**_source_id(item.path), "key": item.key, "outputs": list(spec.per_file)}
    state.update(classifier=spec.classifier_id, delineator=spec.delineator_id, overread=overread)
    return {**state, "document": doc}


def record_overread(analysis: Any, item: InputFile, spec: OutputSpec) -> tuple[Any, Any]:
    """``analysis`` with the record's over-read applied (as ``ecgviewer analyze FILE`` does), and the
    state-file stamp of its sidecars (:func:`state_document`)."""
    if not spec.overread:
        return apply_overread(analysis, None, status=IGNORED), IGNORED
    if not sidecar_possible(item.path, spec.overread_user_dir):  # none: the record is not hashed
        return apply_overread(analysis, None, status="none"), sidecar_stamp(item.path, None)
    from ecgviewer.core.sidecar import load_sidecar

    loaded = load_sidecar(analysis.record, item.path, user_dir=spec.overread_user_dir)
    analysis = apply_overread(analysis, loaded.overread, status=loaded.status, message=loaded.message)
    return analysis, sidecar_stamp(item.path, loaded.identity.sha256, spec.overread_user_dir)


def write_job(
    item: InputFile,
    spec: OutputSpec,
    record: Any,
    classical: Any,
    prediction: Any,
    classification: Any = None,
    quality: Any = None,
    delineation: Any = None,
) -> tuple[str, Any]:
    """Assemble one record's analysis, write its outputs and register it as done.

    The same code as ``ecgviewer analyze FILE`` makes the document
    (:func:`~ecgviewer.analysis.pipeline.record_analysis`); then ``KEY.json``,
    ``KEY.pdf`` and last the state file are written, each atomically: a record
    is done (:func:`load_finished`) as soon as its last output is, whichever
    process or node wrote it. ``record`` None: the one this worker process
    prepared (read again if it is gone); ``prediction`` and ``delineation`` may be the
    exception the network raised.

    Returns ``("ok", (document, classifier_error or None, delineation_error or None))`` or ``(stage, reason)``
    with stage ``"model"`` (no intervals: nothing written) or ``"report"``;
    nothing is raised.
    """
    try:
        record, classical, prediction, classification, quality, delineation = (
            unpack(v) for v in (record, classical, prediction, classification, quality, delineation)
        )
        if record is None:
            record = _CACHE.pop(str(item.path), None)
            if record is None:  # not prepared in this process: open it again (a long one lazily)
                from ecgviewer.core.opening import is_long, open_record

                rec = open_record(item.path)
                record = rec if is_long(rec) else rec.read_all()
        _CACHE.pop(str(item.path), None)
        analysis = record_analysis(  # the same assembly as analyze_record's
            record,
            classical=classical,
            prediction=prediction,
            classification=classification,
            classifier_name=spec.classifier_name,
            source=str(item.path),
            quality=quality,
            withheld=withheld_reasons(
                quality,
                spec.interval_leads,
                spec.classifier_leads,
                record=record,
                delineation=spec.delineator_name is not None and isinstance(record, EcgRecord),
            ),
            delineation=delineation,
            delineator_name=spec.delineator_name,
        )
        if analysis.prediction is None and "intervals" not in analysis.withheld:
            return "model", analysis.interval_error or "no result"
        analysis, overread_stamp = record_overread(analysis, item, spec)
        filters_text = None
        if any(f is not None for f in spec.filters_hz):
            filters_text = FilterSettings(*spec.filters_hz).describe()
        doc = analysis.document(filters=filters_text)
        if spec.qt_trend is not None and not isinstance(record, EcgRecord):  # a long record, left on disk
            from ecgviewer.analysis.qt_trend import qt_trend_for_document

            doc["qt_trend"] = qt_trend_for_document(record, spec.qt_trend)
        out_dir = Path(spec.out_dir)
        if "json" in spec.per_file:
            with atomic_write(_output_path(out_dir, item.key, "json"), "w") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
        if "pdf" in spec.per_file:
            from ecgviewer.report.pdf import ReportOptions, render_report  # Qt: only in a process that draws

            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            display = filtered_record(_report_pages(record, spec.report_options), spec.filters_hz)
            options = FilterSettings(*spec.filters_hz).describe(record.fs_hz)
            opts = ReportOptions(**spec.report_options, filters=options)
            render_report(
                str(_output_path(out_dir, item.key, "pdf")),
                display,
                analysis.prediction,
                analysis.classical,
                opts,
                analysis.classification,
                quality=analysis.quality,
                withheld=dict(analysis.withheld),
                **report_arguments(analysis),
            )
        state = json.dumps(state_document(item, spec, doc, overread_stamp)).encode("utf-8")
        atomic_write_bytes(_state_path(out_dir, item.key), state)  # done: after its last output
        return "ok", (doc, analysis.classification_error, analysis.delineation_error)
    except Exception as exc:
        return "report", f"{type(exc).__name__}: {exc}"


def _report_pages(record: Any, report_options: dict[str, Any]) -> EcgRecord:
    """What the PDF draws: the record itself, or the first pages of a lazy long record."""
    if isinstance(record, EcgRecord):
        return record
    pages_s = PAGE_S * max(1, int(report_options.get("max_pages", 1)))
    return record.read(0, min(record.n_samples, round(pages_s * record.fs_hz)))


def predict_records(
    predictor: Any, classifier: Any, prepared: Sequence[tuple[Any, ...]], delineator: Any = None
) -> list[Any]:
    """The networks over many records at once: ``[(prediction or exception, classification,
    delineation), ...]``.

    ``prepared``: per record ``(windows, class_windows[, delin_input])`` from :func:`prepare_job`.
    The classification is None (no classifier, or no intervals), a result, a
    :class:`~ecgviewer.report.measurements.ClassificationFailure` or the exception it raised.
    The delineation is None (no delineator, no input, or no intervals), a
    :class:`~ecgviewer.inference.delineation.DelineationResult` or the exception it raised.
    """
    results = predictor.predict_windows([entry[0] for entry in prepared])
    classes: list[Any] = [None] * len(prepared)
    if classifier is not None:
        run = []
        for i, ((windows, class_windows, *_), res) in enumerate(zip(prepared, results)):
            if isinstance(res, Exception):
                continue
            if isinstance(class_windows, str):
                classes[i] = ClassificationFailure(classifier.model_name, class_windows)
            else:
                run.append((i, windows if class_windows is None else class_windows))
        for (i, _w), got in zip(run, classifier.classify_windows([w for _, w in run])):
            classes[i] = got
    return list(zip(results, classes, delineate_records(delineator, prepared, results)))


def delineate_records(
    delineator: Any, prepared: Sequence[tuple[Any, ...]], results: Sequence[Any]
) -> list[Any]:
    """The delineations of the records whose interval result is not an exception (None for the others):
    their windows through the delineator together; a failure is returned in the records' place."""
    out: list[Any] = [None] * len(prepared)
    if delineator is None:
        return out
    from ecgviewer.inference.errors import PredictionError

    todo = []
    for i, (entry, res) in enumerate(zip(prepared, results)):
        item = entry[2] if len(entry) > 2 else None
        if isinstance(res, Exception) or item is None:
            continue
        if isinstance(item, str):
            out[i] = PredictionError(item)
        else:
            todo.append((i, item))
    if todo:
        try:
            got = delineator.delineate_inputs([item for _, item in todo])
        except Exception as exc:  # the network itself failed: every record of the batch says so
            got = [exc] * len(todo)
        for (i, _), d in zip(todo, got):
            out[i] = d
    return out


def _noop() -> None:
    """Submitted once per worker at the start, so the processes start while the first files are read."""


def _timed_job(fn: Callable[..., tuple[str, Any]], *args: Any, wire: bool = True) -> tuple[str, Any, float]:
    """Run a job; returns ``(status, value, cpu_seconds)`` (value :func:`pack`-ed for another process)."""
    t = time.process_time()
    status, value = fn(*args)
    if wire and status == "ok":
        value = pack(value)
    return status, value, time.process_time() - t


# -- the run -----------------------------------------------------------------------------------
#: What ``--engine`` accepts.
ENGINES: tuple[str, ...] = ("local", "ray")


@dataclass
class BatchConfig:
    """Everything one batch run needs (the parsed command line)."""

    inputs: list[Path]
    out_dir: Path
    reports: tuple[str, ...] = ("json", "csv")
    recursive: bool = False
    model: str = DEFAULT_MODEL
    device: str = "auto"
    workers: int = 2
    force: bool = False
    stride_s: float = 5.0
    batch_size: int = 32
    classical: bool = True
    report_options: dict[str, Any] = field(default_factory=dict)
    filters_hz: tuple[float | None, float | None, float | None] = (None, None, None)
    progress: bool = True
    engine: str = "local"
    ray_address: str | None = None
    #: Long records: run the beat pass with the wave delineation over the whole record for the
    #: QT/QTc trend (``qt_trend`` in the document, as ``ecgviewer analyze FILE``).
    qt_trend: bool = True
    #: Apply each record's over-read sidecar (False: ``--ignore-overread``); a finished record whose
    #: sidecar changed since is redone.
    overread: bool = True
    #: Where sidecars of read-only folders are (None: :func:`ecgviewer.core.sidecar.default_user_dir`).
    overread_user_dir: Path | None = None


class ClassifierLoadError(Exception):
    """The statement classifier given to :func:`run_batch` could not be loaded (message: why)."""


class DelineatorLoadError(Exception):
    """The wave delineator given to :func:`run_batch` could not be loaded (message: why)."""


class EngineError(Exception):
    """The engine cannot run (e.g. Ray not installed, or its cluster not reachable); message: why."""


@dataclass
class BatchSummary:
    """What a run did (``not_classified``: records written without statements, the classifier failed;
    ``not_delineated``: records written without headline intervals, the delineation failed)."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_classified: int = 0
    not_delineated: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    main_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    engine: str = "local"
    #: Seconds the engine took to start (Ray: ``ray.init``; local: 0, the pool starts in the background).
    startup_s: float = 0.0

    @property
    def cpu_ms_per_record(self) -> float:
        """CPU time of this process and of the jobs in the workers, per record analysed."""
        return 1000.0 * (self.main_cpu_s + self.worker_cpu_s) / self.done if self.done else 0.0

    @property
    def records_per_s(self) -> float:
        """Records analysed (not skipped) per second of wall time."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _state_path(out_dir: Path, key: str) -> Path:
    return out_dir / STATE_DIR / f"{key}.json"


def _output_path(out_dir: Path, key: str, kind: str) -> Path:
    return out_dir / f"{key}.{kind}"


def _source_id(path: Path) -> dict[str, Any]:
    p = header_path(path) if path.suffix.lower() in ("", ".hea", ".dat") else path
    p = p if p.exists() else path
    st = p.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def classifier_identity(classifier: Any) -> dict[str, str] | None:
    """``{"name", "sha256"}`` of a classifier (from its JSON, without loading it), None for none."""
    if classifier is None:
        return None
    return {"name": classifier.model_name, "sha256": read_meta(classifier.checkpoint_path).weights_sha256}


def load_finished(
    out_dir: Path,
    item: InputFile,
    per_file: Sequence[str],
    classifier: dict[str, str] | None = None,
    delineator: dict[str, str] | None = None,
    overread: bool = True,
    overread_user_dir: str | Path | None = None,
) -> dict[str, Any] | None:
    """The stored document of ``item`` when every requested output of it is done, else None.

    Done means: same source file, every output in ``per_file`` written, the same
    ``classifier`` and ``delineator`` (:func:`classifier_identity`), the current schema version,
    and the same over-read: sidecars ignored then and now (``overread`` False), or looked up then
    and none of them added, changed or removed since
    (:func:`~ecgviewer.analysis.overread.sidecar_changed`).
    """
    state = _state_path(out_dir, item.key)
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        same = {k: data[k] for k in ("source", "size", "mtime_ns")} == _source_id(item.path)
        same = same and data["document"]["schema_version"] == SCHEMA_VERSION
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not same or not set(per_file) <= set(data.get("outputs", [])):
        return None
    if data.get("classifier") != classifier or data.get("delineator") != delineator:
        return None
    stamp = data.get("overread")
    if (stamp == IGNORED) != (not overread):
        return None
    if overread and sidecar_changed(stamp, item.path, overread_user_dir):
        return None
    if not all(_output_path(out_dir, item.key, k).is_file() for k in per_file):
        return None
    return data.get("document")


def _write_csvs(
    out_dir: Path, docs: dict[str, dict[str, Any]], errors: list[tuple[str, str, str]], csv_on: bool
):
    if csv_on:
        atomic_write_bytes(
            out_dir / MEASUREMENTS_CSV, csv_text(docs[k] for k in sorted(docs)).encode("utf-8")
        )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ERROR_COLUMNS)
    w.writerows(sorted(errors))
    atomic_write_bytes(out_dir / ERRORS_CSV, buf.getvalue().encode("utf-8"))


class _Interrupted(Exception):
    pass


class BatchRun:
    """The engine-independent side of a run, which an engine reports to.

    It holds what an engine needs to schedule the records (``todo``, the
    preparation and output specs, the networks) and keeps the books: progress
    bar, summary, the documents of finished records and the errors, and
    ``measurements.csv`` / ``errors.csv`` rewritten (atomically) at most every
    :data:`CSV_FLUSH_S` seconds (longer when rewriting them takes long) while
    records finish, and at the end.

    An engine calls :meth:`finished` or :meth:`failed` once per record of
    ``todo`` (from one thread), :meth:`tick` when it has nothing to report, and
    :meth:`add_cpu` with the CPU seconds its workers spent.
    """

    def __init__(
        self,
        config: BatchConfig,
        predictor: Any,
        classifier: Any,
        log: Callable[[str], None],
        delineator: Any = None,
    ):
        self.config = config
        self.predictor = predictor
        self.classifier = classifier
        self.delineator = delineator
        self.log = log
        self.out_dir = config.out_dir
        self.todo: list[InputFile] = []
        self.docs: dict[str, dict[str, Any]] = {}
        self.summary = BatchSummary(engine=config.engine)
        self.csv_on = "csv" in config.reports
        self.spec = OutputSpec(
            out_dir=str(config.out_dir),
            per_file=tuple(k for k in ("json", "pdf") if k in config.reports),
            report_options=dict(config.report_options),
            filters_hz=tuple(config.filters_hz),
            qt_trend=DEFAULT_DELINEATOR if config.qt_trend else None,
            overread=config.overread,
            overread_user_dir=str(config.overread_user_dir or default_user_dir()),
        )
        self.input_spec: dict[str, Any] = {}
        self.class_spec: dict[str, Any] | None = None
        self.delin_spec: dict[str, Any] | None = None
        self.bar: Any = None
        self._last_flush = time.monotonic()
        self._flush_every = CSV_FLUSH_S

    @property
    def pdf_on(self) -> bool:
        return "pdf" in self.spec.per_file

    def load_networks(self) -> None:
        """Load the networks in this process (once; the local engine calls it when the first record is ready).

        Raises
        ------
        ClassifierLoadError, DelineatorLoadError
            The classifier or the delineator cannot be loaded.
        """
        self.predictor.load()
        if self.classifier is not None:
            try:
                self.classifier.load()
            except Exception as exc:
                raise ClassifierLoadError(str(exc)) from exc
        if self.delineator is not None:
            try:
                self.delineator.load()
            except Exception as exc:
                raise DelineatorLoadError(str(exc)) from exc

    def finished(
        self,
        item: InputFile,
        doc: dict[str, Any],
        classifier_error: str | None = None,
        delineation_error: str | None = None,
    ) -> None:
        """``item``'s outputs and state file are written (by :func:`write_job`)."""
        o = doc.get("over_read") or {}
        if o.get("status") in ("record changed", "unreadable"):  # written with the computed values
            self.log(f"warning: {item.path}: {o.get('message') or o['status']}")
        if classifier_error is not None:  # the intervals were written all the same
            self.summary.errors.append((str(item.path), "classifier", " ".join(classifier_error.split())))
            self.summary.not_classified += 1
        if delineation_error is not None:  # written without headline intervals, with the reason
            self.summary.errors.append((str(item.path), "delineation", " ".join(delineation_error.split())))
            self.summary.not_delineated += 1
        self.docs[item.key] = doc
        self.summary.done += 1
        self.bar.update(1)
        self.tick()

    def failed(self, item: InputFile, stage: str, reason: str) -> None:
        """``item`` failed at ``stage`` (``read``, ``prepare``, ``model``, ``report``) for ``reason``."""
        self.summary.errors.append((str(item.path), stage, " ".join(str(reason).split())))
        self.summary.failed += 1
        self.bar.update(1)
        self.bar.set_postfix(failed=self.summary.failed, refresh=False)
        self.tick()

    def add_cpu(self, seconds: float) -> None:
        """CPU time spent on this run's jobs in other processes."""
        self.summary.worker_cpu_s += seconds

    def tick(self) -> None:
        """Rewrite the CSV files if they are due."""
        if time.monotonic() - self._last_flush >= self._flush_every:
            self.write_csvs()

    def write_csvs(self) -> None:
        t = time.monotonic()
        _write_csvs(self.out_dir, self.docs, self.summary.errors, self.csv_on)
        self._last_flush = now = time.monotonic()
        # rewriting everything costs O(records): keep it under ~10 % of the run
        self._flush_every = max(CSV_FLUSH_S, 10 * (now - t))


class LocalEngine:
    """Worker processes of this machine read and prepare; the networks run batched in this process.

    ``--workers N`` processes (``forkserver``; 0: everything in this process) run
    :func:`prepare_job`; the windows of many records go through the networks
    together (:func:`predict_records`) here, on the GPU when there is one; each
    record is then finished by :func:`write_job`, here, or in a worker when it
    draws a PDF (the worker that prepared the record still holds it).
    """

    name = "local"

    def run(self, run: BatchRun) -> None:
        config, spec = run.config, run.spec
        todo = deque(run.todo)
        pdf_on = run.pdf_on
        inline = config.workers <= 0
        pool = None if inline else _pool(config.workers, pdf_on)
        if pool is not None and todo:  # start the workers now: they import while the first jobs queue
            with main_pid_env():
                for _ in range(config.workers):
                    pool.submit(_noop)
        threads: int | None = None
        prep: dict[Future, InputFile] = {}
        writing: dict[Future, InputFile] = {}
        ready: list[tuple[Any, ...]] = []  # item, record, windows, classical, class w., quality, delin. input
        max_prep = max(config.batch_size, 1) + 2 * max(config.workers, 1)
        loaded = ok = False

        def submit(fn: Callable[..., tuple[str, Any]], *args: Any) -> Future:
            if pool is None:
                f: Future = Future()
                f.set_result(_timed_job(fn, *args, wire=False))
                return f
            return pool.submit(_timed_job, fn, *args)

        def result_of(f: Future) -> tuple[str, Any]:
            status, value, cpu_s = f.result()
            if pool is not None:
                run.add_cpu(cpu_s)  # in-process jobs are in this process's own CPU time
            return status, (unpack(value) if status == "ok" and pool is not None else value)

        def done_writing(item: InputFile, status: str, value: Any) -> None:
            if status == "ok":
                run.finished(item, *value)
            else:
                run.failed(item, status, value)

        def run_model() -> None:
            nonlocal ready
            batch, ready = ready, []
            outputs = predict_records(
                run.predictor,
                run.classifier,
                [(w, cw, di) for _, _, w, _, cw, _, di in batch],
                run.delineator,
            )
            for (item, record, _w, classical, _cw, quality, _di), (prediction, classification, delin) in zip(
                batch, outputs
            ):
                if pdf_on and not isinstance(prediction, Exception):  # drawing: in the worker
                    args = (None if pool is not None else record, *_wire(pool, classical, prediction))
                    f = submit(write_job, item, spec, *args, *_wire(pool, classification, quality, delin))
                    writing[f] = item
                else:
                    args = (record, classical, prediction, classification, quality, delin)
                    done_writing(item, *write_job(item, spec, *args))

        try:
            for item in todo:
                _output_path(run.out_dir, item.key, "json").parent.mkdir(parents=True, exist_ok=True)
                _state_path(run.out_dir, item.key).parent.mkdir(parents=True, exist_ok=True)
            while todo or prep or ready or writing:
                while todo and len(prep) + len(ready) < max_prep:
                    item = todo.popleft()
                    f = submit(
                        prepare_job,
                        str(item.path),
                        run.input_spec,
                        config.classical,
                        pdf_on,
                        run.class_spec,
                        run.delin_spec,
                    )
                    prep[f] = item
                    if pool is None:
                        break  # in-process: one at a time, so the model still sees batches
                n_windows = sum(len(w.data) for _, _, w, *_ in ready)
                if ready and (n_windows >= config.batch_size or (not prep and not (todo and pool is None))):
                    if not loaded:  # lazily: the first record is read, the workers keep reading meanwhile
                        run.load_networks()
                        threads = _limit_torch_threads(run.predictor, inline)
                        loaded = True
                    run_model()
                    continue
                if not prep and not writing:
                    continue
                done, _ = wait(list(prep) + list(writing), timeout=1.0, return_when=FIRST_COMPLETED)
                for f in done:
                    if f in prep:
                        item = prep.pop(f)
                        status, value = result_of(f)
                        if status == "ok":
                            ready.append((item, *value))
                        else:
                            run.failed(item, status, value)
                    else:
                        item = writing.pop(f)
                        done_writing(item, *result_of(f))
                run.tick()
            ok = True
        finally:
            if threads is not None:
                import torch

                torch.set_num_threads(threads)
            if pool is not None:
                pool.shutdown(wait=ok, cancel_futures=True)  # interrupted: do not wait


def _wire(pool: Any, *values: Any) -> tuple[Any, ...]:
    """``values`` as a job takes them: :func:`pack`-ed for another process, as they are in this one."""
    return tuple(pack(v) for v in values) if pool is not None else values


def _pool(workers: int, pdf: bool) -> ProcessPoolExecutor:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        preload = [
            "ecgviewer.analysis._forkserver_lifeline",  # first: the forkserver dies with this process
            "ecgviewer.core.readers",
            "ecgviewer.core.beats",
            "ecgviewer.inference.preprocess",
            "ecgviewer.inference.delineation",
        ]
        if pdf:
            preload.append("ecgviewer.report.pdf")
        ctx.set_forkserver_preload(preload)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
    )


def _limit_torch_threads(predictor: Any, inline: bool) -> int | None:
    """With worker processes on the CPU, the model gets one thread (no OpenMP spinning against them).

    Returns the previous thread count to restore, or None when nothing changed.
    """
    if inline or not str(predictor.device).startswith("cpu"):
        return None
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return before


def make_engine(config: BatchConfig) -> Any:
    """The engine ``config.engine`` names: :class:`LocalEngine` or the Ray engine."""
    if config.engine == "local":
        return LocalEngine()
    if config.engine == "ray":
        from ecgviewer.analysis.ray_engine import RayEngine  # Ray: imported only when asked for

        return RayEngine(address=config.ray_address)
    raise ValueError(f"unknown engine {config.engine!r} (known: {', '.join(ENGINES)})")


def run_batch(
    config: BatchConfig,
    predictor: Any,
    log: Callable[[str], None] | None = None,
    classifier: Any = None,
    engine: Any = None,
    delineator: Any = None,
) -> BatchSummary:
    """Run the batch described by ``config`` with a :class:`~ecgviewer.inference.Predictor`.

    The engine (``engine``, default :func:`make_engine` of ``config``) schedules
    the records; everything else is shared by the engines: finding the inputs,
    skipping finished records, the progress bar, the CSV files and the summary.
    The networks see the windows of many records together (``config.batch_size``
    windows per batch); each record's result is then assembled and written as in
    ``ecgviewer analyze FILE`` (:func:`write_job`).

    The predictor (and the optional statement ``classifier``, a
    :class:`~ecgviewer.inference.Classifier`, and wave ``delineator``, a
    :class:`~ecgviewer.inference.delineation.Delineator`: the headline intervals) is
    loaded once, when the first record has been read (the Ray engine loads its own
    copies in its model actors).

    Returns a :class:`BatchSummary`; a bad file is recorded in ``errors.csv`` and
    the run goes on. Ctrl+C or SIGTERM stops it after writing the CSV files of
    what finished (``summary.interrupted``).

    Raises
    ------
    FileNotFoundError
        An input that does not exist (before anything is loaded or started).
    ClassifierLoadError, DelineatorLoadError
        The classifier's (delineator's) checkpoint cannot be read or loaded.
    EngineError
        The engine cannot start.
    """
    from tqdm import tqdm

    log = log or (lambda msg: print(msg, file=sys.stderr))
    engine = engine if engine is not None else make_engine(config)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    out_dir = config.out_dir
    items = discover(config.inputs, config.recursive, exclude=out_dir)
    run = BatchRun(config, predictor, classifier, log, delineator)
    try:
        class_id = classifier_identity(classifier)
    except CheckpointError as exc:
        raise ClassifierLoadError(str(exc)) from None
    try:
        delin_id = classifier_identity(delineator)
        run.delin_spec = delineator.spec() if delineator is not None else None
    except CheckpointError as exc:
        raise DelineatorLoadError(str(exc)) from None
    class_name = None if classifier is None else classifier.model_name
    delin_name = None if delineator is None else delineator.model_name
    run.spec = dataclasses.replace(
        run.spec,
        classifier_id=class_id,
        classifier_name=class_name,
        delineator_id=delin_id,
        delineator_name=delin_name,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STATE_DIR).mkdir(exist_ok=True)
    stale = remove_stale_temp_files(out_dir)
    if stale:
        log(f"removed {stale} temporary file(s) left by an interrupted run")
    summary = run.summary
    summary.total = len(items)
    for item in items:
        doc = None
        if not config.force:
            doc = load_finished(
                out_dir,
                item,
                run.spec.per_file,
                class_id,
                delin_id,
                run.spec.overread,
                run.spec.overread_user_dir,
            )
        if doc is not None:
            run.docs[item.key] = doc
            summary.skipped += 1
        else:
            run.todo.append(item)
    if summary.skipped:
        log(f"{summary.skipped} of {len(items)} record(s) already done in {out_dir} (--force redoes them)")
    run.input_spec = predictor.input_spec()  # from the checkpoint's JSON: nothing loaded yet
    run.class_spec = classifier.input_spec() if classifier is not None else None
    if run.class_spec == run.input_spec:
        run.class_spec = None  # the classifier takes the interval model's windows
    class_leads = None if classifier is None else tuple((run.class_spec or run.input_spec)["leads"])
    run.spec = dataclasses.replace(
        run.spec, interval_leads=tuple(run.input_spec["leads"]), classifier_leads=class_leads
    )
    run.bar = tqdm(
        total=len(run.todo),
        unit="rec",
        desc="analyze",
        file=sys.stderr,
        disable=not config.progress,
        smoothing=0.1,
    )
    old_term = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum, frame):
            raise _Interrupted

        old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        if run.todo:
            engine.run(run)
    except (KeyboardInterrupt, _Interrupted):
        summary.interrupted = True
        log("interrupted: writing the results of the finished records")
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        run.bar.close()
        run.write_csvs()
        summary.elapsed_s = time.perf_counter() - t_start
        summary.main_cpu_s = time.process_time() - cpu_start
    return summary


def format_summary(summary: BatchSummary, out_dir: Path) -> str:
    """One line for the end of a run."""
    parts = [
        f"{summary.done} analysed",
        f"{summary.skipped} skipped (done before)",
        f"{summary.failed} failed",
    ]
    if summary.not_classified:
        parts.append(f"{summary.not_classified} written without statements (classifier failed)")
    if summary.not_delineated:
        parts.append(f"{summary.not_delineated} written without headline intervals (delineation failed)")
    rate = (
        f"{summary.records_per_s:.1f} records/s, {summary.cpu_ms_per_record:.0f} CPU ms/record"
        if summary.done
        else "-"
    )
    if summary.engine != "local":
        driver = 1000.0 * summary.main_cpu_s / summary.done if summary.done else 0.0
        rate += f"; engine {summary.engine}, started in {summary.startup_s:.1f} s"
        rate += f", driver {driver:.1f} CPU ms/record"
    trouble = summary.failed or summary.not_classified or summary.not_delineated
    where = f"results in {out_dir}" + (f" (errors: {out_dir / ERRORS_CSV})" if trouble else "")
    return f"{', '.join(parts)} in {summary.elapsed_s:.1f} s ({rate}); {where}"


def parse_reports(text: str) -> tuple[str, ...]:
    """``"pdf,json,csv"`` -> ``("pdf", "json", "csv")``; raises ValueError for unknown kinds."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in REPORT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"--report takes a comma-separated subset of {','.join(REPORT_KINDS)}, not {text!r}")
    return kinds
