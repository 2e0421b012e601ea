"""``ecgviewer info FILE``: what a file holds, without opening a window."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord


def describe(record: EcgRecord) -> dict:
    """A JSON-ready summary of a record (the same fields as the viewer's info panel)."""
    return {
        "file": str(record.source_path) if record.source_path else None,
        "format": record.format_name,
        "fs_hz": record.fs_hz,
        "n_samples": record.n_samples,
        "duration_s": round(record.duration_s, 3),
        "recorded_leads": list(record.lead_names),
        "derived_leads": list(record.derived_leads),
        "units": dict(zip(record.lead_names, record.units)),
        "start_time": record.start_time.isoformat() if record.start_time else None,
        "metadata": dict(record.metadata),
        "warnings": list(record.warnings),
    }


def main(argv: list[str]) -> int:
    """Print a summary of each file; exit 1 if any could not be read."""
    p = argparse.ArgumentParser(prog="ecgviewer info", description="Describe ECG files.")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON (one object per file, in a list)")
    args = p.parse_args(argv)
    out, failed = [], False
    for path in args.files:
        try:
            out.append(describe(read_record(path)))
        except EcgReadError as exc:
            failed = True
            print(f"error: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for d in out:
            print(f"{d['file']}\n  format: {d['format']}\n  sampling rate: {d['fs_hz']:g} Hz")
            print(f"  duration: {d['duration_s']:g} s ({d['n_samples']} samples)")
            print(f"  recorded leads: {', '.join(d['recorded_leads'])}")
            if d["derived_leads"]:
                print(f"  derived leads: {', '.join(d['derived_leads'])}")
            for w in d["warnings"]:
                print(f"  warning: {w}")
    return 1 if failed else 0
