"""The viewer's networks in child processes, so that the viewer process never imports torch.

torch alone is about 200 MB of resident memory and Qt, pyqtgraph, scipy and wfdb about as much
again, so the viewer keeps its networks out of its own process (``docs/benchmarks.md``):

- :class:`ProcessModelSet` stands in for :class:`~ecgviewer.analysis.ModelSet` (same methods):
  its interval predictors and statement classifiers live in one child process, started on first
  use (``spawn``: no fork of a process with Qt threads), which loads each network on first use and
  drops those :meth:`~ProcessModelSet.discard`-ed. ``predict``/``classify`` send the record (a
  10 s page) and stream the progress back; cancellation is a shared event the child polls
  between batches; results (and exceptions) come back pickled. :meth:`~ProcessModelSet.close`
  ends the child (the models are loaded again on the next use).
- :func:`run_beat_pass_in_child`: the long-term beat pass (``beatnet``, detection and events)
  in a child process of its own that reopens the record from its file; progress is streamed
  back, cancel kills the child, and its memory is returned to the system when the pass ends.

Qt-free; the child processes import neither Qt nor this package's GUI modules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ecgviewer.analysis.models import ModelSet

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord


@lru_cache(maxsize=1)
def _context() -> Any:
    """The ``spawn`` multiprocessing context (imported on first use: not at the viewer's start-up)."""
    import multiprocessing as mp
    from multiprocessing.reduction import ForkingPickler

    # Records, results and checkpoint metadata keep read-only mappings; let them cross the
    # pipes (only multiprocessing's pickler is taught this, not pickle itself).
    ForkingPickler.register(MappingProxyType, _reduce_mapping_proxy)
    return mp.get_context("spawn")


def _mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType) -> tuple:
    return _mapping_proxy, (dict(proxy),)


#: Seconds between checks of the cancel flag and of the child's health while waiting.
POLL_S = 0.05


class ModelProcessError(RuntimeError):
    """The child process ended unexpectedly, or a result could not be sent back."""


