"""Interval analysis and statement classification of the open record, off the GUI thread.

:class:`AnalysisController` is the Qt adapter of the analysis layer: it holds
the chosen interval model, statement classifier (bundled names or checkpoint
paths; None: off) and device, and for each :meth:`~AnalysisController.analyze`
request runs :func:`ecgviewer.analysis.analyze_record` in one job on one
:class:`~ecgviewer.gui.workers.WorkerChannel`, with the networks of a
:class:`~ecgviewer.analysis.ModelSet` (loaded once, kept across records). The
pipeline's typed events become the signals below, in its order: the classical
beat analysis, the model prediction (with progress and cooperative
cancellation), then, with a classifier, the classification -- whose failure
never costs the interval results (nor does an interval failure stop it). The
outcome of a request's last stage is reported when it ends (after
``busy(False)``); after every step ``analysisChanged`` publishes the whole
:class:`~ecgviewer.analysis.RecordAnalysis` so far (exports build their
documents from it).

Because everything goes through one channel, only the newest request ever
reports: a slow prediction for a record opened earlier, or for a model that has
since been replaced, is dropped however late it finishes. Choosing another
classifier re-runs only the classification (:meth:`~AnalysisController.reclassify`).

Signals
-------
classicalReady(object)
    :class:`~ecgviewer.core.beats.BeatAnalysis`, or None when the classical
    analysis failed (the prediction still runs).
predictionReady(object)
    :class:`~ecgviewer.inference.PredictionResult` of the newest request.
predictionDiscarded()
    The shown prediction no longer applies (model or device changed).
classificationReady(object)
    :class:`~ecgviewer.inference.ClassificationResult` of the newest request.
classificationFailed(str)
    The classifier could not load or classify the record (user-facing message).
classificationProgress(int, int)
    ``(windows_done, n_windows)`` of the running classification.
classificationDiscarded()
    The shown classification no longer applies (classifier or device changed).
analysisChanged(object)
    The current :class:`~ecgviewer.analysis.RecordAnalysis` (results so far), or
    None when there is none (new record, :meth:`clear`).
cleared()
    Every result was dropped (new record, :meth:`clear`).
progress(int, int)
    ``(windows_done, n_windows)`` of the running prediction.
busy(bool)
    A request started (True) or ended, failed or was cancelled (False).
failed(str)
    A user-facing message (missing leads, record too short, bad checkpoint,
    unavailable device, or an unexpected error summarised in one line); also
    "Withheld: lead V1 unusable (flat)" when the signal quality withholds the
    model (a record with no measurable ECG at all says so through its
    ``analysisChanged`` quality instead).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ecgviewer.analysis import (
    DEFAULT_MODEL,
    STAGES,
    AnalysisCancelled,
    AnalysisEvent,
    AnalysisOptions,
    ModelSet,
    RecordAnalysis,
    StageFailed,
    StageFinished,
    StageProgress,
    analyze_record,
    error_message,
    is_user_error,
)
from ecgviewer.analysis.errors import SignalQualityWithheld
from ecgviewer.analysis.pipeline import DEFAULT_DELINEATOR
from ecgviewer.gui.workers import WorkerChannel, start_worker

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.workers import Job
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.inference.result import PredictionResult

log = logging.getLogger(__name__)

#: Windows per forward pass in the GUI: small batches give smooth progress and quick cancellation.
GUI_BATCH_SIZE = 8
DEFAULT_DEVICE = "auto"


class AnalysisController(QObject):
    """Runs classical + model interval analysis and the classifier for one record at a time.

    Parameters
    ----------
    model
        Bundled model name (:func:`ecgviewer.resources.bundled_checkpoints`) or checkpoint path.
    classifier
        Bundled classifier name, classification checkpoint path, or None (off).
    delineator
        Wave delineation network: bundled name or ``delineation`` checkpoint path (None: not run).
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (anything :func:`select_device` takes).
    batch_size
        Windows per forward pass (:data:`GUI_BATCH_SIZE`).
    models
        Where the networks come from (default: a new :class:`~ecgviewer.analysis.ModelSet`).
    """

    classicalReady = Signal(object)
    predictionReady = Signal(object)
    predictionDiscarded = Signal()
    classificationReady = Signal(object)
    classificationFailed = Signal(str)
    classificationProgress = Signal(int, int)
    classificationDiscarded = Signal()
    analysisChanged = Signal(object)
    cleared = Signal()
    progress = Signal(int, int)
    busy = Signal(bool)
    failed = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        model: str | Path = DEFAULT_MODEL,
        classifier: str | Path | None = None,
        delineator: str | Path | None = DEFAULT_DELINEATOR,
        device: str = DEFAULT_DEVICE,
        batch_size: int = GUI_BATCH_SIZE,
        models: ModelSet | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = str(model)
        self._classifier_name = None if classifier is None else str(classifier)
        self._delineator = None if delineator is None else str(delineator)
        self._device = device
        self._batch_size = batch_size
        self._models = models if models is not None else ModelSet()
        self._record: EcgRecord | None = None
        self._analysis: RecordAnalysis | None = None
        self._published: RecordAnalysis | None = None
        #: Applied to every analysis before it is published (the reader's over-read); None: as computed.
        self.transform: Callable[[RecordAnalysis], RecordAnalysis] | None = None
        self._classification_error: str | None = None
        self._job: AnalysisOptions | None = None  # options of the running request
        self._last_stage: str | None = None  # its last stage, reported when it ends
        self._deferred: AnalysisEvent | None = None
        self._channel = WorkerChannel(self)
        self._channel.busy.connect(self.busy)
        self._channel.progress.connect(self._on_event)
        self._channel.finished.connect(self._on_finished)
        self._channel.errored.connect(self._on_errored)

    # -- state -----------------------------------------------------------------
    @property
    def model(self) -> str:
        """The chosen model: bundled name or checkpoint path."""
        return self._model

    @property
    def classifier(self) -> str | None:
        """The chosen classifier: bundled name, checkpoint path, or None (off)."""
        return self._classifier_name

    @property
    def delineator(self) -> str | None:
        """The chosen wave delineation network: bundled name, checkpoint path, or None (not run)."""
        return self._delineator

    @property
    def device(self) -> str:
        """The requested device (``"auto"``, ``"cpu"``, ``"cuda"``) of the model and the classifier."""
        return self._device

    @property
    def models(self) -> ModelSet:
        """The cache of loaded networks."""
        return self._models

    @property
    def record(self) -> EcgRecord | None:
        """The record of the newest :meth:`analyze` request."""
        return self._record

    @property
    def analysis(self) -> RecordAnalysis | None:
        """Everything known about :attr:`record` with the current choices (as last ``analysisChanged``:
        with the over-read applied by :attr:`transform`)."""
        return self._published

    @property
    def computed(self) -> RecordAnalysis | None:
        """:attr:`analysis` as computed, before :attr:`transform`."""
        return self._analysis

    def republish(self) -> None:
        """Publish the current analysis again (the :attr:`transform` changed: an over-read edit)."""
        if self._analysis is not None:
            self._emit(self._analysis)

    def _emit(self, analysis: RecordAnalysis | None) -> None:
        out = analysis
        if analysis is not None and self.transform is not None:
            try:
                out = self.transform(analysis)
            except Exception:  # a bad edit must not cost the computed results
                log.exception("the over-read could not be applied")
        self._published = out
        self.analysisChanged.emit(out)

    @property
    def classical(self) -> BeatAnalysis | None:
        """Classical analysis of :attr:`record`, once ready."""
        return None if self._analysis is None else self._analysis.classical

    @property
    def prediction(self) -> PredictionResult | None:
        """Model prediction for :attr:`record` with the current model, once ready."""
        return None if self._analysis is None else self._analysis.prediction

    @property
    def classification(self) -> ClassificationResult | None:
        """Classifier result for :attr:`record` with the current classifier, once ready."""
        return None if self._analysis is None else self._analysis.classification_result

    @property
    def classification_error(self) -> str | None:
        """Why the current classifier gave no result for :attr:`record` (user-facing; None: no failure)."""
        return self._classification_error

    @property
    def classifier_meta(self) -> Any:
        """Checkpoint metadata (training data, metrics) of the classifier behind :attr:`classification`."""
        return None if self._analysis is None else self._analysis.classifier_meta

    @property
    def is_busy(self) -> bool:
        """True while a request runs."""
        return self._channel.is_busy

    @property
    def predictor_loaded(self) -> bool:
        """True when a predictor for the current model/device is cached and loaded."""
        return self._models.is_loaded("intervals", self._model, self._device)

    def options(self) -> AnalysisOptions:
        """The :class:`~ecgviewer.analysis.AnalysisOptions` of the next request."""
        return AnalysisOptions(
            model=self._model,
            classifier=self._classifier_name,
            device=self._device,
            batch_size=self._batch_size,
            delineator=self._delineator,
        )

    # -- requests ----------------------------------------------------------------
    def analyze(self, record: EcgRecord | None = None) -> None:
        """Analyse ``record`` (default: the last one), dropping every older result."""
        if record is None:
            record = self._record
        if record is None:
            return
        if record is not self._record:
            self._drop_all()
        else:
            self._update(prediction=None, interval_error=None)
        self._record = record
        self._submit(record, STAGES)

    def reclassify(self) -> None:
        """Classify the last record again with the current classifier (after :meth:`set_classifier`).

        Runs the classifier alone when the intervals of the record are there; a
        running analysis is restarted (so it uses the new classifier); nothing
        happens without a record, without a classifier, or before a first analysis.
        """
        record = self._record
        if record is None or self._classifier_name is None:
            return
        if self._channel.is_busy:
            self.analyze(record)
        elif self.prediction is not None or self.classical is not None:
            self._submit(record, ("classification",))

    def set_delineator(self, delineator: str | Path | None) -> None:
        """Choose the wave delineation network (None: not run); drops the cached one.

        The other results stay; call :meth:`redelineate` to delineate the record with it.
        """
        value = None if delineator is None or str(delineator) == "" else str(delineator)
        if value == self._delineator:
            return
        self._delineator = value
        self._models.discard("delineation")  # one delineator in memory at a time
        self._update(delineation=None, delineation_error=None)

    def redelineate(self) -> None:
        """Delineate the last record again with the current delineator, keeping the other results.

        A running analysis is restarted (so it uses the new delineator); nothing
        happens without a record or before a first analysis.
        """
        record = self._record
        if record is None:
            return
        if self._channel.is_busy:
            self.analyze(record)
        elif self._analysis is not None and self._analysis.record is record:
            self._submit(record, ("delineation",))

    def reanalyze(self) -> None:
        """Analyse the last record again (e.g. after :meth:`set_model`); no-op without one."""
        self.analyze(None)

    def cancel(self) -> None:
        """Stop the running request; its results are never emitted."""
        self._channel.cancel()

    def set_model(self, model: str | Path) -> None:
        """Choose the model; cancels a running request and drops the prediction and cached predictor."""
        self._change(str(model), self._device)

    def set_device(self, device: str) -> None:
        """Choose the device; cancels a running request and drops the results and cached models."""
        if device != self._device:
            self._drop_classification()
        self._change(self._model, device)

    def set_classifier(self, classifier: str | Path | None) -> None:
        """Choose the classifier (None: off); drops the classification and the cached classifier.

        The interval results stay; call :meth:`reclassify` to classify the record with it.
        """
        value = None if classifier is None or str(classifier) == "" else str(classifier)
        if value == self._classifier_name:
            return
        self._classifier_name = value
        self._drop_classification()

    def clear(self) -> None:
        """Cancel and forget the record and all results (the cached predictor is kept)."""
        self._channel.cancel()
        self._record = None
        self._drop_all()

    def warm_up(self) -> None:
        """Load the predictor, delineator and classifier of the current choices on a worker (no results).

        Uses its own worker, so an :meth:`analyze` meanwhile is not cancelled;
        load errors are reported when a record is analysed.
        """
        o = self.options()

        def load() -> None:
            m = self._models
            choices = ((m.predictor, o.model), (m.delineator, o.delineator), (m.classifier, o.classifier))
            for get, name in choices:
                try:
                    if name is not None:
                        get(name, o.device, batch_size=o.batch_size)
                except Exception:  # reported by the next analyze()
                    log.debug("warm-up of %s failed", name, exc_info=True)

        start_worker(load)

    def _submit(self, record: EcgRecord, stages: tuple[str, ...]) -> None:
        self._job = options = self.options()
        self._deferred = None
        runs = [
            s for s in STAGES if s in stages and (s != "classification" or options.classifier is not None)
        ]
        self._last_stage = runs[-1] if runs else None
        previous = self._analysis if self._analysis is not None and self._analysis.record is record else None
        self._channel.submit(self._run, record, options, stages, previous)

    def _change(self, model: str, device: str) -> None:
        if (model, device) == (self._model, self._device):
            return
        self._channel.cancel()
        self._model, self._device = model, device
        self._models.discard("intervals")  # one interval model in memory at a time
        self._update(prediction=None, interval_error=None)
        self.predictionDiscarded.emit()

    def _update(self, **changes: Any) -> None:
        """Change the current analysis and publish it (no-op without one)."""
        if self._analysis is not None:
            self._analysis = dataclasses.replace(self._analysis, **changes)
            self._emit(self._analysis)

    def _drop_all(self) -> None:
        self._analysis = None
        self._classification_error = None
        self.cleared.emit()
        self._emit(None)

    def _drop_classification(self) -> None:
        self._models.discard("classification")  # one classifier in memory at a time
        self._classification_error = None
        self._update(classification=None, classifier_meta=None)
        self.classificationDiscarded.emit()

    # -- worker side -------------------------------------------------------------
    def _run(
        self, record: EcgRecord, options: AnalysisOptions, stages: tuple, previous: Any, job: Job
    ) -> Any:
        """The pipeline on a worker thread: events become progress; None when cancelled."""
        kwargs = {"models": self._models, "on_event": job.progress, "stages": stages, "previous": previous}
        try:
            return analyze_record(record, options, should_stop=lambda: job.cancelled, **kwargs)
        except AnalysisCancelled:
            return None

    # -- GUI side ------------------------------------------------------------------
    def _publish(self, analysis: RecordAnalysis) -> None:
        """Make ``analysis`` current (less a classification by a classifier replaced since) and say so."""
        if self._job is not None and self._job.classifier != self._classifier_name:
            analysis = dataclasses.replace(analysis, classification=None, classifier_meta=None)
        if self._job is not None and self._job.delineator != self._delineator:
            analysis = dataclasses.replace(analysis, delineation=None, delineation_error=None)
        self._analysis = analysis
        self._emit(analysis)

    def _on_event(self, event: object) -> None:
        if isinstance(event, StageProgress):
            signal = self.classificationProgress if event.stage == "classification" else self.progress
            signal.emit(event.done, event.total)
        elif isinstance(event, (StageFinished, StageFailed)):
            if event.stage == self._last_stage:
                self._deferred = event  # the last stage is reported when the request ends
            else:
                self._apply(event)

    def _apply(self, event: StageFinished | StageFailed) -> None:
        if event.stage == "classification" and self._job and self._job.classifier != self._classifier_name:
            return  # made with a classifier that has since been replaced
        if event.analysis is not None:
            self._publish(event.analysis)
        if isinstance(event, StageFailed):
            unmeasurable = event.analysis is not None and not event.analysis.measurable
            if (
                isinstance(event.error, SignalQualityWithheld)
                and unmeasurable
                and event.stage != "classification"
            ):
                return  # "no measurable ECG" is shown from the analysis (quality), not as a failure
            if event.stage == "classification":
                self._classification_error = event.message
                self.classificationFailed.emit(event.message)
            elif event.stage == "delineation":
                pass  # the analysis carries it (delineation_error): the panel says it beside the headline
            else:
                self.failed.emit(event.message)
        elif event.stage == "classical":
            self.classicalReady.emit(event.value)
        elif event.stage == "intervals":
            self.predictionReady.emit(event.value)
        elif event.stage == "classification":
            self._classification_error = None
            self.classificationReady.emit(event.value)

    def _on_finished(self, result: object) -> None:
        deferred, self._deferred = self._deferred, None
        if not isinstance(result, RecordAnalysis):
            return  # cancelled
        if deferred is not None:
            self._apply(deferred)
        self._publish(result)  # with the timings

    def _on_errored(self, exc: object) -> None:
        self._deferred = None
        assert isinstance(exc, BaseException)
        if not isinstance(exc, Exception):
            log.error("analysis worker raised %r", exc)
        else:
            log.info("analysis failed: %s", exc, exc_info=not is_user_error(exc))
        self.failed.emit(error_message(exc))
