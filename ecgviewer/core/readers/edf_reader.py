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

Long (Holter) files: :func:`open_edf_lazy` (``open_long_record``) reads the same channels
chunk by chunk from the data records, without loading the file.

Not supported: EDF+D gaps (a discontinuous file is shown as if continuous, with a
warning), and channels with different sampling rates in one record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.leads import STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.readers.common import names_metadata, to_millivolts, unique_lead_names
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord, millivolt_factor

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

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


def _plan(path: Path, channels: list[str] | None, header_calibration: bool) -> dict:
    """Check the header and choose the channels to show (no samples are read).

    Returns the header (``h``), the chosen channels (``chosen``, header indices), pyedflib's
    index of each (``edf_index``), ``contec``, ``rate``, ``warnings``, ``names``,
    ``units_in`` (as read, before the mV conversion), ``metadata`` and ``kind``.
    """
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
    units_in = ["mV" if contec else (h["dimensions"][i] or "mV") for i in chosen]
    raw_names = [labels[i] for i in chosen]
    names = unique_lead_names(raw_names)
    meta = _patient_metadata(h["patient"])
    meta.update(_recording_metadata(h["recording"]))
    names_metadata(raw_names, names, meta)
    kind = "BDF" if h["bdf"] else "EDF"
    if h["reserved"].startswith(("EDF+", "BDF+")):
        kind += "+"
    return {
        "h": h,
        "chosen": chosen,
        # pyedflib numbers signals without the annotation channels
        "edf_index": {lab_i: k for k, lab_i in enumerate(signal_idx)},
        "n_signals": len(signal_idx),
        "contec": contec,
        "rate": float(common_rate),
        "warnings": warnings,
        "names": names,
        "units_in": units_in,
        "metadata": meta,
        "kind": kind,
    }


def _open_pyedflib(path: Path, plan: dict, **kwargs):
    import pyedflib  # deferred: only needed for EDF files

    try:
        reader = pyedflib.EdfReader(str(path), **kwargs)
    except OSError as exc:
        raise EcgReadError(path, f"pyedflib cannot open the file ({exc})") from exc
    if len(reader.getSignalLabels()) != plan["n_signals"]:
        reader.close()
        raise EcgReadError(path, "pyedflib and the header disagree on the number of signals")
    return reader


def _read_channel(reader, plan: dict, i: int, start: int = 0, n: int | None = None) -> np.ndarray:
    """Header channel ``i`` as float64 physical values (Contec: digital x 5 uV)."""
    k = plan["edf_index"][i]
    if plan["contec"]:
        return reader.readSignal(k, start, n, digital=True).astype(np.float64) * _CONTEC_STEP_MV
    return reader.readSignal(k, start, n)


def read_edf(
    path: Path, channels: list[str] | None = None, header_calibration: bool = False, **_options
) -> EcgRecord:
    """Read the ECG channels of an EDF/EDF+/BDF file; values in mV."""
    plan = _plan(path, channels, header_calibration)
    reader = _open_pyedflib(path, plan)
    try:
        rows = [_read_channel(reader, plan, i) for i in plan["chosen"]]
        start = reader.getStartdatetime()
    finally:
        reader.close()
    n = min(len(r) for r in rows)
    if n < 2:
        raise EcgReadError(path, "fewer than two samples per channel")
    signals = np.empty((len(rows), n), dtype=np.float32)
    for k, r in enumerate(rows):
        signals[k] = r[:n]
    signals, units = to_millivolts(signals, plan["units_in"])
    return EcgRecord(
        signals=signals,
        fs_hz=plan["rate"],
        lead_names=tuple(plan["names"]),
        units=tuple(units),
        start_time=start if isinstance(start, dt.datetime) else None,
        metadata=plan["metadata"],
        source_path=path,
        format_name=plan["kind"],
        warnings=tuple(plan["warnings"]),
    )


