"""Interval analysis and statement classification of the open record, off the GUI thread.

:class:`AnalysisController` owns the chosen interval model and statement
classifier (bundled names or checkpoint paths; the classifier may be None: off)
and the device, caches the loaded :class:`~ecgviewer.inference.Predictor` and
:class:`~ecgviewer.inference.Classifier` across records, and runs, for each
:meth:`~AnalysisController.analyze` request, in one job on one
:class:`~ecgviewer.gui.workers.WorkerChannel`:

1. the classical beat analysis (:func:`ecgviewer.core.beats.analyze_beats`,
   fast) -- reported at once through ``classicalReady``;
2. the model prediction, with per-batch progress and cooperative cancellation
   -- reported through ``predictionReady``;
3. when a classifier is chosen, the classification (after the intervals, so
   they are shown first) -- reported through ``classificationReady``. Whatever
   goes wrong with the classifier is reported through ``classificationFailed``
   and never costs the interval results; an interval failure does not stop the
   classifier either.

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
cleared()
    Every result was dropped (new record, :meth:`clear`).
progress(int, int)
    ``(windows_done, n_windows)`` of the running prediction.
busy(bool)
    A request started (True) or ended, failed or was cancelled (False).
failed(str)
    A user-facing message (missing leads, record too short, bad checkpoint,
    unavailable device, or an unexpected error summarised in one line).

Example
-------
>>> controller = AnalysisController()                     # doctest: +SKIP
>>> controller.predictionReady.connect(panel.set_prediction)  # doctest: +SKIP
>>> controller.analyze(record)                            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.workers import Job
    from ecgviewer.inference.classifier import ClassificationResult, Classifier
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.inference.result import PredictionResult
    from ecgviewer.models.checkpoint import CheckpointMeta

log = logging.getLogger(__name__)

#: Windows per forward pass in the GUI: small batches give smooth progress and quick cancellation.
GUI_BATCH_SIZE = 8
DEFAULT_MODEL = "resnet1d"
DEFAULT_DEVICE = "auto"


def error_message(exc: BaseException, *, classifier: bool = False) -> str:
    """One user-facing line for an exception raised by an analysis (or, ``classifier``, a classification)."""
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.models.checkpoint import CheckpointError

    verb, checkpoint, what = (
        ("classify", "classifier", "Classification") if classifier else ("analyse", "checkpoint", "Analysis")
    )
    if isinstance(exc, PredictionError):
        return f"Cannot {verb} this record: {exc}"
    if isinstance(exc, (CheckpointError, FileNotFoundError, PermissionError)):
        return f"Cannot load the {checkpoint}: {exc}"
    if isinstance(exc, MemoryError):
        return f"{what} failed: out of memory"
    return f"{what} failed unexpectedly ({type(exc).__name__}: {exc})"


class _Cancelled:
    """Marker result of a cancelled run (dropped by the channel anyway)."""


class _Classified:
    """Final result of a run with classifier ``name``: its result and the checkpoint's metadata."""

    def __init__(self, name: str, result: ClassificationResult, meta: CheckpointMeta) -> None:
        self.name, self.result, self.meta = name, result, meta


class _ClassificationFailed:
    """Final result of a run whose classifier ``name`` failed (the interval results were already reported)."""

    def __init__(self, name: str, message: str) -> None:
        self.name, self.message = name, message


