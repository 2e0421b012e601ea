"""``ecgviewer convert IN OUT``: read any supported file, write WFDB, EDF+ or BDF+.

The output format follows ``--format wfdb|edf|bdf`` or OUT's extension (``.hea`` -> WFDB, ``.edf`` ->
EDF+, ``.bdf`` -> BDF+). The recorded channels are written in mV with their metadata;
``--anonymize`` leaves the patient fields (see :mod:`ecgviewer.core.privacy`) out.
Reader options (``--fs-hz``, ``--units``, ``--waveform``, ``--from``) are those of
``ecgviewer info``. Exit code 0 on success, 1 when the input cannot be read or the
output cannot be written (with one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.info import add_reader_options, reader_options
from ecgviewer.core.opening import is_long, open_record
from ecgviewer.core.privacy import without_patient_fields


def convert(
    source: str | Path, target: str | Path, out_format: str | None = None, anonymize: bool = False, **options
) -> list[Path]:
    """Read ``source`` (reader ``options`` as for :func:`~ecgviewer.core.readers.read_record`) and
    write ``target``.

    The file is opened with :func:`~ecgviewer.core.opening.open_record` (the viewer's reading
    path); a long record (:func:`~ecgviewer.core.opening.is_long`) is streamed to the writer
    chunk by chunk (:func:`~ecgviewer.core.writers.write_long_record`), a short one read whole.

    Returns
    -------
    list of Path
        The files written.
    """
    from ecgviewer.core.writers import write_long_record, write_record

    with open_record(source, **options) as rec:
        if is_long(rec):
            metadata = without_patient_fields(rec.metadata) if anonymize else None
            return write_long_record(
                rec, Path(target), format=out_format, metadata=metadata, include_patient=not anonymize
            )
        record = rec.read_all()
    if anonymize:
        record = dataclasses.replace(record, metadata=without_patient_fields(record.metadata))
    return write_record(record, Path(target), format=out_format, include_patient=not anonymize)


def main(argv: list[str]) -> int:
    """Convert one file; print the files written."""
    p = argparse.ArgumentParser(
        prog="ecgviewer convert",
        description="Convert an ECG file to WFDB (.hea), EDF+ or BDF+.",
    )
    p.add_argument("source", type=Path, help="input file (any supported format)")
    p.add_argument("target", type=Path, help="output file: NAME.hea (WFDB), NAME.edf or NAME.bdf")
    p.add_argument("--format", dest="out_format", choices=("wfdb", "edf", "bdf"), help="output format")
    p.add_argument("--anonymize", action="store_true", help="leave patient fields out of the output")
    add_reader_options(p, reader_flag="--from")
    args = p.parse_args(argv)
    try:
        written = convert(args.source, args.target, args.out_format, args.anonymize, **reader_options(args))
    except EcgReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, OSError) as exc:
        print(f"error: cannot write {args.target}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
