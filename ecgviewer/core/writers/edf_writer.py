"""Write a record as EDF+ (16-bit) or BDF+ (24-bit) with ``pyedflib``.

Every recorded channel becomes one signal (derived leads are not written; readers
derive them again). The physical range of a channel is its own minimum and maximum
(rounded outwards to what the 8-character header field can hold), mapped onto the
full digital range, so a read-back sample differs from the original by at most one
step: range / 65535 for EDF (about 0.15 µV for a +-5 mV ECG), range / 16777215 for BDF.
Missing samples (NaN) are written as 0. EDF stores whole data records: the
record duration is chosen so that it divides the record when it can (1 s, 0.5 s ... 1 ms);
otherwise the last data record is padded with zeros (less than 1 s). The patient fields (``patient id``,
``patient name``, ``sex``, ``birth date``), the start time and the ``device`` go into
the EDF+ header; ``include_patient=False`` leaves the patient fields out. The file is
written beside the target and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path

import numpy as np

from ecgviewer.core.io_utils import atomic_path
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.writers import Writer, register_writer

_DIGITAL = {False: (-32768, 32767), True: (-8388608, 8388607)}
_DURATIONS = (1.0, 0.5, 0.25, 0.2, 0.125, 0.1, 0.05, 0.04, 0.025, 0.02, 0.01, 0.005, 0.004, 0.002, 0.001)
_BIRTH_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d-%b-%Y", "%d.%m.%Y", "%m-%d-%Y", "%d/%m/%Y")


def _edf_number(value: float, up: bool) -> float:
    """``value`` rounded outwards to a number that fits the 8-character EDF header field."""
    for decimals in range(6, -1, -1):
        scale = 10.0**decimals
        rounded = (math.ceil if up else math.floor)(value * scale) / scale
        if len(f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")) <= 8:
            return rounded
    raise ValueError(f"value {value!r} does not fit an EDF header field")


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    finite = x[np.isfinite(x)]
    lo = float(finite.min()) if finite.size else -1.0
    hi = float(finite.max()) if finite.size else 1.0
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    return _edf_number(lo, up=False), _edf_number(hi, up=True)


def record_duration(fs_hz: float, n_samples: int) -> float | None:
    """The longest data-record duration (s) that holds whole samples and divides the record, if any."""
    for d in _DURATIONS:
        spr = fs_hz * d
        if abs(spr - round(spr)) < 1e-9 and round(spr) >= 1 and n_samples % round(spr) == 0:
            return d
    return None


def _birth_date(text: str) -> dt.date | None:
    for fmt in _BIRTH_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _field(text: str, limit: int = 80) -> str:
    """EDF header text: printable ASCII, no spaces inside subfields."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return "_".join(ascii_text.split())[:limit]


def _signal_header(name: str, unit: str, fs_hz: float, prange: tuple[float, float], bdf: bool) -> dict:
    dmin, dmax = _DIGITAL[bdf]
    return {
        "label": _field(name, 16),
        "dimension": _field(unit or "mV", 8),
        "sample_frequency": fs_hz,
        "physical_min": prange[0],
        "physical_max": prange[1],
        "digital_min": dmin,
        "digital_max": dmax,
        "transducer": "",
        "prefilter": "",
    }