def return_freed_memory() -> None:
    """Ask glibc to hand large freed buffers back to the system (Linux; elsewhere nothing).

    By default glibc raises its mmap threshold as big blocks are freed, and later ones come
    from a heap that is not given back: a long pass over a record (chunks, batches, pyramid
    levels) then keeps its high-water mark. A fixed 1 MiB threshold (``M_MMAP_THRESHOLD``;
    what ``MALLOC_MMAP_THRESHOLD_=1048576`` does) and trimming above 1 MiB (``M_TRIM_THRESHOLD``)
    keep the resident memory near what is in use. Called at the start of the viewer and of
    its child processes.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 1 << 20)
    mallopt(m_trim_threshold, 1 << 20)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it pickles, else a :class:`ModelProcessError` with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return ModelProcessError(f"{type(exc).__name__}: {exc}")


# -- the model server --------------------------------------------------------------------------
def _serve(conn: Connection, cancel: Any) -> None:
    """Child process: answer requests for the networks of one :class:`ModelSet` until told to quit."""
    return_freed_memory()
    _context()
    models = ModelSet()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        op = msg[0]
        if op == "quit":
            return
        try:
            if op == "discard":
                models.discard(msg[1], msg[2])
                conn.send(("ok", None))
                continue
            kind, name, device, stride_s, batch_size = msg[1:6]
            if kind == "delineation":
                net = models.delineator(name, device, batch_size=batch_size)
            else:
                get = models.predictor if kind == "intervals" else models.classifier
                net = get(name, device, stride_s=stride_s, batch_size=batch_size)
            if op == "load":
                conn.send(("ok", getattr(net, "meta", None)))
                continue
            record, kwargs = msg[6], (msg[7] if len(msg) > 7 else {})

            def progress(done: int, total: int) -> None:
                conn.send(("progress", int(done), int(total)))

            run = getattr(net, {"intervals": "predict", "classification": "classify"}.get(kind, "delineate"))
            result = run(record, progress=progress, should_stop=cancel.is_set, **kwargs)
            conn.send(("ok", (result, getattr(net, "meta", None))))
        except BaseException as exc:  # everything goes back to the caller
            try:
                conn.send(("error", _portable(exc)))
            except Exception:
                conn.send(("error", ModelProcessError(f"{type(exc).__name__}: {exc}")))


class ModelProcess:
    """One child process running :func:`_serve`; requests are answered one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._cancel: Any = None
        self._posted: list[tuple] = []  # sent before the next request (never blocks the caller)

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.is_alive()

    def post(self, msg: tuple) -> None:
        """Queue ``msg`` for the running child, sent (and answered) before the next request.

        Does not wait for a request in progress (the GUI thread calls it). Dropped when no
        child runs: a new child starts with nothing loaded.
        """
        if self.running:
            self._posted.append(msg)

    @property
    def pid(self) -> int | None:
        """The child's process id (None when not started)."""
        return None if self._proc is None else self._proc.pid

    def _start(self) -> None:
        ctx = _context()
        parent, child = ctx.Pipe()
        self._cancel = ctx.Event()
        proc = ctx.Process(target=_serve, args=(child, self._cancel), name="ecgviewer-models", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def request(
        self,
        msg: tuple,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        start: bool = True,
    ) -> Any:
        """Send ``msg``, relay its progress, return its result (or raise its exception).

        ``should_stop()`` is polled while waiting; once True the child is asked to stop (it
        then answers with the cancellation exception of the network). Without ``start`` and
        without a running child nothing is sent and None is returned.
        """
        with self._lock:
            if not self.running:
                if not start:
                    return None
                self._close_locked()
                self._start()
            assert self._conn is not None
            posted, self._posted = self._posted, []
            for earlier in posted:
                self._exchange(earlier, None, None)
            return self._exchange(msg, progress, should_stop)

    def _exchange(
        self,
        msg: tuple,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Any:
        """Send one request and wait for its answer (the lock is held)."""
        assert self._conn is not None
        self._cancel.clear()
        self._conn.send(msg)
        while True:
            if should_stop is not None and not self._cancel.is_set() and should_stop():
                self._cancel.set()
            try:
                ready = self._conn.poll(POLL_S)
                answer = self._conn.recv() if ready else None
            except (EOFError, OSError):
                answer = None
                ready = True
            if answer is None:
                if ready or not self._proc.is_alive():
                    code = self._proc.exitcode
                    self._close_locked()
                    raise ModelProcessError(f"the model process ended unexpectedly (exit code {code})")
                continue
            tag = answer[0]
            if tag == "progress":
                if progress is not None:
                    progress(answer[1], answer[2])
            elif tag == "ok":
                return answer[1]
            else:
                raise answer[1]

    def close(self, timeout_s: float = 2.0) -> None:
        """End the child process (asked to quit, killed if it does not)."""
        with self._lock:
            self._close_locked(timeout_s)

    def _close_locked(self, timeout_s: float = 2.0) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        self._posted = []
        if proc is None:
            return
        try:
            if proc.is_alive() and conn is not None:
                conn.send(("quit",))
            proc.join(timeout_s)
        except (OSError, ValueError):
            pass
        if proc.is_alive():
            proc.kill()
            proc.join(timeout_s)
        if conn is not None:
            conn.close()


class RemoteNetwork:
    """A predictor or classifier living in the model process (what :class:`ProcessModelSet` hands out).

    ``predict``/``classify`` take the same arguments as
    :meth:`~ecgviewer.inference.predictor.Predictor.predict` and
    :meth:`~ecgviewer.inference.classifier.Classifier.classify`; ``meta`` is the checkpoint
    metadata once loaded.
    """

    def __init__(self, host: ModelProcess, key: tuple) -> None:
        self._host = host
        self.key = key
        self.meta: Any = None
        self.loaded = False

    @property
    def model_name(self) -> str:
        """The bundled name or checkpoint path it was asked for."""
        return str(self.key[1])

    def load(self) -> None:
        """Load the network in the child process (raises its load error)."""
        self.meta = self._host.request(("load", *self.key))
        self.loaded = True

    def _run(self, record: EcgRecord, progress: Any, should_stop: Any, **kwargs: Any) -> Any:
        result, meta = self._host.request(("run", *self.key, record, kwargs), progress, should_stop)
        self.meta, self.loaded = meta, True
        return result

    def predict(self, record: EcgRecord, progress: Any = None, should_stop: Any = None) -> Any:
        """Interval prediction of ``record`` in the child process."""
        return self._run(record, progress, should_stop)

    def classify(self, record: EcgRecord, progress: Any = None, should_stop: Any = None) -> Any:
        """Statement classification of ``record`` in the child process."""
        return self._run(record, progress, should_stop)

    def delineate(
        self, record: EcgRecord, progress: Any = None, should_stop: Any = None, **kwargs: Any
    ) -> Any:
        """Wave delineation of ``record`` in the child process (keywords as ``Delineator.delineate``)."""
        return self._run(record, progress, should_stop, **kwargs)


class ProcessModelSet(ModelSet):
    """A :class:`~ecgviewer.analysis.ModelSet` whose networks live in one child process.

    Thread-safe like :class:`~ecgviewer.analysis.ModelSet`; requests from several threads
    are answered one after the other.

    Examples
    --------
    >>> models = ProcessModelSet()
    >>> models.predictor("resnet1d", "cpu", load=False) is models.predictor("resnet1d", "cpu", load=False)
    True
    >>> models.running  # nothing started yet
    False
    """

    def __init__(self) -> None:
        super().__init__()
        self._host = ModelProcess()

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._host.running

    @property
    def pid(self) -> int | None:
        """The child's process id (None when not started)."""
        return self._host.pid

    def is_loaded(self, kind: str, name: str | Path, device: str) -> bool:
        """True when a network of ``kind`` for ``(name, device)`` is loaded in a running child."""
        return self.running and super().is_loaded(kind, name, device)

    def discard(self, kind: str | None = None, keep: tuple[str, str] | None = None) -> None:
        """Forget (and free in the child) the networks of ``kind`` (None: all) except ``keep``."""
        super().discard(kind, keep)
        self._host.post(("discard", kind, keep))

    def close(self) -> None:
        """End the child process and forget every network (they load again on the next use)."""
        with self._lock:
            for item in self._items.values():
                item.loaded = False
        self._host.close()

    def _make(self, key: tuple[Any, ...]) -> RemoteNetwork:
        return RemoteNetwork(self._host, key)

    def _load(self, item: RemoteNetwork) -> None:
        if not (item.loaded and self.running):
            item.load()


# -- the beat pass -----------------------------------------------------------------------------
def beat_pass(
    rec: LongRecord,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
    delineate: bool = True,
) -> tuple[Any, float, str] | None:
    """Detect and classify every beat of ``rec``: ``(BeatPassResult, seconds, note)``, None when cancelled.

    ``progress`` gets a fraction in 0..1. When the bundled beat classifier cannot be loaded the
    pass runs as detection only and ``note`` says why. With ``delineate`` the bundled delineation
    network also measures every beat's QT, PR and QRS (the QT/QTc trend, ``result.intervals``);
    when it cannot be loaded or fails, ``note`` says so. The same code runs on a worker thread
    or, through :func:`run_beat_pass_in_child`, in a child process.
    """
    from ecgviewer.analysis.qt_trend import beat_classifier_or_none, delineator_or_none
    from ecgviewer.inference.beats import run_beat_pass

    t0 = time.perf_counter()
    classifier, note = beat_classifier_or_none()
    delineator, qt_note = delineator_or_none() if delineate else (None, "")
    notes = [n for n in (note, qt_note) if n]

    def relay(*args) -> None:
        if len(args) >= 2:
            progress(args[0] / args[1] if args[1] else 1.0)
        elif args:
            progress(float(args[0]))

    result = run_beat_pass(rec, classifier, delineator=delineator, progress=relay, cancelled=cancelled)
    if result is None or cancelled():
        return None
    if result.intervals_note:
        notes.append(result.intervals_note)
    return result, time.perf_counter() - t0, "; ".join(notes)


def _beat_pass_child(
    conn: Connection, path: str, n_samples: int, fs_hz: float, delineate: bool = True
) -> None:
    """Child process: reopen the record, run the beat pass, send progress and the outcome."""
    return_freed_memory()
    _context()
    try:
        from ecgviewer.core.readers.registry import open_long_record

        rec = open_long_record(path)
        if rec.n_samples != n_samples or rec.fs_hz != fs_hz:
            raise ModelProcessError(f"{path} changed on disk since it was opened")
        last = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.1 or fraction >= 1.0:
                last[0] = now
                conn.send(("progress", fraction))

        conn.send(("ok", beat_pass(rec, progress, lambda: False, delineate)))
    except BaseException as exc:  # sent to the viewer
        conn.send(("error", _portable(exc)))
    finally:
        conn.close()


def can_reopen(rec: LongRecord) -> bool:
    """True when a child process can open ``rec`` from its file lazily (not a record read whole)."""
    return rec.source_path is not None and rec.access != "in memory"


def run_beat_pass_in_child(
    rec: LongRecord, progress: Callable[[float], None], cancelled: Callable[[], bool], delineate: bool = True
) -> Any:
    """:func:`beat_pass` of ``rec`` in a child process that opens the record from its file.

    Returns what the pass returns, or None when ``cancelled()`` turned True (the child is
    killed). Raises the pass's exception, or :class:`ModelProcessError` if the child died.
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_beat_pass_child,
        args=(child, str(rec.source_path), rec.n_samples, rec.fs_hz, delineate),
        name="ecgviewer-beats",
        daemon=True,
    )
    proc.start()
    child.close()
    try:
        while True:
            if cancelled():
                return None
            try:
                answer = parent.recv() if parent.poll(POLL_S) else None
            except (EOFError, OSError):
                raise ModelProcessError(
                    f"the beat pass process ended unexpectedly (exit code {proc.exitcode})"
                ) from None
            if answer is None:
                if not proc.is_alive() and not parent.poll():
                    code = proc.exitcode
                    raise ModelProcessError(f"the beat pass process ended unexpectedly (exit code {code})")
                continue
            if answer[0] == "progress":
                progress(answer[1])
            elif answer[0] == "ok":
                return answer[1]
            else:
                raise answer[1]
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
