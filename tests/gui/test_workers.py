"""The worker abstraction: results on the GUI thread, errors, progress, stale results dropped."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from ecgviewer.gui.workers import Worker, WorkerChannel, start_worker, wait_for_workers

pytestmark = pytest.mark.gui


def test_worker_runs_off_the_gui_thread_and_reports_on_it(qtbot):
    gui_thread = QThread.currentThread()
    seen = {}

    def work(a, b, job):
        seen["thread"] = threading.current_thread()
        job.progress(0.5)
        return a + b

    worker = Worker(work, 2, b=3)
    progress = []
    worker.signals.progress.connect(
        lambda rid, v: progress.append((rid, v, QThread.currentThread() is gui_thread))
    )
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [worker.request_id, 5]
    assert seen["thread"] is not threading.main_thread()
    assert progress == [(worker.request_id, 0.5, True)]


def test_worker_error_is_reported_not_raised(qtbot):
    def fail():
        raise ValueError("boom")

    worker = Worker(fail, request_id=42)
    with qtbot.waitSignal(worker.signals.errored, timeout=5000) as blocker:
        worker.start()
    rid, exc = blocker.args
    assert rid == 42 and isinstance(exc, ValueError) and str(exc) == "boom"


def test_cancellation_flag_is_seen_by_the_function(qtbot):
    release = threading.Event()
    started = threading.Event()

    def slow(job):
        started.set()
        release.wait(5)
        return "cancelled" if job.cancelled else "done"

    worker = Worker(slow)
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        worker.start()
        assert started.wait(5)
        worker.cancel()
        release.set()
    assert blocker.args[1] == "cancelled" and worker.cancelled


def test_channel_drops_stale_results(qtbot):
    channel = WorkerChannel()
    release = threading.Event()
    results, errors, busy = [], [], []
    channel.finished.connect(results.append)
    channel.errored.connect(errors.append)
    channel.busy.connect(busy.append)

    def slow(value):
        release.wait(5)
        return value

    def failing_slow():
        release.wait(5)
        raise RuntimeError("stale error")

    channel.submit(slow, "old")
    channel.submit(failing_slow)
    with qtbot.waitSignal(channel.finished, timeout=5000):
        channel.submit(slow, "new")
        assert channel.is_busy
        release.set()
    assert wait_for_workers(5000)
    QApplication.processEvents()  # deliver any queued stale signal (it must be dropped)
    assert results == ["new"] and errors == []
    assert busy[-1] is False and not channel.is_busy


def test_start_worker_gives_unique_ids(qtbot):
    a = start_worker(lambda: 1)
    b = start_worker(lambda: 2)
    assert a.request_id != b.request_id
    assert wait_for_workers(5000)
