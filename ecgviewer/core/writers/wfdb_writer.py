"""Write a record as a WFDB record (``NAME.hea`` + ``NAME.dat``, format 16) with ``wfdb.wrsamp``.

Every channel is stored as 16-bit integers with baseline 0. ECG (mV) channels
use a gain of 1000 adu/mV (1 µV resolution, the PTB-XL convention) unless their
largest value would overflow, in which case the gain is lowered to fit; other
channels get the largest gain that fits. So a read-back sample differs from the
original by at most half a step (``0.5 / gain``). Missing samples (NaN) are
written as WFDB's invalid-sample value and read back as NaN.

Metadata fields become header comments (``key: value``) that the WFDB reader
turns back into metadata; the start time becomes the header's base date/time.
The files are written in a temporary folder beside the target and renamed into
place (signal file first, header last), so a reader never sees a header whose
signal file is incomplete.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ecgviewer.core.record import EcgRecord
from ecgviewer.core.writers import Writer, register_writer

#: ADC gain of mV channels (adu per mV): 1 µV per step.
MV_GAIN = 1000.0
#: Largest |digital value| used (format 16 holds -32768..32767; -32768 marks a missing sample).
MAX_DIGITAL = 32000
#: Metadata keys the WFDB reader makes up itself; they are not written back as comments.
READER_KEYS = frozenset({"record name", "WFDB storage format", "lead names in file", "start time of day"})
#: Comment naming the program and the source of an exported record (replaced on every export).
EXPORT_KEY = "exported by"
#: Format 16's invalid-sample value (NaN is written as this).
INVALID_DIGITAL = -32768
_KEY_OK = re.compile(r"^[A-Za-z][\w .\-/()]{0,60}$")


def record_name_for(path: Path) -> str:
    """WFDB record name for an output path: the file stem with characters WFDB refuses replaced."""
    stem = path.name[: -len(".hea")] if path.name.lower().endswith(".hea") else path.name
    name = re.sub(r"[^A-Za-z0-9_\-]", "_", stem)
    return name or "record"


def adc_gains(record: EcgRecord) -> list[float]:
    """The gain of every channel (see the module docstring)."""
    peaks = []
    for i in range(record.n_leads):
        x = np.asarray(record.signals[i], dtype=np.float64)
        finite = x[np.isfinite(x)]
        peaks.append(float(np.max(np.abs(finite))) if finite.size else 0.0)
    return gains_for_peaks(record.units, peaks)


def gains_for_peaks(units, peaks) -> list[float]:
    """The gain of every channel from its unit and largest absolute value."""
    gains = []
    for unit, peak in zip(units, peaks):
        if unit == "mV" and peak * MV_GAIN <= MAX_DIGITAL:
            gains.append(MV_GAIN)
        elif peak > 0:
            gains.append(float(f"{MAX_DIGITAL / peak:.6g}"))  # rounded so the header stores it exactly
            if gains[-1] * peak > MAX_DIGITAL:
                gains[-1] = float(f"{gains[-1] * (1 - 1e-5):.6g}")
        else:
            gains.append(MV_GAIN if unit == "mV" else 1.0)
    return gains


def header_comments(record: EcgRecord, include_patient: bool = True, metadata=None) -> list[str]:
    """Metadata as WFDB header comment lines (patient fields only with ``include_patient``);
    ``metadata`` replaces the record's own."""
    from ecgviewer.core.privacy import is_patient_field

    lines = []
    for key, value in (record.metadata if metadata is None else metadata).items():
        if key in READER_KEYS or key == EXPORT_KEY or (not include_patient and is_patient_field(key)):
            continue
        text = " ".join(str(value).split())
        if key == "notes":
            lines.extend(t.strip() for t in text.split(";") if t.strip())
        elif _KEY_OK.match(key):
            lines.append(f"{key}: {text}")
        else:
            lines.append(f"<{' '.join(key.split())[:60]}>: {text}")
    source = record.source_path.name if record.source_path else "memory"
    lines.append(f"{EXPORT_KEY}: ecgviewer from {record.format_name or 'unknown format'} {source}")
    return lines


