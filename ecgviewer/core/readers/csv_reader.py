"""Delimited text: one column per lead, a header row of lead names.

Optional: a time column (``time``/``t``/``time_s`` in seconds, ``time_ms`` in
milliseconds) from which the sampling rate follows, and lines before the header row
(a preamble, as device exports write it) holding ``key: value``, ``key = value`` or
``key,value`` metadata, with or without a leading ``#``. The header row is the first
row whose cells are mostly labels and that is followed by numeric rows of the same
width; everything above it is preamble. Recognised preamble keys:

* sampling rate: ``Sampling Rate (Hz)``, ``Sample rate``, ``Sampling frequency``,
  ``fs``, ``fs_hz`` (``kHz`` understood), or a sampling interval (``s``/``ms``/``us``);
* gain: ``Gain (digit/millivolt): 2048`` -- the values are counts, mV = count / 2048
  (``counts/mV``, ``adu/uV`` ... likewise; ``uV/digit`` is a step per count; a bare
  ``Gain`` is counts per mV), with an optional ``Baseline``/``ADC zero`` count;
* units: ``Units: uV`` (or a step such as ``5uV``);
* lead names: ``Leads: I, II, III`` (used when there is no header row).

A row of units right under the header (``s,mV,mV`` or ``(ms);[uV];[uV]``) gives each
column's unit (a time unit marks the time column).

Other ``key: value`` lines (``Speed: 25 mm/s``, a display ``Gain: 10 mm/mV``, patient
fields ...) go into the record's metadata. A recognised line whose value cannot be used is
an error naming the line. The caller's ``fs_hz=`` and ``units=`` override what the file says
(``units=`` replaces the file's gain, baseline and units), and then such a line is no error.
Without a time column or a rate in the file, 500 Hz is assumed and said in the
record's warnings. Empty columns are left out.

Raw ADC counts read correctly with a unit that carries the step (``units="5uV"``: 5 µV
per count) or a ``# units: 5uV`` line; without one, integer values in the
hundreds are flagged as probable counts. A headerless file of exactly 12 integer
columns with neither rate nor unit given is read as ``contec-ecg2csv`` output (Contec
ECG90A: leads I ... V6, 800 Hz, 5 µV per count), and a warning says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import (
    default_lead_names,
    metadata_from_comments,
    to_millivolts,
    unique_lead_names,
    unit_factor,
)
from ecgviewer.core.readers.registry import MAX_TOTAL_SAMPLES, SNIFF_BYTES, Reader, register_reader
from ecgviewer.core.record import EcgRecord, millivolt_factor

DEFAULT_FS_HZ = 500.0
#: contec-ecg2csv output (Contec ECG90A carts): no header, 12 columns of counts, 800 Hz, 5 µV per count.
CONTEC_FS_HZ = 800.0
CONTEC_UNIT = "5uV"
MAX_COLUMNS = 64
#: Lines (and bytes) searched for the header row; a longer preamble is not a CSV export.
MAX_PREAMBLE_LINES = 200
MAX_PREAMBLE_BYTES = 256 * 1024
_TIME_S = {"time", "t", "time_s", "time(s)", "times", "seconds", "sec", "s"}
_TIME_MS = {"time_ms", "time(ms)", "timems", "ms"}
_INDEX = {"sample", "samples", "index", "n", "idx"}
_DELIMITERS = (",", ";", "\t")

# preamble keys, compared with everything but letters and digits removed and "(...)" taken as the unit
_FS_KEYS = {"fs", "fshz", "samplingrate", "samplerate", "samplingfrequency", "samplefrequency",
            "samplingfreq", "samplespersecond", "srate"}  # fmt: skip
_INTERVAL_KEYS = {"samplinginterval", "sampleinterval", "samplingperiod", "sampleperiod"}
_GAIN_KEYS = {"gain", "adcgain", "amplitudegain", "adcresolution", "resolution", "amplituderesolution",
              "lsb", "unitspercount", "countspermv", "digitspermv"}  # fmt: skip
_BASELINE_KEYS = {"baseline", "adczero", "adcoffset", "adcbaseline"}
_UNITS_KEYS = {"units", "unit", "amplitudeunit", "amplitudeunits", "signalunit", "signalunits"}
_LEADS_KEYS = {"leads", "leadnames", "lead", "channels", "channelnames", "signals", "signalnames"}
#: units of a display gain (``Gain: 10 mm/mV``: paper scale, not the amplitude of a count)
_LENGTH_WORDS = {"mm", "cm", "in", "inch", "inches", "millimeter", "millimeters", "millimetre", "millimetres"}
_COUNT_WORDS = {"digit", "digits", "count", "counts", "adu", "adus", "unit", "units", "lsb", "bit", "bits",
                "step", "steps", "value", "values", "sample", "samples", ""}  # fmt: skip
_VOLT_WORDS = {"millivolt": "mV", "millivolts": "mV", "microvolt": "uV", "microvolts": "uV",
               "nanovolt": "nV", "nanovolts": "nV", "volt": "V", "volts": "V"}  # fmt: skip
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6}
_NUMBER = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$")
_KEY_VALUE = re.compile(r"^\s*#?\s*([^:=,;\t]{1,80}?)\s*(?::|=|,|;|\t)\s*(.*?)\s*[,;\t]*$")
_INLINE_KEY_VALUE = re.compile(r"^[^:=]*[A-Za-z][^:=]*[:=]\s*\S")
_PARENS = re.compile(r"[(\[]([^)\]]*)[)\]]")


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() == ""
    return True


def _cells(line: str, delim: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.rstrip("\r\n").split(delim)]


def _numeric_row(line: str, delim: str, width: int) -> bool:
    cells = _cells(line, delim)
    return len(cells) == width and all(_is_number(c) for c in cells) and any(c for c in cells)


def _find_table(lines: list[str], complete: bool) -> tuple[int, bool, str, int | None] | None:
    """Where the table starts in ``lines``: (index of its first row, has a header row, delimiter,
    index of a units row under the header or None).

    The first row is a numeric row followed by another of the same width (the data starts
    there, no header), or a row whose cells are mostly labels followed by a numeric row of
    its width (the header) -- or by a row of units (``mV``, ``s`` ...) and then numbers.
    ``complete`` says ``lines`` is the whole file (a single last row is enough).
    """
    rows = [(i, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    for k, (i, line) in enumerate(rows):
        delim = _delimiter(line)
        cells = _cells(line, delim)
        width = len(cells)
        following = [ln for _, ln in rows[k + 1 : k + 3]]
        if _numeric_row(line, delim, width):
            if following[:1] and _numeric_row(following[0], delim, width):
                return i, False, delim, None
            if complete and not following:
                return i, False, delim, None
            continue
        if not _label_row(cells):
            continue
        if following[:1] and _numeric_row(following[0], delim, width):
            return i, True, delim, None
        if (
            len(following) == 2
            and _numeric_row(following[1], delim, width)
            and _units_row(_cells(following[0], delim), width)
        ):
            return i, True, delim, rows[k + 1][0]
    return None


def _label_row(cells: list[str]) -> bool:
    labels = sum(1 for c in cells if c and not _is_number(c))
    filled = sum(1 for c in cells if c)
    return labels * 2 > filled and not _looks_like_metadata(cells)


def _unit_word(cell: str) -> str:
    return cell.strip().strip("()[]").strip()


def _units_row(cells: list[str], width: int) -> bool:
    """A row of units under the header: each filled cell a voltage (``mV``, ``5uV``) or a time (``ms``)."""
    words = [_unit_word(c) for c in cells if c]
    return (
        len(cells) == width
        and bool(words)
        and all(unit_factor(w) is not None or w.lower() in _TIME_UNITS for w in words)
    )


def _looks_like_metadata(cells: list[str]) -> bool:
    """A ``key: value`` line, or a two-cell ``key,value`` row (``Sampling rate,500``), not a header."""
    if any(_INLINE_KEY_VALUE.match(c) for c in cells):
        return True
    return len(cells) == 2 and bool(cells[0]) and _is_number(cells[1]) and bool(cells[1])


@dataclass
class _Preamble:
    """What the lines before the header row say."""

    fs_hz: float | None = None
    step: tuple[float, str] | None = None  # (value per count, voltage unit) from a gain line
    baseline: float = 0.0
    units: str | None = None
    lead_names: list[str] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _split_key(raw_key: str) -> tuple[str, str]:
    """``'Gain (digit/millivolt)'`` -> (``'gain'``, ``'digit/millivolt'``)."""
    unit = " ".join(m.strip() for m in _PARENS.findall(raw_key))
    key = re.sub(r"[^a-z0-9]", "", _PARENS.sub("", raw_key).lower())
    return key, unit


def _number(path: Path, line_no: int, what: str, text: str) -> tuple[float, str]:
    m = _NUMBER.match(text)
    if not m:
        raise EcgReadError(path, f"line {line_no}: {what} {text!r} is not a number")
    value = float(m.group(1))
    if not (np.isfinite(value) and value > 0):
        raise EcgReadError(path, f"line {line_no}: {what} {text!r} is not a positive number")
    return value, m.group(2).strip()


def _voltage(word: str) -> str | None:
    """``'mV'``, ``'millivolt'``, ``'µV'`` -> a unit :func:`millivolt_factor` knows, else None."""
    word = _VOLT_WORDS.get(word.strip().lower(), word.strip())
    return word if word and millivolt_factor(word) is not None else None


def _gain_step(path: Path, line_no: int, value: float, unit: str) -> tuple[float, str] | None:
    """A gain line -> (value per count, voltage unit); None for a display gain (``10 mm/mV``)."""
    unit = unit.replace(" per ", "/").replace("per ", "/").strip()
    if "/" in unit:
        num, den = (u.strip() for u in unit.split("/", 1))
        if num.lower() in _LENGTH_WORDS:
            return None
        if _voltage(den) and num.lower() in _COUNT_WORDS:  # counts per volt unit
            return 1.0 / value, _voltage(den)
        if _voltage(num) and den.lower() in _COUNT_WORDS:  # volt unit per count
            return value, _voltage(num)
        raise EcgReadError(
            path, f"line {line_no}: gain unit {unit!r} not understood (e.g. digit/mV, uV/digit)"
        )
    if unit.lower() in _COUNT_WORDS:
        return 1.0 / value, "mV"  # a bare gain: counts per mV, as WFDB's ADC gain
    if _voltage(unit):
        return value, _voltage(unit)  # "Resolution: 5 uV"
    raise EcgReadError(path, f"line {line_no}: gain unit {unit!r} not understood (e.g. digit/mV, uV/digit)")


def _parse_preamble(path: Path, lines: list[str], fs_given: bool, units_given: bool) -> _Preamble:
    """Read the recognised ``key: value`` lines; the rest becomes metadata.

    A recognised line whose value cannot be used is an error naming the line, unless the caller
    gave that quantity (``fs_hz=`` for the rate, ``units=`` for gain, baseline and units): then
    the line is only kept as metadata.
    """
    pre = _Preamble()
    other: list[str] = []
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or not text.strip("#").strip():
            continue
        pre.lines.append(text)
        m = _KEY_VALUE.match(text)
        if not m or not m.group(2):
            other.append(text)
            continue
        raw_key, value = m.group(1).strip(), m.group(2).strip().strip('"').strip()
        key, key_unit = _split_key(raw_key)
        try:
            used = _preamble_value(path, line_no, pre, key, key_unit, value)
        except EcgReadError as exc:
            given = fs_given if key in _FS_KEYS | _INTERVAL_KEYS else units_given
            if not given:
                hint = "--fs-hz (fs_hz=)" if key in _FS_KEYS | _INTERVAL_KEYS else "--units (units=)"
                raise EcgReadError(path, f"{exc.reason}; {hint} overrides the file") from None
            used = False
        if not used:
            other.append(f"{raw_key}: {value}")
    pre.metadata = metadata_from_comments(other)
    return pre


def _preamble_value(path: Path, line_no: int, pre: _Preamble, key: str, key_unit: str, value: str) -> bool:
    """Put one ``key: value`` into ``pre``; False when the key is not one the reader uses."""
    if key in _FS_KEYS:
        number, unit = _number(path, line_no, "sampling rate", value)
        unit = (unit or key_unit).strip().lower()
        if unit not in ("", "hz", "khz", "s-1", "/s", "sps", "samples/s"):
            raise EcgReadError(path, f"line {line_no}: sampling rate unit {unit!r} not understood")
        pre.fs_hz = number * (1000.0 if unit == "khz" else 1.0)
    elif key in _INTERVAL_KEYS:
        number, unit = _number(path, line_no, "sampling interval", value)
        unit = (unit or key_unit).strip() or "s"
        if unit not in _TIME_UNITS:
            raise EcgReadError(path, f"line {line_no}: sampling interval unit {unit!r} not understood")
        pre.fs_hz = 1.0 / (number * _TIME_UNITS[unit])
    elif key in _GAIN_KEYS:
        number, unit = _number(path, line_no, "gain", value)
        step = _gain_step(path, line_no, number, unit or key_unit)
        if step is None:
            return False  # a display gain (mm/mV): metadata only
        pre.step = step
    elif key in _BASELINE_KEYS:
        m_num = _NUMBER.match(value)
        if not m_num:
            raise EcgReadError(path, f"line {line_no}: baseline {value!r} is not a number")
        pre.baseline = float(m_num.group(1))
    elif key in _UNITS_KEYS:
        unit = value.split()[0] if value.split() else value
        if unit_factor(unit) is None:
            raise EcgReadError(path, f"line {line_no}: unit {value!r} not understood (e.g. mV, uV, 5uV)")
        pre.units = unit
    elif key in _LEADS_KEYS and not _is_number(value):
        names = [n.strip().strip('"') for n in re.split(r"[,;\t]|\s+", value) if n.strip()]
        pre.lead_names = names or None
    else:
        return False
    return True


def _decode(raw: bytes) -> str:
    """UTF-8 (a byte-order mark dropped), else Latin-1 as older device software writes (``µV``)."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _head_lines(path: Path) -> tuple[list[str], list[int], bool]:
    """The first lines (up to the preamble limits), their byte offsets, and whether that is the whole file."""
    lines, offsets = [], []
    pos = 0
    with path.open("rb") as fh:
        while len(lines) < MAX_PREAMBLE_LINES + 3 and pos < MAX_PREAMBLE_BYTES:
            raw = fh.readline()
            if not raw:
                return lines, offsets, True
            offsets.append(pos)
            pos += len(raw)
            lines.append(_decode(raw))
        return lines, offsets, not fh.read(1)


