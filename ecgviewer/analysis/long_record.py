"""Analyse a long (Holter) record segment by segment, in memory independent of its length (Qt-free).

A record of at least :data:`~ecgviewer.core.opening.LONG_TERM_MIN_S` seconds is never
read whole: :func:`analyze_long_record` walks its
:class:`~ecgviewer.core.long_record.LongRecord` one :data:`SEGMENT_S` (10 min) segment at a
time and reads only what each stage of :mod:`ecgviewer.analysis.pipeline` needs from it,
each piece an ordinary :class:`~ecgviewer.core.record.EcgRecord`:

- ``"classical"``: :func:`~ecgviewer.analysis.pipeline.classical_analysis` (beat
  detection and the median-beat measurement) of the segment's first
  :data:`CLASSICAL_EXCERPT_S` seconds;
- ``"intervals"`` and ``"classification"``: :data:`WINDOWS_PER_SEGMENT` evenly spaced
  10 s model windows per segment (a tenth of the record; every window at ``stride_s``
  when a stride is given), through the network at once; only the network outputs
  (a few numbers per window) are kept.

Memory therefore does not depend on the record's length (a few 10 s windows and a 2 min
excerpt at a time), and a 24 h record costs 144 excerpts and 864 windows per model.

The record values are then made as for a short record from all analysed windows (the
model's median over the windows, its spread, the classifier's mean probability) and, for
the classical measurement, the median of the segments' values (beats: their sum). Per
clock hour from the record start, :attr:`LongRecordAnalysis.per_hour` holds the same
values over that hour's windows and segments. The document
(:meth:`LongRecordAnalysis.document`) is the short-record document plus ``long_record``
(how it was analysed) and ``per_hour``: see ``docs/measurements.md``.

With a delineation network (``options.delineator``, the default) the whole record also goes
through the viewer's beat pass with its wave delineation
(:func:`ecgviewer.analysis.qt_trend.long_qt_trend`): every beat's QT, PR and QRS, and the
QT/QTc trend per minute and per hour, in :attr:`LongRecordAnalysis.beats` and the document's
``qt_trend`` (per-hour median QT, RR, QTc by Fridericia and Bazett, PR, QRS, the hour and
the minute of longest QTc, the method and the formulas).

The batch engine (:mod:`ecgviewer.analysis.batch`) runs the network in its own process on
windows its workers prepare; for a long record :func:`prepare_long_job` sends it at most
:data:`BATCH_MAX_WINDOWS` evenly spaced windows and the same classical measurement.

Progress goes to ``on_event`` as :class:`~ecgviewer.analysis.pipeline.StageProgress`
of stage ``"segments"`` (segments done of all) and to ``progress(done_s, total_s)``
(the CLI draws a tqdm bar on stderr from it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgviewer.analysis.errors import AnalysisCancelled, error_message, is_user_error, reason
from ecgviewer.analysis.models import ModelSet
from ecgviewer.analysis.pipeline import (
    AnalysisEvent,
    AnalysisOptions,
    RecordAnalysis,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
    assess,
    checkpoint_name,
    classical_analysis,
    record_analysis,
    withheld_reason,
)
from ecgviewer.report.measurements import ROWS, classical_values, model_values

if TYPE_CHECKING:
    import datetime as dt

    from ecgviewer.core.long_record import LongRecord

log = logging.getLogger(__name__)

#: Length of the segments read at once (seconds).
SEGMENT_S = 600.0
#: Smallest hop between the windows the batch engine samples from a long record (seconds).
LONG_STRIDE_S = 10.0
#: Model windows per segment when no stride is given: evenly spaced 10 s windows (6 per 10 min:
#: a tenth of the record, 864 windows for 24 h).
WINDOWS_PER_SEGMENT = 6
#: Seconds at the start of each segment measured by the classical median beat (2 min: ~150 beats).
CLASSICAL_EXCERPT_S = 120.0
#: Length of a ``per_hour`` entry (seconds).
HOUR_S = 3600.0


def segment_spans(n_samples: int, fs_hz: float, segment_s: float = SEGMENT_S) -> list[tuple[int, int]]:
    """``[start, stop)`` of the segments; a last piece shorter than a minute joins the one before."""
    step = max(1, round(segment_s * fs_hz))
    spans = [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < 60.0 * fs_hz:
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return spans


@dataclass
class _Collected:
    """Network outputs of the windows seen so far (one row per window) and where they start."""

    outs: list[np.ndarray] = field(default_factory=list)
    starts_s: list[np.ndarray] = field(default_factory=list)
    warnings: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def add(self, out: np.ndarray, starts_s: tuple[float, ...], offset_s: float, warnings) -> None:
        self.outs.append(out)
        self.starts_s.append(np.asarray(starts_s, dtype=np.float64) + offset_s)
        self.warnings.update(warnings)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.outs:
            return np.zeros((0, 0)), np.zeros(0)
        return np.concatenate(self.outs), np.concatenate(self.starts_s)


def _result(runner: Any, out: np.ndarray, starts_s: np.ndarray, warnings, elapsed_s: float) -> Any:
    """The runner's record result from the outputs of the given windows (no samples needed)."""
    from ecgviewer.inference.preprocess import Windows

    windows = Windows(
        np.zeros((len(out), 0, 0), dtype=np.float32), tuple(float(s) for s in starts_s), warnings
    )
    return runner._result(out, windows, elapsed_s)


