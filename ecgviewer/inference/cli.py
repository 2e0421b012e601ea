"""``ecgviewer analyze FILE...``: model and classical intervals from the command line.

Torch is imported inside :func:`main` only (via :class:`Predictor`), so registering
the subcommand at start-up costs nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ecgviewer.cli import register_subcommand

register_subcommand(
    "analyze", "ecgviewer.inference.cli:main", "predict PR/QRS/QT/HR with a model (and classically)"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgviewer analyze",
        description="Predict heart rate, PR, QRS and QT (and QTc) of ECG files with an interval "
        "model, next to a classical median-beat measurement.",
    )
    p.add_argument("files", nargs="+", type=Path, help="ECG files (any format ecgviewer reads)")
    p.add_argument(
        "--model", default="resnet1d", help="resnet1d, vit1d or a checkpoint path (default resnet1d)"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto: cuda > mps > cpu)")
    p.add_argument("--stride", type=float, default=5.0, metavar="S", help="window hop in seconds (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    p.add_argument("--no-classical", action="store_true", help="skip the classical measurement")
    return p


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def analyze_file(path: Path, predictor: Any, classical: bool = True) -> dict[str, Any]:
    """Read one file and return its JSON-ready analysis (raises on failure)."""
    from ecgviewer.core.beats import analyze_beats
    from ecgviewer.core.readers import read_record

    record = read_record(path)
    entry: dict[str, Any] = {"file": str(path)}
    entry.update(predictor.predict(record).to_dict())
    if classical:
        entry["classical"] = {k: _finite(v) for k, v in analyze_beats(record).intervals.to_dict().items()}
    return entry


def _fmt(v: float | None, unit: str) -> str:
    return "n/a" if v is None else f"{v:.0f} {unit}"


def _print_text(e: dict[str, Any]) -> None:
    print(e["file"])
    print(f"  model: {e['model']} ({e['status']}, {e['device']}, {len(e['window_starts_s'])} windows)")
    if e.get("warning"):
        print(f"  *** {e['warning']} ***")
    for name in ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
        s = e["spread"][name]
        print(
            f"  {name:8s} {e[name]:7.1f} {e['units'][name]:3s}  (IQR {s['iqr']:.1f}, "
            f"min {s['min']:.1f}, max {s['max']:.1f}, n={s['n_windows']})"
        )
    print(f"  QTc      Bazett {e['qtc_bazett_ms']:.0f} ms, Fridericia {e['qtc_fridericia_ms']:.0f} ms")
    c = e.get("classical")
    if c:
        print(
            f"  classical: HR {_fmt(c['hr_bpm'], 'bpm')}, PR {_fmt(c['pr_ms'], 'ms')}, "
            f"QRS {_fmt(c['qrs_ms'], 'ms')}, QT {_fmt(c['qt_ms'], 'ms')} ({c['n_beats']} beats)"
        )
    for w in e["warnings"]:
        print(f"  note: {w}")


def main(argv: list[str]) -> int:
    """Analyse each file; return 1 if any failed (after processing the rest), 2 if the model failed."""
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.models.checkpoint import CheckpointError

    args = _parser().parse_args(argv)
    try:
        predictor = Predictor(args.model, device=args.device, stride_s=args.stride).load()
    except (CheckpointError, PredictionError, ValueError) as exc:
        print(f"error: cannot load model {args.model!r}: {exc}", file=sys.stderr)
        return 2
    results, failed = [], False
    for path in args.files:
        try:
            entry = analyze_file(path, predictor, classical=not args.no_classical)
        except (EcgReadError, PredictionError, OSError, ValueError) as exc:
            failed = True
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            print(f"error: {msg}", file=sys.stderr)
            entry = {"file": str(path), "error": msg}
        results.append(entry)
        if not args.json and "error" not in entry:
            _print_text(entry)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0
