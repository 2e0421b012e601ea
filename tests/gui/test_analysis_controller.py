"""AnalysisController: classical + model analysis on a worker, stale results, errors, responsiveness."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from ecgviewer.core.beats import BeatAnalysis
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.gui.analysis import GUI_BATCH_SIZE, AnalysisController
from ecgviewer.gui.workers import wait_for_workers
from ecgviewer.inference.predictor import Predictor

pytestmark = pytest.mark.gui
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def rec_a(ptbxl_dir) -> EcgRecord:
    return read_record(ptbxl_dir / "00001_hr.hea")


@pytest.fixture(scope="module")
def rec_b(ptbxl_dir) -> EcgRecord:
    return read_record(ptbxl_dir / "00002_hr.hea")


@pytest.fixture
def controller(qtbot):
    c = AnalysisController(device="cpu")
    yield c
    c.clear()
    assert wait_for_workers(TIMEOUT_MS)
    qtbot.wait(10)  # deliver the last queued signals while the controller still exists


class Recorder:
    """Collects every signal the controller emits, in order."""

    def __init__(self, c: AnalysisController) -> None:
        self.events: list[tuple[str, object]] = []
        c.classicalReady.connect(lambda a: self.events.append(("classical", a)))
        c.predictionReady.connect(lambda r: self.events.append(("prediction", r)))
        c.failed.connect(lambda m: self.events.append(("failed", m)))
        c.busy.connect(lambda b: self.events.append(("busy", b)))
        c.progress.connect(lambda d, n: self.events.append(("progress", (d, n))))
        c.analysisChanged.connect(lambda a: self.events.append(("analysis", a)))

    def of(self, kind: str) -> list:
        return [v for k, v in self.events if k == kind]


@pytest.fixture
def gated_predict(monkeypatch):
    """Make ``Predictor.predict`` wait on a gate for chosen records/models, ignoring cancellation.

    Yields ``(gate, started, produced, slow_when)``: ``produced`` maps id(result) -> record,
    ``slow_when`` is a list of predicates ``(predictor, record) -> bool``.
    """
    real = Predictor.predict
    gate, started = threading.Event(), threading.Event()
    produced: dict[int, EcgRecord] = {}
    slow_when: list = []

    def predict(self, record, progress=None, should_stop=None):
        if any(p(self, record) for p in slow_when):
            started.set()
            assert gate.wait(30)
            result = real(self, record, progress)  # not cooperative: it really finishes late
        else:
            result = real(self, record, progress, should_stop)
        produced[id(result)] = record
        return result

    monkeypatch.setattr(Predictor, "predict", predict)
    try:
        yield gate, started, produced, slow_when
    finally:
        gate.set()
        wait_for_workers(TIMEOUT_MS)


def test_classical_then_prediction(qtbot, controller, rec_a):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS):
        controller.analyze(rec_a)
    kinds = [k for k, _ in rec.events if k in ("classical", "prediction")]
    assert kinds == ["classical", "prediction"]
    analysis = rec.of("classical")[0]
    assert isinstance(analysis, BeatAnalysis)
    assert analysis.intervals.hr_bpm is not None and 40 < analysis.intervals.hr_bpm < 120
    result = rec.of("prediction")[0]
    assert result.model_name == "resnet1d" and result.device == "cpu"
    values = [e.value for e in result.intervals.values()] + [result.qtc_bazett_ms, result.qtc_fridericia_ms]
    assert np.all(np.isfinite(values))
    assert rec.of("busy")[0] is True and rec.of("busy")[-1] is False
    assert rec.of("failed") == []
    assert controller.prediction is result and controller.classical is analysis
    assert controller.predictor_loaded

    published = controller.analysis
    assert published.record is rec_a and published.prediction is result and published.classical is analysis
    assert published.document()["measurements"]["qrs_ms"]["model"] == result["qrs_ms"].value

    # a second record reuses the cached predictor
    predictor = controller.models.predictor("resnet1d", "cpu", batch_size=GUI_BATCH_SIZE, load=False)
    assert predictor.loaded
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS):
        controller.analyze(rec_a.with_signals(rec_a.signals[:, ::-1].copy()))
    assert controller.models.predictor("resnet1d", "cpu", batch_size=GUI_BATCH_SIZE, load=False) is predictor


def test_newer_record_wins_over_slow_older_prediction(qtbot, controller, rec_a, rec_b, gated_predict):
    gate, started, produced, slow_when = gated_predict
    slow_when.append(lambda p, r: r is rec_a)
    rec = Recorder(controller)
    controller.analyze(rec_a)
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)  # A is stuck inside predict
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS):
        controller.analyze(rec_b)
    gate.set()  # now A's prediction finishes, late
    assert wait_for_workers(TIMEOUT_MS)
    qtbot.wait(50)
    results = rec.of("prediction")
    assert len(results) == 1
    assert produced[id(results[0])] is rec_b
    assert len(produced) == 2  # A's result was produced, and dropped
    assert controller.record is rec_b and controller.prediction is results[0]
    published = rec.of("analysis")
    after = published[len(published) - published[::-1].index(None) :]  # after the switch withdrew A's
    assert after and all(a.record is rec_b for a in after)  # A's late prediction was never published
    assert after[-1].prediction is results[0]
    assert rec.of("busy")[-1] is False and not controller.is_busy


def test_model_switch_mid_run_drops_old_result(qtbot, controller, rec_a, gated_predict):
    gate, started, produced, slow_when = gated_predict
    slow_when.append(lambda p, r: p.model_name == "resnet1d")
    rec = Recorder(controller)
    discarded = []
    controller.predictionDiscarded.connect(lambda: discarded.append(True))
    controller.analyze(rec_a)
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    controller.set_model("vit1d")
    assert discarded and not controller.is_busy and controller.prediction is None
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS):
        controller.reanalyze()
    gate.set()
    assert wait_for_workers(TIMEOUT_MS)
    qtbot.wait(50)
    assert [r.model_name for r in rec.of("prediction")] == ["vit1d"]
    assert len(produced) == 2  # the resnet1d result was produced, and dropped
    assert controller.predictor_loaded and controller.model == "vit1d"
    assert not controller.models.is_loaded("intervals", "resnet1d", "cpu")  # the replaced one was dropped


def test_short_record_fails_with_message(qtbot, controller, rec_a):
    rec = Recorder(controller)
    short = rec_a.with_signals(rec_a.signals[:, :2500])  # 5 s
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT_MS) as blocker:
        controller.analyze(short)
    assert "at least 10 s" in blocker.args[0]
    assert rec.of("prediction") == [] and rec.of("busy")[-1] is False
    assert len(rec.of("classical")) == 1  # the classical analysis still ran


def test_missing_leads_fail_with_message(qtbot, controller, rec_a):
    two = EcgRecord(rec_a.signals[:2].copy(), rec_a.fs_hz, ("I", "II"), ("mV", "mV"))
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT_MS) as blocker:
        controller.analyze(two)
    msg = blocker.args[0]
    assert "missing" in msg and "V1" in msg
    assert controller.prediction is None and not controller.is_busy


def test_unexpected_errors_become_messages(qtbot, controller, rec_a, monkeypatch, tmp_path):
    def boom(self, record, progress=None, should_stop=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(Predictor, "predict", boom)
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT_MS) as blocker:
        controller.analyze(rec_a)
    assert "RuntimeError: boom" in blocker.args[0]
    monkeypatch.undo()
    controller.set_model(tmp_path / "nothing.safetensors")
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT_MS) as blocker:
        controller.reanalyze()
    assert blocker.args[0].startswith("Cannot load the checkpoint")


def long_record(rec: EcgRecord, minutes: float) -> EcgRecord:
    reps = round(minutes * 60 / rec.duration_s)
    return rec.with_signals(np.tile(rec.signals, (1, reps)))


def test_cancel_stops_the_run(qtbot, controller, rec_a):
    rec = Recorder(controller)
    long = long_record(rec_a, 5)
    with qtbot.waitSignal(controller.progress, timeout=TIMEOUT_MS):
        controller.analyze(long)
    with qtbot.waitSignal(controller.busy, timeout=1000) as blocker:
        controller.cancel()
    assert blocker.args == [False]
    t0 = time.perf_counter()
    assert wait_for_workers(TIMEOUT_MS)
    assert time.perf_counter() - t0 < 5.0  # the worker stopped at the next batch
    qtbot.wait(50)
    assert rec.of("prediction") == [] and rec.of("failed") == []
    assert controller.prediction is None and not controller.is_busy


def test_event_loop_stays_responsive_during_prediction(qtbot, controller, rec_a):
    """The GUI thread is never blocked > 100 ms while a long record is predicted.

    The predictor is warmed up first (torch import + checkpoint load: ~1.7 s of
    GIL-heavy importing, once per process) so that what is measured is the
    analysis itself: classical beat analysis + all the model's windows.
    """
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS):
        controller.analyze(rec_a)  # warm-up: loads the predictor
    long = long_record(rec_a, 5)
    rec = Recorder(controller)
    gaps: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)

    def tick() -> None:
        gaps.append(clock.restart())

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    with qtbot.waitSignal(controller.predictionReady, timeout=TIMEOUT_MS) as blocker:
        controller.analyze(long)
    timer.stop()
    assert blocker.args[0].n_windows >= 50
    assert len(rec.of("progress")) >= 5  # many batches, so the run was long enough to measure
    assert len(gaps) > 20
    print(f"ticks {len(gaps)}, max gap {max(gaps)} ms, windows {blocker.args[0].n_windows}")
    assert max(gaps) < 100, f"event loop blocked for {max(gaps)} ms"
