"""``python -m trainer prepare``: read interval data sources once and save them as one ``.npz``.

Reading PTB-XL with teacher labels runs the teacher on every record; ``prepare`` does
that once, and ``npz:FILE`` then feeds the result to ``pretrain``, ``finetune`` and
``evaluate`` as often as needed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trainer.commands import Command
from trainer.options import DATA_HELP, add_ptbxl_options, command_line, load_sources


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``prepare``."""
    p.add_argument("--data", action="append", required=True, metavar="KIND:PATH", help=DATA_HELP)
    p.add_argument("--out", type=Path, required=True, help="output .npz")
    add_ptbxl_options(p)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Read ``--data`` and save it to ``--out``."""
    data = load_sources(args.data, args)
    data.provenance["command"] = command_line(argv)
    data.save(args.out)
    counts = {s: data.splits.count(s) for s in ("train", "val", "test")}
    print(f"{args.out}: {len(data)} rows {counts}, labelled share {data.labelled_share()}")
    return 0


COMMAND = Command(
    help="read data sources once into an .npz",
    description=(
        "Read data sources (and run the teacher for PTB-XL teacher labels) once; train and evaluate "
        "on the result with npz:FILE."
    ),
    add_arguments=add_arguments,
    run=run,
)
