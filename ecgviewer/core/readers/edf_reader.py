"""EDF, EDF+ and BDF/BDF+ files through ``pyedflib``; the ECG channels are chosen by label.

Polysomnography and Holter EDFs hold many channels. The reader keeps those whose
label names an ECG lead (``I``, ``EKG II``, ``ECG V1``, ``MLII`` ...) or says ``ECG``/
``EKG``; when no label does, every channel with a voltage unit is kept (with a warning).
``channels=[...]`` picks channels by label instead. Channels must share one sampling
rate: the rate of most chosen channels wins, the others are left out with a warning.
EDF+ annotation channels are never signals. Physical values are returned in mV.

The fixed header is read and checked before pyedflib opens the file: the declared
number of data records times their size must fit in the file. The EDF+ patient field
(``code sex birthdate name``) becomes patient metadata, the recording field's
equipment the ``device``.

Known quirk handled: EDFs written by ``contec-ecg2edf`` (Contec ECG90A carts) declare
a placeholder calibration (+-1000 mV over +-32768) although the cart's step is 5 uV;
such files are recognised by that exact header and read at 5 uV per unit, with a
warning (``header_calibration=True`` keeps the header's scale).

Not supported: EDF+D gaps (a discontinuous file is shown as if continuous, with a
warning), and channels with different sampling rates in one record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.leads import STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.readers.common import names_metadata, to_millivolts, unique_lead_names
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord, millivolt_factor

_ECG_WORD = re.compile(r"(^|[^A-Z])(ECG|EKG|ELECTROCARDIO)", re.IGNORECASE)
_EDF_DATE = re.compile(r"^\d{2}-[A-Za-z]{3}-\d{4}$")
_CONTEC_STEP_MV = 0.005


def _sniff(path: Path, head: bytes) -> bool:
    if len(head) < 256:
        return False
    version = head[:8]
    if version not in (b"0       ", b"\xffBIOSEMI"):
        return False
    try:
        header_bytes = int(head[184:192].decode("ascii").strip())
        ns = int(head[252:256].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return False
    return ns >= 1 and header_bytes == 256 * (ns + 1)


def _field(raw: bytes, start: int, size: int) -> str:
    return raw[start : start + size].decode("latin-1").strip()


def _header(path: Path) -> dict:
    """Parse and check the fixed and per-signal headers (no samples are read)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fixed = fh.read(256)
        if len(fixed) < 256:
            raise EcgReadError(path, "file is shorter than an EDF header (256 bytes)")
        try:
            ns = int(_field(fixed, 252, 4))
            n_records = int(_field(fixed, 236, 8))
            record_s = float(_field(fixed, 244, 8))
        except ValueError as exc:
            raise EcgReadError(path, f"EDF header field is not a number ({exc})") from exc
        if not 1 <= ns <= 4096:
            raise EcgReadError(path, f"header declares {ns} signals")
        signal_header = fh.read(256 * ns)
    if len(signal_header) < 256 * ns:
        raise EcgReadError(path, f"file is shorter than the header of its {ns} signals")
    bdf = fixed[:8] == b"\xffBIOSEMI"
    width = 3 if bdf else 2

    def column(offset: int, w: int) -> list[str]:
        return [_field(signal_header, offset * ns + k * w, w) for k in range(ns)]

    labels = column(0, 16)
    try:
        spr = [int(v) for v in column(216, 8)]
    except ValueError as exc:
        raise EcgReadError(path, f"samples per record is not a number ({exc})") from exc
    if any(s < 1 for s in spr):
        raise EcgReadError(path, "a signal declares no samples per data record")
    record_bytes = sum(spr) * width
    data_bytes = size - 256 * (ns + 1)
    if n_records < 0:  # -1: unknown (recording still open), taken from the file size
        n_records = data_bytes // record_bytes
    check_declared_size(path, n_records * sum(spr))
    if n_records * record_bytes > data_bytes:
        raise EcgReadError(
            path,
            f"file is truncated: the header declares {n_records:,} data records of {record_bytes:,} bytes "
            f"but only {max(data_bytes, 0):,} bytes follow the header",
        )
    if n_records < 1:
        raise EcgReadError(path, "no data records")
    return {
        "patient": _field(fixed, 8, 80),
        "recording": _field(fixed, 88, 80),
        "reserved": _field(fixed, 192, 44),
        "labels": labels,
        "dimensions": column(96, 8),
        "phys_min": column(104, 8),
        "phys_max": column(112, 8),
        "dig_min": column(120, 8),
        "dig_max": column(128, 8),
        "spr": spr,
        "record_s": record_s,
        "n_records": n_records,
        "bdf": bdf,
    }


def _is_ecg_label(label: str) -> bool:
    return normalize_lead_name(label) in STANDARD_LEADS or bool(_ECG_WORD.search(label))


def _patient_metadata(text: str) -> dict[str, str]:
    parts = text.split()
    meta: dict[str, str] = {}
    if len(parts) >= 4 and parts[1] in ("M", "F", "X") and (_EDF_DATE.match(parts[2]) or parts[2] == "X"):
        code, sex, birth, name = parts[0], parts[1], parts[2], parts[3]
        if code != "X":
            meta["patient id"] = code
        if sex != "X":
            meta["sex"] = {"M": "male", "F": "female"}[sex]
        if birth != "X":
            meta["birth date"] = birth
        if name != "X":
            meta["patient name"] = name.replace("_", " ")
        if len(parts) > 4:
            meta["patient additional"] = " ".join(parts[4:])
    elif text and text not in ("X", "X X X X"):
        meta["patient identification"] = text
    return meta