@dataclass(frozen=True)
class LongRecordAnalysis:
    """What :func:`analyze_long_record` found.

    Attributes
    ----------
    analysis
        The record values (``analysis.record`` is the :class:`LongRecord`).
    per_hour
        One JSON-ready entry per hour from the record start (see ``docs/measurements.md``).
    quality
        The signal quality of the segments' excerpts (None: not assessed): how many were assessed,
        how many had no measurable ECG, and per result the segments left out because of it.
    segment_s, stride_s
        Segment length and the window hop given (None: :data:`WINDOWS_PER_SEGMENT` per segment).
    beats
        The beat pass over the whole record with its QT trend (``beats.intervals``); None when
        no delineation network was asked for or none could be loaded.
    qt_trend_error
        Why there is no QT trend although a delineation network was asked for, else None.
    """

    analysis: RecordAnalysis
    per_hour: list[dict[str, Any]]
    segment_s: float
    stride_s: float | None
    quality: dict[str, Any] | None = None
    beats: Any = None
    qt_trend_error: str | None = None

    @property
    def prediction(self):
        return self.analysis.prediction

    @property
    def interval_error(self) -> str | None:
        return self.analysis.interval_error

    @property
    def classification_error(self) -> str | None:
        return self.analysis.classification_error

    @property
    def withheld(self) -> Mapping[str, str]:
        return self.analysis.withheld

    def document(self, *, filters: str | None = None, created: dt.datetime | None = None) -> dict[str, Any]:
        """The record's measurement document plus ``long_record`` and ``per_hour``."""
        doc = self.analysis.document(filters=filters, created=created)
        if doc.get("classical") is not None:
            doc["classical"]["method"] = (
                "median beat (ecgviewer.core.beats) of the first 2 min of each 10 min segment, "
                "median over the segments"
            )
        rec = self.analysis.record
        doc["long_record"] = {
            "segment_s": self.segment_s,
            "n_segments": len(segment_spans(rec.n_samples, rec.fs_hz, self.segment_s)),
            "stride_s": self.stride_s,
            "windows_per_segment": WINDOWS_PER_SEGMENT if self.stride_s is None else None,
            "classical_excerpt_s": CLASSICAL_EXCERPT_S,
            "values": "model: median over the windows analysed; classical: median over the segments' "
            "excerpts; n_beats: beats in the excerpts",
            "quality": self.quality,
        }
        doc["per_hour"] = self.per_hour
        if self.beats is not None or self.qt_trend_error is not None:
            from ecgviewer.analysis.qt_trend import qt_trend_document

            doc["qt_trend"] = qt_trend_document(self.beats, self.qt_trend_error)
        return doc


