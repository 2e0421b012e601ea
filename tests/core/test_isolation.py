"""ecgviewer.core imports with neither Qt nor torch; the CLI does not import torch to open a window."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import ecgviewer.core
from ecgviewer.core import read_record
read_record({path!r})
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'torch', 'pyqtgraph'))
assert not bad, bad
"""


def test_core_imports_without_qt_or_torch(sample_path):
    subprocess.run([sys.executable, "-c", CHECK.format(path=str(sample_path))], check=True)


def test_cli_parsing_does_not_import_torch():
    code = (
        "import sys; from ecgviewer import cli; "
        "cli.gui_parser().parse_args([]); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_analysis_layer_imports_without_qt_torch_or_scipy():
    """The analysis layer is imported by the viewer at start-up and by ``analyze``: nothing heavy."""
    code = (
        "import sys, ecgviewer.analysis, ecgviewer.analysis.cli, ecgviewer.analysis.batch\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'scipy', 'pyqtgraph')"
        " or m.startswith(('ecgviewer.gui', 'ecgviewer.cli')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
