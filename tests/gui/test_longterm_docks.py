"""Long-term view at a 1000 px window: the right-hand docks do not overlap and none is squeezed."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QDockWidget

from ecgviewer.core.simulate import write_long_wfdb

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def pyramid_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _global_rect(widget):
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    return widget.rect().translated(top_left)


def test_right_docks_do_not_overlap_at_1000px(window, tmp_path, qtbot):
    path = write_long_wfdb(tmp_path / "h", hours=0.1, fs_hz=250, seed=2)
    window.resize(1600, 1000)
    for name in ("dock_measurements", "dock_classification"):  # as on a first start
        window.findChild(QDockWidget, name).show()
    window.longterm.auto_beats = False
    with qtbot.waitSignal(window.recordShown, timeout=60_000):
        window.open_file(path)
    qtbot.waitUntil(lambda: window.longterm.events_dock.isVisible(), timeout=10_000)
    for _ in range(5):
        QApplication.processEvents()
    events = window.longterm.events_dock
    classification = window.findChild(QDockWidget, "dock_classification")
    measurements = window.findChild(QDockWidget, "dock_measurements")
    # Classification and Events share a tab group, the events in front
    assert classification in window.tabifiedDockWidgets(events)
    assert events.isVisible() and not events.visibleRegion().isEmpty()
    shown = [d for d in (measurements, events) if d.isVisible() and not d.visibleRegion().isEmpty()]
    assert len(shown) == 2
    assert not _global_rect(measurements).intersects(_global_rect(events))
    # inside the measurements panel, the table and the note under it do not overlap
    panel = measurements.widget()
    table, note = _global_rect(panel.table), _global_rect(panel.note_label)
    assert table.bottom() < note.top(), (table, note)
    assert events.height() >= 250 and measurements.height() >= 400
