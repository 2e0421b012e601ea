"""Analyse one record: signal quality, classical beats, the interval model, the statement classifier.

This is the one "analyse one record" pipeline of ecgviewer: the viewer's
:class:`~ecgviewer.gui.analysis.AnalysisController` runs :func:`analyze_record`
on a worker thread, ``ecgviewer analyze FILE`` runs it per file, and the batch
engine (:mod:`ecgviewer.analysis.batch`), which batches the network windows of
many records, assembles each record's result with the same
:func:`record_analysis` and writes the same document
(:meth:`RecordAnalysis.document`, i.e.
:func:`ecgviewer.report.measurements.measurement_document`).

Stages
------
:data:`STAGES` run in order (Qt-free):

0. ``"quality"``: the signal quality per lead and segment
   (:func:`ecgviewer.core.quality.assess_quality`): flat, lead-off, clipped and
   noisy leads are unusable; its :class:`~ecgviewer.core.quality.QualityReport`
   governs the stages after it (:func:`withheld_reason`).
1. ``"classical"``: the median-beat measurement
   (:func:`ecgviewer.core.beats.analyze_beats`) on the usable leads, beats in
   skipped segments left out; a failure gives None (logged).
2. ``"delineation"``: the wave delineation network
   (:class:`~ecgviewer.inference.delineation.Delineator`) on every usable lead the
   record has (one lead, two, twelve): P, QRS and T boundaries of every beat (the
   classical R peaks) and the record intervals derived from them -- the headline
   intervals of every surface.
3. ``"intervals"``: the interval regression model (:class:`~ecgviewer.inference.Predictor`).
4. ``"classification"``: the statement classifier, when one is chosen; after the
   intervals, so they are reported first. A classifier failure never costs the
   intervals, and an interval failure does not stop the classifier.

Quality withholds, it never guesses: with no measurable ECG every result is
withheld (:attr:`RecordAnalysis.withheld` says why, the document's ``quality``
section too); a model whose fixed input needs an unusable lead is withheld with
the reason ("lead V1 unusable (flat)", derived limb leads inheriting I and II).
A withheld stage sends :class:`StageFinished` with None (classical) or
:class:`StageFailed` with a :class:`~ecgviewer.analysis.errors.SignalQualityWithheld`
(the models), and does not load or run anything.

Each stage reports through ``on_event``: :class:`StageStarted`, then any number
of :class:`StageProgress`, then :class:`StageFinished` (its value) or
:class:`StageFailed` (a user-facing message). A failed stage does not raise.

Adding a stage (e.g. per-beat wave delineation): a field on
:class:`RecordAnalysis`, a ``_run_<stage>(run)`` function that fills it, its
name in :data:`STAGES` and the function in ``_RUNNERS``; callers that listen to
events see it without change.

Cancellation
------------
``should_stop()`` is checked before each stage and between network batches;
when it returns True, :func:`analyze_record` raises :class:`AnalysisCancelled`
(nothing is returned, no further events are sent).

Torch and scipy are imported on first use only (by the stages), so this module
can be imported while the viewer starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgviewer.analysis.errors import (
    AnalysisCancelled,
    SignalQualityWithheld,
    error_message,
    is_user_error,
    reason,
)
from ecgviewer.analysis.models import ModelSet
from ecgviewer.inference.errors import PredictionCancelled
from ecgviewer.report.measurements import ClassificationFailure, measurement_document
from ecgviewer.resources import default_checkpoint

if TYPE_CHECKING:
    import datetime as dt

    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.overread import EditedBeats, EditedDelineation, OverRead, StatementState
    from ecgviewer.core.quality import QualityReport
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult
    from ecgviewer.models.checkpoint import CheckpointMeta

log = logging.getLogger(__name__)

#: The stages of :func:`analyze_record`, in the order they run.
STAGES: tuple[str, ...] = ("quality", "classical", "delineation", "intervals", "classification")
#: The interval model used when none is chosen.
DEFAULT_MODEL: str = default_checkpoint("intervals") or "resnet1d"
#: The wave delineation network used when none is chosen.
DEFAULT_DELINEATOR: str = default_checkpoint("delineation") or "unet_delineation"


@dataclass(frozen=True)
class AnalysisOptions:
    """What :func:`analyze_record` runs.

    Parameters
    ----------
    model
        Interval model: bundled name (:func:`ecgviewer.resources.bundled_checkpoints`) or checkpoint path.
    classifier
        Statement classifier: bundled name or classification checkpoint path; None: no classification.
    device
        ``"auto"`` (cuda > mps > cpu), ``"cpu"``, ``"cuda"`` or ``"mps"``.
    stride_s
        Hop between the windows of records longer than one window; None: the models' default (5 s).
    batch_size
        Windows per forward pass (small in the viewer: smooth progress, quick cancellation).
    classical
        Run the classical median-beat measurement.
    quality
        Assess the signal quality first and withhold what it does not allow (off: every
        lead is taken as it is, as before the assessment existed).
    delineator
        Wave delineation network (bundled name or ``delineation`` checkpoint path): the
        per-beat boundaries and the headline intervals; None: not run.
    """

    model: str = DEFAULT_MODEL
    classifier: str | None = None
    device: str = "auto"
    stride_s: float | None = None
    batch_size: int = 32
    classical: bool = True
    quality: bool = True
    delineator: str | None = DEFAULT_DELINEATOR


# -- events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageStarted:
    """A stage (one of :data:`STAGES`) starts."""

    stage: str


@dataclass(frozen=True)
class StageProgress:
    """``done`` of ``total`` network windows of a stage are through."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class StageFinished:
    """A stage ended with ``value``.

    ``value``: the :class:`~ecgviewer.core.quality.QualityReport` for ``"quality"``, the
    :class:`~ecgviewer.core.beats.BeatAnalysis` (or None when the classical measurement
    failed or was withheld) for ``"classical"``, the
    :class:`~ecgviewer.inference.PredictionResult` for ``"intervals"``, the
    :class:`~ecgviewer.inference.ClassificationResult` for ``"classification"``.
    ``analysis``: every result so far (the later stages' fields as in ``previous``, else empty).
    """

    stage: str
    value: Any
    analysis: RecordAnalysis | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StageFailed:
    """A stage failed: ``message`` is one user-facing line, ``error`` the exception.

    ``analysis``: every result so far, this stage's failure included.
    """

    stage: str
    message: str
    error: BaseException
    analysis: RecordAnalysis | None = field(default=None, repr=False)


