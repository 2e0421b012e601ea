"""SCP-ECG (EN 1064 / ISO 11073-91064) ``.scp`` files, versions 1.x-3.0.

Supported: rhythm data (section 6) stored uncompressed (no section 2) or Huffman
coded with the standard's default table or the tables of section 2 (table switching
included), as raw values, first or second differences; the reference beats of
section 5 (``waveform="median"``) in the same encodings; patient and acquisition
fields of section 1 (names, ID, age, date of birth, sex, height, weight, device,
acquisition date and time); the global measurements of section 7 (RR, PR, QRS, QT,
QTc, axes, ventricular rate) as vendor measurements. Section and record checksums
are verified; a mismatch is said in the record's warnings.

Not supported (a clear error names them): bimodal compression, reference-beat
subtraction (residual rhythm data, section 3 flag bit 0), and rhythm data with
Huffman codes longer than 16 bits. Leads recorded over different spans are placed
on one time axis and padded with zeros (with a warning). Section 3 sample numbers that
start at 0 (the standard counts from 1) are read as 0-based with a warning; a lead whose
last sample number comes before its first is refused, naming the lead and the numbers.
"""

from __future__ import annotations

import binascii
import datetime as dt
import struct
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import names_metadata, unique_lead_names, vendor_measurements
from ecgviewer.core.readers.registry import MAX_TOTAL_SAMPLES, Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord

#: The standard's default Huffman table: (prefix bits, total bits, mode switch, base value, code MSB-first).
DEFAULT_HUFFMAN: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 1, 1, 0, 0b0),
    (3, 3, 1, 1, 0b100),
    (3, 3, 1, -1, 0b101),
    (4, 4, 1, 2, 0b1100),
    (4, 4, 1, -2, 0b1101),
    (5, 5, 1, 3, 0b11100),
    (5, 5, 1, -3, 0b11101),
    (6, 6, 1, 4, 0b111100),
    (6, 6, 1, -4, 0b111101),
    (7, 7, 1, 5, 0b1111100),
    (7, 7, 1, -5, 0b1111101),
    (8, 8, 1, 6, 0b11111100),
    (8, 8, 1, -6, 0b11111101),
    (9, 9, 1, 7, 0b111111100),
    (9, 9, 1, -7, 0b111111101),
    (10, 10, 1, 8, 0b1111111100),
    (10, 10, 1, -8, 0b1111111101),
    (10, 18, 1, 0, 0b1111111110),  # escape: the next 8 bits are the value
    (10, 26, 1, 0, 0b1111111111),  # escape: the next 16 bits are the value
)
_DEFAULT_TABLE_MARK = 19999
_UNDEFINED = 29999
MAX_CODE_BITS = 16

#: SCP lead codes (section 3) -> names.
LEAD_CODES: dict[int, str] = {
    1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6", 9: "V7", 10: "V2R",
    11: "V3R", 12: "V4R", 13: "V5R", 14: "V6R", 15: "V7R", 16: "X", 17: "Y", 18: "Z", 19: "CC5",
    20: "CM5", 21: "LA", 22: "RA", 23: "LL", 24: "fI", 25: "fE", 26: "fC", 27: "fA", 28: "fM",
    29: "fF", 30: "fH", 61: "III", 62: "aVR", 63: "aVL", 64: "aVF", 65: "-aVR", 66: "V8", 67: "V9",
    68: "V8R", 69: "V9R", 70: "D", 71: "A", 72: "J", 86: "V10",
}  # fmt: skip
_SEX = {1: "male", 2: "female"}
_AGE_UNITS = {1: "years", 2: "months", 3: "weeks", 4: "days", 5: "hours"}
_HEIGHT_UNITS = {1: "cm", 2: "in", 3: "mm"}
_WEIGHT_UNITS = {1: "kg", 2: "g", 3: "lb", 4: "oz"}