def _sniff(path: Path, head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:  # the window may cut a multi-byte character at its end
        text = head.decode("utf-8") if len(head) < SNIFF_BYTES else head[:-3].decode("utf-8")
    except UnicodeDecodeError:
        text = _decode(head)
    lines = text.splitlines()
    complete = len(head) < SNIFF_BYTES
    if not complete:
        lines = lines[:-1]  # the last line of the sniff window may be cut
    found = _find_table(lines, complete)
    if found is None:
        return False
    start, _, delim, units_row = found
    width = len(_cells(lines[start], delim))
    body = [
        ln for i, ln in enumerate(lines[start + 1 :], start + 1)
        if ln.strip() and not ln.lstrip().startswith("#") and i != units_row
    ]  # fmt: skip
    return width > 1 and all(len(_cells(ln, delim)) == width for ln in body)


def _flatten(text: str) -> str:
    return " ".join(str(text).split())


def read_csv(path: Path, fs_hz: float | None = None, units=None, lead_names=None, **_o) -> EcgRecord:
    """Read a CSV/TSV file of leads in columns, after an optional preamble of metadata lines."""
    import pandas as pd  # deferred: heavy import, only needed here

    lines, offsets, complete = _head_lines(path)
    found = _find_table(lines, complete)
    if found is None:
        if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines):
            raise EcgReadError(path, "no data rows")
        if len(lines) > MAX_PREAMBLE_LINES:
            raise EcgReadError(
                path, f"no table of numbers found in the first {MAX_PREAMBLE_LINES} lines (a header row "
                "followed by rows of numbers with as many columns)",
            )  # fmt: skip
        raise EcgReadError(
            path, "fewer than two data rows (no header row followed by rows of numbers with as many columns)"
        )
    start, has_header, delim, units_row = found
    pre = _parse_preamble(path, lines[:start], fs_given=fs_hz is not None, units_given=units is not None)
    fields = _cells(lines[start], delim)
    if len(fields) > MAX_COLUMNS:
        raise EcgReadError(path, f"{len(fields)} columns; at most {MAX_COLUMNS} are supported")
    max_rows = MAX_TOTAL_SAMPLES // max(len(fields), 1)
    try:
        with path.open("rb") as fh:
            fh.seek(offsets[start])
            frame = pd.read_csv(
                fh, sep=delim, comment="#", header=0 if has_header else None, nrows=max_rows,
                skiprows=None if units_row is None else [units_row - start],
                dtype=np.float64, engine="c", skipinitialspace=True, encoding="utf-8",
                encoding_errors="replace",
            )  # fmt: skip
    except (ValueError, pd.errors.ParserError) as exc:
        message = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + start}", _flatten(exc))
        message = re.sub(
            r"Error tokenizing data\. C error: Expected (\d+) fields in (line \d+), saw (\d+)",
            r"\2 has \3 fields, not \1",
            message,
        )
        raise EcgReadError(path, f"cannot read the data rows: {message}") from None
    if frame.shape[0] < 2:
        raise EcgReadError(path, "fewer than two data rows")
    columns = [str(c).strip() for c in frame.columns] if has_header else None
    data = frame.to_numpy(dtype=np.float64).T  # (columns, rows)
    warnings = []
    if columns is None:
        if pre.lead_names is not None and len(pre.lead_names) == data.shape[0]:
            columns = list(pre.lead_names)
        else:
            if pre.lead_names is not None:
                warnings.append(
                    f"the preamble names {len(pre.lead_names)} leads for {data.shape[0]} columns; not used"
                )
            columns = default_lead_names(data.shape[0])
            warnings.append("no header row; lead names assumed from the column count")
    column_units = [_unit_word(c) for c in _cells(lines[units_row], delim)] if units_row is not None else None
    keep = []
    fs_from_time = None
    for i, name in enumerate(columns):
        key = name.lower().replace(" ", "")
        time_unit = column_units[i].lower() if column_units else ""
        if key in _TIME_S or key in _TIME_MS or (time_unit in _TIME_UNITS and key not in _INDEX):
            step = np.nanmedian(np.diff(data[i]))
            if not (np.isfinite(step) and step > 0):
                raise EcgReadError(path, f"time column {name!r} is not increasing")
            seconds = _TIME_UNITS.get(time_unit, 1e-3 if key in _TIME_MS else 1.0)
            fs_from_time = 1.0 / (step * seconds)
        elif key in _INDEX:
            continue
        elif np.all(np.isnan(data[i])):
            warnings.append(f"column {name} is empty and was left out")
        else:
            keep.append(i)
    if not keep:
        raise EcgReadError(path, "no signal columns with data")
    if fs_hz is None:
        if fs_from_time is not None and pre.fs_hz is not None and abs(fs_from_time / pre.fs_hz - 1) > 0.01:
            warnings.append(
                f"the time column gives {fs_from_time:g} Hz, the preamble {pre.fs_hz:g} Hz; "
                "the time column is used"
            )
        fs_hz = fs_from_time if fs_from_time is not None else pre.fs_hz
    kept = data[keep]
    if units is not None:
        unit = units
    elif pre.step is not None:
        kept -= pre.baseline
        step, volt = pre.step
        unit = f"{step!r}{volt}"
    elif pre.units is not None:
        unit = pre.units
    elif column_units is not None and all(unit_factor(column_units[i]) is not None for i in keep):
        unit = [column_units[i] for i in keep]  # the units row under the header
    else:
        unit = None
    counts = bool(np.nanmax(np.abs(kept)) > 50 and np.all(np.isnan(kept) | (kept == np.round(kept))))
    if not has_header and not pre.lines and data.shape[0] == 12 and counts and fs_hz is None and unit is None:
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
    signals = np.ascontiguousarray(kept, dtype=np.float32)
    names = unique_lead_names(lead_names or [columns[i] for i in keep])
    unit_list = list(unit) if isinstance(unit, (list, tuple)) else [unit] * len(keep)
    signals, unit_list = to_millivolts(signals, unit_list)
    return EcgRecord(signals, float(fs_hz), tuple(names), tuple(unit_list), metadata=pre.metadata,
                     source_path=path, format_name="CSV", warnings=tuple(warnings))  # fmt: skip


READER = register_reader(Reader("csv", "CSV / delimited text", (".csv", ".tsv", ".txt"), _sniff, read_csv))
