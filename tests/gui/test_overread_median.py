"""Over-read of the median beat: drag the T offset, nudge, delete the P onset, undo, redo, reset.

A real PTB-XL record (the bundled sample, copied to the test's folder so that its sidecar is
written there) is opened in the main window; the bundled delineation network runs on it. The
marks are moved with real mouse presses, moves and releases and real key presses on the median
beat view; the expected values are computed from the marks the view holds (never fixed numbers).
"""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, Qt

from ecgviewer.core.overread import MEDIAN, BoundaryEdit

pytestmark = pytest.mark.gui
ANALYSIS_TIMEOUT_MS = 180_000


def copy_record(src, folder):
    """Copy a WFDB record (``.hea`` and its data files) into ``folder``; the new ``.hea``."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in src.parent.glob(src.stem + ".*"):
        if not f.name.endswith(".ecgv.json"):
            shutil.copy(f, folder / f.name)
    return folder / src.name


def wait_analysed(qtbot, window):
    """Until the record is analysed (delineation and classification) and the sidecar looked for."""
    c = window.analysis.controller

    def done():
        a = c.analysis
        return (
            a is not None
            and a.delineation is not None
            and not c.is_busy
            and not window.overread.controller.is_loading
        )

    qtbot.waitUntil(done, timeout=ANALYSIS_TIMEOUT_MS)


@pytest.fixture
def record(tmp_path, sample_path):
    return copy_record(sample_path, tmp_path / "rec")


@pytest.fixture
def opened(window, record, open_and_wait, qtbot):
    window.activateWindow()
    open_and_wait(window, record)
    wait_analysed(qtbot, window)
    return window


def qt_expected(editor) -> float:
    """QT (ms) from the median beat's marks as the editor holds them."""
    return (editor.points["t_off"] - editor.points["qrs_on"]) * 1000.0 / editor.fs_hz


def drag(qtbot, widget, start: QPoint, dx: int, steps: int = 4) -> None:
    """A real left-button drag: press, moves, release."""
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(widget, start + QPoint(round(dx * k / steps), 0))
    end = start + QPoint(dx, 0)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_drag_the_t_offset_changes_qt_and_qtc_undo_redo(opened, qtbot):
    w = opened
    panel, ui = w.analysis.panel, w.overread
    editor = ui.median
    view = panel.median_view
    assert editor.fs_hz == w.record.fs_hz and {"qrs_on", "t_off"} <= set(editor.points)
    qt0, qtc0 = panel.row_texts("qt_ms")["waves"], panel.row_texts("qtc_bazett_ms")["waves"]
    t_off0 = editor.points["t_off"]
    assert not panel.table.edited_by("qt_ms")

    drag(qtbot, view.viewport(), editor.viewport_pos("t_off").toPoint(), 12)
    edits = ui.controller.edits
    assert len(edits) == 1 and isinstance(edits[0], BoundaryEdit) and edits[0].beat == MEDIAN
    assert edits[0].point == "t_off" and edits[0].sample == editor.points["t_off"] > t_off0
    qt1 = qt_expected(editor)
    assert panel.row_texts("qt_ms")["waves"] == f"{qt1:.0f} ms" != qt0
    assert panel.row_texts("qtc_bazett_ms")["waves"] != qtc0
    assert panel.row_texts("qt_ms")["label"].endswith("✎")
    assert panel.table.edited_by("qt_ms")["by"] == w.settings.reader_name
    spans = view.spans()
    assert spans["QT"][1] - spans["QT"][0] == pytest.approx(qt1 / 1000.0 * 25.0)  # the bracket follows
    assert not panel.table.edited_by("pr_ms")  # PR rests on other marks

    # keyboard: the mark is selected by the drag; Right moves it one sample (merged into one undo step)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert editor.points["t_off"] == edits[0].sample + 2
    assert panel.row_texts("qt_ms")["waves"] == f"{qt_expected(editor):.0f} ms"
    assert ui.controller.undo_stack.count() == 2

    # Ctrl+Z twice: the nudges, then the drag; Ctrl+Shift+Z redoes the drag
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.row_texts("qt_ms")["waves"] == f"{qt1:.0f} ms"
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.row_texts("qt_ms")["waves"] == qt0 and panel.row_texts("qtc_bazett_ms")["waves"] == qtc0
    assert not ui.controller.edits and editor.points["t_off"] == t_off0
    assert not panel.table.edited_by("qt_ms")
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.row_texts("qt_ms")["waves"] == f"{qt1:.0f} ms" and len(ui.controller.edits) == 1
    assert w.action("undo").isEnabled() and w.action("redo").isEnabled()


def test_delete_the_p_onset_makes_pr_absent_with_the_reason_then_reset(opened, qtbot):
    w = opened
    panel, ui = w.analysis.panel, w.overread
    editor, view = ui.median, panel.median_view
    if "p_on" not in editor.points:
        pytest.skip("the delineation found no P onset on this median beat")
    pr0 = panel.row_texts("pr_ms")["waves"]
    assert pr0 != "—"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=editor.viewport_pos("p_on").toPoint())
    assert editor.selected == "p_on" and not ui.controller.edits  # a click selects, moves nothing
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert ui.controller.edits[-1] == BoundaryEdit(MEDIAN, "p_on", None, by=ui.controller.edits[-1].by,
                                                   at=ui.controller.edits[-1].at)  # fmt: skip
    assert panel.row_texts("pr_ms")["waves"] == "—"
    assert "P onset deleted on the median beat by the reader (no P wave)" in panel.absent_label.text()
    assert "PR" not in view.spans() and "p_on" not in view.boundaries()
    # Insert puts it back at the pointer (here: where the mouse rests over the beat)
    x = round(editor.viewport_x(-200.0))
    qtbot.mouseMove(view.viewport(), QPoint(x, view.viewport().height() // 2))
    qtbot.keyClick(view, Qt.Key.Key_Insert)
    assert editor.points["p_on"] == pytest.approx(round(-0.2 * editor.fs_hz), abs=2)
    assert panel.row_texts("pr_ms")["waves"] not in ("—", pr0)
    # Over-read > Reset to computed: every edit gone in one undoable step
    w.action("reset_overread").trigger()
    assert not ui.controller.edits and panel.row_texts("pr_ms")["waves"] == pr0
    w.overread.undo()
    assert len(ui.controller.edits) == 2
