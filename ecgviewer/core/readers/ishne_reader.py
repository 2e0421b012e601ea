"""ISHNE Holter files (``.ecg``, the International Society for Holter and Noninvasive
Electrocardiology standard output format, version 1.0).

Layout: the magic ``ISHNE1.0``, a CRC-CCITT of the header, a fixed 512-byte header
(little-endian: variable-block size, samples per lead, offsets of the variable block and
of the ECG block, version, patient name and ID, sex, race, birth/record/file dates,
start time, number of leads, lead codes, lead quality, resolution in nV per lead,
pacemaker code, recorder, sampling rate), an optional variable-length block, then the
samples as int16, lead-interleaved. Lead codes 5-16 map to I ... V6, 2-4 to X, Y, Z.

Checks: the declared samples per lead times the leads must fit in the file (a shorter
file is read up to its end, with a warning); a header checksum mismatch is a warning.
Not supported: the ISHNE annotation files (``.ann``).
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import names_metadata, unique_lead_names
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.readers.scp_reader import crc_ccitt
from ecgviewer.core.record import EcgRecord

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

MAGIC = b"ISHNE1.0"
HEADER_START = 10  # magic (8) + CRC (2)
HEADER_SIZE = 512
#: ISHNE lead specification codes -> names.
LEAD_CODES: dict[int, str] = {
    0: "unknown", 1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III", 8: "aVR",
    9: "aVL", 10: "aVF", 11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5", 16: "V6", 17: "ES",
    18: "AS", 19: "AI",
}  # fmt: skip
_SEX = {1: "male", 2: "female"}
_RACE = {1: "white", 2: "black", 3: "oriental"}
_PACEMAKER = {0: "none", 1: "unknown type", 2: "single chamber unipolar", 3: "dual chamber unipolar",
              4: "single chamber bipolar", 5: "dual chamber bipolar"}  # fmt: skip
# fixed header after the magic and CRC: field name -> struct format
_FIELDS = (
    ("var_block_size", "i"), ("samples_per_lead", "i"), ("var_block_offset", "i"),
    ("ecg_offset", "i"), ("version", "h"), ("first_name", "40s"), ("last_name", "40s"),
    ("patient_id", "20s"), ("sex", "h"), ("race", "h"), ("birth_date", "3h"), ("record_date", "3h"),
    ("file_date", "3h"), ("start_time", "3h"), ("n_leads", "h"), ("lead_spec", "12h"),
    ("lead_quality", "12h"), ("resolution_nv", "12h"), ("pacemaker", "h"), ("recorder", "40s"),
    ("fs_hz", "h"), ("proprietary", "80s"), ("copyright", "80s"), ("reserved", "88s"),
)  # fmt: skip
HEADER_FORMAT = "<" + "".join(f for _, f in _FIELDS)
assert struct.calcsize(HEADER_FORMAT) == HEADER_SIZE


def _sniff(path: Path, head: bytes) -> bool:
    return head.startswith(MAGIC)


def parse_header(raw: bytes) -> dict:
    """The fixed header fields by name (groups of 3 or 12 as tuples)."""
    values = list(struct.unpack_from(HEADER_FORMAT, raw, HEADER_START))
    out = {}
    for name, fmt in _FIELDS:
        count = int(fmt[:-1]) if fmt[:-1].isdigit() and fmt[-1] == "h" else 1
        if count > 1:
            out[name] = tuple(values[:count])
            del values[:count]
        else:
            out[name] = values.pop(0)
    return out


def _text(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1").strip()


def _date(dmy: tuple[int, int, int]) -> dt.date | None:
    day, month, year = dmy
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _layout(path: Path) -> dict:
    """Check the header and locate the samples (none are read).

    Returns ``h`` (the header fields), ``n_leads``, ``per_lead`` (samples present),
    ``offset`` (of the ECG block), ``fs``, ``scale`` (float32 mV per unit, per lead),
    ``names``, ``metadata``, ``start`` and ``warnings``.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        raw = fh.read(HEADER_START + HEADER_SIZE)
    if not raw.startswith(MAGIC):
        raise EcgReadError(path, "no ISHNE1.0 magic at the start of the file")
    if len(raw) < HEADER_START + HEADER_SIZE:
        raise EcgReadError(path, "file is shorter than the ISHNE header (522 bytes)")
    h = parse_header(raw)
    warnings: list[str] = []
    n_leads, per_lead, offset, fs = h["n_leads"], h["samples_per_lead"], h["ecg_offset"], h["fs_hz"]
    if not 1 <= n_leads <= 12:
        raise EcgReadError(path, f"header declares {n_leads} leads (1 to 12 allowed)")
    if fs <= 0:
        raise EcgReadError(path, f"invalid sampling rate {fs}")
    if offset < HEADER_START + HEADER_SIZE or offset > size:
        raise EcgReadError(path, f"ECG block offset {offset:,} lies outside the file ({size:,} bytes)")
    if h["var_block_size"] < 0:
        raise EcgReadError(path, f"negative variable-block size {h['var_block_size']}")
    check_declared_size(path, per_lead * n_leads)
    available = (size - offset) // (2 * n_leads)
    if per_lead <= 0:
        raise EcgReadError(path, f"header declares {per_lead} samples per lead")
    if available < per_lead:
        if available < 2:
            raise EcgReadError(path, f"file is truncated: no samples after the header ({size:,} bytes)")
        warnings.append(f"file is truncated: {available:,} of {per_lead:,} samples per lead are present")
        per_lead = available
    crc_end = min(offset, size)
    with path.open("rb") as fh:
        fh.seek(HEADER_START)
        checked = fh.read(crc_end - HEADER_START)
    if crc_ccitt(checked) != struct.unpack_from("<H", raw, 8)[0]:
        warnings.append("header checksum does not match; the header may be damaged")
    resolution = h["resolution_nv"][:n_leads]
    if any(r <= 0 for r in resolution):
        raise EcgReadError(path, f"lead resolution must be positive (nV), got {list(resolution)}")
    raw_names = [LEAD_CODES.get(code, f"lead {code}") for code in h["lead_spec"][:n_leads]]
    names = unique_lead_names(raw_names)
    meta: dict[str, str] = {}
    name = ", ".join(p for p in (_text(h["last_name"]), _text(h["first_name"])) if p)
    if name:
        meta["patient name"] = name
    if pid := _text(h["patient_id"]):
        meta["patient id"] = pid
    if h["sex"] in _SEX:
        meta["sex"] = _SEX[h["sex"]]
    if h["race"] in _RACE:
        meta["race"] = _RACE[h["race"]]
    if birth := _date(h["birth_date"]):
        meta["birth date"] = birth.isoformat()
    if recorder := _text(h["recorder"]):
        meta["device"] = recorder
    if h["pacemaker"] in _PACEMAKER and h["pacemaker"]:
        meta["pacemaker"] = _PACEMAKER[h["pacemaker"]]
    names_metadata(raw_names, names, meta)
    start = None
    if record_date := _date(h["record_date"]):
        hour, minute, second = h["start_time"]
        try:
            start = dt.datetime.combine(record_date, dt.time(hour, minute, second))
        except ValueError:
            start = dt.datetime.combine(record_date, dt.time())
    return {
        "h": h,
        "n_leads": n_leads,
        "per_lead": per_lead,
        "offset": offset,
        "fs": float(fs),
        "scale": [np.float32(r * 1e-6) for r in resolution],
        "names": names,
        "metadata": meta,
        "start": start,
        "warnings": warnings,
    }


