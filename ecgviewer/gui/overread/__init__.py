"""The physician's over-read in the viewer: edit boundaries and beats, undo, keep the work.

See :mod:`ecgviewer.gui.overread.ui` (the wiring) and ``docs/overread.md`` (the edits, the
sidecar file).
"""

from ecgviewer.gui.overread.controller import OverReadController
from ecgviewer.gui.overread.ui import OverReadUi, install_overread

__all__ = ["OverReadController", "OverReadUi", "install_overread"]
