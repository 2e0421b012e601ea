"""``ecgviewer info FILE``: what a file holds, without opening a window.

The file is opened with :func:`ecgviewer.core.opening.open_record` (the viewer's and
every command's reading path, so ``info`` refuses exactly what they refuse) and
described from its header: no sample of a WFDB, EDF/BDF or ISHNE file is read, so a
24 h Holter is described in well under a second and a few tens of MB.

Patient-identifying metadata (name, ID, birth date, age, sex ...; see
:mod:`ecgviewer.core.privacy`) is left out unless ``--show-patient`` is given; the
output then says how many fields were hidden. Reader options (``--format`` to name the
reader, ``--fs-hz``, ``--units``, ``--waveform``) are shared with ``ecgviewer convert``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.opening import open_record
from ecgviewer.core.privacy import is_patient_field

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord


def describe(record: EcgRecord | LongRecord, include_patient: bool = True) -> dict:
    """A JSON-ready summary of a record (the same fields as the viewer's info panel).

    Parameters
    ----------
    record
        The record, in memory or opened lazily (only its header facts are used).
    include_patient
        False leaves patient fields out of ``metadata`` and counts them in
        ``patient_fields_hidden``.
    """
    metadata = dict(record.metadata)
    hidden = 0
    if not include_patient:
        hidden = sum(1 for k in metadata if is_patient_field(k))
        metadata = {k: v for k, v in metadata.items() if not is_patient_field(k)}
    vendor = record.vendor_measurements
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
        "metadata": metadata,
        "patient_fields_hidden": hidden,
        "vendor_measurements": (
            {"source": vendor.source, "values": dict(vendor.values)} if vendor is not None else None
        ),
        "warnings": list(record.warnings),
    }


def add_reader_options(p: argparse.ArgumentParser, reader_flag: str = "--format") -> None:
    """Options passed to the reader (shared by ``info`` and ``convert``, where it is ``--from``)."""
    p.add_argument(reader_flag, dest="reader", metavar="READER", help="reader name instead of detection")
    p.add_argument("--fs-hz", type=float, help="sampling rate for files that do not store it (CSV, .npy)")
    p.add_argument("--units", help="unit of files that do not store it, e.g. uV or 5uV (5 µV per count)")
    p.add_argument("--waveform", choices=("rhythm", "median"), help="which waveform of XML/DICOM/SCP files")


def reader_options(args: argparse.Namespace) -> dict:
    """Reader keyword arguments from the parsed options (only those given)."""
    options = {"format": args.reader}
    for key in ("fs_hz", "units", "waveform"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    return options


def _print_text(d: dict) -> None:
    print(f"{d['file']}\n  format: {d['format']}\n  sampling rate: {d['fs_hz']:g} Hz")
    print(f"  duration: {d['duration_s']:g} s ({d['n_samples']} samples)")
    print(f"  recorded leads: {', '.join(d['recorded_leads'])}")
    if d["derived_leads"]:
        print(f"  derived leads: {', '.join(d['derived_leads'])}")
    print(f"  units: {', '.join(sorted(set(d['units'].values())))}")
    if d["start_time"]:
        print(f"  start time: {d['start_time']}")
    for key, value in d["metadata"].items():
        print(f"  {key}: {value}")
    if d["patient_fields_hidden"]:
        print(f"  ({d['patient_fields_hidden']} patient field(s) hidden; --show-patient shows them)")
    vendor = d["vendor_measurements"]
    if vendor:
        values = ", ".join(f"{k} {v:g}" for k, v in vendor["values"].items())
        print(f"  device measurements ({vendor['source']}): {values}")
    for w in d["warnings"]:
        print(f"  warning: {w}")


def main(argv: list[str]) -> int:
    """Print a summary of each file; exit 1 if any could not be read."""
    p = argparse.ArgumentParser(prog="ecgviewer info", description="Describe ECG files.")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON (one object per file, in a list)")
    p.add_argument(
        "--show-patient", action="store_true", help="include patient fields (name, ID, birth date ...)"
    )
    add_reader_options(p)
    args = p.parse_args(argv)
    out, failed = [], False
    for path in args.files:
        try:
            with open_record(path, **reader_options(args)) as rec:
                out.append(describe(rec, include_patient=args.show_patient))
        except EcgReadError as exc:
            failed = True
            print(f"error: {exc}", file=sys.stderr)
        except KeyError as exc:  # unknown --format name
            failed = True
            print(f"error: {exc.args[0]}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for d in out:
            _print_text(d)
    return 1 if failed else 0
