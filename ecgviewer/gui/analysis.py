"""Interval analysis of the open record, off the GUI thread.

:class:`AnalysisController` owns the chosen model (a bundled name or a
checkpoint path) and device, caches the loaded
:class:`~ecgviewer.inference.Predictor` across records, and runs, for each
:meth:`~AnalysisController.analyze` request, on one
:class:`~ecgviewer.gui.workers.WorkerChannel`:

1. the classical beat analysis (:func:`ecgviewer.core.beats.analyze_beats`,
   fast) -- reported at once through ``classicalReady``;
2. the model prediction, with per-batch progress and cooperative cancellation
   -- reported through ``predictionReady``.

Because everything goes through one channel, only the newest request ever
reports: a slow prediction for a record opened earlier, or for a model that has
since been replaced, is dropped however late it finishes.

Signals
-------
classicalReady(object)
    :class:`~ecgviewer.core.beats.BeatAnalysis`, or None when the classical
    analysis failed (the prediction still runs).
predictionReady(object)
    :class:`~ecgviewer.inference.PredictionResult` of the newest request.
predictionDiscarded()
    The shown prediction no longer applies (model or device changed).
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
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.inference.result import PredictionResult

log = logging.getLogger(__name__)

#: Windows per forward pass in the GUI: small batches give smooth progress and quick cancellation.
GUI_BATCH_SIZE = 8
DEFAULT_MODEL = "resnet1d"
DEFAULT_DEVICE = "auto"


def error_message(exc: BaseException) -> str:
    """One user-facing line for an exception raised by an analysis."""
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.models.checkpoint import CheckpointError

    if isinstance(exc, PredictionError):
        return f"Cannot analyse this record: {exc}"
    if isinstance(exc, CheckpointError):
        return f"Cannot load the checkpoint: {exc}"
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        return f"Cannot load the checkpoint: {exc}"
    if isinstance(exc, MemoryError):
        return "Analysis failed: out of memory"
    return f"Analysis failed unexpectedly ({type(exc).__name__}: {exc})"


class _Cancelled:
    """Marker result of a cancelled run (dropped by the channel anyway)."""


class AnalysisController(QObject):
    """Runs classical + model interval analysis for one record at a time.

    Parameters
    ----------
    model
        Bundled model name (``"resnet1d"``, ``"vit1d"``) or checkpoint path.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (anything :func:`select_device` takes).
    batch_size
        Windows per forward pass (:data:`GUI_BATCH_SIZE`).
    """

    classicalReady = Signal(object)
    predictionReady = Signal(object)
    predictionDiscarded = Signal()
    cleared = Signal()
    progress = Signal(int, int)
    busy = Signal(bool)
    failed = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        model: str | Path = DEFAULT_MODEL,
        device: str = DEFAULT_DEVICE,
        batch_size: int = GUI_BATCH_SIZE,
    ) -> None:
        super().__init__(parent)
        self._model = str(model)
        self._device = device
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._predictor_key: tuple[str, str] | None = None
        self._predictor: Predictor | None = None
        self._record: EcgRecord | None = None
        self._classical: BeatAnalysis | None = None
        self._prediction: PredictionResult | None = None
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
    def device(self) -> str:
        """The requested device (``"auto"``, ``"cpu"``, ``"cuda"``)."""
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
        self._channel.submit(self._run, record, self._model, self._device)

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
        """Choose the device; cancels a running request and drops the prediction and cached predictor."""
        self._change(self._model, device)

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
        self.cleared.emit()

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

    def _run(self, record: EcgRecord, model: str, device: str, job: Job) -> Any:
        """Classical analysis, then prediction (runs on a worker thread)."""
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
        predictor = self._get_predictor(model, device)
        if job.cancelled:
            return _Cancelled()
        try:
            return predictor.predict(
                record,
                progress=lambda done, total: job.progress(("progress", done, total)),
                should_stop=lambda: job.cancelled,
            )
        except PredictionCancelled:
            return _Cancelled()

    # -- GUI side ------------------------------------------------------------------
    def _on_progress(self, value: object) -> None:
        kind, *rest = value  # type: ignore[misc]
        if kind == "classical":
            self._classical = rest[0]
            self.classicalReady.emit(rest[0])
        else:
            self.progress.emit(int(rest[0]), int(rest[1]))

    def _on_finished(self, result: object) -> None:
        if isinstance(result, _Cancelled):
            return
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
