"""File menu exports: PNG/SVG of the view, the PDF report, measurements CSV/JSON, the record as WFDB."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.core.readers import read_record
from tests.tools import require_tool

LOAD_TIMEOUT_MS = 60_000
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/measurements.schema.json").read_text())

pytestmark = pytest.mark.gui


@pytest.fixture
def analysed_window(window, sample_path, qtbot):
    window.error_dialogs = False  # a modal message box would wait for a click
    with qtbot.waitSignal(window.analysis.controller.predictionReady, timeout=LOAD_TIMEOUT_MS):
        window.open_file(sample_path)
    return window


def _pdftotext(path: Path) -> str:
    pdftotext = require_tool("pdftotext", "text")
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True).stdout


def _export(qtbot, window, kind: str, path: Path) -> Path:
    with qtbot.waitSignal(window.exports.exported, timeout=LOAD_TIMEOUT_MS) as got:
        assert window.exports.export(kind, path)
    assert got.args[0] == kind
    return got.args[1]


def test_every_export_writes_a_complete_file(analysed_window, qtbot, tmp_path):
    w = analysed_window
    w.set_filters(0.5, None, 40.0)
    png = _export(qtbot, w, "png", tmp_path / "view.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = _export(qtbot, w, "svg", tmp_path / "view.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "</svg>" in svg and svg.count("<path") + svg.count("<polyline") > 20
    pdf = _export(qtbot, w, "pdf", tmp_path / "report")  # the suffix is added
    assert pdf.name == "report.pdf" and pdf.read_bytes().startswith(b"%PDF")
    doc = json.loads(_export(qtbot, w, "json", tmp_path / "m.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    prediction = w.analysis.controller.prediction
    assert doc["measurements"]["qt_ms"]["model"] == pytest.approx(prediction["qt_ms"].value)
    assert doc["filters"] == "HP 0.5 Hz, LP 40 Hz"
    # the document of the published analysis, as ``ecgviewer analyze`` writes it
    qtbot.waitUntil(lambda: not w.analysis.controller.is_busy, timeout=LOAD_TIMEOUT_MS)
    doc = json.loads(_export(qtbot, w, "json", tmp_path / "m.json").read_text(encoding="utf-8"))
    want = w.analysis.controller.analysis.document(filters=w.filters_text())
    assert {k: v for k, v in doc.items() if k != "created"} == {
        k: v for k, v in want.items() if k != "created"
    }
    # the PDF of the finished analysis carries the delineation's headline (its method named)
    text = _pdftotext(_export(qtbot, w, "pdf", tmp_path / "done.pdf"))
    assert w.analysis.controller.analysis.delineation is not None
    assert "unet_delineation" in text and "Delineation: not run" not in text
    with open(_export(qtbot, w, "csv", tmp_path / "m.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and float(rows[0]["qt_ms_model"]) == pytest.approx(
        prediction["qt_ms"].value, rel=1e-5
    )
    hea = _export(qtbot, w, "wfdb", tmp_path / "copy.hea")
    back = read_record(hea)
    assert back.lead_names == w.record.lead_names
    np.testing.assert_allclose(back.signals, w.record.signals, atol=0.0005 + 1e-6)  # the unfiltered record
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_report_settings_and_a_failed_export(analysed_window, qtbot, tmp_path):
    w = analysed_window
    w.action("report_paper_letter").trigger()
    w.action("report_layout_6x2").trigger()
    assert w.settings.report_paper == "Letter" and w.settings.report_layout == "6x2"
    assert w.action("report_paper_letter").isChecked() and not w.action("report_paper_a4").isChecked()
    opts = w.exports.report_options()
    assert (
        opts["paper"] == "Letter" and opts["layout"] == "6x2" and opts["speed_mm_per_s"] == w.speed_mm_per_s
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("a file, not a folder")
    with qtbot.waitSignal(w.exports.exportFailed, timeout=LOAD_TIMEOUT_MS) as failed:
        w.exports.export("json", blocker / "m.json")
    assert "a-file" in failed.args[0]
    # the dialog path: cancelling writes nothing
    w.exports.ask_path = lambda *args: None
    assert not w.exports.export("pdf")


def test_exports_need_a_record(window):
    window.error_dialogs = False
    assert not window.action("export_report").isEnabled()
    assert not window.exports.export("csv", "/tmp/never.csv")
