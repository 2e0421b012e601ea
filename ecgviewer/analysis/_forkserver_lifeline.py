"""Imported in the batch engine's ``forkserver`` (a preload module): it dies with the batch run.

When :data:`~ecgviewer.analysis.lifeline.PARENT_ENV` names this process's parent
(the ``ecgviewer analyze --out`` process that started the forkserver), ask the
kernel to kill this process when that parent ends. Anywhere else, importing it
does nothing.
"""

from __future__ import annotations

import os

from ecgviewer.analysis.lifeline import PARENT_ENV, die_with_parent


def _arm() -> None:
    parent = os.environ.get(PARENT_ENV)
    if parent and parent == str(os.getppid()):
        die_with_parent(int(parent))


_arm()
