"""Classification panel: probabilities of a real checkpoint for a real record, statements, off, failures."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from ecgviewer.core.readers import read_record
from ecgviewer.gui.actions import CLASSIFIER_CHOICES
from ecgviewer.gui.classification_panel import ClassificationPanel
from ecgviewer.inference.classifier import BUNDLED_CLASSIFIERS, Classifier
from ecgviewer.models.checkpoint import read_meta
from ecgviewer.report.measurements import training_summary
from ecgviewer.resources import checkpoints_dir, installed_checkpoints
from tests.tools import require_tool

TIMEOUT_MS = 60_000
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/measurements.schema.json").read_text())

pytestmark = pytest.mark.gui


@pytest.fixture
def record_path(ptbxl_dir: Path) -> Path:
    return ptbxl_dir / "00004_hr.hea"


@pytest.fixture
def classified(window, qtbot, tiny_classifier: Path, record_path: Path):
    """The window with the tiny classifier chosen and a real PTB-XL record opened and classified."""
    window.error_dialogs = False
    window.analysis.set_device("cpu")
    window.analysis.set_classifier(str(tiny_classifier))
    c = window.analysis.controller
    with (
        qtbot.waitSignal(c.predictionReady, timeout=TIMEOUT_MS),
        qtbot.waitSignal(c.classificationReady, timeout=TIMEOUT_MS) as got,
    ):
        window.open_file(record_path)
    return window, got.args[0]


def _stated(result) -> list[str]:
    """The coherent statements, recomputed from the probabilities with the core rule."""
    from ecgviewer.core.statements import coherent_statements

    decisions = coherent_statements(
        [k.name for k in result.classes],
        [k.probability for k in result.classes],
        [k.threshold for k in result.classes],
    )
    return [d.name for d in decisions if d.stated]


def _line(result) -> str:
    said = ", ".join(f"{n} ({100 * result[n].probability:.0f} %)" for n in _stated(result))
    return f"Statements: {said or 'none above threshold'}"


def test_panel_shows_the_classifiers_probabilities(classified, tiny_classifier, record_path):
    window, result = classified
    panel = window.analysis.class_panel
    assert window.analysis.class_dock.isVisible() and panel.result is result
    # the same checkpoint run outside the viewer on the same record gives the same probabilities
    direct = Classifier(tiny_classifier, device="cpu").classify(read_record(record_path))
    assert [k.probability for k in result.classes] == pytest.approx([k.probability for k in direct.classes])
    for k in result.classes:
        row = panel.row_texts(k.name)
        assert row["probability"] == f"{100 * k.probability:.0f} %"
        assert row["threshold"] == f"≥ {100 * k.threshold:.0f} %"
        assert row["description"] == k.description
        assert panel.is_emphasised(k.name) == (k.name in _stated(result))
    stated = _stated(result)
    assert "CD" not in stated  # threshold 1
    assert ("MI" in stated) != ("NORM" in stated)  # MI is always above threshold; NORM excludes it
    assert panel.statements_text() == _line(result)
    withheld = [k for k in result.classes if k.probability >= k.threshold and k.name not in stated]
    coherence = panel.coherence_label.text()
    assert all(f"Not stated: {k.name}" in coherence for k in withheld) and len(withheld) == coherence.count(
        "Not stated"
    )
    # provenance and the honest notes: an untrained placeholder, decision support only
    assert "tiny_cls" in panel.info_label.text() and "device cpu" in panel.info_label.text()
    assert panel.warning_label.isVisibleTo(panel) and "UNTRAINED" in panel.warning_label.text()
    assert "Decision support only" in panel.note_label.text()
    assert "untrained placeholder" in panel.note_label.text()
    # the intervals came from the same job and are shown too
    assert window.analysis.controller.prediction is not None
    assert window.analysis.panel.row_texts("qt_ms")["model"].endswith("ms")
    assert window.settings.classifier == str(tiny_classifier)


def test_switching_the_classifier_off_and_on(classified, qtbot, tiny_classifier):
    window, result = classified
    ui, c = window.analysis, window.analysis.controller
    prediction = c.prediction
    window.action("classifier_off").trigger()
    assert c.classifier is None and c.classification is None and window.settings.classifier is None
    assert ui.class_panel.result is None and ui.class_panel.table.rowCount() == 0
    assert ui.class_panel.statements_text() == ""
    installed = installed_checkpoints(BUNDLED_CLASSIFIERS)  # E's checkpoints may or may not be there
    expected = "Classifier off" if installed else "No classifier is installed"
    assert expected in ui.class_panel.status_label.text()
    assert ui.class_panel.classifier_combo.currentText() == "Off"
    assert c.prediction is prediction  # the intervals stay
    assert not c.is_busy  # nothing runs for "off"
    # back on through the panel's "Load classifier checkpoint…": only the classifier runs again
    ui.class_panel.file_dialog = lambda parent: str(tiny_classifier)
    combo = ui.class_panel.classifier_combo
    with qtbot.waitSignal(c.classificationReady, timeout=TIMEOUT_MS) as got:
        combo.setCurrentIndex(combo.count() - 1)
    assert c.prediction is prediction  # not recomputed
    again = got.args[0]
    assert [k.probability for k in again.classes] == pytest.approx([k.probability for k in result.classes])
    assert ui.class_panel.statements_text() == _line(again)
    assert window.settings.classifier == str(tiny_classifier)
    assert not any(window.action(f"classifier_{n}").isChecked() for _, n in CLASSIFIER_CHOICES)
    assert not window.action("classifier_off").isChecked()


def test_a_failing_classifier_leaves_the_intervals_shown(
    window, qtbot, record_path, monkeypatch, tiny_classifier
):
    window.error_dialogs = False
    window.analysis.set_device("cpu")
    # an interval checkpoint is not a classifier: a real load failure
    window.analysis.set_classifier(str(checkpoints_dir() / "resnet1d"))
    c, ui = window.analysis.controller, window.analysis
    with (
        qtbot.waitSignal(c.predictionReady, timeout=TIMEOUT_MS) as pred,
        qtbot.waitSignal(c.classificationFailed, timeout=TIMEOUT_MS) as failed,
    ):
        window.open_file(record_path)
    assert (
        failed.args[0].startswith("Cannot load the classifier") and "not a classification" in failed.args[0]
    )
    qtbot.waitUntil(lambda: not c.is_busy, timeout=TIMEOUT_MS)
    panel = ui.class_panel
    assert panel.error_label.isVisibleTo(panel) and panel.error_label.text() == failed.args[0]
    assert panel.result is None and panel.table.rowCount() == 0 and panel.statements_text() == ""
    prediction = pred.args[0]
    assert c.prediction is prediction
    assert ui.panel.row_texts("qrs_ms")["model"] == f"{prediction['qrs_ms'].value:.0f} ms"
    assert ui.panel.error_label.isHidden()  # the measurements panel has no error
    assert ui.panel.progress_bar.format().startswith("done")

    # an unexpected error inside classify: reported with its type, the intervals again untouched
    def boom(self, record, progress=None, should_stop=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(Classifier, "classify", boom)
    with qtbot.waitSignal(c.classificationFailed, timeout=TIMEOUT_MS) as failed:
        ui.set_classifier(str(tiny_classifier))  # the record is classified again with it
    assert "RuntimeError: boom" in failed.args[0] and panel.error_label.text() == failed.args[0]
    assert c.prediction is prediction and c.classification is None
    monkeypatch.undo()

    # the intervals fail (a 5 s record) and the classifier fails too: both say why, nothing crashes
    short = read_record(record_path)
    short = short.with_signals(short.signals[:, :2500])
    with (
        qtbot.waitSignal(c.failed, timeout=TIMEOUT_MS) as interval_error,
        qtbot.waitSignal(c.classificationFailed, timeout=TIMEOUT_MS) as class_error,
    ):
        window.show_record(short)
    assert "10 s" in interval_error.args[0] and "10 s" in class_error.args[0]
    assert class_error.args[0].startswith("Cannot classify this record")
    assert ui.panel.error_label.isVisibleTo(ui.panel) and panel.error_label.isVisibleTo(panel)


def test_exports_carry_the_classification(classified, qtbot, tmp_path):
    window, result = classified
    qtbot.waitUntil(lambda: not window.analysis.controller.is_busy, timeout=TIMEOUT_MS)

    def export(kind: str, path: Path) -> Path:
        with qtbot.waitSignal(window.exports.exported, timeout=TIMEOUT_MS) as got:
            assert window.exports.export(kind, path)
        return got.args[1]

    doc = json.loads(export("json", tmp_path / "m.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["classification"]["statements"] == _stated(result)
    with open(export("csv", tmp_path / "m.csv"), newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["statements"] == ";".join(_stated(result))
    assert float(row["prob_NORM"]) == pytest.approx(result["NORM"].probability, abs=1e-4)
    pdf = export("pdf", tmp_path / "r.pdf")
    pdftotext = require_tool("pdftotext", "PDF text")
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    said = ", ".join(f"{n} {100 * result[n].probability:.0f} %" for n in _stated(result))
    assert "Statements" in text and said in text


def test_no_classifier_installed_and_a_bundled_one_installed(
    qtbot, tmp_path, monkeypatch, tiny_classifier, record_path
):
    """Without the bundled checkpoints the panel says so; with one installed it is the default and runs."""
    from ecgviewer.gui.main_window import MainWindow

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("resnet1d", "vit1d"):  # the interval models stay available
        for suffix in (".json", ".safetensors"):
            (folder / f"{name}{suffix}").symlink_to(checkpoints_dir() / f"{name}{suffix}")
    monkeypatch.setenv("ECGVIEWER_CHECKPOINT_DIR", str(folder))
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.settings.classifier is None and win.analysis.controller.classifier is None
    status = win.analysis.class_panel.status_label.text()
    assert "No classifier is installed" in status and str(folder) in status
    assert not any(win.action(f"classifier_{n}").isEnabled() for _, n in CLASSIFIER_CHOICES)
    assert win.action("classifier_off").isChecked()
    win.close()

    # "install" the tiny checkpoint under the second bundled name: it becomes the default
    name = BUNDLED_CLASSIFIERS[1]
    for suffix in (".json", ".safetensors"):
        shutil.copy(f"{tiny_classifier}{suffix}", folder / f"{name}{suffix}")
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.analysis.set_device("cpu")
    assert win.settings.classifier == name and win.action(f"classifier_{name}").isChecked()
    assert win.action(f"classifier_{BUNDLED_CLASSIFIERS[0]}").isEnabled() is False
    with qtbot.waitSignal(win.analysis.controller.classificationReady, timeout=TIMEOUT_MS) as got:
        win.open_file(record_path)
    assert got.args[0].model_name == name
    assert win.analysis.class_panel.statements_text().startswith("Statements: ")
    win.close()


def test_gui_names_are_the_bundled_classifiers():
    assert tuple(n for _, n in CLASSIFIER_CHOICES) == BUNDLED_CLASSIFIERS


def test_training_summary_reads_the_checkpoint(tiny_classifier):
    meta = read_meta(tiny_classifier)
    assert "untrained placeholder" in training_summary(meta, "tiny")
    trained = dataclasses.replace(meta, trained=True)
    text = training_summary(trained, "tiny")
    assert "trained on 12 PTB-XL records and validated on 4" in text
    assert "macro AUC 0.50 (val)" in text and "few" in text
    tested = dataclasses.replace(
        trained, metrics={"split": "val", "macro_auc": 0.7, "test": {"macro_auc": 0.66}}
    )
    assert "macro AUC 0.66 (test)" in training_summary(tested, "tiny")
    val_only = dataclasses.replace(trained, metrics={"split": "val", "macro_auc": 0.7})
    assert "macro AUC 0.70 (val)" in training_summary(val_only, "tiny")
    bare = dataclasses.replace(meta, trained=True, training={}, metrics={})
    assert "does not say how many records" in training_summary(bare, "tiny")


def test_panel_states_without_a_window(qtbot):
    panel = ClassificationPanel()
    qtbot.addWidget(panel)
    panel.set_installed(["ptbxl_resnet18"])
    panel.set_classifier(None)
    assert "Classifier off" in panel.status_label.text()
    panel.set_classifier("ptbxl_resnet18")
    panel.set_busy(True)
    assert "Waiting for the interval analysis" in panel.status_label.text()
    panel.set_progress(1, 3)
    assert panel.status_label.text() == "Classifying… 1 / 3 window(s)"
    panel.set_error("Cannot classify this record: record too short")
    assert panel.error_label.text().startswith("Cannot classify") and panel.result is None
    emitted = []
    panel.classifierChanged.connect(emitted.append)
    panel.classifier_combo.setCurrentIndex(panel.classifier_combo.findText("Off"))
    assert emitted == [None]


def test_a_classifier_replaced_mid_run_never_reports(
    qtbot, monkeypatch, tiny_classifier, make_tiny_classifier, sample_path
):
    """The old classifier's late result is dropped; reclassify() then runs the new one alone."""
    import threading

    from ecgviewer.gui.analysis import AnalysisController
    from ecgviewer.gui.workers import wait_for_workers

    other = make_tiny_classifier(tiny_classifier.parent / "other_cls", fs_hz=250.0)
    gate, started = threading.Event(), threading.Event()
    real = Classifier.classify

    def classify(self, record, progress=None, should_stop=None):
        if self.model_name == "tiny_cls":
            started.set()
            assert gate.wait(30)
            return real(self, record, progress)  # not cooperative: it really finishes late
        return real(self, record, progress, should_stop)

    monkeypatch.setattr(Classifier, "classify", classify)
    c = AnalysisController(classifier=str(tiny_classifier), device="cpu")
    got: list = []
    c.classificationReady.connect(got.append)
    try:
        with qtbot.waitSignal(c.predictionReady, timeout=TIMEOUT_MS):
            c.analyze(read_record(sample_path))
        qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
        prediction = c.prediction
        c.set_classifier(str(other))  # while tiny_cls is still classifying
        gate.set()
        qtbot.waitUntil(lambda: not c.is_busy, timeout=TIMEOUT_MS)
        qtbot.wait(50)
        assert got == [] and c.classification is None  # produced, and dropped
        with qtbot.waitSignal(c.classificationReady, timeout=TIMEOUT_MS):
            c.reclassify()
        assert [r.model_name for r in got] == ["other_cls"] and c.classification is got[0]
        assert c.prediction is prediction  # the intervals were not computed again
        assert got[0].warnings == ("resampled from 500 Hz to 250 Hz",)
    finally:
        gate.set()
        c.clear()
        assert wait_for_workers(TIMEOUT_MS)
        qtbot.wait(10)
