"""Where the bundled files live: sample ECGs and model checkpoints.

``resources/`` sits beside the ``ecgviewer`` package in the source tree (the
project is installed in editable mode by ``make``). ``$ECGVIEWER_RESOURCES``
points elsewhere, e.g. for a packaged build.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources`` folder."""
    env = os.environ.get("ECGVIEWER_RESOURCES")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "resources"


def checkpoints_dir() -> Path:
    """Bundled model checkpoints (``$ECGVIEWER_CHECKPOINT_DIR`` overrides)."""
    env = os.environ.get("ECGVIEWER_CHECKPOINT_DIR")
    return Path(env) if env else resources_dir() / "checkpoints"


def installed_checkpoints(names: Iterable[str]) -> tuple[str, ...]:
    """The ``names`` whose checkpoint (``NAME.json`` + ``NAME.safetensors``) is in :func:`checkpoints_dir`.

    Only looks at the files (no torch, no validation): for menus and defaults.
    """
    folder = checkpoints_dir()
    return tuple(
        n for n in names if (folder / f"{n}.json").is_file() and (folder / f"{n}.safetensors").is_file()
    )


def sample_record() -> Path:
    """The sample ECG the viewer opens when started without a file."""
    return resources_dir() / "samples" / "ptbxl_00001_hr.hea"