def read_ishne(path: Path, **_options) -> EcgRecord:
    """Read an ISHNE 1.0 Holter ``.ecg`` file; values in mV."""
    lay = _layout(path)
    n_leads, per_lead = lay["n_leads"], lay["per_lead"]
    data = np.memmap(path, dtype="<i2", mode="r", offset=lay["offset"], shape=(per_lead, n_leads))
    signals = np.empty((n_leads, per_lead), dtype=np.float32)
    for k in range(n_leads):
        signals[k] = data[:, k] * lay["scale"][k]
    del data
    return EcgRecord(
        signals=signals,
        fs_hz=lay["fs"],
        lead_names=tuple(lay["names"]),
        units=("mV",) * n_leads,
        start_time=lay["start"],
        metadata=lay["metadata"],
        source_path=path,
        format_name="ISHNE Holter",
        warnings=tuple(lay["warnings"]),
    )


def open_ishne_lazy(path: Path, **_options) -> LongRecord:
    """Open an ISHNE file without reading its samples: the int16 block is memory-mapped per chunk."""
    from ecgviewer.core.long_record import FrameMemmapSource, LongRecord

    lay = _layout(path)
    scale = lay["scale"]
    source = FrameMemmapSource(
        path, lay["offset"], "<i2", lay["n_leads"], lay["per_lead"], lambda raw, k: raw * scale[k]
    )
    return LongRecord(
        source,
        fs_hz=lay["fs"],
        n_samples=lay["per_lead"],
        lead_names=lay["names"],
        units=("mV",) * lay["n_leads"],
        start_time=lay["start"],
        metadata=lay["metadata"],
        source_path=path,
        format_name="ISHNE Holter",
        warnings=lay["warnings"],
        files=[path],
        access="memory map",
    )


READER = register_reader(
    Reader(
        name="ishne",
        description="ISHNE Holter",
        extensions=(".ecg", ".ishne"),
        sniff=_sniff,
        read=read_ishne,
        open_lazy=open_ishne_lazy,
    )
)