def _open_writer(tmp: Path, headers: list[dict], record, metadata, bdf: bool, include_patient: bool):
    """A pyedflib writer with the signal headers, data-record duration, start time, device and
    (with ``include_patient``) patient fields of ``record`` set."""
    import pyedflib  # deferred: only needed for EDF output

    file_type = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    writer = pyedflib.EdfWriter(str(tmp), len(headers), file_type=file_type)
    try:
        writer.setSignalHeaders(headers)
        duration = record_duration(record.fs_hz, record.n_samples)
        if duration is not None and duration != 1.0:
            with warnings.catch_warnings():  # pyedflib warns whenever the duration is set
                warnings.simplefilter("ignore")
                writer.setDatarecordDuration(duration)
        if record.start_time is not None:
            writer.setStartdatetime(record.start_time.replace(tzinfo=None))
        meta = metadata
        if device := meta.get("device"):
            writer.setEquipment(_field(device, 40))
        if include_patient:
            if pid := meta.get("patient id"):
                writer.setPatientCode(_field(pid, 40))
            if name := meta.get("patient name"):
                writer.setPatientName(_field(name, 40))
            sex = meta.get("sex", "").strip().lower()
            if sex in ("male", "m", "female", "f"):
                writer.setSex(1 if sex.startswith("m") else 0)
            if (birth := _birth_date(meta.get("birth date", ""))) is not None:
                writer.setBirthdate(birth)
    except BaseException:
        writer.close()
        raise
    return writer


def write_edf(record: EcgRecord, path: Path, *, bdf: bool = False, include_patient: bool = True, **_options):
    """Write ``record`` to ``path`` as EDF+ (or BDF+ with ``bdf=True``); returns ``[path]``."""
    path = Path(path)
    headers, data = [], []
    for i, name in enumerate(record.lead_names):
        x = np.asarray(record.signals[i], dtype=np.float64)
        pmin, pmax = _physical_range(x)
        headers.append(_signal_header(name, record.units[i], record.fs_hz, (pmin, pmax), bdf))
        data.append(np.nan_to_num(x, nan=0.0, posinf=pmax, neginf=pmin))
    with atomic_path(path) as tmp:
        writer = _open_writer(tmp, headers, record, record.metadata, bdf, include_patient)
        try:
            writer.writeSamples(data)
        finally:
            writer.close()
    return [path]


def write_edf_long(
    rec, path: Path, *, metadata=None, chunk: int = 30_000, bdf: bool = False, include_patient: bool = True,
    **_options,
) -> list[Path]:  # fmt: skip
    """:func:`write_edf` of a :class:`~ecgviewer.core.long_record.LongRecord`, in data-record blocks.

    Two streamed passes (the channels' ranges for the physical minimum and maximum, then the
    samples, ``chunk`` per channel at a time, rounded to whole data records), so memory does
    not grow with the record; the file equals :func:`write_edf`'s of the whole record.
    """
    from ecgviewer.core.writers import channel_ranges, chunks

    path = Path(path)
    lo, hi = channel_ranges(rec, chunk)
    headers, ranges = [], []
    for i, name in enumerate(rec.lead_names):
        pr = _physical_range(np.array([lo[i], hi[i]], dtype=np.float64))
        ranges.append(pr)
        headers.append(_signal_header(name, rec.units[i], rec.fs_hz, pr, bdf))
    duration = record_duration(rec.fs_hz, rec.n_samples) or 1.0
    spr = max(1, round(rec.fs_hz * duration))
    chunk = max(spr, chunk // spr * spr)  # whole data records per block
    with atomic_path(path) as tmp:
        writer = _open_writer(
            tmp, headers, rec, rec.metadata if metadata is None else metadata, bdf, include_patient
        )
        try:
            for _, x in chunks(rec, chunk):
                x = np.asarray(x, dtype=np.float64)
                writer.writeSamples(
                    [
                        np.nan_to_num(x[i], nan=0.0, posinf=ranges[i][1], neginf=ranges[i][0])
                        for i in range(len(x))
                    ]
                )
        finally:
            writer.close()
    return [path]


WRITER = register_writer(
    Writer(
        name="edf",
        description="EDF+ (European Data Format)",
        extensions=(".edf",),
        write=write_edf,
        write_long=write_edf_long,
    )
)
BDF_WRITER = register_writer(
    Writer(
        name="bdf",
        description="BDF+ (24-bit EDF)",
        extensions=(".bdf",),
        write=lambda record, path, **options: write_edf(record, path, bdf=True, **options),
        write_long=lambda rec, path, **options: write_edf_long(rec, path, bdf=True, **options),
    )
)
