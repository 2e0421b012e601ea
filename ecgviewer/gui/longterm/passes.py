"""The background passes over a whole long record: the min/max pyramid and the beat pass.

:class:`BackgroundPasses` runs :func:`~ecgviewer.gui.longterm.jobs.pyramid_job`
and :func:`~ecgviewer.gui.longterm.jobs.beat_pass_job` on worker threads (the beat
pass itself in a child process when :attr:`BackgroundPasses.beats_in_child` is set,
as the ``ecgviewer`` program does: see :mod:`ecgviewer.gui.model_process`), shows
their progress in the status bar (the beat pass with a Cancel button) and
reports their results; it knows nothing of pages or widgets beyond its two
indicators.

Signals
-------
pyramidDone(object)
    The pyramid (None when cancelled).
pyramidFailed(object)
    The exception that stopped the pyramid.
beatsDone(object)
    The ``BeatPassOutcome`` (None when cancelled).
beatsFailed(object)
    The exception that stopped the beat pass.
beatsCancelRequested()
    The user pressed Cancel next to the beat progress.
busyChanged(bool)
    A pass started or finished.
idle()
    Neither pass runs any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ecgviewer.gui.longterm.area import TaskIndicator
from ecgviewer.gui.longterm.jobs import beat_pass_job, pyramid_job
from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar

    from ecgviewer.core.long_record import LongRecord


class BackgroundPasses(QObject):
    """Pyramid and beat pass of the open long record (see the module docstring)."""

    pyramidDone = Signal(object)
    pyramidFailed = Signal(object)
    beatsDone = Signal(object)
    beatsFailed = Signal(object)
    beatsCancelRequested = Signal()
    busyChanged = Signal(bool)
    idle = Signal()

    def __init__(self, status_bar: QStatusBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: Run the beat pass in a child process (torch and the beat network stay out of the viewer).
        self.beats_in_child = False
        #: The beat pass also delineates every beat (QT/QTc, PR and QRS trend).
        self.delineate = True
        self.pyramid_task = TaskIndicator("Indexing")
        self.pyramid_task.setToolTip("Building the min/max pyramid that draws long pages quickly")
        self.beat_task = TaskIndicator("Beats", cancellable=True)
        self.beat_task.setToolTip(
            "Detecting and classifying every beat of the record, and measuring its QT, PR and QRS"
        )
        status_bar.addPermanentWidget(self.pyramid_task)
        status_bar.addPermanentWidget(self.beat_task)
        self._pyramid = WorkerChannel(self)
        self._beats = WorkerChannel(self)
        self._pyramid.progress.connect(self.pyramid_task.set_fraction)
        self._pyramid.finished.connect(self._on_pyramid)
        self._pyramid.errored.connect(self._on_pyramid_error)
        self._beats.progress.connect(self.beat_task.set_fraction)
        self._beats.finished.connect(self._on_beats)
        self._beats.errored.connect(self._on_beats_error)
        self.beat_task.cancelRequested.connect(self.beatsCancelRequested)
        for channel in (self._pyramid, self._beats):
            channel.busy.connect(self._on_busy)

    @property
    def is_busy(self) -> bool:
        """True while the pyramid or the beat pass runs."""
        return self._pyramid.is_busy or self._beats.is_busy

    @property
    def beats_running(self) -> bool:
        """True while the beat pass runs."""
        return self._beats.is_busy

    def build_pyramid(self, rec: LongRecord) -> None:
        """Build (or load) the min/max pyramid of ``rec`` in the background."""
        self.pyramid_task.start("Indexing")
        self._pyramid.submit(pyramid_job, rec)

    def run_beats(self, rec: LongRecord) -> None:
        """Detect and classify every beat of ``rec`` in the background."""
        self.beat_task.start("Beats")
        self._beats.submit(beat_pass_job, rec, in_child=self.beats_in_child, delineate=self.delineate)

    def cancel_beats(self) -> bool:
        """Stop the beat pass; False when none was running."""
        if not self._beats.is_busy:
            return False
        self._beats.cancel()
        self.beat_task.stop()
        return True

    def cancel(self) -> None:
        """Stop both passes (a new record, or the window closing)."""
        self._pyramid.cancel()
        self._beats.cancel()
        self.pyramid_task.stop()
        self.beat_task.stop()

    def _on_busy(self, busy: bool) -> None:
        self.busyChanged.emit(self.is_busy)
        if not busy and not self.is_busy:
            self.idle.emit()

    def _on_pyramid(self, pyramid) -> None:
        self.pyramid_task.stop()
        self.pyramidDone.emit(pyramid)

    def _on_pyramid_error(self, exc: BaseException) -> None:
        self.pyramid_task.stop()
        self.pyramidFailed.emit(exc)

    def _on_beats(self, outcome) -> None:
        self.beat_task.stop()
        self.beatsDone.emit(outcome)

    def _on_beats_error(self, exc: BaseException) -> None:
        self.beat_task.stop()
        self.beatsFailed.emit(exc)