def write_wfdb(record: EcgRecord, path: Path, *, include_patient: bool = True, **_options) -> list[Path]:
    """Write ``record`` as ``<folder>/<name>.hea`` + ``<name>.dat``; returns both paths.

    Parameters
    ----------
    record
        Any record; its recorded channels are written (not derived leads).
    path
        ``folder/name.hea`` or ``folder/name``; characters WFDB does not allow in a
        record name are replaced by ``_``.
    include_patient
        False leaves patient fields (:func:`ecgviewer.core.privacy.is_patient_field`) out of the header.
    """
    import wfdb  # deferred: wfdb imports pandas

    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    name = record_name_for(path)
    start = record.start_time
    signals = np.asarray(record.signals, dtype=np.float64).T
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=folder))
    try:
        wfdb.wrsamp(
            name,
            fs=record.fs_hz,
            units=list(record.units),
            sig_name=list(record.lead_names),
            p_signal=signals,
            fmt=["16"] * record.n_leads,
            adc_gain=adc_gains(record),
            baseline=[0] * record.n_leads,
            comments=header_comments(record, include_patient),
            base_time=start.time() if start is not None else None,
            base_date=start.date() if start is not None else None,
            write_dir=str(tmp_dir),
        )
        return _publish(tmp_dir, folder, name)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp_dir)


def _publish(tmp_dir: Path, folder: Path, name: str) -> list[Path]:
    written = []
    for suffix in (".dat", ".hea"):  # header last: a header is only ever beside a complete .dat
        src, dst = tmp_dir / f"{name}{suffix}", folder / f"{name}{suffix}"
        with open(src, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(src, dst)
        written.append(dst)
    return written


def write_wfdb_long(
    rec, path: Path, *, metadata=None, chunk: int = 30_000, include_patient: bool = True, **_options
) -> list[Path]:
    """:func:`write_wfdb` of a :class:`~ecgviewer.core.long_record.LongRecord`, chunk by chunk.

    Two streamed passes (the channels' peaks for the gains, then the samples), never more
    than ``chunk`` samples per channel in memory. The files equal :func:`write_wfdb`'s of the
    whole record (same gains, digital values, checksums and header).
    """
    import wfdb  # deferred: wfdb imports pandas

    from ecgviewer.core.writers import channel_ranges, chunks

    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    name = record_name_for(path)
    lo, hi = channel_ranges(rec, chunk)
    peaks = [0.0 if np.isnan(a) else float(max(abs(a), abs(b))) for a, b in zip(lo, hi)]
    gains = np.asarray(gains_for_peaks(rec.units, peaks), dtype=np.float64)
    n = rec.n_leads
    checksum = np.zeros(n, dtype=np.int64)
    init = [0] * n
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=folder))
    try:
        with open(tmp_dir / f"{name}.dat", "wb") as fh:
            for start, x in chunks(rec, chunk):
                y = np.asarray(x, dtype=np.float64) * gains[:, None]
                bad = ~np.isfinite(y)
                d = np.round(np.where(bad, 0.0, y)).astype(np.int64)
                d[bad] = INVALID_DIGITAL
                if start == 0 and d.shape[1]:
                    init = [int(v) for v in d[:, 0]]
                checksum += d.sum(axis=1)
                fh.write(np.ascontiguousarray(d.T).astype("<i2").tobytes())
        checksum = [int(c % 65536) for c in checksum]  # as wfdb.wrsamp writes it
        start_time = rec.start_time
        header = rec.header_record()
        wfdb.Record(
            record_name=name,
            n_sig=n,
            fs=rec.fs_hz,
            sig_len=rec.n_samples,
            file_name=[f"{name}.dat"] * n,
            fmt=["16"] * n,
            adc_gain=[float(g) for g in gains],
            baseline=[0] * n,
            units=list(rec.units),
            sig_name=list(rec.lead_names),
            init_value=init,
            checksum=checksum,
            adc_res=[16] * n,
            adc_zero=[0] * n,
            block_size=[0] * n,
            comments=header_comments(header, include_patient, metadata),
            base_time=start_time.time() if start_time is not None else None,
            base_date=start_time.date() if start_time is not None else None,
        ).wrheader(write_dir=str(tmp_dir))
        return _publish(tmp_dir, folder, name)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp_dir)


WRITER = register_writer(
    Writer(
        name="wfdb",
        description="WFDB (PhysioNet)",
        extensions=(".hea",),
        write=write_wfdb,
        write_long=write_wfdb_long,
    )
)
