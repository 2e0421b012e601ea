"""The trainer's commands are registered once (trainer.commands) and every listing follows that table."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from trainer.cli import build_parser
from trainer.commands import COMMANDS, Command, commands_markdown, load_command

ROOT = Path(__file__).resolve().parents[2]


def _subcommands(parser):
    return next(a for a in parser._actions if a.choices and "pretrain" in a.choices).choices


def test_parser_has_exactly_the_registered_commands_in_order():
    assert list(_subcommands(build_parser())) == list(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_is_defined_by_its_module(name):
    command = load_command(name)
    assert isinstance(command, Command) and command.help and callable(command.run)
    assert _subcommands(build_parser())[name].get_default("run") is command.run


def test_readme_trainer_command_table_is_current():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- TRAINER-COMMANDS -->") + len("<!-- TRAINER-COMMANDS -->")
    end = text.index("<!-- /TRAINER-COMMANDS -->")
    assert text[start:end].strip() == commands_markdown().strip(), (
        "README trainer command table is out of date: paste the output of "
        "`python -c 'from trainer.commands import commands_markdown; print(commands_markdown())'`"
    )


def _makefile_trainer_lines() -> list[str]:
    """The ``$(TRAIN) ...`` command lines of the Makefile, continuation lines joined, variables expanded."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    variables = {"PY": "python", "VENV": ".venv", "m": "resnet1d", "lr": "1e-3"}
    for name, value in re.findall(r"^([A-Z_]+)\s*[:?]?=\s*(.*)$", text, flags=re.M):
        variables.setdefault(name, value.strip())

    def expand(s: str) -> str:
        for _ in range(5):
            s = re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)), s)
        return re.sub(r"\$\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)), s)

    lines = []
    for line in text.splitlines():
        for part in re.split(r"&&|;", line):
            if "$(TRAIN)" in part:
                lines.append(expand(part[part.index("$(TRAIN)") + len("$(TRAIN)") :]).strip())
    return lines


def test_makefile_trainer_commands_parse():
    """``make checkpoints`` keeps working: every trainer command line in it parses with today's options."""
    lines = _makefile_trainer_lines()
    assert len(lines) >= 10
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line.replace("|| exit 1", ""))
        assert argv[0] in COMMANDS, line
        try:
            parser.parse_args(argv)
        except SystemExit:  # pragma: no cover - the message is on stderr
            pytest.fail(f"Makefile trainer command does not parse: {line}")