#: What ``on_event`` receives.
AnalysisEvent = StageStarted | StageProgress | StageFinished | StageFailed


# -- the result ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordAnalysis:
    """Everything the analysis found for one record.

    Attributes
    ----------
    record
        The analysed record (unfiltered).
    classical
        The classical median-beat measurement, or None (not run or failed).
    prediction
        The interval model's result, or None (not run or failed).
    interval_error
        Why the interval model gave no result (one line), else None.
    classification
        The classifier's result, a :class:`~ecgviewer.report.measurements.ClassificationFailure`
        (why it failed), or None when no classifier ran.
    classifier_meta
        Checkpoint metadata (training data, metrics) of the classifier behind ``classification``.
    timings_s
        Wall time per stage, seconds (not part of the document, not compared).
    source
        The file the record came from, as given (the document's ``record.file``); None: the
        record's own ``source_path``.
    quality
        The signal-quality assessment, None when not assessed.
    withheld
        Results withheld because of the signal quality: ``"classical"``, ``"intervals"``,
        ``"classification"``, ``"delineation"`` -> the reason (one line).
    delineation
        Per-beat wave boundaries and the record intervals derived from them
        (:class:`~ecgviewer.inference.delineation.DelineationResult`), or None.
    delineation_error
        Why the delineation gave no result (one line), else None.
    delineator_name
        The delineation checkpoint that ran or was meant to (reported with a failure), else None.
    overread
        The reader's over-read of the record (:class:`~ecgviewer.core.overread.OverRead`), None
        when there is none; set by :func:`ecgviewer.analysis.overread.apply_overread`. With a
        status other than ``"applied"`` it is kept for display only (nothing is changed).
    overread_status, overread_message
        ``"applied"``, ``"none"``, ``"record changed"``, ``"unreadable"`` or ``"ignored"``
        (None: no over-read was looked up), and one line saying so.
    overread_result
        The delineation with the reader's boundary and beat edits applied
        (:class:`~ecgviewer.core.overread.EditedDelineation`: edited beats, record intervals and
        their provenance), None when no over-read applies or there is no delineation. The
        headline intervals of every output come from it (:attr:`effective_delineation`).
    statement_states
        The classifier's statements after the reader's confirmations
        (``{code: StatementState}``, :func:`~ecgviewer.core.overread.apply_to_statements`),
        None when no over-read applies.
    overread_beats
        A classified beat list after the beat edits (:class:`~ecgviewer.core.overread.EditedBeats`),
        when one was given to :func:`~ecgviewer.analysis.overread.apply_overread`.
    """

    record: EcgRecord
    classical: BeatAnalysis | None = None
    prediction: PredictionResult | None = None
    interval_error: str | None = None
    classification: ClassificationResult | ClassificationFailure | None = None
    classifier_meta: CheckpointMeta | None = field(default=None, compare=False)
    timings_s: Mapping[str, float] = field(default_factory=dict, compare=False)
    source: str | None = None
    quality: QualityReport | None = None
    withheld: Mapping[str, str] = field(default_factory=dict)
    delineation: DelineationResult | None = None
    delineation_error: str | None = None
    delineator_name: str | None = None
    overread: OverRead | None = None
    overread_status: str | None = None
    overread_message: str = ""
    overread_result: EditedDelineation | None = field(default=None, compare=False)
    statement_states: Mapping[str, StatementState] | None = field(default=None, compare=False)
    overread_beats: EditedBeats | None = field(default=None, compare=False)

    @property
    def overread_applied(self) -> bool:
        """True when an over-read is applied to the values (status ``"applied"``)."""
        return self.overread is not None and self.overread_status == "applied"

    @property
    def effective_delineation(self) -> DelineationResult | None:
        """The delineation the headline values come from: with the reader's edits when an
        over-read applies (beats, boundaries and record intervals of :attr:`overread_result`),
        else :attr:`delineation` as computed."""
        if self.delineation is None or self.overread_result is None:
            return self.delineation
        r = self.overread_result
        return replace(self.delineation, delineation=r.delineation, intervals=dict(r.intervals))

    @property
    def measurable(self) -> bool:
        """False when the quality assessment found no measurable ECG (True when not assessed)."""
        return self.quality is None or self.quality.measurable

    @property
    def classification_result(self) -> ClassificationResult | None:
        """The classifier's result, None when it failed or did not run."""
        c = self.classification
        return None if c is None or isinstance(c, ClassificationFailure) else c

    @property
    def classification_error(self) -> str | None:
        """Why the classifier failed (one line), None when it did not fail."""
        c = self.classification
        return c.message if isinstance(c, ClassificationFailure) and not c.withheld else None

    def document(self, *, filters: str | None = None, created: dt.datetime | None = None) -> dict[str, Any]:
        """The measurement document of this analysis (see :func:`analysis_document`)."""
        return analysis_document(self, filters=filters, created=created)


