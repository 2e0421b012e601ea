"""Command line: ``ecgviewer [FILE]`` opens the viewer; subcommands work without a window.

Subcommands are looked up in :data:`SUBCOMMANDS` (name -> ``module:function``);
each takes its own ``argv`` list and returns an exit code. Their modules are
imported only when used, so ``ecgviewer FILE`` never imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from ecgviewer import __version__
from ecgviewer.layout.choices import GAINS_MM_PER_MV, LAYOUT_NAMES, SPEEDS_MM_PER_S
from ecgviewer.resources import bundled_checkpoints

#: name -> (``module:function``, one-line help). The function takes argv and returns an exit code.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("ecgviewer.core.info:main", "print what a file holds (format, leads, rate, metadata)"),
    "convert": ("ecgviewer.core.convert:main", "convert a file to WFDB, EDF+ or BDF+"),
    "analyze": ("ecgviewer.analysis.cli:main", "predict PR/QRS/QT/HR with a model (and classically)"),
    "beats": (
        "ecgviewer.analysis.beats_cli:main",
        "every beat with its AAMI class (N/S/V/F/Q), counts and events",
    ),
}


def gui_parser() -> argparse.ArgumentParser:
    """Arguments of the viewer itself."""
    p = argparse.ArgumentParser(
        prog="ecgviewer",
        description="Open an ECG in the viewer. Subcommands: "
        + ", ".join(f"'{k}' ({v[1]})" for k, v in SUBCOMMANDS.items())
        + "; see 'ecgviewer SUBCOMMAND --help'.",
    )
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="ECG file to open (WFDB, GE MUSE / Philips / HL7 aECG XML, DICOM, EDF/BDF, SCP-ECG, "
        "ISHNE, .npy/.npz, .csv)",
    )
    p.add_argument("--screenshot", type=Path, metavar="OUT.png",
                   help="render the window offscreen, save it as PNG and exit")  # fmt: skip
    p.add_argument("--layout", choices=LAYOUT_NAMES, help="lead layout (default: last used, else 3x4)")
    p.add_argument("--speed", type=float, choices=SPEEDS_MM_PER_S, help="paper speed in mm/s")
    p.add_argument("--gain", type=float, choices=GAINS_MM_PER_MV, help="gain in mm/mV")
    models = "|".join(c.name for c in bundled_checkpoints("intervals"))
    p.add_argument("--model", metavar=f"{models}|PATH", help="interval model for this run")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where the model runs")
    p.add_argument("--size", default="1600x1000", metavar="WxH", help="window size for --screenshot")
    p.add_argument("--version", action="version", version=f"ecgviewer {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ecgviewer`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS and not Path(argv[0]).exists():
        module, func = SUBCOMMANDS[argv[0]][0].split(":")
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    args = gui_parser().parse_args(argv)
    from ecgviewer.gui.app import run_gui  # Qt is imported only for the window

    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())
