"""The batch engine of ``ecgviewer analyze DIR_OR_FILES... --out OUTDIR``.

Pipeline
--------
1. **Find** the inputs: files as given, folders scanned (``--recursive``: with
   subfolders) for the extensions the reader registry knows; a WFDB ``.dat``
   beside its ``.hea`` is the same record and is skipped; nothing inside
   ``OUTDIR`` is taken as input.
2. **Prepare** (worker processes, ``--workers N``): read the file, cut and scale
   the model's windows (:func:`~ecgviewer.inference.preprocess.prepare_windows`)
   and run the classical median-beat measurement
   (:func:`~ecgviewer.analysis.pipeline.classical_analysis`).
3. **Predict** (this process): the windows of many records go through the model
   together, in batches (on the GPU when there is one); then, with a statement
   classifier, the same windows (or its own, when its input differs) through the
   classifier. A classifier failure on one record is logged (stage
   ``classifier``) and its outputs are written without statements.
4. **Assemble** each record's :class:`~ecgviewer.analysis.pipeline.RecordAnalysis`
   with :func:`~ecgviewer.analysis.pipeline.record_analysis` and its document with
   :meth:`~ecgviewer.analysis.pipeline.RecordAnalysis.document`: the same code as
   ``ecgviewer analyze FILE`` (one record at a time), so both give the same document.
5. **Write**: the per-file JSON document (and a state file) here; the per-file
   PDF report in a worker process; ``measurements.csv`` (all finished records)
   and ``errors.csv`` (file, stage, reason) every few seconds and at the end.

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
fork): never forked from this process, which holds torch and perhaps CUDA.
"""

from __future__ import annotations

import csv
import dataclasses
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
from ecgviewer.analysis.pipeline import DEFAULT_MODEL, classical_analysis, record_analysis
from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.filters import FilterSettings, filtered_record
from ecgviewer.core.io_utils import atomic_write, atomic_write_bytes, remove_stale_temp_files
from ecgviewer.core.readers.wfdb_reader import header_path
from ecgviewer.inference.errors import PredictionError
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
CSV_FLUSH_S = 5.0
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


def discover(inputs: Sequence[Path], recursive: bool = False, exclude: Path | None = None) -> list[InputFile]:
    """The records named by ``inputs`` (files and folders), each with a unique output key.

    Parameters
    ----------
    inputs
        Files (taken as they are, whatever their extension) and folders (scanned
        for files with a known ECG extension, hidden files left out).
    recursive
        Scan sub-folders too.
    exclude
        A folder whose content is never taken (the output folder).

    Raises
    ------
    FileNotFoundError
        An input that does not exist.
    """
    exts = _known_extensions()
    found: list[tuple[Path, str]] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            pattern = item.rglob("*") if recursive else item.glob("*")
            files = sorted(p for p in pattern if p.is_file())
            for p in files:
                rel = p.relative_to(item)
                if any(part.startswith(".") for part in rel.parts) or _is_inside(p, exclude):
                    continue
                suffix = p.suffix.lower()
                if suffix not in exts:
                    continue
                if suffix in (".dat", ".mat") and p.with_suffix(".hea").exists():
                    continue  # the signal file of a WFDB record: the .hea is the record
                found.append((p, rel.with_suffix("").as_posix()))
        elif item.exists() or item.with_name(item.name + ".hea").exists():
            found.append((item, item.stem if item.suffix else item.name))
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


def _cache_put(path: str, record: Any) -> None:
    _CACHE[path] = record
    while len(_CACHE) > 1 and sum(r.signals.nbytes for r in _CACHE.values()) > _WORKER_CACHE_BYTES:
        _CACHE.pop(next(iter(_CACHE)))


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the run was killed: do not linger
            os._exit(1)