def analysis_document(
    analysis: RecordAnalysis, *, filters: str | None = None, created: dt.datetime | None = None
) -> dict[str, Any]:
    """The JSON-ready measurement document of ``analysis``: what every export writes.

    :func:`ecgviewer.report.measurements.measurement_document` of its record and
    results, ``record.file`` set to :attr:`RecordAnalysis.source` when given.

    Parameters
    ----------
    analysis
        The analysis.
    filters
        Display filters of the accompanying report (``FilterSettings.describe``), if any.
    created
        Time stamp (default: now, UTC); the only value that differs between two
        documents of the same analysis.
    """
    doc = measurement_document(
        analysis.record,
        analysis.prediction,
        analysis.classical,
        classification=analysis.classification,
        filters=filters,
        created=created,
        quality=analysis.quality,
        withheld=analysis.withheld,
        delineation=analysis.effective_delineation,
        delineation_error=analysis.delineation_error,
        delineator_name=analysis.delineator_name,
        overread=analysis.overread,
        overread_status=analysis.overread_status,
        overread_message=analysis.overread_message,
        overread_result=analysis.overread_result,
        statement_states=analysis.statement_states,
        overread_beats=analysis.overread_beats,
    )
    if analysis.source is not None:
        doc["record"]["file"] = analysis.source
    return doc


def checkpoint_name(choice: str | Path) -> str:
    """The name a checkpoint is reported under: ``"ptbxl_crnn"`` as is, ``"/x/my.json"`` -> ``"my"``."""
    return Path(choice).name.removesuffix(".safetensors").removesuffix(".json")


