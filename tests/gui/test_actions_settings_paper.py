"""Actions table, shortcut docs, settings isolation, paper grid and layout geometry."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF

from ecgviewer.gui import actions
from ecgviewer.gui.paper import PaperGridItem, calibration_pulse_xy
from ecgviewer.gui.settings import MAX_RECENT_FILES, ViewerSettings
from ecgviewer.layout.paper import layout_3x4, layout_stacked, pulse_width_mm, signal_origin_mm

pytestmark = pytest.mark.gui


def test_actions_table_is_consistent():
    names = [s.name for s in actions.ACTIONS]
    assert len(names) == len(set(names))
    keys = [k for s in actions.ACTIONS for k in s.shortcuts]
    assert len(keys) == len(set(keys)), "a shortcut is used twice"
    assert {s.menu for s in actions.ACTIONS} <= set(actions.MENUS)
    assert actions.spec("open").shortcuts[0] == "Ctrl+O"


def test_shortcuts_markdown_lists_every_shortcut():
    md = actions.shortcuts_markdown()
    lines = md.strip().splitlines()
    assert lines[0] == "| Menu | Action | Keys |" and lines[1] == "|---|---|---|"
    for s in actions.ACTIONS:
        for key in s.shortcuts:
            assert f"`{key}`" in md
    assert "| File | Open... | `Ctrl+O` |" in md
    assert "| Tools | Caliper | `C` |" in md


def test_shortcuts_dialog_built_from_table(qtbot):
    from ecgviewer.gui.dialogs import ShortcutsDialog

    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(actions.shortcut_rows())
    assert dialog.table.item(0, 2).text() == "Ctrl+O"


def test_qactions_from_table(window):
    act = window.action("open")
    assert act.shortcut().toString() == "Ctrl+O" and "Ctrl+O" in act.toolTip()
    assert window.action("caliper").isCheckable()
    window.action("notch_50").trigger()
    window.action("notch_50").trigger()  # optional group: a second click switches it off
    assert window.filters_hz[1] is None


def test_settings_are_isolated_and_typed(isolated_settings, tmp_path):
    settings = ViewerSettings()
    settings.layout = "12x1"
    settings.speed_mm_per_s = 50
    settings.sync()
    assert isolated_settings.exists()
    again = ViewerSettings()
    assert (again.layout, again.speed_mm_per_s, again.gain_mm_per_mv) == ("12x1", 50.0, 10.0)
    files = []
    for i in range(MAX_RECENT_FILES + 3):
        f = tmp_path / f"r{i}.hea"
        f.write_text("x")
        files.append(f.resolve())
        again.add_recent_file(f)
    assert again.recent_files() == files[::-1][:MAX_RECENT_FILES]
    files[-1].unlink()
    assert files[-1] not in again.recent_files() and len(again.recent_files()) == MAX_RECENT_FILES - 1


def test_settings_not_written_when_not_persisting(isolated_settings):
    settings = ViewerSettings(persist=False)
    settings.layout = "12x1"
    settings.sync()
    assert ViewerSettings().layout == "3x4"


def test_grid_spacing_and_visibility():
    grid = PaperGridItem((0, -100, 300, 120))
    assert grid.spacings_for_scale(4.0) == (1.0, 5.0)
    assert grid.spacings_for_scale(2.9) == (5.0,)  # 1 mm lines would be < 3 px apart
    assert grid.spacings_for_scale(0.5) == (25.0,)
    lines = PaperGridItem._lines(QRectF(0.2, 0.2, 10, 10), 1.0, 5.0)
    xs = sorted(line.x1() for line in lines if line.x1() == line.x2())
    assert xs == [1, 2, 3, 4, 6, 7, 8, 9]  # every mm except the 5 mm lines
    majors = PaperGridItem._lines(QRectF(0.2, 0.2, 10, 10), 5.0, None)
    assert sorted(line.x1() for line in majors if line.x1() == line.x2()) == [5, 10]


def test_grid_painted_in_mm_at_current_zoom(loaded, qtbot):
    view = loaded.view
    view.grab()
    px_per_mm = view.viewport().width() / view.visible_rect_mm().width()
    assert view.paper.last_spacings_mm == view.paper.spacings_for_scale(px_per_mm)
    left, _bottom, width, height = view.paper.rect_mm()
    assert left == 0 and width % 5 == 0 and height % 5 == 0


@pytest.mark.parametrize(("speed", "gain"), [(25.0, 10.0), (50.0, 5.0), (25.0, 20.0)])
def test_calibration_pulse_is_1mv_by_200ms(speed, gain):
    x, y = calibration_pulse_xy(-30.0, speed, gain)
    assert y.min() == -30.0 and y.max() - y.min() == gain
    top = x[y == y.max()]
    assert top.max() - top.min() == pytest.approx(0.2 * speed) == pulse_width_mm(speed)
    assert x.max() <= signal_origin_mm(speed)


def test_layout_geometry():
    available = {
        n: (n in {"III", "aVR", "aVL", "aVF"}, "mV")
        for n in ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    }
    lay = layout_3x4(available, 10.0, 25.0, 10.0)
    assert lay.n_rows == 4 and len(lay.segments) == 13
    v4 = next(s for s in lay.segments if s.lead == "V4")
    assert (v4.column, v4.row, v4.t_start_s, v4.x_start_mm) == (3, 0, 7.5, lay.x0_mm + 187.5)
    assert lay.locate(lay.x_at(8.0), lay.baseline_mm(2) - 5).lead == "V6"
    assert lay.locate(lay.x_at(8.0), lay.baseline_mm(3)).lead == "II"
    stacked = layout_stacked([("II", False, "mV", 10.0, 0.0), ("PLETH", False, "NU", 3.0, 1.0)], 60, 25, 10)
    pleth = stacked.locate(stacked.x_at(30.0), stacked.baseline_mm(1) + 6.0)
    assert (pleth.lead, pleth.unit, pleth.value) == ("PLETH", "NU", pytest.approx(3.0))
    assert stacked.paper_rect[2] >= 60 * 25
