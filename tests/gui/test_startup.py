"""Start-up stays light: the window modules import neither the readers nor scipy, torch, wfdb."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui


def test_window_import_does_not_load_heavy_modules():
    heavy = ("torch", "wfdb", "pandas", "scipy", "ecgviewer.core.readers")
    code = (
        "import sys, ecgviewer.gui.app, ecgviewer.gui.main_window\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
