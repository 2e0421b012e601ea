"""``python -m trainer ensemble-beats``: one beat checkpoint from several trained apart.

Beat classifiers trained with different seeds disagree on the hard beats: in the DS1
cross-validation, retraining one configuration with another seed moved V +P by 8 points.
Averaging their probabilities removes much of that spread. This command joins ``K`` beatnet
checkpoints with the same input and configuration into one ``beatnet_ensemble``
checkpoint (safetensors + JSON, ``members.I.*`` weights; the viewer loads it like any beat
model). Given run folders of ``cv-beats`` it joins fold by fold (``foldK/last`` and
``final/last``), so that ``cv-beats --evaluate-only --out OUT`` scores the ensemble with the
same folds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from trainer.commands import Command
from trainer.data.arrays import DataError


def join_checkpoints(sources: Sequence[Path], out: Path, command: str = "") -> Path:
    """Write the ensemble of the beatnet checkpoints ``sources`` to ``out`` (``NAME`` path)."""
    from ecgviewer.models import build_model
    from ecgviewer.models.checkpoint import load_checkpoint, save_checkpoint

    if len(sources) < 2:
        raise DataError("an ensemble needs two or more checkpoints")
    loaded = [load_checkpoint(s) for s in sources]
    first = loaded[0].meta
    for s, lc in zip(sources, loaded):
        m = lc.meta
        if m.task != "beats" or m.architecture != "beatnet":
            raise DataError(f"{s}: a {m.architecture} {m.task} checkpoint, not a beatnet beat classifier")
        same = (m.config, m.input_extra, m.input_leads, m.fs_hz, m.window_samples, m.class_names)
        if same != (first.config, first.input_extra, first.input_leads, first.fs_hz, first.window_samples,
                    first.class_names):  # fmt: skip
            raise DataError(f"{s}: its configuration, input or classes differ from {sources[0]}'s")
    config = {**dict(first.config), "members": len(loaded)}
    model = build_model("beatnet_ensemble", config)
    for member, lc in zip(model.members, loaded):
        member.load_state_dict(lc.model.state_dict())
    training = {
        "ensemble_of": [
            {"checkpoint": str(s), "sha256": lc.meta.weights_sha256, "seed": lc.meta.training.get("seed"),
             "training": lc.meta.training}
            for s, lc in zip(sources, loaded)
        ],
        "command": command,
    }  # fmt: skip
    meta = replace(first, architecture="beatnet_ensemble", config=config, training=training)
    save_checkpoint(model.eval(), meta, out)
    return out


def join_runs(runs: Sequence[Path], out: Path, command: str = "") -> list[Path]:
    """Join ``cv-beats`` run folders fold by fold (every ``foldK`` / ``final`` with a ``last`` in all)."""
    names = sorted({p.parent.name for p in runs[0].glob("*/last.json")})
    done = []
    for name in names:
        sources = [r / name / "last.json" for r in runs]
        if all(s.exists() for s in sources):
            done.append(join_checkpoints(sources, out / name / "last", command))
    if not done:
        raise DataError(f"no fold folder with last.json in all of {[str(r) for r in runs]}")
    return done


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer ensemble-beats``."""
    p.add_argument(
        "sources",
        nargs="+",
        type=Path,
        metavar="CKPT|RUN",
        help="beatnet checkpoints (.json), or cv-beats run folders to join fold by fold",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="the ensemble's NAME path, or a run folder for runs"
    )


def run_ensemble_beats(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer ensemble-beats``."""
    from trainer.options import command_line

    command = command_line(argv)
    if all(s.is_dir() for s in args.sources):
        for path in join_runs(args.sources, args.out, command):
            print(path)
    elif not any(s.is_dir() for s in args.sources):
        print(join_checkpoints(args.sources, args.out, command))
    else:
        raise DataError("give either checkpoints or run folders, not both")
    return 0


COMMAND = Command(
    help="join beat classifiers trained with different seeds into one averaging checkpoint",
    description=__doc__.split("\n\n")[1] if __doc__ else None,
    add_arguments=add_arguments,
    run=run_ensemble_beats,
)