def _recording_metadata(text: str) -> dict[str, str]:
    parts = text.split()
    if len(parts) >= 4 and parts[0] == "Startdate":
        # EDF+: Startdate dd-MMM-yyyy admincode technician equipment; some writers leave one out
        equipment = parts[4] if len(parts) >= 5 else parts[3]
        meta = {"recording": text} if any(x != "X" for x in parts[2:]) else {}
        if equipment != "X":
            meta["device"] = equipment.replace("_", " ")
        return meta
    return {"recording": text} if text else {}


def _is_contec_placeholder(h: dict, chosen: list[int]) -> bool:
    """contec-ecg2edf writes +-1000 mV over +-32768 for every lead, 1 sample per 1/800 s record."""
    try:
        return (
            bool(chosen)
            and all(
                h["dimensions"][i] == "mV"
                and float(h["phys_min"][i]) == -1000.0
                and float(h["phys_max"][i]) == 1000.0
                and int(h["dig_min"][i]) == -32768
                and int(h["dig_max"][i]) == 32767
                and h["spr"][i] == 1
                for i in chosen
            )
            and abs(h["record_s"] - 0.00125) < 1e-6
        )
    except ValueError:
        return False


def read_edf(
    path: Path, channels: list[str] | None = None, header_calibration: bool = False, **_options
) -> EcgRecord:
    """Read the ECG channels of an EDF/EDF+/BDF file; values in mV."""
    h = _header(path)
    labels = h["labels"]
    warnings: list[str] = []
    signal_idx = [i for i, lab in enumerate(labels) if lab not in ("EDF Annotations", "BDF Annotations")]
    if channels is not None:
        wanted = [str(c) for c in channels]
        missing = [c for c in wanted if c not in labels]
        if missing:
            raise EcgReadError(path, f"no channel labelled {', '.join(missing)} (have: {', '.join(labels)})")
        chosen = [labels.index(c) for c in wanted]
    else:
        chosen = [i for i in signal_idx if _is_ecg_label(labels[i])]
        if not chosen:
            chosen = [i for i in signal_idx if millivolt_factor(h["dimensions"][i] or "") is not None]
            if not chosen:
                raise EcgReadError(path, f"no ECG or voltage channel among: {', '.join(labels)}")
            warnings.append("no channel is labelled as ECG; every voltage channel is shown")
        left_out = [labels[i] for i in signal_idx if i not in chosen]
        if left_out:
            warnings.append(f"non-ECG channels left out: {', '.join(left_out)}")
    rates = {i: h["spr"][i] / h["record_s"] for i in chosen} if h["record_s"] > 0 else {}
    if not rates:
        raise EcgReadError(path, f"invalid data record duration {h['record_s']!r}")
    common_rate, _ = Counter(rates.values()).most_common(1)[0]
    other = [labels[i] for i in chosen if rates[i] != common_rate]
    if other:
        warnings.append(f"channels at another sampling rate left out: {', '.join(other)}")
        chosen = [i for i in chosen if rates[i] == common_rate]
    contec = not header_calibration and _is_contec_placeholder(h, chosen)
    if contec:
        warnings.append(
            "header calibration (+-1000 mV over +-32768, contec-ecg2edf's placeholder) replaced by the "
            "Contec ECG90A's 5 uV per unit; pass header_calibration=True to keep the header's"
        )
    if h["reserved"].startswith(("EDF+D", "BDF+D")):
        warnings.append("discontinuous EDF+ (EDF+D): gaps between data records are not shown")

    import pyedflib  # deferred: only needed for EDF files

    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise EcgReadError(path, f"pyedflib cannot open the file ({exc})") from exc
    try:
        reader_labels = reader.getSignalLabels()
        # pyedflib numbers signals without the annotation channels
        edf_index = {lab_i: k for k, lab_i in enumerate(signal_idx)}
        if len(reader_labels) != len(signal_idx):
            raise EcgReadError(path, "pyedflib and the header disagree on the number of signals")
        rows = []
        for i in chosen:
            k = edf_index[i]
            if contec:
                rows.append(reader.readSignal(k, digital=True).astype(np.float64) * _CONTEC_STEP_MV)
            else:
                rows.append(reader.readSignal(k))
        start = reader.getStartdatetime()
    finally:
        reader.close()
    n = min(len(r) for r in rows)
    if n < 2:
        raise EcgReadError(path, "fewer than two samples per channel")
    signals = np.empty((len(rows), n), dtype=np.float32)
    for k, r in enumerate(rows):
        signals[k] = r[:n]
    units_in = ["mV" if contec else (h["dimensions"][i] or "mV") for i in chosen]
    signals, units = to_millivolts(signals, units_in)
    raw_names = [labels[i] for i in chosen]
    names = unique_lead_names(raw_names)
    meta = _patient_metadata(h["patient"])
    meta.update(_recording_metadata(h["recording"]))
    names_metadata(raw_names, names, meta)
    kind = "BDF" if h["bdf"] else "EDF"
    if h["reserved"].startswith(("EDF+", "BDF+")):
        kind += "+"
    return EcgRecord(
        signals=signals,
        fs_hz=float(common_rate),
        lead_names=tuple(names),
        units=tuple(units),
        start_time=start if isinstance(start, dt.datetime) else None,
        metadata=meta,
        source_path=path,
        format_name=kind,
        warnings=tuple(warnings),
    )


READER = register_reader(
    Reader(
        name="edf",
        description="EDF / EDF+ / BDF",
        extensions=(".edf", ".bdf", ".rec"),
        sniff=_sniff,
        read=read_edf,
    )
)