def _init_worker() -> None:
    """Worker start-up: exit when orphaned; Qt offscreen (PDF only); ignore Ctrl+C (the parent stops us)."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def prepare_job(
    path: str,
    input_spec: dict[str, Any],
    classical: bool,
    keep: bool,
    class_spec: dict[str, Any] | None = None,
) -> tuple[str, Any]:
    """Read one file, cut its model windows and measure it classically.

    Returns ``("ok", (record, windows, beat_analysis, class_windows))`` or
    ``(stage, reason)`` with stage ``"read"`` or ``"prepare"``; nothing is
    raised, so one bad file cannot stop the run. ``class_windows`` are the
    classifier's windows when it takes another input (``class_spec``), or the
    reason they could not be made (str); None when ``class_spec`` is None.
    """
    from ecgviewer.core.opening import is_long, open_record  # the readers and scipy: in the worker
    from ecgviewer.inference.preprocess import prepare_windows

    try:
        # the viewer's reading path; a long record is streamed (analysis.long_record.prepare_long_job)
        rec = open_record(path)
        if is_long(rec):
            from ecgviewer.analysis.long_record import prepare_long_job

            status, value = prepare_long_job(rec, input_spec, classical, class_spec)
            if status == "ok" and keep:  # the PDF shows the first 10 s page
                _cache_put(path, rec.read(0, round(10.0 * rec.fs_hz)))
            return status, value
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
    analysis = classical_analysis(record) if classical else None  # None: the classical column stays empty
    if keep:
        _cache_put(path, record)
    return "ok", (record, windows, analysis, class_windows)


def report_job(
    path: str,
    pdf_path: str,
    record: Any,
    prediction: Any,
    analysis: Any,
    options: dict[str, Any],
    filters_hz: tuple[float | None, float | None, float | None],
    classification: Any = None,
) -> tuple[str, Any]:
    """Render one PDF report (``record`` None: the one this worker prepared). Returns ``("ok", pages)``."""
    try:
        from ecgviewer.report.pdf import ReportOptions, render_report  # Qt: only in a process that draws

        if record is None:
            record = _CACHE.pop(path, None)
            if record is None:
                from ecgviewer.core.readers import read_record

                record = read_record(path)
        else:
            record = unpack(record)
        _CACHE.pop(path, None)
        display = filtered_record(record, filters_hz)
        opts = ReportOptions(**options, filters=FilterSettings(*filters_hz).describe(record.fs_hz))
        info = render_report(
            pdf_path, display, unpack(prediction), unpack(analysis), opts, unpack(classification)
        )
        return "ok", info.n_pages
    except Exception as exc:
        return "report", f"{type(exc).__name__}: {exc}"


def _wire(pool: Any, *values: Any) -> tuple[Any, ...]:
    """``values`` as a job takes them: :func:`pack`-ed for another process, as they are in this one."""
    return tuple(pack(v) for v in values) if pool is not None else values


def _noop() -> None:
    """Submitted once per worker at the start, so the processes start while the model loads."""


def _timed_job(fn: Callable[..., tuple[str, Any]], *args: Any, wire: bool = True) -> tuple[str, Any, float]:
    """Run a job; returns ``(status, value, cpu_seconds)`` (value :func:`pack`-ed for another process)."""
    t = time.process_time()
    status, value = fn(*args)
    if wire and status == "ok":
        value = pack(value)
    return status, value, time.process_time() - t


# -- the run -----------------------------------------------------------------------------------
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


class ClassifierLoadError(Exception):
    """The statement classifier given to :func:`run_batch` could not be loaded (message: why)."""


@dataclass
class BatchSummary:
    """What a run did (``not_classified``: records written without statements, the classifier failed)."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_classified: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    main_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0

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
    out_dir: Path, item: InputFile, per_file: Sequence[str], classifier: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The stored document of ``item`` when every requested output of it is done, else None.

    Done means: same source file, every output in ``per_file`` written, the same
    ``classifier`` (:func:`classifier_identity`) and the current schema version.
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
    if data.get("classifier") != classifier:
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


def _pool(workers: int, pdf: bool) -> ProcessPoolExecutor:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        preload = ["ecgviewer.core.readers", "ecgviewer.core.beats", "ecgviewer.inference.preprocess"]
        if pdf:
            preload.append("ecgviewer.report.pdf")
        ctx.set_forkserver_preload(preload)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)


class _Interrupted(Exception):
    pass


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