def _median(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return float(np.median(v)) if v else None


def _classical_summary(segments: list[Any]):
    """A :class:`~ecgviewer.core.beats.BeatAnalysis` holding the median of the segments' intervals."""
    from ecgviewer.core.beats import BeatAnalysis, ClassicalIntervals

    found = [s for s in segments if s is not None]
    if not found:
        return None
    iv = [s.intervals for s in found]
    intervals = ClassicalIntervals(
        rr_ms=_median([i.rr_ms for i in iv]),
        hr_bpm=_median([i.hr_bpm for i in iv]),
        pr_ms=_median([i.pr_ms for i in iv]),
        qrs_ms=_median([i.qrs_ms for i in iv]),
        qt_ms=_median([i.qt_ms for i in iv]),
        n_beats=int(sum(i.n_beats for i in iv)),
    )
    return BeatAnalysis(beats=None, median_beat=None, intervals=intervals)  # type: ignore[arg-type]


def _num(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 2)


def analyze_long_record(
    rec: LongRecord,
    options: AnalysisOptions | None = None,
    *,
    models: ModelSet | None = None,
    on_event: Callable[[AnalysisEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[float, float], None] | None = None,
    source: str | None = None,
    segment_s: float = SEGMENT_S,
) -> LongRecordAnalysis:
    """Analyse ``rec`` segment by segment (see the module notes); arguments as
    :func:`~ecgviewer.analysis.pipeline.analyze_record`, plus ``progress(done_s, total_s)``.

    Raises
    ------
    AnalysisCancelled
        ``should_stop()`` returned True.
    """
    o = options or AnalysisOptions()
    models = models if models is not None else ModelSet()
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    fs = rec.fs_hz
    spans = segment_spans(rec.n_samples, fs, segment_s)
    timings: dict[str, float] = {"classical": 0.0, "intervals": 0.0, "classification": 0.0}

    predictor = classifier = None
    intervals, classes = _Collected(), _Collected()
    run = {"stride_s": o.stride_s, "batch_size": o.batch_size}
    try:
        predictor = models.predictor(o.model, o.device, **run)
        spec = predictor.input_spec()
    except Exception as exc:
        intervals.error = exc
    classifier_name = checkpoint_name(o.classifier) if o.classifier is not None else None
    if o.classifier is not None:
        try:
            classifier = models.classifier(
                o.classifier, o.device, stride_s=o.stride_s, batch_size=o.batch_size
            )
            class_spec = classifier.input_spec()
        except Exception as exc:
            classes.error = exc

    # with the QT trend the segments are the first half of the progress, the beat pass the second
    share = 0.5 if o.delineator is not None else 1.0
    seg_classical: list[Any] = []
    seg_hour: list[int] = []
    # signal quality per segment, from its classical excerpt: an unusable segment is left out
    seg_quality: dict[str, Any] = {"segments_assessed": 0, "segments_unmeasurable": 0, "reasons": {}}
    left_out = {"classical": 0, "intervals": 0, "classification": 0}
    emit(StageStarted("segments"))
    for k, (a, b) in enumerate(spans):
        if stop():
            raise AnalysisCancelled("analysis cancelled")
        offset_s = a / fs
        seg_hour.append(int(offset_s // HOUR_S))
        t0 = time.perf_counter()
        quality = None
        if o.classical or o.quality:
            excerpt = rec.read(a, min(b, a + round(CLASSICAL_EXCERPT_S * fs)))
            if o.quality:
                quality = assess(excerpt)
                seg_quality["segments_assessed"] += 1
                if not quality.measurable:
                    seg_quality["segments_unmeasurable"] += 1
                    why = quality.reason or "no measurable ECG"
                    seg_quality["reasons"][why] = seg_quality["reasons"].get(why, 0) + 1
            found = classical_analysis(excerpt, quality) if o.classical else None
            left_out["classical"] += o.classical and found is None and quality is not None
            seg_classical.append(found)
            del excerpt
        else:
            seg_classical.append(None)
        timings["classical"] += time.perf_counter() - t0
        for runner, spec_k, got, stage in (
            (predictor, "intervals", intervals, "intervals"),
            (classifier, "classes", classes, "classification"),
        ):
            if runner is None or got.error is not None:
                continue
            sp = spec if spec_k == "intervals" else class_spec
            if withheld_reason(quality, sp["leads"]) is not None:  # a lead it needs is unusable here
                left_out[stage] += 1
                continue
            t0 = time.perf_counter()
            try:
                starts_s = segment_window_starts(a / fs, b / fs, sp, o.stride_s)
                w = read_windows(rec, sp, starts_s)
                out = runner._forward(w.data, None, stop)
            except Exception as exc:
                from ecgviewer.inference.errors import PredictionCancelled

                if isinstance(exc, PredictionCancelled):
                    raise AnalysisCancelled("analysis cancelled") from None
                if got.outs and b - a < segment_s * fs:  # a short tail: the record values still stand
                    log.info("last segment not analysed by the %s model: %s", stage, exc)
                else:
                    got.error = exc
            else:
                got.add(out, w.starts_s, 0.0, w.warnings)
            timings[stage] += time.perf_counter() - t0
        emit(StageProgress("segments", k + 1, len(spans)))
        if progress is not None:
            progress(share * b / fs, rec.duration_s)

    # -- the beat pass and its QT trend --------------------------------------------------------------
    beats, qt_error = None, None
    if o.delineator is not None:
        from ecgviewer.analysis.qt_trend import long_qt_trend

        emit(StageStarted("qt_trend"))

        def pass_progress(done: int, total: int) -> None:
            emit(StageProgress("qt_trend", done, total))
            if progress is not None and total:
                progress(rec.duration_s * (share + (1 - share) * done / total), rec.duration_s)

        beats, qt_error = long_qt_trend(
            rec,
            o.delineator,
            o.device,
            models,
            batch_size=o.batch_size,
            should_stop=stop,
            progress=pass_progress,
        )
        if qt_error is None:
            emit(StageFinished("qt_trend", beats.intervals))
        else:
            emit(StageFailed("qt_trend", f"No QT trend: {qt_error}", RuntimeError(qt_error)))

    # -- record values ----------------------------------------------------------------------------
    classical = _classical_summary(seg_classical) if o.classical else None
    if o.classical:
        emit(StageFinished("classical", classical))
    prediction: Any = None
    interval_error = None
    out, starts = intervals.arrays()
    if intervals.error is None and len(out):
        try:
            prediction = _result(
                predictor, out, starts, tuple(sorted(intervals.warnings)), timings["intervals"]
            )
        except Exception as exc:
            intervals.error = exc
    if intervals.error is not None:
        exc = intervals.error
        log.info("analysis failed: %s", exc, exc_info=not is_user_error(exc))
        interval_error = reason(exc)
        emit(StageFailed("intervals", error_message(exc), exc))
    elif prediction is not None:
        emit(StageFinished("intervals", prediction))
    classification: Any = None
    classifier_meta = None
    if classifier is not None or classes.error is not None:
        c_out, c_starts = classes.arrays()
        if classes.error is None and len(c_out):
            try:
                classification = _result(
                    classifier, c_out, c_starts, tuple(sorted(classes.warnings)), timings["classification"]
                )
                classifier_meta = classifier.meta
            except Exception as exc:
                classes.error = exc
        if classes.error is not None:
            classification = classes.error
            emit(StageFailed("classification", error_message(classes.error, classifier=True), classes.error))
        else:
            emit(StageFinished("classification", classification))
    analysis = record_analysis(
        rec,  # type: ignore[arg-type]  (a LongRecord: the document reads its header facts only)
        classical=classical,
        prediction=prediction,
        interval_error=interval_error,
        classification=classification,
        classifier_name=classifier_name,
        classifier_meta=classifier_meta,
        timings_s=timings,
        source=source,
        withheld=(held := _withheld_everywhere(seg_quality, left_out, len(spans), o)),
    )

    # -- per hour -------------------------------------------------------------------------------------
    per_hour = []
    n_hours = max(seg_hour) + 1 if seg_hour else 0
    c_out, c_starts = classes.arrays()
    for h in range(n_hours):
        h0, h1 = h * HOUR_S, min((h + 1) * HOUR_S, rec.duration_s)
        entry: dict[str, Any] = {
            "hour": h,
            "start_s": h0,
            "start_time": (t.isoformat() if (t := rec.time_of(round(h0 * fs))) is not None else None),
            "duration_s": round(h1 - h0, 3),
        }
        hp = None
        if prediction is not None:
            mask = (starts >= h0) & (starts < h1)
            if mask.any():
                try:
                    hp = _result(predictor, out[mask], starts[mask], (), 0.0)
                except Exception:  # non-finite in this hour only
                    hp = None
        mv = model_values(hp)
        entry["model"] = {key: _num(mv.get(key, (None, None))[0]) for key, _, _ in ROWS}
        entry["n_windows"] = hp.n_windows if hp is not None else 0
        segs = [s for s, hh in zip(seg_classical, seg_hour) if hh == h]
        hc = _classical_summary(segs) if o.classical else None
        cv = classical_values(hc)
        entry["classical"] = {key: _num(cv.get(key)) for key, _, _ in ROWS} if hc is not None else None
        entry["n_beats"] = hc.intervals.n_beats if hc is not None else None
        hcls = None
        if classification is not None and not isinstance(classification, BaseException) and len(c_out):
            mask = (c_starts >= h0) & (c_starts < h1)
            if mask.any():
                try:
                    hcls = _result(classifier, c_out[mask], c_starts[mask], (), 0.0)
                except Exception:
                    hcls = None
        entry["statements"] = list(hcls.statements) if hcls is not None else None
        entry["probabilities"] = (
            {c.name: round(c.probability, 4) for c in hcls.classes} if hcls is not None else None
        )
        per_hour.append(entry)
    quality_doc = None
    if o.quality:
        quality_doc = {
            **seg_quality,
            "segments_left_out": {k: v for k, v in left_out.items() if v},
            "withheld": held,
        }
    return LongRecordAnalysis(analysis, per_hour, float(segment_s), o.stride_s, quality_doc, beats, qt_error)


def _withheld_everywhere(
    seg_quality: dict[str, Any], left_out: dict[str, int], n_segments: int, o: AnalysisOptions
) -> dict[str, str]:
    """Results withheld for the whole record: those the quality left out of every segment."""
    reasons = seg_quality["reasons"]
    why = max(reasons, key=reasons.get) if reasons else "no usable leads for it in any segment"
    wanted = {"classical": o.classical, "intervals": True, "classification": o.classifier is not None}
    return {k: why for k, n in left_out.items() if wanted[k] and n_segments and n == n_segments}


#: Most model windows the batch engine takes from one long record (evenly spaced over it): the
#: batch runs the network in its own process on windows prepared by workers, so a long record
#: sends a bounded sample of its windows (360 x 8 leads x 10 s at 500 Hz: 58 MB), not all of them.
BATCH_MAX_WINDOWS = 360


def segment_window_starts(
    a_s: float, b_s: float, spec: dict[str, Any], stride_s: float | None
) -> list[float]:
    """Window starts (record seconds) inside the segment ``[a_s, b_s)``: every ``stride_s`` when a
    stride is given, else :data:`WINDOWS_PER_SEGMENT` evenly spaced windows (fewer in a short segment)."""
    win_s = spec["window_samples"] / spec["fs_hz"]
    last = b_s - win_s
    if last < a_s - 1e-9:
        return []
    if stride_s is not None:
        return [float(t) for t in np.arange(a_s, last + 1e-9, stride_s)]
    n = int(min(WINDOWS_PER_SEGMENT, (b_s - a_s) // win_s))
    return [float(t) for t in np.linspace(a_s, last, max(n, 1))]


def read_windows(rec: LongRecord, spec: dict[str, Any], starts_s, warnings: tuple[str, ...] = ()):
    """The model windows of ``rec`` starting at ``starts_s`` (record seconds), each read on its own:
    :class:`~ecgviewer.inference.preprocess.Windows` (``spec``: a runner's ``input_spec``)."""
    from ecgviewer.inference.preprocess import Windows, prepare_windows

    win_s = spec["window_samples"] / spec["fs_hz"]
    fs = rec.fs_hz
    data, got, warned = [], [], list(warnings)
    for t in starts_s:
        a = round(t * fs)
        w = prepare_windows(rec.read(a, a + round(win_s * fs)), **{**spec, "stride_s": win_s})
        data.append(w.data[:1])
        got.append(float(t))
        warned.extend(x for x in w.warnings if x not in warned)
    if not data:
        raise ValueError("no complete model window")
    return Windows(np.concatenate(data), tuple(got), tuple(warned))


def sampled_windows(rec: LongRecord, spec: dict[str, Any], max_windows: int = BATCH_MAX_WINDOWS):
    """At most ``max_windows`` model windows of ``rec``, evenly spaced over it (10 s apart at least),
    with a warning saying how many of how many windows were taken."""
    win_s = spec["window_samples"] / spec["fs_hz"]
    all_starts = np.arange(0.0, max(rec.duration_s - win_s, 0.0) + 1e-9, LONG_STRIDE_S)
    starts = all_starts
    warnings: list[str] = []
    if len(all_starts) > max_windows:
        starts = all_starts[np.unique(np.linspace(0, len(all_starts) - 1, max_windows).round().astype(int))]
        warnings.append(
            f"long record: {len(starts)} of its {len(all_starts)} {win_s:g} s windows, evenly spaced, "
            "analysed"
        )
    return read_windows(rec, spec, starts, tuple(warnings))


def classical_over_segments(rec: LongRecord, segment_s: float = SEGMENT_S):
    """The classical measurement of ``rec`` as :func:`analyze_long_record` gives it (median over segments)."""
    excerpt = round(CLASSICAL_EXCERPT_S * rec.fs_hz)
    spans = segment_spans(rec.n_samples, rec.fs_hz, segment_s)
    return _classical_summary([classical_analysis(rec.read(a, min(b, a + excerpt))) for a, b in spans])


def prepare_long_job(
    rec: LongRecord, input_spec: dict[str, Any], classical: bool, class_spec: dict[str, Any] | None
) -> tuple[str, Any]:
    """:func:`ecgviewer.analysis.batch.prepare_job` for a long record: ``("ok", (rec, windows,
    analysis, class_windows))`` with :func:`sampled_windows` and :func:`classical_over_segments`,
    or ``("prepare", reason)``. ``rec`` itself is passed on (it pickles by opening the file again)."""
    try:
        windows = sampled_windows(rec, input_spec)
    except Exception as exc:
        return "prepare", reason(exc)
    class_windows: Any = None
    if class_spec is not None:
        try:
            class_windows = sampled_windows(rec, class_spec)
        except Exception as exc:  # the intervals still count
            class_windows = reason(exc)
    analysis = classical_over_segments(rec) if classical else None
    return "ok", (rec, windows, analysis, class_windows, None)  # None: no quality assessment (yet)
