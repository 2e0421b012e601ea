"""Philips SierraECG / PhilipsECG XML (versions 1.03, 1.04, 1.04.x), including XLI compression.

The 12 leads are stored in ``<parsedwaveforms>`` as base64 text, either plain
interleaved-by-lead int16 or compressed with Philips' XLI scheme: per lead, an
8-byte chunk header (payload size, first sample), a 10-bit LZW stream whose output
bytes are the high then the low halves of 16-bit second-order residuals. In
XLI data the leads III, aVR, aVL and aVF are stored as corrections to the values
derived from I and II; the reader undoes this as the format requires. Samples are
in units of ``signalresolution`` / ``resolution`` (µV) and returned in mV.

``waveform="median"`` reads the representative beats (``<repbeats>``, 1.04 only)
instead of the rhythm. The global measurements of the interpretation (HR, RR, PR,
QRS, QT, QTc, axes) become the vendor measurements.

Not supported: waveform encodings other than Base64, and compression methods
other than XLI.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers import xml_common as X
from ecgviewer.core.readers.common import names_metadata, stack_leads, unique_lead_names, vendor_measurements
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord

_STD12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_LZW_BITS = 10
_LZW_MAX_CODE = (1 << _LZW_BITS) - 2

#: vendor key -> tags tried in order (1.04 interpretation, 1.03 interpretation, cross-lead blocks)
_MEASUREMENTS = {
    "hr_bpm": ("heartrate", "meanventrate"),
    "rr_ms": ("rrint", "meanrrint"),
    "pr_ms": ("print", "meanprint"),
    "qrs_ms": ("qrsdur", "meanqrsdur"),
    "qt_ms": ("qtint", "meanqtint"),
    "qtc_ms": ("qtcb", "meanqtc"),
    "p_axis_deg": ("pfrontaxis",),
    "qrs_axis_deg": ("qrsfrontaxis",),
    "t_axis_deg": ("tfrontaxis",),
}


def _sniff(path: Path, head: bytes) -> bool:
    return "<restingecgdata" in X.head_text(head)


# -- XLI ----------------------------------------------------------------------------------------
def _lzw_decode(path: Path, payload: bytes, limit: int) -> bytes:
    """Decode a 10-bit, MSB-first LZW stream; at most ``limit`` output bytes."""
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
    n_codes = len(bits) // _LZW_BITS
    codes = bits[: n_codes * _LZW_BITS].reshape(n_codes, _LZW_BITS).astype(np.int32)
    codes = codes @ (1 << np.arange(_LZW_BITS - 1, -1, -1, dtype=np.int32))
    table: dict[int, bytes] = {i: bytes((i,)) for i in range(256)}
    next_code = 256
    previous = b""
    out = bytearray()
    for code in codes.tolist():
        if code > _LZW_MAX_CODE:
            break  # end of stream
        entry = table.get(code)
        if entry is None:
            if not previous or code != next_code:
                raise EcgReadError(path, "XLI data is corrupt (invalid LZW code)")
            entry = previous + previous[:1]
        if previous and next_code <= _LZW_MAX_CODE:
            table[next_code] = previous + entry[:1]
            next_code += 1
        previous = entry
        out += entry
        if len(out) > limit:
            raise EcgReadError(path, "XLI data decodes to more samples than the header declares")
    return bytes(out)


def _xli_decode(path: Path, data: bytes, n_leads: int, n_samples: int) -> list[np.ndarray]:
    """XLI chunks -> one int64 array per lead."""
    leads = []
    offset = 0
    limit = 2 * n_samples + 16
    while offset + 8 <= len(data) and len(leads) < n_leads:
        size = int.from_bytes(data[offset : offset + 4], "little", signed=True)
        first = int.from_bytes(data[offset + 6 : offset + 8], "little", signed=True)
        offset += 8
        if size < 0 or offset + size > len(data):
            raise EcgReadError(path, f"XLI chunk {len(leads) + 1} declares {size:,} bytes past the data")
        buffer = _lzw_decode(path, data[offset : offset + size], limit)
        offset += size
        if len(buffer) % 2:
            buffer += b"\x00"
        raw = np.frombuffer(buffer, dtype=np.uint8).astype(np.int64)
        half = len(raw) // 2
        if half < 2:
            raise EcgReadError(path, f"XLI chunk {len(leads) + 1} holds fewer than two samples")
        deltas = ((raw[:half] << 8) | raw[half:]).astype(np.uint16).view(np.int16).astype(np.int64)
        # x[i] = 2 x[i-1] - x[i-2] - c[i], with c[2] = first and c[i] = deltas[i-1] - 64 afterwards
        c = np.empty(half, dtype=np.int64)
        c[:2] = 0
        c[2] = first if half > 2 else 0
        c[3:] = deltas[2:-1] - 64
        steps = np.empty(half, dtype=np.int64)
        steps[0] = deltas[0]
        steps[1] = deltas[1] - deltas[0]
        steps[2:] = steps[1] - np.cumsum(c[2:])
        leads.append(np.cumsum(steps))
    if len(leads) < n_leads:
        raise EcgReadError(path, f"XLI data holds {len(leads)} of the {n_leads} leads declared")
    return leads


def _undo_xli_limb_leads(leads: dict[str, np.ndarray]) -> None:
    """XLI stores III, aVR, aVL, aVF as corrections to the values derived from I and II."""
    if not all(k in leads for k in ("I", "II", "III", "aVR", "aVL", "aVF")):
        return
    i, ii = leads["I"], leads["II"]
    n = min(len(x) for x in leads.values())
    i, ii = i[:n], ii[:n]
    iii = ii - i - leads["III"][:n]
    leads["III"] = iii
    leads["aVR"] = -leads["aVR"][:n] - np.floor_divide(i + ii, 2)
    leads["aVL"] = np.floor_divide(i - iii, 2) - leads["aVL"][:n]
    leads["aVF"] = np.floor_divide(ii + iii, 2) - leads["aVF"][:n]


# -- document -------------------------------------------------------------------------------
def _attr_or_text(elem, attr: str, *paths: tuple[str, ...]) -> str:
    if elem is not None and elem.get(attr):
        return elem.get(attr, "").strip()
    for p in paths:
        if value := X.text(*p):
            return value
    return ""


def _labels(signal, waves, n_default: int) -> list[str]:
    labels = (waves.get("leadlabels") or "").split()
    if labels:
        count = X.number(waves.get("numberofleads"))
        return labels[: int(count)] if count else labels
    n = int(
        X.number(X.text(signal, "numberchannelsvalid"))
        or X.number(X.text(signal, "numberchannelsallocated"))
        or n_default
    )
    kind = X.text(signal, "acquisitiontype") or X.text(signal, "leadset")
    if kind in ("STD-12", "10-WIRE") or n == 12:
        return [_STD12[k] if k < 12 else f"ch{k + 1}" for k in range(n)]
    return [f"ch{k + 1}" for k in range(n)]


def _metadata(root) -> dict[str, str]:
    meta: dict[str, str] = {}
    info = X.child(root, "documentinfo")
    meta["document"] = f"{X.text(info, 'documenttype')} {X.text(info, 'documentversion')}".strip()
    patient = X.child(root, "patient", "generalpatientdata")
    if pid := X.text(patient, "patientid"):
        meta["patient id"] = pid
    name = ", ".join(
        p for p in (X.text(patient, "name", "lastname"), X.text(patient, "name", "firstname")) if p
    )
    if name:
        meta["patient name"] = name
    age = X.child(patient, "age")
    if years := X.text(age, "years"):
        meta["age"] = f"{years} years"
    if dob := X.text(age, "dateofbirth"):
        meta["birth date"] = dob
    if sex := X.text(patient, "sex"):
        meta["sex"] = sex
    acq = X.child(root, "dataacquisition")
    machine = X.child(acq, "machine")
    if machine is not None:
        device = " ".join(
            p for p in ((machine.text or "").strip(), machine.get("detaildescription", "")) if p
        )
        if device:
            meta["device"] = device
    if inst := X.text(acq, "acquirer", "institutionname"):
        meta["institution"] = inst
    statements = []
    for st in X.descendants(X.child(root, "interpretations"), "statement"):
        left, right = X.text(st, "leftstatement"), X.text(st, "rightstatement")
        if left:
            statements.append(left + (f" ({right})" if right else ""))
    if statements:
        meta["device interpretation"] = "; ".join(statements)
    return meta


def _start_time(root) -> dt.datetime | None:
    acq = X.child(root, "dataacquisition")
    if acq is None:
        return None
    try:
        return dt.datetime.fromisoformat(f"{acq.get('date', '')}T{acq.get('time', '00:00:00')}")
    except ValueError:
        return None


def _measurements(root, meta):
    blocks = [
        X.first(X.child(root, "interpretations"), "globalmeasurements"),
        X.first(X.child(root, "interpretations"), "interpretationmeasurements"),
        X.first(X.child(root, "measurements"), "globalmeasurements"),
        X.first(X.child(root, "internalmeasurements"), "crossleadmeasurements"),
    ]
    values: dict[str, float | None] = {}
    for key, tags in _MEASUREMENTS.items():
        for block in blocks:
            found = next((X.number(X.text(block, t)) for t in tags if X.text(block, t)), None)
            if found is not None:
                values[key] = found
                break
    if "rr_ms" not in values and values.get("hr_bpm"):
        values["rr_ms"] = 60000.0 / values["hr_bpm"]
    machine = X.text(root, "dataacquisition", "machine") or "cart"
    return vendor_measurements(f"Philips ({machine})", values)


def _rhythm(path: Path, root, warnings: list[str]):
    waves = X.first(X.child(root, "waveforms"), "parsedwaveforms")
    if waves is None:
        raise EcgReadError(path, "no <parsedwaveforms> in the file")
    signal = X.child(root, "dataacquisition", "signalcharacteristics")
    fs = X.number(waves.get("samplespersecond")) or X.number(X.text(signal, "samplingrate"))
    resolution = X.number(waves.get("resolution")) or X.number(
        X.text(signal, "signalresolution") or X.text(signal, "resolution")
    )
    duration_ms = X.number(waves.get("durationperchannel"))
    if not fs or fs <= 0:
        raise EcgReadError(path, "sampling rate missing")
    if not resolution or resolution <= 0:
        raise EcgReadError(path, "signal resolution missing")
    if duration_ms is None or duration_ms <= 0:
        raise EcgReadError(path, "durationperchannel missing")
    labels = _labels(signal, waves, 12)
    n_samples = round(duration_ms * fs / 1000.0)
    check_declared_size(path, n_samples * len(labels))
    if waves.get("dataencoding", "Base64") != "Base64":
        raise EcgReadError(path, f"waveform encoding {waves.get('dataencoding')!r} is not supported")
    # every sample costs at least ~1 bit of base64; refuse headers declaring far more than the file holds
    if n_samples * len(labels) > 8 * path.stat().st_size:
        raise EcgReadError(path, f"header declares {n_samples:,} samples per lead, more than the file holds")
    method = waves.get("compressmethod") or waves.get("compression") or ""
    compressed = (waves.get("compressflag") or "").lower() == "true" or method.upper() == "XLI"
    data = X.b64_int16(path, waves.text or "").tobytes()
    if compressed:
        if method.upper() != "XLI":
            raise EcgReadError(path, f"waveform compression {method!r} is not supported (only XLI)")
        arrays = dict(zip(labels, _xli_decode(path, data, len(labels), n_samples)))
        _undo_xli_limb_leads(arrays)
    else:
        flat = np.frombuffer(data, dtype="<i2")
        if len(flat) < n_samples * len(labels):
            raise EcgReadError(
                path, f"waveform holds {len(flat):,} samples, {n_samples * len(labels):,} declared"
            )
        arrays = {
            lab: flat[k * n_samples : (k + 1) * n_samples].astype(np.int64) for k, lab in enumerate(labels)
        }
    out = []
    for lab in labels:
        x = arrays[lab]
        if len(x) != n_samples:
            if len(x) < n_samples:
                warnings.append(f"lead {lab}: {len(x)} samples decoded, {n_samples} declared")
            x = x[:n_samples]
        out.append(x.astype(np.float32) * np.float32(resolution * 1e-3))
    return fs, labels, out


def _median(path: Path, root):
    reps = X.first(root, "repbeats")
    if reps is None:
        raise EcgReadError(path, "no representative beats (<repbeats>) in the file")
    if reps.get("dataencoding", "Base64") != "Base64":
        raise EcgReadError(path, f"repbeat encoding {reps.get('dataencoding')!r} is not supported")
    fs = X.number(reps.get("samplespersec"))
    resolution = X.number(reps.get("resolution"))
    if not fs or not resolution or fs <= 0 or resolution <= 0:
        raise EcgReadError(path, "representative beats without sampling rate or resolution")
    labels, out = [], []
    for beat in X.children(reps, "repbeat"):
        wave = X.child(beat, "waveform")
        samples = X.b64_int16(path, (wave if wave is not None else beat).text or "", "repbeat")
        labels.append(beat.get("leadname") or f"ch{len(labels) + 1}")
        out.append(samples.astype(np.float32) * np.float32(resolution * 1e-3))
    return fs, labels, out


def read_philips(path: Path, waveform: str = "rhythm", **_options) -> EcgRecord:
    """Read a Philips SierraECG/PhilipsECG XML file; ``waveform`` is ``"rhythm"`` or ``"median"``."""
    root = X.parse_xml(path)
    if X.local(root.tag) != "restingecgdata":
        raise EcgReadError(path, f"root element is <{X.local(root.tag)}>, not <restingecgdata>")
    warnings: list[str] = []
    kind = waveform.lower()
    if kind == "median":
        fs, raw_names, arrays = _median(path, root)
    elif kind == "rhythm":
        fs, raw_names, arrays = _rhythm(path, root, warnings)
    else:
        raise EcgReadError(path, f"unknown waveform {waveform!r} (rhythm or median)")
    signals = stack_leads(path, arrays, warnings)
    names = unique_lead_names(raw_names)
    meta = _metadata(root)
    names_metadata(raw_names, names, meta)
    meta["waveform"] = kind
    if kind == "rhythm" and X.first(root, "repbeats") is not None:
        meta["other waveforms in file"] = "median (read with waveform=...)"
    return EcgRecord(
        signals=signals,
        fs_hz=float(fs),
        lead_names=tuple(names),
        units=("mV",) * len(names),
        start_time=_start_time(root),
        metadata=meta,
        source_path=path,
        format_name="Philips XML",
        warnings=tuple(warnings),
        vendor_measurements=_measurements(root, meta),
    )


READER = register_reader(
    Reader(
        name="philips-xml",
        description="Philips SierraECG / PhilipsECG XML",
        extensions=(".xml",),
        sniff=_sniff,
        read=read_philips,
    )
)