def record_analysis(
    record: EcgRecord,
    *,
    classical: BeatAnalysis | None = None,
    prediction: PredictionResult | BaseException | None = None,
    interval_error: str | None = None,
    classification: ClassificationResult | ClassificationFailure | BaseException | None = None,
    classifier_name: str | None = None,
    classifier_meta: CheckpointMeta | None = None,
    timings_s: Mapping[str, float] | None = None,
    source: str | None = None,
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | BaseException | None = None,
    delineation_error: str | None = None,
    delineator_name: str | None = None,
) -> RecordAnalysis:
    """Assemble a :class:`RecordAnalysis` from stage results, exceptions standing for failures.

    Used by :func:`analyze_record` and by the batch engine, so a record gives the
    same result (and document) either way.

    Parameters
    ----------
    prediction
        The interval result, or the exception the interval model raised.
    interval_error
        Why the interval model failed, when ``prediction`` is None for that reason.
    classification
        The classifier's result, a ready failure, or the exception it raised
        (reported under ``classifier_name``).
    delineation, delineation_error, delineator_name
        The wave delineation's result or the exception it raised, why it failed, and its
        checkpoint's name.
    quality, withheld
        The signal-quality assessment and the results it withholds (see
        :func:`withheld_reasons`): a withheld result is dropped here, whatever was passed
        for it, so a caller that ran a model anyway (the batch engine) reports the same.
    """
    withheld = {k: v for k, v in (withheld or {}).items() if v}
    if "classical" in withheld:
        classical = None
    if "intervals" in withheld:
        prediction, interval_error = None, None
    if "classification" in withheld and classification is not None:
        classification = ClassificationFailure(
            classifier_name or getattr(classification, "model_name", "classifier"),
            withheld["classification"],
            withheld=True,
        )
    if "delineation" in withheld:
        delineation, delineation_error = None, None
    if isinstance(delineation, BaseException):
        delineation_error, delineation = reason(delineation), None
    if isinstance(prediction, BaseException):
        interval_error, prediction = reason(prediction), None
    if isinstance(classification, BaseException):
        classification = ClassificationFailure(classifier_name or "classifier", reason(classification))
    if isinstance(classification, ClassificationFailure):
        classifier_meta = None
    return RecordAnalysis(
        record=record,
        classical=classical,
        prediction=prediction,
        interval_error=interval_error,
        classification=classification,
        classifier_meta=classifier_meta,
        timings_s=dict(timings_s or {}),
        source=source,
        quality=quality,
        withheld=withheld,
        delineation=delineation,
        delineation_error=delineation_error,
        delineator_name=delineator_name if delineator_name is not None else _name_of(delineation),
    )


def _name_of(result: Any) -> str | None:
    return getattr(result, "model_name", None)


def assess(record: EcgRecord) -> QualityReport:
    """The signal quality of ``record`` (:func:`ecgviewer.core.quality.assess_quality`)."""
    from ecgviewer.core.quality import assess_quality  # scipy: on first use

    return assess_quality(record)


def withheld_reason(
    quality: QualityReport | None, leads: tuple[str, ...] | list[str] | None = None
) -> str | None:
    """Why a result that needs ``leads`` (all of them; None: any usable lead) must be withheld.

    None when it may run: no assessment, or a measurable record whose ``leads`` are all usable.
    """
    if quality is None:
        return None
    if not quality.measurable:
        return quality.reason or "no measurable ECG"
    return quality.lead_problem(tuple(leads)) if leads else None


def classical_leads(record: EcgRecord, quality: QualityReport | None) -> tuple[str, ...]:
    """The leads the classical measurement uses: the usable ones of its default leads (I, II, V1-V6
    when the record has any of them, else every mV channel)."""
    from ecgviewer.core.beats import default_leads  # scipy: on first use

    names = default_leads(record)
    if quality is None:
        return names
    # no fallback to III or an augmented lead alone: one small lead misplaces QRS onset and end
    # (PTB-XL record 1 clipped everywhere but aVF: QRS 64 ms from aVF against 86 ms)
    return tuple(n for n in names if quality.is_usable(n))


def default_leads_of(record: EcgRecord) -> tuple[str, ...]:
    """The classical measurement's default leads (:func:`ecgviewer.core.beats.default_leads`)."""
    from ecgviewer.core.beats import default_leads  # scipy: on first use

    return default_leads(record)


