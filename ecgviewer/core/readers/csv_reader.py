"""Delimited text: one column per lead, a header row of lead names.

Optional: a time column (``time``/``t``/``time_s`` in seconds, ``time_ms`` in
milliseconds) from which the sampling rate follows, and ``#`` comment lines
before the data such as ``# fs_hz: 500`` and ``# units: uV``. Without a time
column or an ``fs_hz`` comment the caller's ``fs_hz=`` is used, else 500 Hz is
assumed and said in the record's warnings. Empty columns are left out.

Raw ADC counts read correctly with a unit that carries the step (``units="5uV"``: 5 µV
per count) or a ``# units: 5uV`` comment line; without one, integer values in the
hundreds are flagged as probable counts. A headerless file of exactly 12 integer
columns with neither rate nor unit given is read as ``contec-ecg2csv`` output (Contec
ECG90A: leads I ... V6, 800 Hz, 5 µV per count), and a warning says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import default_lead_names, to_millivolts, unique_lead_names
from ecgviewer.core.readers.registry import MAX_TOTAL_SAMPLES, Reader, register_reader
from ecgviewer.core.record import EcgRecord

DEFAULT_FS_HZ = 500.0
#: contec-ecg2csv output (Contec ECG90A carts): no header, 12 columns of counts, 800 Hz, 5 µV per count.
CONTEC_FS_HZ = 800.0
CONTEC_UNIT = "5uV"
MAX_COLUMNS = 64
_TIME_S = {"time", "t", "time_s", "time(s)", "times", "seconds", "sec", "s"}
_TIME_MS = {"time_ms", "time(ms)", "timems", "ms"}
_INDEX = {"sample", "samples", "index", "n", "idx"}
_COMMENT_FS = re.compile(r"^#\s*(fs|fs_hz|sampling[ _]?rate|sampling[ _]?frequency)\s*[:=]\s*([0-9.]+)", re.I)
_COMMENT_UNITS = re.compile(r"^#\s*units?\s*[:=]\s*(\S+)", re.I)


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() == ""
    return True


def _sniff(path: Path, head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if len(lines) < 2:
        return False
    delim = _delimiter(lines[0])
    width = lines[0].count(delim)
    body = lines[1:-1] or lines[1:]  # the last line of the sniff window may be cut
    return (
        width > 0
        and all(ln.count(delim) == width for ln in body)
        and all(_is_number(f) for f in body[0].split(delim))
    )


def read_csv(path: Path, fs_hz: float | None = None, units=None, lead_names=None, **_o) -> EcgRecord:
    """Read a CSV/TSV file of leads in columns."""
    import pandas as pd  # deferred: heavy import, only needed here

    comment_fs = comment_units = None
    header_lines = 0
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                first = line
                break
            header_lines += 1
            if m := _COMMENT_FS.match(line):
                comment_fs = float(m.group(2))
            if m := _COMMENT_UNITS.match(line):
                comment_units = m.group(1)
        else:
            raise EcgReadError(path, "no data rows")
    delim = _delimiter(first)
    fields = [f.strip().strip('"') for f in first.rstrip("\r\n").split(delim)]
    if len(fields) > MAX_COLUMNS:
        raise EcgReadError(path, f"{len(fields)} columns; at most {MAX_COLUMNS} are supported")
    has_header = not all(_is_number(f) for f in fields)
    max_rows = MAX_TOTAL_SAMPLES // max(len(fields), 1)
    frame = pd.read_csv(
        path, sep=delim, comment="#", header=0 if has_header else None, skiprows=header_lines,
        nrows=max_rows, dtype=np.float64, engine="c", skipinitialspace=True,
    )  # fmt: skip
    if frame.shape[0] < 2:
        raise EcgReadError(path, "fewer than two data rows")
    columns = [str(c).strip() for c in frame.columns] if has_header else None
    data = frame.to_numpy(dtype=np.float64).T  # (columns, rows)
    warnings = []
    if columns is None:
        columns = default_lead_names(data.shape[0])
        warnings.append("no header row; lead names assumed from the column count")
    keep = []
    for i, name in enumerate(columns):
        key = name.lower().replace(" ", "")
        if key in _TIME_S or key in _TIME_MS:
            step = np.nanmedian(np.diff(data[i]))
            if not (np.isfinite(step) and step > 0):
                raise EcgReadError(path, f"time column {name!r} is not increasing")
            fs_from_time = (1000.0 if key in _TIME_MS else 1.0) / step
            if fs_hz is None:
                fs_hz = fs_from_time
        elif key in _INDEX:
            continue
        elif np.all(np.isnan(data[i])):
            warnings.append(f"column {name} is empty and was left out")
        else:
            keep.append(i)
    if not keep:
        raise EcgReadError(path, "no signal columns with data")
    if fs_hz is None:
        fs_hz = comment_fs
    unit = units or comment_units
    kept = data[keep]
    counts = bool(np.nanmax(np.abs(kept)) > 50 and np.all(np.isnan(kept) | (kept == np.round(kept))))
    if not has_header and data.shape[0] == 12 and counts and fs_hz is None and unit is None:
        fs_hz, unit = CONTEC_FS_HZ, CONTEC_UNIT
        warnings.append(
            "headerless 12-column integer counts: read as a contec-ecg2csv export (Contec ECG90A, "
            "800 Hz, 5 µV per count); pass fs_hz= and units= if it is not one"
        )
    if fs_hz is None:
        fs_hz = DEFAULT_FS_HZ
        warnings.append(f"sampling rate not in the file; {DEFAULT_FS_HZ:g} Hz assumed")
    if unit is None:
        warnings.append("units not in the file; mV assumed")
        unit = "mV"
        if counts:
            warnings.append(
                "the values are integers up to hundreds: probably raw ADC counts, not mV; "
                "give the step as units (e.g. '5uV' for 5 µV per count)"
            )
    signals = np.ascontiguousarray(data[keep], dtype=np.float32)
    names = unique_lead_names(lead_names or [columns[i] for i in keep])
    unit_list = list(unit) if isinstance(unit, (list, tuple)) else [unit] * len(keep)
    signals, unit_list = to_millivolts(signals, unit_list)
    return EcgRecord(signals, float(fs_hz), tuple(names), tuple(unit_list), source_path=path,
                     format_name="CSV", warnings=tuple(warnings))  # fmt: skip


READER = register_reader(Reader("csv", "CSV / delimited text", (".csv", ".tsv", ".txt"), _sniff, read_csv))
