"""The over-read is kept: saved beside the record, restored on reopening, refused for changed content.

Real PTB-XL record (copied to the test's folder), real windows, real drags; the record file is
never written (its bytes are compared), the sidecar is read back with the core loader.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ecgviewer.core.overread import MEDIAN, BoundaryEdit, Interpretation, StatementEdit
from ecgviewer.core.sidecar import RECORD_CHANGED, beside_path, default_reader, load_sidecar
from tests.gui.test_overread_median import copy_record, drag, qt_expected, wait_analysed

pytestmark = pytest.mark.gui


@pytest.fixture
def record(tmp_path, sample_path):
    return copy_record(sample_path, tmp_path / "rec")


def new_window(qtbot):
    from ecgviewer.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win


def open_analysed(qtbot, win, path, open_and_wait):
    open_and_wait(win, path)
    wait_analysed(qtbot, win)


def test_edits_saved_beside_the_record_and_restored_on_reopening(qtbot, record, open_and_wait):
    before = {p.name: p.read_bytes() for p in record.parent.iterdir()}
    win = new_window(qtbot)
    assert win.settings.reader_name == default_reader()
    win.settings.reader_name = "Dr Test"
    open_analysed(qtbot, win, record, open_and_wait)
    ui, panel = win.overread, win.analysis.panel
    drag(qtbot, panel.median_view.viewport(), ui.median.viewport_pos("t_off").toPoint(), -10)
    qt = panel.row_texts("qt_ms")["waves"]
    assert qt == f"{qt_expected(ui.median):.0f} ms"
    # a statement rejected and an interpretation typed, in the classification panel
    review = ui.review
    result = win.analysis.controller.analysis.classification_result
    if result is not None and result.statements:
        code = result.statements[0]
        review.item_of(code).setCheckState(Qt.CheckState.Unchecked)
        assert isinstance(ui.controller.edits[-1], StatementEdit) and not ui.controller.edits[-1].confirmed
        assert win.analysis.controller.analysis.statement_states[code].stated is False
    review.text.setFocus()
    qtbot.keyClicks(review.text, "Sinus rhythm, long QT.")
    review.commit_text()
    assert ui.controller.overread.interpretation == "Sinus rhythm, long QT."
    qtbot.waitUntil(lambda: ui.controller.saved_path is not None and "saved" in ui.status_label.text())
    sidecar = beside_path(record)
    assert ui.controller.saved_path == sidecar and sidecar.is_file()
    doc = json.loads(sidecar.read_text())
    assert doc["reader"] == "Dr Test" and {e["by"] for e in doc["edits"]} == {"Dr Test"}
    assert doc["edits"][0]["kind"] == "boundary" and doc["edits"][0]["beat"] == "median"
    # the JSON export of the window carries the over-read
    out = record.parent / "m.json"
    with qtbot.waitSignal(win.exports.exported, timeout=30_000):
        win.exports.export("json", str(out))
    exported = json.loads(out.read_text())
    assert exported["over_read"]["applied"] and exported["over_read"]["reader"] == "Dr Test"
    assert exported["intervals"]["values"]["qt_ms"]["provenance"]["source"] == "edited"
    win.close()
    # the record files are untouched; the sidecar is the only new file (and the export)
    after = {p.name: p.read_bytes() for p in record.parent.iterdir()}
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {sidecar.name, "m.json"}

    # reopen in a new window: the edits are back (Reset to computed drops them; undo history is per session)
    win2 = new_window(qtbot)
    open_analysed(qtbot, win2, record, open_and_wait)
    ui2, panel2 = win2.overread, win2.analysis.panel
    assert ui2.controller.status == "applied" and len(ui2.controller.edits) == len(doc["edits"])
    assert panel2.row_texts("qt_ms")["waves"] == qt and panel2.table.edited_by("qt_ms")["by"] == "Dr Test"
    assert ui2.review.text.toPlainText() == "Sinus rhythm, long QT."
    assert "restored" in ui2.status_label.text() or "saved" in ui2.status_label.text()
    loaded = load_sidecar(win2.record, record)
    assert loaded.status == "applied" and isinstance(loaded.overread.edits[-1], Interpretation)
    win2.close()


def test_a_changed_record_is_detected_and_its_sidecar_not_applied(qtbot, record, open_and_wait):
    win = new_window(qtbot)
    open_analysed(qtbot, win, record, open_and_wait)
    qt0 = win.analysis.panel.row_texts("qt_ms")["waves"]
    ui = win.overread
    ui.controller.push(BoundaryEdit(MEDIAN, "t_off", int(ui.median.points["t_off"]) + 40, by="Dr A"), "move")
    assert win.analysis.panel.row_texts("qt_ms")["waves"] != qt0
    ui.controller.save_now()
    win.close()
    sidecar = beside_path(record)
    saved = sidecar.read_bytes()
    # change the samples (16-bit WFDB: one sample of lead I near the end)
    dat = record.with_suffix(".dat")
    raw = np.fromfile(dat, dtype="<i2")
    raw[-24] += 300
    raw.tofile(dat)

    win2 = new_window(qtbot)
    open_analysed(qtbot, win2, record, open_and_wait)
    ui2 = win2.overread
    qtbot.waitUntil(lambda: ui2.warning_box is not None and ui2.warning_box.isVisible())
    assert ui2.controller.status == RECORD_CHANGED
    assert "different content" in ui2.warning_box.text() and not ui2.warning_box.isModal()
    assert "not applied" in ui2.status_label.text()
    assert win2.analysis.panel.row_texts("qt_ms")["waves"] == qt0  # computed, not the old edit
    a = win2.analysis.controller.analysis
    assert a.overread_status == RECORD_CHANGED and not a.overread_applied
    # an edit now is not saved over the old file until the reader chooses a new over-read
    ui2.controller.push(BoundaryEdit(MEDIAN, "t_off", int(ui2.median.points["t_off"]) + 4, by="Dr B"), "move")
    ui2.controller.save_now()
    assert sidecar.read_bytes() == saved and "not saved" in ui2.status_label.text()
    new = next(b for b in ui2.warning_box.buttons() if b.text() == "Start a new over-read")
    qtbot.mouseClick(new, Qt.MouseButton.LeftButton)
    ui2.controller.save_now()
    assert json.loads(sidecar.read_text())["edits"][0]["by"] == "Dr B"
    assert load_sidecar(win2.record, record).status == "applied"
    win2.close()


def test_reader_name_from_the_menu(window):
    ui = window.overread
    assert ui.controller.by() == window.settings.reader_name == default_reader()
    ui.ask_name = lambda _parent, current: "Dr Menu" if current == default_reader() else None
    window.action("reader_name").trigger()
    assert window.settings.reader_name == "Dr Menu" == ui.controller.by()
    assert not window.action("undo").isEnabled() and not window.action("reset_overread").isEnabled()
