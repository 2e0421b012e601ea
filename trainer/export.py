"""``python -m trainer export``: put a run's checkpoint where the viewer finds it."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from ecgviewer.models.checkpoint import load_checkpoint, save_checkpoint
from ecgviewer.resources import checkpoints_dir
from trainer.commands import Command


def export_checkpoint(
    run: str | Path,
    name: str,
    to: str | Path | None = None,
    which: str = "best",
    command: str = "",
    test_results: str | Path | None = None,
    label: str | None = None,
) -> Path:
    """Copy ``RUN/{which}`` (or a checkpoint file) to ``TO/NAME`` (default: the bundled checkpoints).

    The checkpoint is loaded and validated first (safetensors only), then written
    again atomically with ``training.export_command`` added; returns the JSON path.
    With ``test_results`` (a ``classify-evaluate`` results.json that scored this
    very checkpoint, matched by the weights' sha256) its scores become ``metrics.test``.
    ``label`` is the menu label stored as the JSON's ``label``.
    """
    from trainer.classify import checkpoint_test_metrics
    from trainer.data.arrays import DataError

    run = Path(run)
    source = run / which if run.is_dir() else run
    loaded = load_checkpoint(source)
    training = dict(loaded.meta.training, exported_from=str(source), export_command=command)
    metrics = dict(loaded.meta.metrics)
    if test_results is not None:
        try:
            report = json.loads(Path(test_results).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{test_results}: not a readable results.json ({exc})") from None
        metrics["test"] = checkpoint_test_metrics(report, loaded.meta.weights_sha256)
    dest = Path(to) if to is not None else checkpoints_dir()
    save_checkpoint(loaded.model, replace(loaded.meta, training=training, metrics=metrics), dest / name)
    if label:
        from ecgviewer.core.io_utils import atomic_write

        path = dest / f"{name}.json"
        obj = json.loads(path.read_text(encoding="utf-8"))
        obj = {**{k: obj[k] for k in ("format_version", "architecture")}, "label": label, **obj}
        with atomic_write(path, "w") as fh:
            fh.write(json.dumps(obj, indent=2) + "\n")
    return dest / f"{name}.json"


# -- command line: export -------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer export``."""
    p.add_argument(
        "run_dir", type=Path, metavar="RUN", help="run folder (from pretrain/finetune) or a checkpoint .json"
    )
    p.add_argument("--name", required=True, help="checkpoint name (e.g. resnet1d)")
    p.add_argument("--to", type=Path, default=None, help="destination folder (default resources/checkpoints)")
    p.add_argument("--which", default="best", choices=("best", "last"), help="which checkpoint of the run")
    p.add_argument(
        "--test-results",
        type=Path,
        default=None,
        metavar="JSON",
        help="a classify-evaluate results.json that scored this checkpoint: its scores are stored in the "
        "exported JSON as metrics.test",
    )
    p.add_argument("--label", default=None, help="menu label stored in the JSON (e.g. 'PTB-XL ResNet')")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer export``: :func:`export_checkpoint` with the command's options."""
    from trainer.options import command_line

    dest = export_checkpoint(
        args.run_dir,
        args.name,
        args.to,
        which=args.which,
        command=command_line(argv),
        test_results=args.test_results,
        label=args.label,
    )
    print(f"exported {dest.with_suffix('.safetensors')} and {dest}")
    return 0


COMMAND = Command(
    help="copy a run's checkpoint under a name",
    description=(
        "Copy RUN/best (or last) to TO/NAME.safetensors + NAME.json, adding the export command to its "
        "provenance. The viewer loads bundled models from resources/checkpoints/NAME."
    ),
    add_arguments=add_arguments,
    run=run,
)
