"""Where the bundled files live: sample ECGs and model checkpoints (and which checkpoints there are).

The bundled files are found, in this order:

1. ``$ECGVIEWER_RESOURCES`` (the whole folder) and ``$ECGVIEWER_CHECKPOINT_DIR`` (the checkpoints
   only), when set;
2. the package data ``ecgviewer/_resources`` of an installed wheel, through
   :func:`importlib.resources.files` (the wheel's build copies the top-level ``resources/``
   there, see ``setup.py``);
3. ``resources/`` beside the ``ecgviewer`` package: a checkout, or the editable install ``make``
   makes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources as _importlib_resources
from pathlib import Path

#: The bundled checkpoint each task uses by default: listed first by :func:`bundled_checkpoints`
#: (the others follow by name). The one place these defaults are written down.
DEFAULT_CHECKPOINTS: dict[str, str] = {
    "intervals": "resnet1d",
    "classification": "ptbxl100_crnn",
    "beats": "beatnet",
    "delineation": "unet_delineation",
}


#: Where the wheel keeps the bundled files, inside the ``ecgviewer`` package.
PACKAGE_RESOURCES = "_resources"


def resources_dir() -> Path:
    """The ``resources`` folder (see the module notes for the order it is looked for in)."""
    env = os.environ.get("ECGVIEWER_RESOURCES")
    if env:
        return Path(env)
    return _bundled_dir()


@lru_cache(maxsize=1)
def _bundled_dir() -> Path:
    """The package data of an installed wheel, else ``resources/`` of the checkout."""
    packaged = _importlib_resources.files("ecgviewer").joinpath(PACKAGE_RESOURCES)
    # A package imported from the file system (any pip install) gives a real folder; a zip
    # import would not, and is not supported.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "resources"


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


@dataclass(frozen=True)
class BundledCheckpoint:
    """A checkpoint found in :func:`checkpoints_dir` (from its JSON only).

    Attributes
    ----------
    name
        File name without extension, e.g. ``"resnet1d"`` (what ``--model`` and the settings store).
    label
        Display label: the JSON's ``label`` field, else the name.
    task
        The JSON's ``task`` (``"intervals"`` when absent, as in :mod:`ecgviewer.models.checkpoint`).
    """

    name: str
    label: str
    task: str


def default_checkpoint(task: str) -> str | None:
    """The bundled checkpoint name ``task`` uses by default (None for a task without one)."""
    return DEFAULT_CHECKPOINTS.get(task)


def bundled_checkpoints(task: str) -> tuple[BundledCheckpoint, ...]:
    """The checkpoints of ``task`` in :func:`checkpoints_dir`, the default first, then by name.

    Reads only the ``*.json`` files (no torch, no validation of the weights), so
    menus can be built at start-up; a JSON that is not an object is skipped.
    The result is cached until the folder changes (its modification time).

    Parameters
    ----------
    task
        ``"intervals"``, ``"classification"``, ``"beats"`` ... (the checkpoint JSON's ``task``).

    Examples
    --------
    >>> [c.name for c in bundled_checkpoints("intervals")][:1]
    ['resnet1d']
    """
    folder = checkpoints_dir()
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return ()
    return tuple(c for c in _scan(str(folder), stamp) if c.task == task)


@lru_cache(maxsize=8)
def _scan(folder: str, _stamp: int) -> tuple[BundledCheckpoint, ...]:
    found = []
    for path in Path(folder).glob("*.json"):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(obj, dict) or "architecture" not in obj:
            continue
        task = str(obj.get("task", "intervals"))
        found.append(BundledCheckpoint(path.stem, str(obj.get("label") or path.stem), task))
    return tuple(sorted(found, key=lambda c: (c.name != DEFAULT_CHECKPOINTS.get(c.task), c.name)))


def sample_record() -> Path:
    """The sample ECG the viewer opens when started without a file."""
    return resources_dir() / "samples" / "ptbxl_00001_hr.hea"