def classical_withheld(record: EcgRecord, quality: QualityReport | None) -> str | None:
    """Why the classical measurement is withheld: nothing measurable, no usable lead of its own, or
    its leads together too noisy (:data:`ecgviewer.core.quality.RECORD_NOISE_RATIO`)."""
    if quality is None:
        return None
    if not quality.measurable:
        return quality.reason or "no measurable ECG"
    leads = classical_leads(record, quality)
    if not leads:
        return "no usable lead for the median beat (" + ", ".join(default_leads_of(record)) + " unusable)"
    return quality.noise_problem(leads)


def withheld_reasons(
    quality: QualityReport | None,
    interval_leads: tuple[str, ...] | list[str] | None = None,
    classifier_leads: tuple[str, ...] | list[str] | None = None,
    record: EcgRecord | None = None,
    delineation: bool = False,
) -> dict[str, str]:
    """The :attr:`RecordAnalysis.withheld` map for models with these input leads (None: not run);
    with ``record``, the classical measurement's too (:func:`classical_withheld`), and with
    ``delineation`` (and ``record``) the wave delineation's (:func:`delineation_plan`)."""
    out = {}
    if delineation and record is not None and (why := delineation_plan(record, quality)[2]) is not None:
        out["delineation"] = why
    why = withheld_reason(quality) if record is None else classical_withheld(record, quality)
    if why is not None:
        out["classical"] = why
    if interval_leads is not None and (why := withheld_reason(quality, interval_leads)) is not None:
        out["intervals"] = why
    if classifier_leads is not None and (why := withheld_reason(quality, classifier_leads)) is not None:
        out["classification"] = why
    return out


