"""WFDB records (``.hea`` header + ``.dat``/``.mat`` signal files) through the ``wfdb`` package."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import metadata_from_comments, to_millivolts, unique_lead_names
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord

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


def read_wfdb(path: Path, **_options) -> EcgRecord:
    """Read a WFDB record; voltages are returned in mV."""
    import wfdb  # deferred: importing wfdb costs ~0.3 s (pandas)

    hea = header_path(Path(path))
    if not hea.exists():
        raise EcgReadError(path, f"WFDB header {hea.name} not found beside the signal file")
    if hea.stat().st_size == 0:
        raise EcgReadError(hea, "header file is empty")
    if hea.stat().st_size > 10_000_000:
        raise EcgReadError(hea, "header file is implausibly large for a WFDB header")
    record_name = str(hea.with_suffix(""))
    try:
        header = wfdb.rdheader(record_name)
    except Exception as exc:
        raise EcgReadError(hea, f"not a valid WFDB header ({exc})") from exc
    if getattr(header, "n_seg", None):
        raise EcgReadError(hea, "multi-segment WFDB records are not supported yet")
    if not header.n_sig:
        raise EcgReadError(hea, "header declares no signals")
    if not header.fs or header.fs <= 0:
        raise EcgReadError(hea, f"invalid sampling rate {header.fs!r}")
    _check_signal_files(hea, header)
    try:
        rec = wfdb.rdrecord(record_name, physical=True, return_res=32)
    except Exception as exc:
        raise EcgReadError(hea, f"signal data could not be decoded ({exc})") from exc
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise EcgReadError(hea, "record holds no samples")

    units_in = [u or "mV" for u in (rec.units or ["mV"] * rec.n_sig)]
    signals = np.ascontiguousarray(rec.p_signal.T, dtype=np.float32)
    signals, units = to_millivolts(signals, units_in)
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


READER = register_reader(
    Reader(
        name="wfdb",
        description="WFDB (PhysioNet)",
        extensions=(".hea", ".dat", ".mat"),
        sniff=_sniff,
        read=read_wfdb,
    )
)