class _DataRecordSource:
    """Chunks of chosen channels read straight from the EDF/BDF data records through a memory map.

    A chunk maps only the data records that hold it and converts the stored integers
    with edflib's own arithmetic (``bitvalue * (offset + digital)`` from the header values
    as edflib parses them), so a chunk equals pyedflib's ``readSignal`` exactly. No file
    stays open: edflib refuses to open a file twice in one process, and a record that
    held it open would block every other reader of the same file.
    """

    def __init__(self, path: Path, h: dict, chosen: list[int], scales: list, units_in: list[str]) -> None:
        width = 3 if h["bdf"] else 2
        spr = h["spr"]
        self.path = path
        self.width = width
        self.spr = spr[chosen[0]]  # chosen channels share one rate, hence one count per data record
        self.data_offset = 256 * (len(spr) + 1)
        self.record_bytes = sum(spr) * width
        self.byte_offsets = [sum(spr[:i]) * width for i in chosen]
        self.scales = scales  # (bitvalue, offset) per chosen channel, or a float step (Contec)
        self.units_in = units_in

    def _digital(self, raw: np.ndarray) -> np.ndarray:
        """Stored little-endian integers (``(records, spr * width)`` bytes) as one int32 row."""
        if self.width == 2:
            return np.ascontiguousarray(raw).view("<i2").reshape(-1)
        b = raw.reshape(-1, 3).astype(np.int32)
        d = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(d >= 1 << 23, d - (1 << 24), d)

    def read(self, start: int, stop: int, rows) -> np.ndarray:
        rows = list(rows)
        out = np.empty((len(rows), max(stop - start, 0)), dtype=np.float32)
        if stop > start:
            r0, r1 = start // self.spr, -(-stop // self.spr)
            mm = np.memmap(
                self.path, dtype=np.uint8, mode="r", offset=self.data_offset + r0 * self.record_bytes,
                shape=(r1 - r0, self.record_bytes),
            )  # fmt: skip
            lo = start - r0 * self.spr
            for k, row in enumerate(rows):
                off = self.byte_offsets[row]
                d = self._digital(mm[:, off : off + self.spr * self.width])[lo : lo + stop - start]
                scale = self.scales[row]
                if isinstance(scale, tuple):  # edflib: bitvalue * (offset + digital), in double
                    x = d.astype(np.float64)
                    x += scale[1]
                    x *= scale[0]
                else:
                    x = d.astype(np.float64) * scale
                out[k] = x
            del mm
        return to_millivolts(out, [self.units_in[row] for row in rows])[0]

    def close(self) -> None:
        pass


def open_edf_lazy(
    path: Path, channels: list[str] | None = None, header_calibration: bool = False, **_options
) -> LongRecord:
    """Open an EDF/EDF+/BDF file without reading its samples; chunks equal :func:`read_edf`'s.

    pyedflib opens the file once for the start time and its parsed calibration (checking an
    EDF+ file's annotations as :func:`read_edf` does, so both refuse the same files), then
    closes it; chunks are read from the data records through a memory map
    (:class:`_DataRecordSource`).
    """
    import pyedflib

    from ecgviewer.core.long_record import LongRecord

    plan = _plan(path, channels, header_calibration)
    h, chosen = plan["h"], plan["chosen"]
    # EDF+/BDF+: edflib checks the annotation channel of every data record, as read_edf's open does,
    # so a file with damaged annotations is refused here too, with the same message (about 1 s for
    # a 24 h EDF+ with 1 s data records); plain EDF/BDF has no annotations to check
    mode = pyedflib.READ_ALL_ANNOTATIONS if plan["kind"].endswith("+") else pyedflib.DO_NOT_READ_ANNOTATIONS
    reader = _open_pyedflib(path, plan, annotations_mode=mode)
    try:
        start_time = reader.getStartdatetime()
        n = min(int(reader.getNSamples()[plan["edf_index"][i]]) for i in chosen)
        scales: list = []
        for i in chosen:
            k = plan["edf_index"][i]
            if plan["contec"]:
                scales.append(_CONTEC_STEP_MV)
                continue
            p_max, p_min = reader.getPhysicalMaximum(k), reader.getPhysicalMinimum(k)
            d_max, d_min = reader.getDigitalMaximum(k), reader.getDigitalMinimum(k)
            bitvalue = (p_max - p_min) / (d_max - d_min)
            scales.append((bitvalue, p_max / bitvalue - d_max))
    finally:
        reader.close()
    if n < 2:
        raise EcgReadError(path, "fewer than two samples per channel")
    units_in = plan["units_in"]
    _, units = to_millivolts(np.empty((len(units_in), 0), dtype=np.float32), units_in)
    return LongRecord(
        _DataRecordSource(path, h, chosen, scales, units_in),
        fs_hz=plan["rate"],
        n_samples=n,
        lead_names=plan["names"],
        units=units,
        start_time=start_time if isinstance(start_time, dt.datetime) else None,
        metadata=plan["metadata"],
        source_path=path,
        format_name=plan["kind"],
        warnings=plan["warnings"],
        files=[path],
        options={"channels": channels, "header_calibration": header_calibration},
        access="memory map",
    )


READER = register_reader(
    Reader(
        name="edf",
        description="EDF / EDF+ / BDF",
        extensions=(".edf", ".bdf", ".rec"),
        sniff=_sniff,
        read=read_edf,
        open_lazy=open_edf_lazy,
    )
)
