"""The README stays true to the code: its shortcut table is the one the actions table renders."""

from __future__ import annotations

from pathlib import Path

from ecgviewer.gui.actions import shortcuts_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_shortcut_table_is_current():
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- SHORTCUTS -->") + len("<!-- SHORTCUTS -->")
    end = text.index("<!-- /SHORTCUTS -->")
    assert text[start:end].strip() == shortcuts_markdown().strip(), (
        "README shortcut table is out of date: paste the output of "
        "`python -c 'from ecgviewer.gui.actions import shortcuts_markdown; print(shortcuts_markdown())'`"
    )


def test_readme_starts_with_make_run_and_make_test():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
