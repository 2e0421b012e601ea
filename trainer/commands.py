"""The ``python -m trainer`` commands: the one table of their names.

Each command lives in the module that implements it, as a :class:`Command` (its
one-line help, its options and the function that runs it); :data:`COMMANDS` maps
the command names, in the order ``--help`` lists them, to those objects.
:func:`trainer.cli.build_parser` builds the parser from this table alone, and the
README's command table is :func:`commands_markdown` (``tests/test_readme.py``
checks that it is current). Adding a command is: write its ``Command`` beside its
code, add one line here.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One ``python -m trainer`` subcommand, defined in the module that implements it."""

    #: one line, for ``python -m trainer --help`` and the README table
    help: str
    #: adds the command's arguments (and any extra defaults) to its subparser
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: ``run(args, argv) -> exit code``; ``argv`` is the full command line after ``python -m trainer``
    run: Callable[[argparse.Namespace, list[str]], int]
    #: the text of ``python -m trainer NAME --help`` (default: ``help``)
    description: str | None = None


#: command name -> ``"module:attribute"`` of its :class:`Command`, in the order of ``--help``
COMMANDS: dict[str, str] = {
    "synth": "trainer.data.synthetic:COMMAND",
    "prepare": "trainer.prepare:COMMAND",
    "pretrain": "trainer.train:PRETRAIN_COMMAND",
    "finetune": "trainer.train:FINETUNE_COMMAND",
    "evaluate": "trainer.evaluate:COMMAND",
    "classify": "trainer.classify:CLASSIFY_COMMAND",
    "classify-evaluate": "trainer.classify:EVALUATE_COMMAND",
    "classify-calibrate": "trainer.classify:CALIBRATE_COMMAND",
    "export": "trainer.export:COMMAND",
    "train-beats": "trainer.beats:COMMAND",
    "evaluate-beats": "trainer.evaluate_beats:COMMAND",
    "cv-beats": "trainer.beats_cv:COMMAND",
    "cv-beats-rule": "trainer.beats_rule:COMMAND",
    "ensemble-beats": "trainer.beats_ensemble:COMMAND",
    "delineate": "trainer.delineate:COMMAND",
    "evaluate-delineation": "trainer.evaluate_delineation:COMMAND",
    "train-segmentation": "trainer.segmentation:TRAIN_COMMAND",
    "evaluate-segmentation": "trainer.segmentation:EVALUATE_COMMAND",
}


def load_command(name: str) -> Command:
    """The :class:`Command` registered as ``name`` (imports its module)."""
    module, _, attribute = COMMANDS[name].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, Command):
        raise TypeError(f"{COMMANDS[name]} is not a trainer.commands.Command")
    return command


def commands_markdown() -> str:
    """The README's table of commands: name and one-line help of each, in registry order."""
    lines = ["| command | what it does |", "|---|---|"]
    lines += [f"| `{name}` | {load_command(name).help} |" for name in COMMANDS]
    return "\n".join(lines)
