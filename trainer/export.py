"""``python -m trainer export``: put a run's checkpoint where the viewer finds it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ecgviewer.models.checkpoint import load_checkpoint, save_checkpoint
from ecgviewer.resources import checkpoints_dir


def export_checkpoint(
    run: str | Path, name: str, to: str | Path | None = None, which: str = "best", command: str = ""
) -> Path:
    """Copy ``RUN/{which}`` (or a checkpoint file) to ``TO/NAME`` (default: the bundled checkpoints).

    The checkpoint is loaded and validated first (safetensors only), then written
    again atomically with ``training.export_command`` added; returns the JSON path.
    """
    run = Path(run)
    source = run / which if run.is_dir() else run
    loaded = load_checkpoint(source)
    training = dict(loaded.meta.training, exported_from=str(source), export_command=command)
    dest = Path(to) if to is not None else checkpoints_dir()
    save_checkpoint(loaded.model, replace(loaded.meta, training=training), dest / name)
    return dest / f"{name}.json"
