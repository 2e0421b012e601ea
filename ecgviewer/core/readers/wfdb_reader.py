"""WFDB records (``.hea`` header + ``.dat``/``.mat`` signal files) through the ``wfdb`` package."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import (
    metadata_from_comments,
    to_millivolts,
    unique_lead_names,
)
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

#: Bytes per sample of the WFDB storage formats whose size is fixed.
_BYTES_PER_SAMPLE = {
    8: 1.0, 16: 2.0, 61: 2.0, 80: 1.0, 160: 2.0, 212: 1.5, 24: 3.0, 32: 4.0, 310: 4 / 3, 311: 4 / 3,
}  # fmt: skip

# First non-comment header line: name[/segments] n_sig [fs[/counter][(base)] [sig_len [time [date]]]]
_RECORD_LINE = re.compile(
    rb"^[A-Za-z0-9_\-.~]+(/\d+)?[ \t]+\d+([ \t]+[0-9.eE+\-]+(/[0-9.eE+\-]+)?(\([0-9.\-]+\))?)?"
    rb"([ \t]+\d+)?([ \t]+[0-9:.]+)?([ \t]+[0-9/]+)?[ \t]*\r?$"
)


def header_path(path: Path) -> Path:
    """The ``.hea`` file for a path naming the header, a signal file or the bare record."""
    if path.suffix.lower() == ".hea":
        return path
    if path.suffix.lower() in (".dat", ".mat", ".xyz") or not path.exists():
        candidate = path.with_suffix(".hea") if path.suffix.lower() in (".dat", ".mat", ".xyz") else None
        if candidate is not None and candidate.exists():
            return candidate
        bare = path.with_name(path.name + ".hea")
        if bare.exists():
            return bare
        if candidate is not None:
            return candidate
    return path.with_name(path.name + ".hea")


def _sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() in (".dat", ".mat") and header_path(path).exists():
        return True
    if b"\x00" in head:
        return False
    for line in head.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        return bool(_RECORD_LINE.match(stripped))
    return False


def _check_signal_files(hea: Path, header) -> None:
    """Refuse missing, truncated or absurdly large signal files before reading them."""
    sig_len = header.sig_len or 0
    spf = header.samps_per_frame or [1] * header.n_sig
    check_declared_size(hea, sig_len * int(sum(spf)))
    needed: dict[str, float] = {}
    offsets: dict[str, int] = {}
    for i in range(header.n_sig):
        name = header.file_name[i]
        fmt = int(header.fmt[i]) if header.fmt[i] not in (None, "") else 16
        bps = _BYTES_PER_SAMPLE.get(fmt)
        if bps is None:  # compressed (FLAC) formats: size not predictable
            needed.setdefault(name, 0.0)
            continue
        needed[name] = needed.get(name, 0.0) + sig_len * spf[i] * bps
        offsets[name] = int((header.byte_offset or [0] * header.n_sig)[i] or 0)
    for name, nbytes in needed.items():
        sig_file = hea.parent / name
        if not sig_file.is_file():
            raise EcgReadError(hea, f"signal file {name} named in the header is missing")
        size = sig_file.stat().st_size
        if size == 0 and sig_len > 0:
            raise EcgReadError(sig_file, "signal file is empty")
        expected = int(np.floor(nbytes)) + offsets.get(name, 0)
        if sig_file.suffix.lower() == ".mat":
            expected = int(np.floor(nbytes))  # plus a MATLAB header we do not parse
        if sig_len and size < expected:
            raise EcgReadError(
                sig_file,
                f"signal file is truncated: the header declares {sig_len:,} samples per "
                f"channel ({expected:,} bytes) but the file has {size:,} bytes",
            )


def _start_time(header) -> dt.datetime | None:
    date, time = header.base_date, header.base_time
    if date is None and time is None:
        return None
    if date is None:
        return None  # a time of day without a date is kept in metadata only
    return dt.datetime.combine(date, time or dt.time())


def _open_header(path: Path):
    """The checked header of the record at ``path``: ``(hea path, wfdb header)``; no samples read."""
    import wfdb  # deferred: importing wfdb costs ~0.3 s (pandas)

    hea = header_path(Path(path))
    if not hea.exists():
        raise EcgReadError(path, f"WFDB header {hea.name} not found beside the signal file")
    if hea.stat().st_size == 0:
        raise EcgReadError(hea, "header file is empty")
    if hea.stat().st_size > 10_000_000:
        raise EcgReadError(hea, "header file is implausibly large for a WFDB header")
    try:
        header = wfdb.rdheader(str(hea.with_suffix("")))
    except Exception as exc:
        raise EcgReadError(hea, f"not a valid WFDB header ({exc})") from exc
    if getattr(header, "n_seg", None):
        raise EcgReadError(hea, "multi-segment WFDB records are not supported yet")
    if not header.n_sig:
        raise EcgReadError(hea, "header declares no signals")
    if not header.fs or header.fs <= 0:
        raise EcgReadError(hea, f"invalid sampling rate {header.fs!r}")
    _check_signal_files(hea, header)
    return hea, header


def _facts(rec, header) -> tuple[list[str], list[str], dict[str, str]]:
    """Lead names, units as stored and metadata of a record (``rec``: the header or the read record)."""
    units_in = [u or "mV" for u in (rec.units or ["mV"] * rec.n_sig)]
    names = unique_lead_names(rec.sig_name or [f"ch{i + 1}" for i in range(rec.n_sig)])
    metadata = metadata_from_comments(rec.comments or [])
    metadata["record name"] = rec.record_name
    if header.base_time is not None and header.base_date is None:
        metadata["start time of day"] = header.base_time.isoformat()
    formats = sorted({str(f) for f in (rec.fmt or []) if f})
    if formats:
        metadata["WFDB storage format"] = ", ".join(formats)
    original = [s for s in (rec.sig_name or [])]
    if original and list(original) != list(names):
        metadata["lead names in file"] = ", ".join(original)
    return names, units_in, metadata


def read_wfdb(path: Path, **_options) -> EcgRecord:
    """Read a WFDB record; voltages are returned in mV."""
    import wfdb

    hea, header = _open_header(path)
    try:
        rec = wfdb.rdrecord(str(hea.with_suffix("")), physical=True, return_res=32)
    except Exception as exc:
        raise EcgReadError(hea, f"signal data could not be decoded ({exc})") from exc
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise EcgReadError(hea, "record holds no samples")

    names, units_in, metadata = _facts(rec, header)
    signals = np.ascontiguousarray(rec.p_signal.T, dtype=np.float32)
    signals, units = to_millivolts(signals, units_in)
    return EcgRecord(
        signals=signals,
        fs_hz=float(rec.fs),
        lead_names=tuple(names),
        units=tuple(units),
        start_time=_start_time(header),
        metadata=metadata,
        source_path=hea,
        format_name="WFDB",
    )


#: Byte-aligned WFDB formats read through a memory map:
#: format -> (stored type, offset subtracted from the stored value, digital value meaning "no sample").
_MEMMAP_FORMATS: dict[str, tuple[str, int, int]] = {
    "16": ("<i2", 0, -(2**15)), "61": (">i2", 0, -(2**15)), "80": ("u1", 128, -(2**7)),
    "160": ("<u2", 32768, -(2**15)), "32": ("<i4", 0, -(2**31)),
}  # fmt: skip


def _memmap_layout(hea: Path, header) -> tuple[Path, str, int, int] | None:
    """``(signal file, format, stored type, byte offset)`` when every signal is in one byte-aligned
    file, one sample per frame, without skew; else None (then wfdb reads the chunks)."""
    n = header.n_sig
    files = set(header.file_name)
    fmts = {str(f) for f in header.fmt}
    spf = header.samps_per_frame or [1] * n
    skew = [s or 0 for s in (header.skew or [0] * n)]
    offsets = {int(o or 0) for o in (header.byte_offset or [0] * n)}
    if len(files) != 1 or len(fmts) != 1 or len(offsets) != 1 or any(s != 1 for s in spf) or any(skew):
        return None
    (name,), (fmt,), (offset,) = files, fmts, offsets
    if fmt not in _MEMMAP_FORMATS or not name.lower().endswith(".dat"):
        return None
    return hea.parent / name, fmt, _MEMMAP_FORMATS[fmt][0], offset


def open_wfdb_lazy(path: Path, **options) -> LongRecord:
    """Open a WFDB record without reading its samples (see :mod:`ecgviewer.core.long_record`).

    Byte-aligned single-file records are read through a memory map, other layouts
    (format 212, several files, multi-frequency) chunk by chunk with
    ``wfdb.rdrecord(sampfrom=, sampto=)``. A header without a signal length is read whole.
    Chunks equal the same span of :func:`read_wfdb` exactly.
    """
    import wfdb

    from ecgviewer.core.long_record import CallableSource, FrameMemmapSource, LongRecord

    hea, header = _open_header(path)
    n = int(header.sig_len or 0)
    fields = (header.sig_name, header.file_name, header.fmt, header.adc_gain, header.baseline, header.units)
    if n <= 0 or any(f is None or len(f) != header.n_sig for f in fields):
        # no length in the header, or per-signal lines that disagree with the signal count: what
        # wfdb makes of it is what read_wfdb returns, so read it whole
        return LongRecord.from_record(read_wfdb(path, **options))
    names, units_in, metadata = _facts(header, header)
    _, units = to_millivolts(np.empty((len(units_in), 0), dtype=np.float32), units_in)
    record_name = str(hea.with_suffix(""))
    layout = _memmap_layout(hea, header)
    if layout is not None:
        sig_file, fmt, dtype, offset = layout
        _, shift, d_nan = _MEMMAP_FORMATS[fmt]
        baseline = [int(b) for b in header.baseline]
        gain = [float(g) for g in header.adc_gain]

        def convert(raw: np.ndarray, ch: int) -> np.ndarray:
            # wfdb's dac with return_res=32: float32(d) - baseline and / gain in float64, cast to float32;
            # NaN where d is the format's invalid value
            d = raw.astype(np.int64) - shift if shift else raw
            b, g = baseline[ch], gain[ch]
            if fmt != "32" and np.float32(g) == g:
                # same result in float32: the difference is an exact small integer, and float64 division
                # rounded to float32 equals float32 division (53 >= 2 * 24 + 2 bits: double rounding is
                # innocuous for division)
                x = d.astype(np.float32)
                if b:
                    x -= np.float32(b)
                x /= np.float32(g)
            else:
                x = d.astype(np.float32)
                np.subtract(x, np.int64(b), x)
                np.divide(x, np.float64(g), x)
            invalid = d == d_nan
            if invalid.any():
                x[invalid] = np.nan
            return x

        source = FrameMemmapSource(sig_file, offset, dtype, header.n_sig, n, convert)
        signal_files = [sig_file]
    else:

        def read_chunk(start: int, stop: int, channels) -> np.ndarray:
            # every channel, as read_wfdb reads them (the bytes are interleaved: no cheaper to pick)
            rec = wfdb.rdrecord(record_name, sampfrom=start, sampto=stop, physical=True, return_res=32)
            return np.ascontiguousarray(rec.p_signal.T[list(channels)], dtype=np.float32)

        source = CallableSource(read_chunk)
        signal_files = sorted({hea.parent / f for f in header.file_name})

    def read_mv(start: int, stop: int, channels) -> np.ndarray:
        if stop <= start:
            return np.empty((len(channels), 0), dtype=np.float32)
        chunk = source.read(start, stop, channels)
        return to_millivolts(chunk, [units_in[c] for c in channels])[0]

    return LongRecord(
        CallableSource(read_mv),
        fs_hz=float(header.fs),
        n_samples=n,
        lead_names=names,
        units=units,
        start_time=_start_time(header),
        metadata=metadata,
        source_path=hea,
        format_name="WFDB",
        files=[hea, *signal_files],
        access="memory map" if layout is not None else "chunked reads",
    )


READER = register_reader(
    Reader(
        name="wfdb",
        description="WFDB (PhysioNet)",
        extensions=(".hea", ".dat", ".mat"),
        sniff=_sniff,
        read=read_wfdb,
        open_lazy=open_wfdb_lazy,
    )
)
