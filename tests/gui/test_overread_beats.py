"""Over-read of single beats on the ECG paper of a short record: ticks dragged, nudged, deleted;
beats relabelled, deleted, added at the pointer; a range from the beat table marked as artefact.

Real PTB-XL record and delineation network; real mouse and key events on the main view and the
beat table; expected values computed from what the delineation holds.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from ecgviewer.core.delineation import POINTS
from ecgviewer.core.overread import ArtefactSpan, BeatAdded, BeatDeleted, BoundaryEdit
from tests.gui.test_overread_median import copy_record, drag, wait_analysed

pytestmark = pytest.mark.gui


@pytest.fixture
def opened(window, tmp_path, sample_path, open_and_wait, qtbot):
    record = copy_record(sample_path, tmp_path / "rec")
    window.activateWindow()
    open_and_wait(window, record)
    wait_analysed(qtbot, window)
    return window


def rhythm(window):
    """The rhythm strip's segment (lead II, bottom row of the 3x4 layout)."""
    lay = window.view.layout
    return next(s for s in lay.segments if s.lead == "II" and s.row == lay.n_rows - 1)


def beat_x(window, seg, sample: int, dt_s: float = 0.0) -> float:
    d = window.overread.delineation()
    return seg.x_start_mm + (sample / d.fs_hz + dt_s - seg.t_start_s) * window.view.layout.speed_mm_per_s


def test_drag_nudge_delete_a_beats_t_offset(opened, qtbot):
    w = opened
    ui, table = w.overread, w.analysis.waves.table
    d = ui.delineation()
    seg = rhythm(w)
    k = 3
    beat = int(d.r_peaks[k])
    t_off = POINTS.index("t_off")
    qt_before = table.row_values(k)["qt_ms"]
    pos = ui.paper.tick_pos(beat, "t_off", seg)
    assert pos is not None
    drag(qtbot, w.view.viewport(), pos.toPoint(), 15)
    e = ui.controller.edits[-1]
    assert isinstance(e, BoundaryEdit) and (e.beat, e.point, e.lead) == (beat, "t_off", None)
    d = ui.delineation()
    assert np.all(d.points[:, k, t_off] == e.sample)  # every lead of the beat
    qt_after = table.row_values(k)["qt_ms"]
    assert qt_after == pytest.approx((e.sample - d.consensus[k, POINTS.index("qrs_on")]) * 1000 / d.fs_hz)
    assert qt_after > qt_before
    assert w.analysis.panel.table.edited_by("qt_ms") is not None  # the record QT rests on the beats
    # the tick stays selected: Left nudges it one sample, Delete removes it
    qtbot.keyClick(w.view, Qt.Key.Key_Left)
    assert ui.controller.edits[-1].sample == e.sample - 1
    assert table.row_values(k)["qt_ms"] == pytest.approx(qt_after - 1000 / d.fs_hz)
    qtbot.keyClick(w.view, Qt.Key.Key_Delete)
    assert ui.controller.edits[-1].sample is None and table.row_texts(k)["qt_ms"] == ""
    qtbot.keyClick(w.view, Qt.Key.Key_Escape)
    assert ui.paper.selected is None
    # Alt+drag: this lead only
    other = int(ui.delineation().r_peaks[k + 1])
    pos = ui.paper.tick_pos(other, "qrs_off", seg)
    qtbot.mousePress(
        w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, pos.toPoint()
    )
    qtbot.mouseMove(w.view.viewport(), pos.toPoint() + QPoint(6, 0))
    qtbot.mouseRelease(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                       pos.toPoint() + QPoint(6, 0))  # fmt: skip
    assert ui.controller.edits[-1].lead == "II" and ui.controller.edits[-1].point == "qrs_off"
    # undo everything, one Ctrl+Z per step: the table is as computed again
    while ui.controller.undo_stack.canUndo():
        qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert table.row_values(k)["qt_ms"] == qt_before and not ui.controller.edits


def test_relabel_delete_add_beats_and_artefact_range(opened, qtbot):
    w = opened
    ui, table = w.overread, w.analysis.waves.table
    d = ui.delineation()
    seg = rhythm(w)
    n0 = d.n_beats
    k = 5
    beat = int(d.r_peaks[k])
    vp = w.view.viewport()
    # click between the beat's ticks (in its ST segment): it is chosen; Shift+V labels it
    qtbot.mouseClick(
        vp, Qt.MouseButton.LeftButton, pos=w.view.mm_to_viewport(beat_x(w, seg, beat, 0.15), seg.baseline_mm)
    )
    assert ui.beats.chosen == [beat]
    qtbot.keyClick(w.view, Qt.Key.Key_V, Qt.KeyboardModifier.ShiftModifier)
    assert table.label(k) == "V" and table.label(k - 1) == ""
    # Shift+Del deletes it: one beat less, RR and HR edited
    qtbot.keyClick(w.view, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert isinstance(ui.controller.edits[-1], BeatDeleted) and ui.delineation().n_beats == n0 - 1
    assert w.analysis.panel.table.edited_by("hr_bpm") is not None
    # Shift+B adds a beat at the pointer: at the largest deflection near it (the R peak)
    qtbot.mouseMove(vp, w.view.mm_to_viewport(beat_x(w, seg, beat, 0.03), seg.baseline_mm))
    qtbot.keyClick(w.view, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    added = ui.controller.edits[-1]
    assert isinstance(added, BeatAdded) and abs(added.sample - beat) <= round(0.02 * d.fs_hz)
    assert ui.delineation().n_beats == n0
    # rows 2..4 of the beat table (click, Shift+click) become the range; mark it as artefact
    t = table.table
    qtbot.mouseClick(
        t.viewport(), Qt.MouseButton.LeftButton, pos=t.visualRect(t.model().index(2, 1)).center()
    )
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     t.visualRect(t.model().index(4, 1)).center())  # fmt: skip
    r = ui.delineation().r_peaks
    assert ui.beats.chosen == [int(x) for x in r[2:5]]
    qtbot.keyClick(t, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)  # the table has the over-read keys
    span = ui.controller.edits[-1]
    assert isinstance(span, ArtefactSpan) and span.start_s < r[2] / d.fs_hz and span.end_s > r[4] / d.fs_hz
    assert ui.delineation().n_beats == n0 - 3 and ui.beats.span_items
    # the interval across the stretch is no RR interval: blank in the table (and no QTc)
    assert table.row_texts(2)["rr_ms"] == "" == table.row_texts(2)["qtc_ms"]
    assert table.row_texts(3)["rr_ms"] != ""
    assert w.analysis.controller.analysis.delineation.delineation.n_beats == n0  # computed stays
