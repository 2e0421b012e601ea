"""Over-read of a Holter record (MIT-BIH 101, 30 min) in the long-term view.

Two beats are relabelled with real clicks and key presses; the counts, the event list and the
overview follow; the record is closed and opened again in a new window: the labels are back.
The beats are exported as a WFDB annotation file and read back with ``wfdb.rdann``. A stretch
is marked as artefact: its beats leave the counts; undo puts them back.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ecgviewer.core.overread import BeatLabelEdit
from ecgviewer.core.sidecar import beside_path
from tests.gui.test_overread_median import copy_record
from tests.gui.test_overread_sidecar import new_window

pytestmark = pytest.mark.gui
BEAT_PASS_TIMEOUT_MS = 240_000


@pytest.fixture
def holter(tmp_path, shared_data):
    return copy_record(shared_data / "mitdb" / "101.hea", tmp_path / "holter")


@pytest.fixture(autouse=True)
def pyramid_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def open_holter(qtbot, path):
    """A new window with the Holter open, its beats classified and its sidecar looked for."""
    win = new_window(qtbot)
    lt = win.longterm
    lt.passes.delineate = False  # beats and classes only: quicker
    with qtbot.waitSignal(lt.beatsReady, timeout=BEAT_PASS_TIMEOUT_MS):
        win.open_file(path)
    qtbot.waitUntil(lambda: not win.overread.controller.is_loading, timeout=60_000)
    qtbot.waitUntil(lambda: lt.drawn_page() == lt.page and not lt.reading_pages, timeout=30_000)
    return win, lt


def click_beat(qtbot, win, lt, sample: int, shift: bool = False) -> None:
    """Click the paper 0.1 s after the beat's R peak, on the bottom row (the beats' lead)."""
    lay = win.view.layout
    t = (sample - lt.page.start) / lt.record.fs_hz + 0.1
    pos = win.view.mm_to_viewport(lay.x_at(t), lay.baseline_mm(lay.n_rows - 1) + 2.0)
    mod = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, mod, pos)


def test_relabel_two_beats_close_reopen_export(qtbot, holter):
    import wfdb

    win, lt = open_holter(qtbot, holter)
    computed = lt.beats
    counts0 = computed.counts()
    r = computed.r_peaks
    on_page = [int(s) for s, lab in zip(r, computed.labels, strict=True)
               if lt.page.start <= s < lt.page.stop - 0.5 * lt.record.fs_hz and lab == "N"]  # fmt: skip
    targets = on_page[1], on_page[3]
    n_pvc0 = sum(e.kind == "PVC" for e in lt.events.model.events())
    for s in targets:
        click_beat(qtbot, win, lt, s)
        assert win.overread.beats.chosen == [s]
        assert lt.selected_sample == s and lt.paper_selection.isVisible()
        qtbot.keyClick(win.view, Qt.Key.Key_V, Qt.KeyboardModifier.ShiftModifier)
    edits = win.overread.controller.edits
    assert [(e.beat, e.label) for e in edits] == [(s, "V") for s in targets]
    assert all(isinstance(e, BeatLabelEdit) for e in edits)
    counts = lt.beats.counts()
    assert counts["V"] == counts0["V"] + 2 and counts["N"] == counts0["N"] - 2
    events = lt.events.model.events()
    assert sum(e.kind == "PVC" for e in events) >= n_pvc0 + 1  # two lone PVCs (or a couplet)
    assert {s for s in targets} <= {
        int(lt.beats.r_peaks[e.beat]) for e in events if e.kind in ("PVC", "couplet")
    }
    assert f"V</b></span> {counts['V']:,}" in lt.events.summary.text()
    _t, density = lt.beats.class_density(lt.overview.bin_s)
    assert density[:, 2].sum() == counts["V"]
    assert "over-read" in lt.beats.method and "2 edits" in win.overread.status_label.text()
    qtbot.waitUntil(lambda: beside_path(holter).is_file() and "saved" in win.overread.status_label.text())
    win.close()

    # reopen: the labels are back, counts and events as edited
    win2, lt2 = open_holter(qtbot, holter)
    assert win2.overread.controller.status == "applied" and len(win2.overread.controller.edits) == 2
    assert lt2.beats.counts() == counts
    labels = dict(zip(lt2.beats.r_peaks.tolist(), lt2.beats.labels.tolist(), strict=True))
    assert all(labels[s] == "V" for s in targets)

    # export: wfdb.rdann reads the reader's labels back
    out = win2.overread.export_beats(holter.parent / "101.ecgv")
    assert out == holter.parent / "101.ecgv" and out.is_file()
    ann = wfdb.rdann(str(holter.parent / "101"), "ecgv")
    assert ann.sample.size == lt2.beats.n_beats and ann.fs == lt2.record.fs_hz
    got = dict(zip(ann.sample.tolist(), ann.symbol, strict=True))
    assert all(got[s] == "V" for s in targets)
    assert sum(sym == "V" for sym in ann.symbol) == counts["V"]
    np.testing.assert_array_equal(ann.sample, lt2.beats.r_peaks)

    # Over-read > Relabel a class in the range: the two V beats of the range back to N, in one step
    click_beat(qtbot, win2, lt2, on_page[0])
    click_beat(qtbot, win2, lt2, on_page[4], shift=True)
    win2.overread.ask_relabel = lambda _parent: ("V", "N")
    win2.action("relabel_class").trigger()
    assert lt2.beats.counts() == counts0 and win2.overread.controller.undo_stack.count() == 1
    win2.overread.undo()
    assert lt2.beats.counts() == counts

    # a stretch marked as artefact (click, Shift+click, Shift+X) leaves its beats out; undo
    a, b = on_page[4], on_page[6]
    click_beat(qtbot, win2, lt2, a)
    click_beat(qtbot, win2, lt2, b, shift=True)
    assert win2.overread.beats.range == (a, b + 1) and len(win2.overread.beats.chosen) >= 3
    n_before = lt2.beats.n_beats
    qtbot.keyClick(win2.view, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
    assert lt2.beats.n_beats == n_before - len([s for s in r if a <= s <= b])
    assert not any(a <= s <= b for s in lt2.beats.r_peaks)
    assert not any(e.kind == "pause" and e.start < b and e.stop > a for e in lt2.events.model.events())
    qtbot.keyClick(win2, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert lt2.beats.n_beats == n_before
    win2.close()
