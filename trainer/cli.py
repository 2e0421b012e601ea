"""``python -m trainer COMMAND ...``: make data, train, evaluate and export the viewer's models.

The commands (interval models, record classifiers, the beat classifier and the
image segmentation of PVC/fusion beats) are listed once, in
:data:`trainer.commands.COMMANDS`; each lives in the module that implements it.
``python -m trainer --help`` lists them, ``python -m trainer COMMAND --help``
explains every option.

Interval data sources are ``KIND:PATH`` specs (``synthetic:``, ``ptbxl:``, ``ludb:``,
``folder:``, ``npz:``, ``vendor:``); see ``python -m trainer pretrain --help``.
"""

from __future__ import annotations

import argparse
import sys

from trainer.commands import COMMANDS, load_command


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m trainer`` parser, one subcommand per entry of :data:`~trainer.commands.COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description=__doc__.split("\n")[0] + " Run 'python -m trainer COMMAND --help' for each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        command = load_command(name)
        p = sub.add_parser(name, help=command.help, description=command.description or command.help)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m trainer``; returns the exit code."""
    from trainer.data.arrays import DataError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, argv)
    except (DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