def run_batch(
    config: BatchConfig,
    predictor: Any,
    log: Callable[[str], None] | None = None,
    classifier: Any = None,
) -> BatchSummary:
    """Run the batch described by ``config`` with a :class:`~ecgviewer.inference.Predictor`.

    The networks see the windows of many records together (``config.batch_size``
    windows per batch); each record's result is then assembled and written as in
    ``ecgviewer analyze FILE`` (:func:`~ecgviewer.analysis.pipeline.record_analysis`).

    The predictor (and the optional statement ``classifier``, a
    :class:`~ecgviewer.inference.Classifier`) is loaded here (if it is not yet)
    while the worker processes start.

    Returns a :class:`BatchSummary`; a bad file is recorded in ``errors.csv`` and
    the run goes on. Ctrl+C or SIGTERM stops it after writing the CSV files of
    what finished (``summary.interrupted``).

    Raises
    ------
    ClassifierLoadError
        The classifier's checkpoint cannot be read or loaded.
    """
    from tqdm import tqdm

    log = log or (lambda msg: print(msg, file=sys.stderr))
    t_start, cpu_start = time.perf_counter(), time.process_time()
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STATE_DIR).mkdir(exist_ok=True)
    stale = remove_stale_temp_files(out_dir)
    if stale:
        log(f"removed {stale} temporary file(s) left by an interrupted run")
    reports = tuple(config.reports)
    per_file = [k for k in ("json", "pdf") if k in reports]
    csv_on = "csv" in reports
    items = discover(config.inputs, config.recursive, exclude=out_dir)
    try:
        class_id = classifier_identity(classifier)
    except CheckpointError as exc:
        raise ClassifierLoadError(str(exc)) from None
    summary = BatchSummary(total=len(items))
    docs: dict[str, dict[str, Any]] = {}
    todo: deque[InputFile] = deque()
    for item in items:
        doc = None if config.force else load_finished(out_dir, item, per_file, class_id)
        if doc is not None:
            docs[item.key] = doc
            summary.skipped += 1
        else:
            todo.append(item)
    if summary.skipped:
        log(f"{summary.skipped} of {len(items)} record(s) already done in {out_dir} (--force redoes them)")
    pdf_on = "pdf" in reports
    inline = config.workers <= 0
    pool = None if inline else _pool(config.workers, pdf_on)
    if pool is not None and todo:  # start the workers now: they import while the model loads
        for _ in range(config.workers):
            pool.submit(_noop)
    try:
        predictor.load()
        if classifier is not None:
            try:
                classifier.load()
            except Exception as exc:
                raise ClassifierLoadError(str(exc)) from exc
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    input_spec = predictor.input_spec()
    class_spec = classifier.input_spec() if classifier is not None else None
    if class_spec == input_spec:
        class_spec = None  # the classifier takes the interval model's windows
    filters_text = None
    if any(f is not None for f in config.filters_hz):
        filters_text = FilterSettings(*config.filters_hz).describe()
    bar = tqdm(
        total=len(todo),
        unit="rec",
        desc="analyze",
        file=sys.stderr,
        disable=not config.progress,
        smoothing=0.1,
    )
    errors = summary.errors
    last_flush = time.monotonic()
    by_key: dict[str, InputFile] = {}

    def fail(item: InputFile, stage: str, reason: str) -> None:
        errors.append((str(item.path), stage, " ".join(str(reason).split())))
        summary.failed += 1
        bar.update(1)
        bar.set_postfix(failed=summary.failed, refresh=False)

    def finish(item: InputFile, doc: dict[str, Any]) -> None:
        state = {**_source_id(item.path), "key": item.key, "outputs": per_file, "classifier": class_id}
        state["document"] = doc
        atomic_write_bytes(_state_path(out_dir, item.key), json.dumps(state).encode("utf-8"))
        docs[item.key] = doc
        summary.done += 1
        bar.update(1)

    old_term = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum, frame):
            raise _Interrupted

        old_term = signal.signal(signal.SIGTERM, on_term)
    threads = _limit_torch_threads(predictor, inline)
    prep: dict[Future, InputFile] = {}
    reporting: dict[Future, tuple[InputFile, dict[str, Any]]] = {}
    ready: list[tuple[InputFile, Any, Any, Any, Any]] = []  # item, record, windows, analysis, class windows
    max_prep = max(config.batch_size, 1) + 2 * max(config.workers, 1)

    def submit(fn: Callable[..., tuple[str, Any]], *args: Any) -> Future:
        if pool is None:
            f: Future = Future()
            f.set_result(_timed_job(fn, *args, wire=False))
            return f
        return pool.submit(_timed_job, fn, *args)

    def result_of(f: Future) -> tuple[str, Any]:
        status, value, cpu_s = f.result()
        if pool is not None:
            summary.worker_cpu_s += cpu_s  # in-process jobs are in this process's own CPU time
        return status, (unpack(value) if status == "ok" and pool is not None else value)

    def classify(batch: list[tuple[InputFile, Any, Any, Any, Any]], results: list[Any]) -> list[Any]:
        """Per item: None (no classifier or no intervals), a result, a failure or the exception it raised."""
        out: list[Any] = [None] * len(batch)
        if classifier is None:
            return out
        run = []
        for i, ((_item, _rec, windows, _a, class_windows), res) in enumerate(zip(batch, results)):
            if isinstance(res, Exception):
                continue
            if isinstance(class_windows, str):
                out[i] = ClassificationFailure(classifier.model_name, class_windows)
            else:
                run.append((i, windows if class_windows is None else class_windows))
        for (i, _w), got in zip(run, classifier.classify_windows([w for _, w in run])):
            out[i] = got
        return out

    def run_model() -> None:
        nonlocal ready
        batch, ready = ready, []
        results = predictor.predict_windows([w for _, _, w, _, _ in batch])
        classifications = classify(batch, results)
        for (item, record, _w, classical, _cw), res, cls in zip(batch, results, classifications):
            analysis = record_analysis(  # the same assembly as analyze_record's
                record,
                classical=classical,
                prediction=res,
                classification=cls,
                classifier_name=None if classifier is None else classifier.model_name,
                source=str(item.path),
            )
            if analysis.prediction is None:
                fail(item, "model", analysis.interval_error or "no result")
                continue
            if analysis.classification_error is not None:  # the intervals are written all the same
                errors.append((str(item.path), "classifier", " ".join(analysis.classification_error.split())))
                summary.not_classified += 1
            doc = analysis.document(filters=filters_text)
            if "json" in per_file:
                with atomic_write(_output_path(out_dir, item.key, "json"), "w") as fh:
                    json.dump(doc, fh, indent=2)
                    fh.write("\n")
            if pdf_on:
                pdf_path = _output_path(out_dir, item.key, "pdf")
                pdf_path.parent.mkdir(parents=True, exist_ok=True)
                f = submit(
                    report_job,
                    str(item.path),
                    str(pdf_path),
                    None if pool is not None else record,
                    *_wire(pool, analysis.prediction, analysis.classical),
                    dict(config.report_options),
                    tuple(config.filters_hz),
                    *_wire(pool, analysis.classification),
                )
                reporting[f] = (item, doc)
            else:
                finish(item, doc)

    try:
        for item in todo:
            by_key[item.key] = item
            _output_path(out_dir, item.key, "json").parent.mkdir(parents=True, exist_ok=True)
            _state_path(out_dir, item.key).parent.mkdir(parents=True, exist_ok=True)
        while todo or prep or ready or reporting:
            while todo and len(prep) + len(ready) < max_prep:
                item = todo.popleft()
                f = submit(prepare_job, str(item.path), input_spec, config.classical, pdf_on, class_spec)
                prep[f] = item
                if pool is None:
                    break  # in-process: one at a time, so the model still sees batches
            n_windows = sum(len(w.data) for _, _, w, _, _ in ready)
            if ready and (n_windows >= config.batch_size or (not prep and not (todo and pool is None))):
                run_model()
                continue
            if not prep and not reporting:
                continue
            done, _ = wait(list(prep) + list(reporting), timeout=1.0, return_when=FIRST_COMPLETED)
            for f in done:
                if f in prep:
                    item = prep.pop(f)
                    status, value = result_of(f)
                    if status == "ok":
                        ready.append((item, *value))
                    else:
                        fail(item, status, value)
                else:
                    item, doc = reporting.pop(f)
                    status, value = result_of(f)
                    if status == "ok":
                        finish(item, doc)
                    else:
                        fail(item, status, value)
            if time.monotonic() - last_flush > CSV_FLUSH_S:
                _write_csvs(out_dir, docs, errors, csv_on)
                last_flush = time.monotonic()
    except (KeyboardInterrupt, _Interrupted):
        summary.interrupted = True
        log("interrupted: writing the results of the finished records")
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        if pool is not None:
            pool.shutdown(wait=not summary.interrupted, cancel_futures=True)
        bar.close()
        _write_csvs(out_dir, docs, errors, csv_on)
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
    rate = (
        f"{summary.records_per_s:.1f} records/s, {summary.cpu_ms_per_record:.0f} CPU ms/record"
        if summary.done
        else "-"
    )
    trouble = summary.failed or summary.not_classified
    where = f"results in {out_dir}" + (f" (errors: {out_dir / ERRORS_CSV})" if trouble else "")
    return f"{', '.join(parts)} in {summary.elapsed_s:.1f} s ({rate}); {where}"


def parse_reports(text: str) -> tuple[str, ...]:
    """``"pdf,json,csv"`` -> ``("pdf", "json", "csv")``; raises ValueError for unknown kinds."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in REPORT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"--report takes a comma-separated subset of {','.join(REPORT_KINDS)}, not {text!r}")
    return kinds
