"""Fixtures of the GUI tests: isolated settings, a main window, the sample opened in it."""

from __future__ import annotations

import pytest
import pytestqt  # noqa: F401  (a test dependency: a missing pytest-qt must fail, not skip)
from PySide6.QtCore import QStandardPaths

from ecgviewer.gui.settings import SETTINGS_ENV
from ecgviewer.gui.workers import wait_for_workers

#: Longest wait for a file to be read and drawn (the first read imports wfdb and scipy).
LOAD_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own settings file: the user's real settings are never touched."""
    QStandardPaths.setTestModeEnabled(True)
    path = tmp_path / "settings" / "ecgviewer.ini"
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    yield path
    wait_for_workers(LOAD_TIMEOUT_MS)


@pytest.fixture
def window(qtbot):
    """A shown main window (deleted after the test)."""
    from ecgviewer.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    wait_for_workers(LOAD_TIMEOUT_MS)


@pytest.fixture
def open_and_wait(qtbot):
    """``open_and_wait(window, path)``: open a file and wait until it is drawn; returns the record."""

    def _open(win, path):
        with qtbot.waitSignal(win.recordShown, timeout=LOAD_TIMEOUT_MS) as blocker:
            win.open_file(path)
        return blocker.args[0]

    return _open


@pytest.fixture
def loaded(window, sample_path, open_and_wait):
    """The main window with the bundled sample drawn."""
    open_and_wait(window, sample_path)
    return window