def _sniff(path: Path, head: bytes) -> bool:
    return len(head) >= 22 and head[16:22] == b"SCPECG"


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (polynomial 0x1021, initial 0xFFFF, not reflected), the checksum SCP-ECG and ISHNE use."""
    return binascii.crc_hqx(data, 0xFFFF)


# -- container --------------------------------------------------------------------------------
def _sections(path: Path, data: bytes, warnings: list[str]) -> dict[int, bytes]:
    """Section id -> section body (after its 16-byte header)."""
    if len(data) < 6 + 16:
        raise EcgReadError(path, "file is shorter than an SCP-ECG record header")
    crc, size = struct.unpack_from("<HI", data, 0)
    if size > len(data):
        raise EcgReadError(
            path, f"file is truncated: the record declares {size:,} bytes, {len(data):,} present"
        )
    if size != len(data):
        warnings.append(f"{len(data) - size:,} bytes after the declared end of the record were ignored")
    if size < 22:
        raise EcgReadError(path, f"record size {size} is too small")
    bad = [] if crc_ccitt(data[2:size]) == crc else ["record"]
    _, sid, length0 = struct.unpack_from("<HHI", data, 6)
    if sid != 0 or data[16:22] != b"SCPECG":
        raise EcgReadError(path, "section 0 (pointers) not found at the start of the record")
    if length0 < 16 or 6 + length0 > size:
        raise EcgReadError(path, f"section 0 declares {length0} bytes")
    sections: dict[int, bytes] = {}
    for p in range(6 + 16, 6 + length0 - 9, 10):
        sec_id, length, index = struct.unpack_from("<HII", data, p)
        if length == 0 or index == 0:
            continue
        start = index - 1
        if length < 16 or start + length > size:
            raise EcgReadError(
                path, f"section {sec_id} declares {length:,} bytes at {index:,}, past the record"
            )
        s_crc, s_id = struct.unpack_from("<HH", data, start)
        if s_id != sec_id:
            raise EcgReadError(path, f"pointer to section {sec_id} finds section {s_id}")
        if crc_ccitt(data[start + 2 : start + length]) != s_crc:
            bad.append(f"section {sec_id}")
        sections[sec_id] = data[start + 16 : start + length]
    if bad:
        warnings.append(f"checksum mismatch in {', '.join(bad)}; the data may be damaged")
    return sections


# -- section 1 -----------------------------------------------------------------------------
def _string(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1").strip()


def _section1(body: bytes) -> tuple[dict[str, str], dt.datetime | None]:
    meta: dict[str, str] = {}
    date = time = None
    last = first = ""
    p = 0
    while p + 3 <= len(body):
        tag = body[p]
        (n,) = struct.unpack_from("<H", body, p + 1)
        value = body[p + 3 : p + 3 + n]
        p += 3 + n
        if tag == 255:
            break
        if tag == 0:
            last = _string(value)
        elif tag == 1:
            first = _string(value)
        elif tag == 2 and _string(value):
            meta["patient id"] = _string(value)
        elif tag == 4 and len(value) >= 3:
            age, unit = struct.unpack_from("<HB", value)
            if age:
                meta["age"] = f"{age} {_AGE_UNITS.get(unit, '')}".strip()
        elif tag == 5 and len(value) >= 4:
            y, m, d = struct.unpack_from("<HBB", value)
            if y:
                meta["birth date"] = f"{y:04d}-{m:02d}-{d:02d}"
        elif tag == 6 and len(value) >= 3:
            v, unit = struct.unpack_from("<HB", value)
            if v:
                meta["height"] = f"{v} {_HEIGHT_UNITS.get(unit, '')}".strip()
        elif tag == 7 and len(value) >= 3:
            v, unit = struct.unpack_from("<HB", value)
            if v:
                meta["weight"] = f"{v} {_WEIGHT_UNITS.get(unit, '')}".strip()
        elif tag == 8 and value and value[0] in _SEX:
            meta["sex"] = _SEX[value[0]]
        elif tag == 14 and len(value) >= 14:
            if model := _string(value[8:14]):
                meta["device"] = model
        elif tag == 25 and len(value) >= 4:
            date = struct.unpack_from("<HBB", value)
        elif tag == 26 and len(value) >= 3:
            time = struct.unpack_from("<BBB", value)
        elif tag == 27 and len(value) >= 2 and struct.unpack_from("<H", value)[0]:
            meta["high-pass filter"] = f"{struct.unpack_from('<H', value)[0] / 100:g} Hz"
        elif tag == 28 and len(value) >= 2 and struct.unpack_from("<H", value)[0]:
            meta["low-pass filter"] = f"{struct.unpack_from('<H', value)[0]} Hz"
        elif tag == 30 and _string(value):
            meta["comment"] = _string(value)
        elif tag == 31 and _string(value):
            meta["ECG sequence number"] = _string(value)
    if last or first:
        meta["patient name"] = ", ".join(x for x in (last, first) if x)
    start = None
    if date is not None:
        try:
            start = dt.datetime(date[0], date[1], date[2], *(time or (0, 0, 0)))
        except ValueError:
            start = None
    return meta, start


# -- Huffman ---------------------------------------------------------------------------------
def _reverse(code: int, bits: int) -> int:
    return int(f"{code & ((1 << bits) - 1):0{bits}b}"[::-1], 2) if bits else 0


def _section2(path: Path, body: bytes | None) -> list[tuple] | None:
    """Huffman tables (lists of entries), or None when the data is not Huffman coded."""
    if body is None:
        return None
    if len(body) < 2:
        raise EcgReadError(path, "section 2 (Huffman tables) is empty")
    (n_tables,) = struct.unpack_from("<H", body, 0)
    if n_tables == _DEFAULT_TABLE_MARK:
        return [DEFAULT_HUFFMAN]
    tables, p = [], 2
    for _ in range(n_tables):
        if p + 2 > len(body):
            raise EcgReadError(path, "section 2 ends inside a Huffman table")
        (n_codes,) = struct.unpack_from("<H", body, p)
        p += 2
        if p + 9 * n_codes > len(body):
            raise EcgReadError(path, "section 2 ends inside a Huffman table")
        entries = []
        for _ in range(n_codes):
            prefix, total, mode, base, code = struct.unpack_from("<BBBhI", body, p)
            p += 9
            entries.append((prefix, total, mode, base, _reverse(code, prefix)))
        tables.append(tuple(entries))
    if not tables:
        raise EcgReadError(path, "section 2 holds no Huffman table")
    return tables


def _lookup(path: Path, table) -> tuple[int, np.ndarray]:
    width = max(e[0] for e in table)
    if width > MAX_CODE_BITS or width < 1:
        raise EcgReadError(path, f"Huffman codes of {width} bits are not supported (at most {MAX_CODE_BITS})")
    lut = np.full(1 << width, -1, dtype=np.int32)
    for k, (prefix, total, _mode, _base, code) in enumerate(table):
        if prefix < 1 or total < prefix or total - prefix > 32:
            raise EcgReadError(path, "invalid Huffman table entry")
        lo = code << (width - prefix)
        lut[lo : lo + (1 << (width - prefix))] = k
    return width, lut


def huffman_decode(path: Path, data: bytes, tables, n_max: int) -> np.ndarray:
    """Decode at most ``n_max`` values from an MSB-first Huffman bit stream."""
    luts = [_lookup(path, t) for t in tables]
    table = tables[0]
    width, lut = luts[0]
    lut = lut.tolist()
    total_bits = 8 * len(data)
    out = []
    append = out.append
    acc = nacc = pos = used = 0
    n_bytes = len(data)
    while len(out) < n_max and used < total_bits:
        while nacc < width + 32:  # enough for a prefix and the longest escape value
            acc = (acc << 8) | (data[pos] if pos < n_bytes else 0)
            pos += 1
            nacc += 8
        k = lut[(acc >> (nacc - width)) & ((1 << width) - 1)]
        if k < 0:
            raise EcgReadError(path, f"invalid Huffman code after {len(out)} values")
        prefix, total, mode, base, _code = table[k]
        nacc -= prefix
        used += prefix
        if mode == 0:  # switch to table number `base` (1-based)
            if not 1 <= base <= len(tables):
                raise EcgReadError(path, f"Huffman table switch to table {base} of {len(tables)}")
            table = tables[base - 1]
            width, lut = luts[base - 1]
            lut = lut.tolist()
            continue
        extra = total - prefix
        if extra:
            value = (acc >> (nacc - extra)) & ((1 << extra) - 1)
            if value >= 1 << (extra - 1):
                value -= 1 << extra
            nacc -= extra
            used += extra
        else:
            value = base
        acc &= (1 << nacc) - 1
        if used > total_bits:
            break  # a code cut by the end of the data
        append(value)
    return np.asarray(out, dtype=np.int64)


def _undifference(values: np.ndarray, order: int) -> np.ndarray:
    if order == 0 or len(values) < 2:
        return values
    if order == 1:
        return np.cumsum(values)
    if order == 2:
        steps = np.empty_like(values)
        steps[0] = values[0]
        steps[1] = values[1] - values[0]
        steps[2:] = steps[1] + np.cumsum(values[2:])
        return np.cumsum(steps)
    raise ValueError(order)


def _decode_leads(path, body, n_leads, tables, n_samples: list[int], what: str, warnings) -> tuple:
    """Sections 5 and 6: header (AVM, interval, differences, bimodal/reserved), byte counts, data."""
    if len(body) < 6 + 2 * n_leads:
        raise EcgReadError(path, f"{what} section is too short for {n_leads} leads")
    avm_nv, interval_us, diff, bimodal = struct.unpack_from("<HHBB", body, 0)
    if avm_nv == 0 or interval_us == 0:
        raise EcgReadError(path, f"{what}: amplitude unit or sample interval is zero")
    if diff not in (0, 1, 2):
        raise EcgReadError(path, f"{what}: unknown difference encoding {diff}")
    if what == "rhythm" and bimodal:
        raise EcgReadError(path, "bimodal compression of the rhythm data is not supported")
    lengths = struct.unpack_from(f"<{n_leads}H", body, 6)
    p = 6 + 2 * n_leads
    leads = []
    for k, n_bytes in enumerate(lengths):
        chunk = body[p : p + n_bytes]
        p += n_bytes
        if len(chunk) < n_bytes:
            warnings.append(f"{what} data of lead {k + 1} is cut short ({len(chunk)} of {n_bytes} bytes)")
        if tables is None:
            values = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<i2").astype(np.int64)
            values = values[: n_samples[k]]
        else:
            values = huffman_decode(path, chunk, tables, n_samples[k])
        leads.append(_undifference(values, diff))
    return avm_nv * 1e-6, 1e6 / interval_us, leads


# -- section 7 ------------------------------------------------------------------------------
def _section7(body: bytes | None, device: str):
    if body is None or len(body) < 6 + 16:
        return None
    n_types, n_spikes, rr, _pp = struct.unpack_from("<BBHH", body, 0)
    if n_types < 1:
        return None
    p_on, _p_off, qrs_on, qrs_off, t_off, p_ax, qrs_ax, t_ax = struct.unpack_from("<HHHHHhhh", body, 6)

    def ok(*xs: int) -> bool:
        return all(0 <= x < _UNDEFINED - 1 for x in xs)

    def axis(x: int) -> float | None:
        return float(x) if -360 <= x <= 360 else None

    values: dict[str, float | None] = {
        "rr_ms": float(rr) if ok(rr) else None,
        "pr_ms": float(qrs_on - p_on) if ok(p_on, qrs_on) else None,
        "qrs_ms": float(qrs_off - qrs_on) if ok(qrs_on, qrs_off) else None,
        "qt_ms": float(t_off - qrs_on) if ok(qrs_on, t_off) else None,
        "p_axis_deg": axis(p_ax),
        "qrs_axis_deg": axis(qrs_ax),
        "t_axis_deg": axis(t_ax),
    }
    # after the per-type blocks: pacemaker spikes (4 + 6 bytes each), QRS types, then rate and QTc
    p = 6 + 16 * n_types + 10 * n_spikes
    if p + 2 <= len(body):
        (n_qrs,) = struct.unpack_from("<H", body, p)
        p += 2 + n_qrs
        if p + 6 <= len(body):
            vent, _atrial, qtc = struct.unpack_from("<HHH", body, p)
            values["hr_bpm"] = float(vent) if ok(vent) and vent else None
            values["qtc_ms"] = float(qtc) if ok(qtc) and qtc else None
    if values.get("hr_bpm") is None and values["rr_ms"]:
        values["hr_bpm"] = 60000.0 / values["rr_ms"]
    return vendor_measurements(f"SCP-ECG section 7 ({device})", values)


def _lead_spans(path: Path, s3: bytes, n_leads: int) -> tuple[list[tuple[int, int, int]], bool]:
    """Section 3's (first sample, last sample, lead code) per lead, numbered from 1 as the standard does,
    and whether the file numbered them from 0.

    Some writers number the samples from 0 (first 0, last 9999 -- or 10000 -- for 10 000 samples):
    that is read as 0-based numbering (the caller warns). Any other inconsistency is refused with
    the lead and the numbers it declares.
    """
    spans = [struct.unpack_from("<IIB", s3, 2 + 9 * k) for k in range(n_leads)]

    def lead(k: int) -> str:
        code = spans[k][2]
        return f"lead {k + 1} ({LEAD_CODES.get(code, f'code {code}')})"

    for k, (start, end, _) in enumerate(spans):
        if end < start:
            raise EcgReadError(
                path, f"section 3: {lead(k)} ends at sample {end:,}, before its first sample {start:,}"
            )
    if any(start == 0 for start, _, _ in spans):
        return [(start + 1, end + 1, code) for start, end, code in spans], True
    return spans, False


def read_scp(path: Path, waveform: str = "rhythm", **_options) -> EcgRecord:
    """Read an SCP-ECG file; ``waveform`` is ``"rhythm"`` (default) or ``"median"`` (section 5)."""
    kind = waveform.lower()
    if kind not in ("rhythm", "median"):
        raise EcgReadError(path, f"unknown waveform {waveform!r} (rhythm or median)")
    size = path.stat().st_size
    if size > 2 * MAX_TOTAL_SAMPLES:
        raise EcgReadError(path, f"file of {size:,} bytes is too large for an ECG")
    data = path.read_bytes()
    warnings: list[str] = []
    sections = _sections(path, data, warnings)
    if 3 not in sections:
        raise EcgReadError(path, "no lead definition (section 3)")
    s3 = sections[3]
    if len(s3) < 2:
        raise EcgReadError(path, "section 3 is too short")
    n_leads, flags = s3[0], s3[1]
    if n_leads < 1:
        raise EcgReadError(path, "section 3 declares no leads")
    if len(s3) < 2 + 9 * n_leads:
        raise EcgReadError(
            path, f"section 3 declares {n_leads} leads but holds {len(s3)} bytes, {2 + 9 * n_leads} needed"
        )
    spans, zero_based = _lead_spans(path, s3, n_leads)
    if zero_based:
        warnings.append(
            "section 3 numbers the lead samples from 0 (the standard counts from 1); read as 0-based"
        )
    n_samples = [end - start + 1 for start, end, _ in spans]
    check_declared_size(path, sum(n_samples))
    tables = _section2(path, sections.get(2))
    meta, start_time = _section1(sections.get(1, b""))
    if kind == "rhythm":
        if flags & 0x01:
            raise EcgReadError(path, "reference-beat subtraction (residual rhythm data) is not supported")
        if 6 not in sections:
            raise EcgReadError(path, "no rhythm data (section 6)")
        # every Huffman code is at least one bit, every raw sample two bytes
        cap = 8 if tables is not None else 1
        budget = [min(n, cap * len(sections[6])) for n in n_samples]
        step_mv, fs, leads = _decode_leads(path, sections[6], n_leads, tables, budget, "rhythm", warnings)
        offsets = [start - 1 for start, _, _ in spans]
    else:
        if 5 not in sections:
            raise EcgReadError(path, "no reference beats (section 5)")
        beat_ms = struct.unpack_from("<H", sections[4], 0)[0] if len(sections.get(4, b"")) >= 2 else 0
        _, interval_us = struct.unpack_from("<HH", sections[5], 0) if len(sections[5]) >= 4 else (0, 0)
        n_beat = int(beat_ms * 1000 / interval_us) if beat_ms and interval_us else 8 * len(sections[5])
        budget = [min(n_beat, 8 * len(sections[5]))] * n_leads
        step_mv, fs, leads = _decode_leads(path, sections[5], n_leads, tables, budget, "median", warnings)
        offsets = [0] * n_leads
    lengths = [off + len(x) for off, x in zip(offsets, leads)]
    total = max(lengths)
    if total < 2:
        raise EcgReadError(path, f"{kind} data holds fewer than two samples per lead")
    held = sum(len(x) for x in leads)
    if total > held:  # leads recorded one group after another at most: the record is no longer than all
        k = max(range(n_leads), key=lambda i: lengths[i])
        raise EcgReadError(
            path,
            f"section 3: lead {k + 1} ({LEAD_CODES.get(spans[k][2], spans[k][2])}) starts at sample "
            f"{spans[k][0] - zero_based:,}, after the {held:,} samples all leads hold together",
        )
    declared = max(n_samples) if kind == "rhythm" else total
    if kind == "rhythm" and zero_based and total == declared - 1:
        pass  # "first 0, last N" for N samples: the last number was the count
    elif kind == "rhythm" and total < declared:
        warnings.append(f"rhythm data holds {total:,} samples per lead; section 3 declares {declared:,}")
    if len(set(offsets)) > 1 or len(set(lengths)) > 1:
        warnings.append("leads cover different spans; missing samples are shown as 0")
    signals = np.zeros((n_leads, total), dtype=np.float32)
    for k, (off, x) in enumerate(zip(offsets, leads)):
        signals[k, off : off + len(x)] = x * step_mv
    raw_names = [LEAD_CODES.get(code, f"lead {code}") for _, _, code in spans]
    names = unique_lead_names(raw_names)
    names_metadata(raw_names, names, meta)
    meta["waveform"] = kind
    meta["encoding"] = "Huffman" if tables is not None else "uncompressed"
    if kind == "rhythm" and 5 in sections:
        meta["other waveforms in file"] = "median (read with waveform=...)"
    return EcgRecord(
        signals=signals,
        fs_hz=fs,
        lead_names=tuple(names),
        units=("mV",) * n_leads,
        start_time=start_time,
        metadata=meta,
        source_path=path,
        format_name="SCP-ECG",
        warnings=tuple(warnings),
        vendor_measurements=_section7(sections.get(7), meta.get("device", "device")),
    )


READER = register_reader(
    Reader(
        name="scp",
        description="SCP-ECG (EN 1064)",
        extensions=(".scp",),
        sniff=_sniff,
        read=read_scp,
    )
)
