"""One small worker abstraction for everything that must not run on the GUI thread.

In the spirit of napari's ``thread_worker``: a :class:`Worker` runs a plain
function on a thread pool and reports through Qt signals that are delivered on
the GUI thread. Workers never touch widgets.

Every signal carries the worker's ``request_id``. A :class:`WorkerChannel`
numbers the requests of one kind of job (e.g. "open a file") and forwards only
the results of the newest one, so a stale result -- a file opened before
another one -- is dropped instead of replacing the newer record.

A function that wants to report progress or honour cancellation takes a
keyword parameter named ``job``; it receives the :class:`Job` handle::

    def load(path, job):
        for chunk in chunks:
            if job.cancelled:
                return None
            job.progress(fraction)

Examples
--------
>>> channel = WorkerChannel()                      # doctest: +SKIP
>>> channel.finished.connect(show_record)          # doctest: +SKIP
>>> channel.submit(read_record, path)              # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import itertools
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_REQUEST_IDS = itertools.count(1)
_POOL: QThreadPool | None = None


def thread_pool() -> QThreadPool:
    """The pool ecgviewer's workers run on (a private one, not the global pool)."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
    return _POOL


def wait_for_workers(timeout_ms: int = 30_000) -> bool:
    """Block until every running worker has finished (used at exit and by tests)."""
    return thread_pool().waitForDone(timeout_ms)


class Job:
    """What a running function sees of its worker: cancellation flag and progress.

    Parameters
    ----------
    request_id
        The id the worker's results will carry.
    """

    def __init__(self, request_id: int, progress_signal: Signal | None = None) -> None:
        self.request_id = request_id
        self._cancel = threading.Event()
        self._progress_signal = progress_signal

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` has been called; the function should return early."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the function to stop (cooperative: it must check :attr:`cancelled`)."""
        self._cancel.set()

    def progress(self, value: object) -> None:
        """Report progress (any value, e.g. a fraction in 0..1) to the GUI thread."""
        if self._progress_signal is not None and not self.cancelled:
            self._progress_signal.emit(self.request_id, value)


class WorkerSignals(QObject):
    """Signals of one worker; each carries the request id first."""

    started = Signal(int)
    progress = Signal(int, object)
    finished = Signal(int, object)
    errored = Signal(int, object)


def _wants_job(fn: Callable[..., Any]) -> bool:
    try:
        return "job" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Worker(QRunnable):
    """Run ``fn(*args, **kwargs)`` on :func:`thread_pool`.

    Parameters
    ----------
    fn
        The function. If it has a parameter named ``job`` it receives the
        :class:`Job` handle (cancellation flag, progress reporting).
    request_id
        Id carried by every signal; a fresh process-wide number when omitted.

    Notes
    -----
    ``signals.finished(request_id, result)`` or ``signals.errored(request_id,
    exception)`` is emitted exactly once, also for a cancelled job (whose
    result is whatever the function returned).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, request_id: int | None = None, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)  # Python keeps the reference (see _RUNNING)
        self.signals = WorkerSignals()
        self.request_id = next(_REQUEST_IDS) if request_id is None else request_id
        self.job = Job(self.request_id, self.signals.progress)
        self._fn, self._args, self._kwargs = fn, args, dict(kwargs)
        if _wants_job(fn):
            self._kwargs["job"] = self.job

    def cancel(self) -> None:
        """Set the cooperative cancellation flag."""
        self.job.cancel()

    @property
    def cancelled(self) -> bool:
        """True once cancelled."""
        return self.job.cancelled

    def run(self) -> None:  # runs on a pool thread
        """Run the function and emit ``finished`` or ``errored``."""
        rid = self.request_id
        try:
            self.signals.started.emit(rid)
            try:
                result = self._fn(*self._args, **self._kwargs)
            except BaseException as exc:  # reported, never raised into Qt
                self.signals.errored.emit(rid, exc)
            else:
                self.signals.finished.emit(rid, result)
        finally:
            _RUNNING.discard(self)

    def start(self) -> Worker:
        """Queue the worker on the pool and return it."""
        _RUNNING.add(self)
        thread_pool().start(self)
        return self


#: Workers queued or running: keeps the Python objects alive until they finish.
_RUNNING: set[Worker] = set()


def start_worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
    """Create a :class:`Worker` for ``fn(*args, **kwargs)`` and start it."""
    return Worker(fn, *args, **kwargs).start()


class WorkerChannel(QObject):
    """A stream of requests of one kind of which only the newest counts.

    :meth:`submit` cancels the previous worker of this channel and starts a new
    one; results and errors of older requests are dropped. The channel's
    signals carry no request id: whatever they deliver is current.

    Signals
    -------
    busy(bool)
        True when a request starts, False when the current one ends.
    progress(object), finished(object), errored(object)
        Of the current request only.
    """

    busy = Signal(bool)
    progress = Signal(object)
    finished = Signal(object)
    errored = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: Worker | None = None

    @property
    def current_id(self) -> int | None:
        """Request id of the newest worker, or None before the first submit."""
        return None if self._current is None else self._current.request_id

    @property
    def is_busy(self) -> bool:
        """True while the newest request has not reported back."""
        return self._current is not None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        """Cancel the current request and run ``fn(*args, **kwargs)`` as the new one."""
        self.cancel()
        worker = Worker(fn, *args, **kwargs)
        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(self._on_finished)
        worker.signals.errored.connect(self._on_errored)
        self._current = worker
        self.busy.emit(True)
        return worker.start()

    def cancel(self) -> None:
        """Cancel the current request (its result will be dropped)."""
        if self._current is not None:
            self._current.cancel()
            self._current = None
            self.busy.emit(False)

    def _is_current(self, request_id: int) -> bool:
        return self._current is not None and self._current.request_id == request_id

    def _on_progress(self, request_id: int, value: object) -> None:
        if self._is_current(request_id):
            self.progress.emit(value)

    def _on_finished(self, request_id: int, result: object) -> None:
        if self._is_current(request_id):
            self._current = None
            self.busy.emit(False)
            self.finished.emit(result)

    def _on_errored(self, request_id: int, exc: object) -> None:
        if self._is_current(request_id):
            self._current = None
            self.busy.emit(False)
            self.errored.emit(exc)
