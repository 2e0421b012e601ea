"""The analysis tests run before tests/gui: some draw PDF reports in this process (``--workers 0``).

Drawing needs a Qt application; ``ecgviewer.report.pdf`` makes a plain ``QGuiApplication`` when
there is none, which the widget tests that follow could not use. Creating pytest-qt's
``QApplication`` first keeps the whole suite runnable in one process, whatever the order.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _widgets_application(qapp):
    """pytest-qt's ``QApplication`` (offscreen), before any report is drawn here."""
    return qapp
