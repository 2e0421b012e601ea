"""What the trainer's evaluation commands share when they report: number formatting and the output files.

Every evaluation (``evaluate``, ``classify-evaluate``, ``evaluate-beats``,
``evaluate-segmentation``) prints its Markdown tables and, given an output folder,
writes ``results.json`` (the whole report), ``table.md`` (the tables under the
command that made them) and, where the report has a flat form, ``results.csv``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecgviewer.core.io_utils import atomic_write


def finite(v: float) -> float | None:
    """``v`` as a float, or None where it is NaN or infinite (JSON has neither)."""
    return float(v) if math.isfinite(v) else None


def fmt(v: float | None, digits: int = 3, missing: str = "–") -> str:
    """``v`` with ``digits`` decimals; ``missing`` where it is None or NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return missing
    return f"{v:.{digits}f}"


def add_out_option(p: argparse.ArgumentParser, csv: bool = True) -> None:
    """The ``--out DIR`` option of an evaluation command (the files :func:`write_outputs` writes)."""
    files = "results.json, results.csv and table.md" if csv else "results.json and table.md"
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=f"write {files} here")


def write_outputs(
    results: dict[str, Any],
    text: str,
    out_dir: str | Path | None,
    *,
    csv_text: str | None = None,
    comment_header: bool = False,
    json_newline: bool = False,
    json_default: Callable[[Any], Any] | None = None,
) -> None:
    """Print ``text`` (the tables); with ``out_dir`` also write the report's files there.

    ``results.json`` is ``results`` (indent 1; ``json_newline``: with a final newline;
    ``json_default`` as in :func:`json.dumps`), ``results.csv`` is ``csv_text`` where given,
    and ``table.md`` is ``text`` under the command that made it (``results["command"]``):
    a line ``Command: `...``` or, with ``comment_header``, an HTML comment.
    """
    print(text)
    if out_dir is None:
        return
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "results.json") as fh:
        fh.write(json.dumps(results, indent=1, default=json_default) + ("\n" if json_newline else ""))
    if csv_text is not None:
        with atomic_write(out_dir / "results.csv", newline="") as fh:
            fh.write(csv_text)
    command = results.get("command", "")
    header = f"<!-- {command} -->\n\n" if comment_header else f"Command: `{command}`\n\n"
    with atomic_write(out_dir / "table.md") as fh:
        fh.write(header + text)