class AnalysisController(QObject):
    """Runs classical + model interval analysis and the classifier for one record at a time.

    Parameters
    ----------
    model
        Bundled model name (``"resnet1d"``, ``"vit1d"``) or checkpoint path.
    classifier
        Bundled classifier name (``"ptbxl_resnet18"``), classification checkpoint path, or None (off).
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (anything :func:`select_device` takes).
    batch_size
        Windows per forward pass (:data:`GUI_BATCH_SIZE`).
    """

    classicalReady = Signal(object)
    predictionReady = Signal(object)
    predictionDiscarded = Signal()
    classificationReady = Signal(object)
    classificationFailed = Signal(str)
    classificationProgress = Signal(int, int)
    classificationDiscarded = Signal()
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
        device: str = DEFAULT_DEVICE,
        batch_size: int = GUI_BATCH_SIZE,
    ) -> None:
        super().__init__(parent)
        self._model = str(model)
        self._classifier_name = None if classifier is None else str(classifier)
        self._device = device
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._predictor_key: tuple[str, str] | None = None
        self._predictor: Predictor | None = None
        self._classifier_key: tuple[str, str] | None = None
        self._classifier: Classifier | None = None
        self._record: EcgRecord | None = None
        self._classical: BeatAnalysis | None = None
        self._prediction: PredictionResult | None = None
        self._classification: ClassificationResult | None = None
        self._classification_error: str | None = None
        self._classifier_meta: CheckpointMeta | None = None
        self._channel = WorkerChannel(self)
        self._channel.busy.connect(self.busy)
        self._channel.progress.connect(self._on_progress)
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
    def device(self) -> str:
        """The requested device (``"auto"``, ``"cpu"``, ``"cuda"``) of the model and the classifier."""
        return self._device

    @property
    def record(self) -> EcgRecord | None:
        """The record of the newest :meth:`analyze` request."""
        return self._record

    @property
    def classical(self) -> BeatAnalysis | None:
        """Classical analysis of :attr:`record`, once ready."""
        return self._classical

    @property
    def prediction(self) -> PredictionResult | None:
        """Model prediction for :attr:`record` with the current model, once ready."""
        return self._prediction

    @property
    def classification(self) -> ClassificationResult | None:
        """Classifier result for :attr:`record` with the current classifier, once ready."""
        return self._classification

    @property
    def classification_error(self) -> str | None:
        """Why the current classifier gave no result for :attr:`record` (None: no failure)."""
        return self._classification_error

    @property
    def classifier_meta(self) -> CheckpointMeta | None:
        """Metadata (training data, metrics) of the checkpoint behind :attr:`classification`."""
        return self._classifier_meta

    @property
    def is_busy(self) -> bool:
        """True while a request runs."""
        return self._channel.is_busy

    @property
    def predictor_loaded(self) -> bool:
        """True when a predictor for the current model/device is cached and loaded."""
        with self._lock:
            return (
                self._predictor is not None and self._predictor_key == self._key() and self._predictor.loaded
            )

    def _key(self) -> tuple[str, str]:
        return (self._model, self._device)

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
            self._prediction = None
        self._record = record
        self._channel.submit(self._run, record, self._model, self._classifier_name, self._device)

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
        elif self._prediction is not None or self._classical is not None:
            self._channel.submit(self._classify_job, record, self._classifier_name, self._device)

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
        """Load the predictor for the current model/device on a worker (no results emitted).

        Uses its own worker, so an :meth:`analyze` meanwhile is not cancelled;
        load errors are reported when a record is analysed.
        """
        from ecgviewer.gui.workers import start_worker

        def load() -> None:
            try:
                self._get_predictor(self._model, self._device)
            except Exception:  # reported by the next analyze()
                log.debug("predictor warm-up failed", exc_info=True)
            if self._classifier_name is not None:
                try:
                    self._get_classifier(self._classifier_name, self._device)
                except Exception:
                    log.debug("classifier warm-up failed", exc_info=True)

        start_worker(load)

    def _change(self, model: str, device: str) -> None:
        if (model, device) == self._key():
            return
        self._channel.cancel()
        self._model, self._device = model, device
        with self._lock:
            self._predictor = None
            self._predictor_key = None
        self._prediction = None
        self.predictionDiscarded.emit()

    def _drop_all(self) -> None:
        self._classical = None
        self._prediction = None
        self._classification = None
        self._classification_error = None
        self._classifier_meta = None
        self.cleared.emit()

    def _drop_classification(self) -> None:
        with self._lock:
            self._classifier = None
            self._classifier_key = None
        self._classification = None
        self._classification_error = None
        self._classifier_meta = None
        self.classificationDiscarded.emit()

    # -- worker side -------------------------------------------------------------
    def _get_predictor(self, model: str, device: str) -> Predictor:
        """The cached predictor for ``(model, device)``, created and loaded if needed (worker thread)."""
        from ecgviewer.inference.predictor import Predictor

        key = (model, device)
        with self._lock:
            predictor = self._predictor if self._predictor_key == key else None
            if predictor is None:
                predictor = Predictor(model, device=device, batch_size=self._batch_size)
                if key == self._key():
                    self._predictor, self._predictor_key = predictor, key
        with self._load_lock:  # one load at a time; a second job for the same key waits, then reuses it
            predictor.load()  # idempotent; torch import + checkpoint read the first time
        return predictor

    def _get_classifier(self, name: str, device: str) -> Classifier:
        """The cached classifier for ``(name, device)``, created and loaded if needed (worker thread)."""
        from ecgviewer.inference.classifier import Classifier

        key = (name, device)
        with self._lock:
            classifier = self._classifier if self._classifier_key == key else None
            if classifier is None:
                classifier = Classifier(name, device=device, batch_size=self._batch_size)
                if key == (self._classifier_name, self._device):
                    self._classifier, self._classifier_key = classifier, key
        with self._load_lock:
            classifier.load()
        return classifier

    def _run(self, record: EcgRecord, model: str, classifier: str | None, device: str, job: Job) -> Any:
        """Classical analysis, prediction, then classification (runs on a worker thread).

        Without a classifier the prediction is the job's result (an interval
        failure is raised). With one, the prediction (or its failure) is
        reported as progress and the classification is the result.
        """
        from ecgviewer.core.beats import analyze_beats
        from ecgviewer.inference.errors import PredictionCancelled

        try:
            classical = analyze_beats(record)
        except Exception:
            log.warning("classical beat analysis failed", exc_info=True)
            classical = None
        job.progress(("classical", classical))
        if job.cancelled:
            return _Cancelled()
        try:
            predictor = self._get_predictor(model, device)
            if job.cancelled:
                return _Cancelled()
            prediction = predictor.predict(
                record,
                progress=lambda done, total: job.progress(("progress", done, total)),
                should_stop=lambda: job.cancelled,
            )
        except PredictionCancelled:
            return _Cancelled()
        except Exception as exc:
            if classifier is None:
                raise
            job.progress(("prediction_failed", exc))  # the classifier still runs
        else:
            if classifier is None:
                return prediction
            job.progress(("prediction", prediction))
        if job.cancelled:
            return _Cancelled()
        return self._classify_job(record, classifier, device, job)

    def _classify_job(self, record: EcgRecord, classifier: str, device: str, job: Job) -> Any:
        """Load the classifier (cached) and classify ``record``; never raises an Exception (worker thread)."""
        from ecgviewer.inference.errors import PredictionCancelled

        try:
            clf = self._get_classifier(classifier, device)
            if job.cancelled:
                return _Cancelled()
            result = clf.classify(
                record,
                progress=lambda done, total: job.progress(("class_progress", done, total)),
                should_stop=lambda: job.cancelled,
            )
            return _Classified(classifier, result, clf.meta)
        except PredictionCancelled:
            return _Cancelled()
        except Exception as exc:
            log.info("classification failed: %s", exc, exc_info=not _is_user_error(exc))
            return _ClassificationFailed(classifier, error_message(exc, classifier=True))

    # -- GUI side ------------------------------------------------------------------
    def _on_progress(self, value: object) -> None:
        kind, *rest = value  # type: ignore[misc]
        if kind == "classical":
            self._classical = rest[0]
            self.classicalReady.emit(rest[0])
        elif kind == "prediction":
            self._prediction = rest[0]
            self.predictionReady.emit(rest[0])
        elif kind == "prediction_failed":
            self._on_errored(rest[0])
        elif kind == "class_progress":
            self.classificationProgress.emit(int(rest[0]), int(rest[1]))
        else:
            self.progress.emit(int(rest[0]), int(rest[1]))

    def _on_finished(self, result: object) -> None:
        if isinstance(result, _Cancelled):
            return
        if isinstance(result, (_Classified, _ClassificationFailed)) and result.name != self._classifier_name:
            return  # made with a classifier that has since been replaced
        if isinstance(result, _Classified):
            self._classification, self._classifier_meta = result.result, result.meta
            self._classification_error = None
            self.classificationReady.emit(result.result)
        elif isinstance(result, _ClassificationFailed):
            self._classification, self._classifier_meta = None, None
            self._classification_error = result.message
            self.classificationFailed.emit(result.message)
        else:
            self._prediction = result  # type: ignore[assignment]
            self.predictionReady.emit(result)

    def _on_errored(self, exc: object) -> None:
        assert isinstance(exc, BaseException)
        if not isinstance(exc, Exception):
            log.error("analysis worker raised %r", exc)
        else:
            log.info("analysis failed: %s", exc, exc_info=not _is_user_error(exc))
        self.failed.emit(error_message(exc))


def _is_user_error(exc: BaseException) -> bool:
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.models.checkpoint import CheckpointError

    return isinstance(exc, (PredictionError, CheckpointError))