def classical_analysis(record: EcgRecord, quality: QualityReport | None = None) -> BeatAnalysis | None:
    """The classical median-beat measurement of ``record``, or None when it fails (logged at INFO).

    With ``quality``: on its usable leads only, without the beats of skipped segments; None
    when :func:`classical_withheld` gives a reason.
    """
    from ecgviewer.core.beats import analyze_beats  # scipy: on first use

    try:
        if quality is None:
            return analyze_beats(record)
        if classical_withheld(record, quality) is not None:
            return None
        return analyze_beats(record, classical_leads(record, quality), exclude_s=quality.skipped_s)
    except Exception as exc:  # the model results still count
        log.info("classical beat analysis failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        return None


# -- the run -------------------------------------------------------------------------------------
@dataclass
class _Run:
    """One :func:`analyze_record` call: its inputs and what the stages found so far."""

    record: EcgRecord
    options: AnalysisOptions
    models: ModelSet
    emit: Callable[[AnalysisEvent], None]
    should_stop: Callable[[], bool]
    values: dict[str, Any]
    source: str | None = None

    def snapshot(self) -> RecordAnalysis:
        """The results so far."""
        v = self.values
        return record_analysis(
            self.record,
            classical=v.get("classical"),
            prediction=v.get("prediction"),
            interval_error=v.get("interval_error"),
            classification=v.get("classification"),
            classifier_name=v.get("classifier_name"),
            classifier_meta=v.get("classifier_meta"),
            timings_s=v.get("timings_s"),
            source=self.source,
            quality=v.get("quality"),
            withheld=v.get("withheld"),
            delineation=v.get("delineation"),
            delineation_error=v.get("delineation_error"),
            delineator_name=v.get("delineator_name"),
        )

    def finished(self, stage: str, value: Any) -> None:
        self.emit(StageFinished(stage, value, self.snapshot()))

    def failed(self, stage: str, exc: BaseException, message: str) -> None:
        self.emit(StageFailed(stage, message, exc, self.snapshot()))

    def check(self) -> None:
        if self.should_stop():
            raise AnalysisCancelled("analysis cancelled")

    def progress(self, stage: str) -> Callable[[int, int], None]:
        return lambda done, total: self.emit(StageProgress(stage, int(done), int(total)))

    def withhold(self, stage: str, why: str | None) -> bool:
        """Record (or clear) the quality reason of ``stage``; True when it is withheld."""
        held = dict(self.values.get("withheld") or {})
        held.pop(stage, None)
        if why is not None:
            held[stage] = why
        self.values["withheld"] = held
        return why is not None


def _run_quality(run: _Run) -> None:
    if not run.options.quality:
        run.values["quality"] = None
        return
    run.emit(StageStarted("quality"))
    run.values["quality"] = value = assess(run.record)
    run.finished("quality", value)


def _run_classical(run: _Run) -> None:
    if not run.options.classical:
        return
    run.emit(StageStarted("classical"))
    quality = run.values.get("quality")
    if run.withhold("classical", classical_withheld(run.record, quality)):
        run.values["classical"] = None
        run.finished("classical", None)
        return
    run.values["classical"] = value = classical_analysis(run.record, quality)
    run.finished("classical", value)


def _withhold_model(run: _Run, stage: str, runner: Any) -> bool:
    """Withhold ``stage`` when the quality does not allow its model (``runner``: None before loading)."""
    quality = run.values.get("quality")
    leads = None if runner is None else tuple(runner.meta.input_leads)
    why = withheld_reason(quality, leads)
    if not run.withhold(stage, why):
        return False
    assert why is not None
    exc = SignalQualityWithheld(why)
    if stage == "intervals":
        run.values["prediction"], run.values["interval_error"] = None, None
        run.failed(stage, exc, error_message(exc))
    else:
        run.values["classifier_meta"] = None
        run.values["classification"] = ClassificationFailure(
            run.values["classifier_name"], why, withheld=True
        )
        run.failed(stage, exc, error_message(exc, classifier=True))
    return True


def delineation_leads_of(
    record: EcgRecord, quality: QualityReport | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The leads the delineation uses and those it leaves out for their quality (``(used, withheld)``)."""
    from ecgviewer.inference.delineation import delineation_leads

    names = delineation_leads(record)
    if quality is None:
        return names, ()
    return tuple(n for n in names if quality.is_usable(n)), tuple(
        n for n in names if not quality.is_usable(n)
    )


def delineation_plan(
    record: EcgRecord, quality: QualityReport | None
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """``(leads, unusable, why)``: the leads the delineation uses, those left out for their quality,
    and why it is withheld altogether (nothing measurable, no usable lead), else None."""
    leads, unusable = delineation_leads_of(record, quality)
    why = withheld_reason(quality)
    if why is None and not leads:
        why = "no usable lead to delineate" + (f" ({', '.join(unusable)} unusable)" if unusable else "")
    return leads, unusable, why


def delineation_r_peaks(classical: BeatAnalysis | None) -> Any:
    """The beats the delineation takes: the classical R peaks when there are two or more, else None
    (the delineator detects them)."""
    if classical is not None and classical.beats.r_peaks.size >= 2:
        return classical.beats.r_peaks
    return None


def _run_delineation(run: _Run) -> None:
    o = run.options
    if o.delineator is None:
        run.values["delineation"] = run.values["delineation_error"] = run.values["delineator_name"] = None
        run.withhold("delineation", None)
        return
    run.emit(StageStarted("delineation"))
    run.values["delineator_name"] = checkpoint_name(o.delineator)
    leads, unusable, why = delineation_plan(run.record, run.values.get("quality"))
    if run.withhold("delineation", why):
        run.values["delineation"] = run.values["delineation_error"] = None
        exc = SignalQualityWithheld(why)
        run.failed("delineation", exc, error_message(exc))
        return
    r_peaks = delineation_r_peaks(run.values.get("classical"))
    try:
        delineator = run.models.delineator(o.delineator, o.device, batch_size=o.batch_size)
        run.check()
        result = delineator.delineate(
            run.record,
            leads=leads,
            r_peaks=r_peaks,
            withheld=unusable,
            progress=run.progress("delineation"),
            should_stop=run.should_stop,
        )
    except PredictionCancelled:
        raise AnalysisCancelled("analysis cancelled") from None
    except Exception as exc:
        log.info("delineation failed: %s", exc, exc_info=not is_user_error(exc))
        run.values["delineation"], run.values["delineation_error"] = None, reason(exc)
        run.failed("delineation", exc, error_message(exc))
    else:
        run.values["delineation"], run.values["delineation_error"] = result, None
        run.finished("delineation", result)


def _run_intervals(run: _Run) -> None:
    o = run.options
    run.emit(StageStarted("intervals"))
    if _withhold_model(run, "intervals", None):  # nothing measurable: not even loaded
        return
    try:
        predictor = run.models.predictor(o.model, o.device, stride_s=o.stride_s, batch_size=o.batch_size)
        if _withhold_model(run, "intervals", predictor):
            return
        run.check()
        prediction = predictor.predict(
            run.record, progress=run.progress("intervals"), should_stop=run.should_stop
        )
    except PredictionCancelled:
        raise AnalysisCancelled("analysis cancelled") from None
    except Exception as exc:
        log.info("analysis failed: %s", exc, exc_info=not is_user_error(exc))
        run.values["prediction"], run.values["interval_error"] = None, reason(exc)
        run.failed("intervals", exc, error_message(exc))
    else:
        run.values["prediction"], run.values["interval_error"] = prediction, None
        run.finished("intervals", prediction)


def _run_classification(run: _Run) -> None:
    o = run.options
    if o.classifier is None:
        run.values["classification"] = run.values["classifier_meta"] = None
        run.withhold("classification", None)
        return
    run.emit(StageStarted("classification"))
    run.values["classifier_name"] = checkpoint_name(o.classifier)
    if _withhold_model(run, "classification", None):
        return
    try:
        clf = run.models.classifier(o.classifier, o.device, stride_s=o.stride_s, batch_size=o.batch_size)
        if _withhold_model(run, "classification", clf):
            return
        run.check()
        result = clf.classify(
            run.record, progress=run.progress("classification"), should_stop=run.should_stop
        )
    except PredictionCancelled:
        raise AnalysisCancelled("analysis cancelled") from None
    except Exception as exc:
        log.info("classification failed: %s", exc, exc_info=not is_user_error(exc))
        run.values["classification"] = exc
        run.failed("classification", exc, error_message(exc, classifier=True))
    else:
        run.values["classification"], run.values["classifier_meta"] = result, clf.meta
        run.finished("classification", result)


#: Stage name -> the function that runs it (see the module notes on adding a stage).
_RUNNERS: dict[str, Callable[[_Run], None]] = {
    "quality": _run_quality,
    "classical": _run_classical,
    "delineation": _run_delineation,
    "intervals": _run_intervals,
    "classification": _run_classification,
}


def analyze_record(
    record: EcgRecord,
    options: AnalysisOptions | None = None,
    *,
    models: ModelSet | None = None,
    on_event: Callable[[AnalysisEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    stages: tuple[str, ...] = STAGES,
    previous: RecordAnalysis | None = None,
    source: str | None = None,
) -> RecordAnalysis:
    """Run the analysis :data:`STAGES` on ``record`` (see the module notes).

    Parameters
    ----------
    record
        The record, unfiltered.
    options
        Models, device and what to run (default :class:`AnalysisOptions`).
    models
        Where the networks come from (loaded on first use and kept); pass the
        same :class:`~ecgviewer.analysis.models.ModelSet` to analyse many records.
        Default: a new one, used for this call only.
    on_event
        Called (on this thread) with every :class:`StageStarted`,
        :class:`StageProgress`, :class:`StageFinished` and :class:`StageFailed`.
    should_stop
        Checked before each stage and network batch (cancellation).
    stages
        The stages to run (a subset of :data:`STAGES`; they run in :data:`STAGES` order).
    previous
        An earlier analysis of the same record whose results stand for the stages not run
        (e.g. classify again with another classifier, keeping the intervals).
    source
        The file the record came from, as given (:attr:`RecordAnalysis.source`).

    Returns
    -------
    RecordAnalysis
        The results, failures included (a failed stage does not raise).

    Raises
    ------
    AnalysisCancelled
        ``should_stop()`` returned True.
    """
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)} (known: {', '.join(STAGES)})")
    values: dict[str, Any] = {}
    if previous is not None:
        values = {
            "classical": previous.classical,
            "prediction": previous.prediction,
            "classification": previous.classification,
            "classifier_meta": previous.classifier_meta,
            "quality": previous.quality,
            "withheld": dict(previous.withheld),
            "delineation": previous.delineation,
            "delineation_error": previous.delineation_error,
            "delineator_name": previous.delineator_name,
        }
        if previous.interval_error is not None:
            values["interval_error"] = previous.interval_error
        source = source if source is not None else previous.source
    timings = dict(previous.timings_s) if previous is not None else {}
    values["timings_s"] = timings
    run = _Run(
        record,
        options or AnalysisOptions(),
        models if models is not None else ModelSet(),
        on_event or (lambda event: None),
        should_stop or (lambda: False),
        values,
        source,
    )
    for stage in STAGES:
        if stage not in stages:
            continue
        run.check()
        t0 = time.perf_counter()
        _RUNNERS[stage](run)
        timings[stage] = time.perf_counter() - t0
    result = run.snapshot()
    if previous is not None and previous.overread_status is not None:  # the reader's edits stay on
        from ecgviewer.analysis.overread import apply_overread

        result = apply_overread(
            result, previous.overread, status=previous.overread_status, message=previous.overread_message
        )
    return result
