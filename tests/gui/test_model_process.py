"""ecgviewer.gui.model_process: the viewer's networks in child processes give the same results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.analysis import AnalysisOptions, ModelSet, analyze_record
from ecgviewer.core import read_record
from ecgviewer.gui.model_process import ProcessModelSet, beat_pass, run_beat_pass_in_child
from ecgviewer.inference.errors import PredictionCancelled

REPO = Path(__file__).resolve().parents[2]
OPTIONS = AnalysisOptions(model="resnet1d", classifier="ptbxl_crnn", device="cpu", batch_size=8)


@pytest.fixture
def remote():
    models = ProcessModelSet()
    yield models
    models.close()


def _values(analysis) -> dict[str, float]:
    return {k: v.value for k, v in analysis.prediction.intervals.items()}


def test_remote_networks_give_the_in_process_results(remote, sample_path):
    record = read_record(sample_path)
    assert not remote.running and not remote.is_loaded("intervals", "resnet1d", "cpu")
    here = analyze_record(record, OPTIONS, models=ModelSet())
    there = analyze_record(record, OPTIONS, models=remote)
    assert there.interval_error is None and there.classification_error is None
    assert remote.running and remote.pid != os.getpid()
    assert remote.is_loaded("intervals", "resnet1d", "cpu") and remote.is_loaded(
        "classification", "ptbxl_crnn", "cpu"
    )
    a, b = _values(here), _values(there)
    assert a.keys() == b.keys() and all(np.isclose(a[k], b[k], rtol=1e-5) for k in a)
    assert there.classification_result.statements == here.classification_result.statements
    assert there.classifier_meta.to_json_dict() == here.classifier_meta.to_json_dict()
    # discarded networks are forgotten here and freed there; the next use loads them again
    remote.discard("classification")
    assert not remote.is_loaded("classification", "ptbxl_crnn", "cpu")
    again = analyze_record(record, OPTIONS, models=remote)
    assert _values(again) == b
    # a model process that died is started again on the next request
    pid = remote.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while remote.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not remote.is_loaded("intervals", "resnet1d", "cpu")
    assert _values(analyze_record(record, OPTIONS, models=remote)) == b
    assert remote.pid != pid
    remote.close()
    assert not remote.running


def test_a_remote_prediction_can_be_cancelled_and_errors_come_back(remote, sample_path):
    record = read_record(sample_path)
    long = replace(record, signals=np.tile(record.signals, 30))  # 5 min: 30 windows, one per batch
    predictor = remote.predictor("resnet1d", "cpu", batch_size=1)
    seen: list[int] = []
    with pytest.raises(PredictionCancelled):
        predictor.predict(
            long, progress=lambda done, total: seen.append(done), should_stop=lambda: bool(seen)
        )
    assert seen and seen[-1] < 30
    assert predictor.predict(record).model_name == "resnet1d"  # the process still answers
    with pytest.raises(Exception, match=r"no-such-model|not found|checkpoint"):
        remote.predictor("no-such-model", "cpu")


def test_the_beat_pass_in_a_child_matches_the_worker_thread(shared_data):
    from ecgviewer.core.readers.registry import open_long_record

    rec = open_long_record(shared_data / "mitdb-208" / "208.hea")
    fractions: list[float] = []
    child = run_beat_pass_in_child(rec, fractions.append, lambda: False)
    here = beat_pass(rec, lambda f: None, lambda: False)
    assert child is not None and here is not None
    (a, _, note_a), (b, _, note_b) = child, here
    assert note_a == note_b == "" and a.method == b.method == "beatnet + prematurity rule"
    np.testing.assert_array_equal(a.r_peaks, b.r_peaks)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.events == b.events and 2500 < a.n_beats < 3500
    assert fractions and fractions[-1] == pytest.approx(1.0)
    # cancelling kills the child at once
    t0 = time.monotonic()
    calls = []
    assert run_beat_pass_in_child(rec, lambda f: None, lambda: calls.append(1) or len(calls) > 3) is None
    assert time.monotonic() - t0 < 10


@pytest.mark.gui
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_program_keeps_torch_out_of_the_viewer_process(shared_data, sample_path, tmp_path):
    """``MainWindow(isolate_models=True)``, as ``ecgviewer`` makes it: intervals and statements of a
    12-lead record, the beat pass of a long one, and the viewer process never imports torch."""
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from PySide6.QtWidgets import QApplication
        from ecgviewer.gui.main_window import MainWindow
        from ecgviewer.gui.settings import ViewerSettings

        def until(app, done, timeout_s=400):
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and not done():
                app.processEvents()
                time.sleep(0.01)

        def main():
            app = QApplication([])
            window = MainWindow(ViewerSettings(persist=False), error_dialogs=False, isolate_models=True)
            window.show()
            controller, lt = window.analysis.controller, window.longterm
            window.open_file({str(sample_path)!r})
            until(app, lambda: controller.classification is not None and not controller.is_busy)
            print("intervals", controller.prediction.model_name, type(controller.classification).__name__)
            window.open_file({str(shared_data / "mitdb-208" / "208.hea")!r})
            until(app, lambda: lt.beats is not None and not lt.is_busy)
            print("beats", lt.beats.n_beats, lt.beats.method)
            print("torch", "torch" in sys.modules)
            sys.stdout.flush()
            window.close()
            os._exit(0)

        if __name__ == "__main__":
            main()
        """
    )
    script = tmp_path / "viewer.py"
    script.write_text(code)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *sys.path])
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=880)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert lines["intervals"] == "resnet1d ClassificationResult", proc.stdout
    assert lines["beats"].endswith("beatnet + prematurity rule") and int(lines["beats"].split()[0]) > 2500
    assert lines["torch"] == "False"
