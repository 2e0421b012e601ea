"""DICOM waveform ECGs (12-lead ECG, general ECG, ambulatory ECG Waveform Storage) through ``pydicom``.

A file holds one or more multiplex groups (``WaveformSequence`` items). The rhythm
group (originality ``ORIGINAL``, or labelled ``RHYTHM``) is read by default;
``waveform="median"`` reads a ``DERIVED``/``MEDIAN BEAT`` group instead. pydicom's
``waveform_array`` applies channel sensitivity, correction factor and baseline; the
channel sensitivity unit (``uV``, ``mV``) gives the scale to mV. Channel labels (code
meanings such as ``Lead I (Einthoven)``) are normalised to the standard names.

Numeric ``WaveformAnnotationSequence`` items (RR, PR, QRS duration, QT, QTc, axes)
become the vendor measurements. The declared channel and sample counts are checked
against the stored waveform data before it is decoded.

The file is read into memory first (declared element lengths then cannot make pydicom
allocate more than the file holds). Not supported: compressed or encapsulated waveform
data. Other waveform classes (e.g. hemodynamic) are read channel by channel like ECGs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import warnings as _warnings
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import names_metadata, unique_lead_names, vendor_measurements
from ecgviewer.core.readers.registry import Reader, check_declared_size, register_reader
from ecgviewer.core.record import EcgRecord, millivolt_factor

#: ECG waveform SOP classes: 12-lead, general, ambulatory.
ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "general ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "ambulatory ECG",
}
_ANNOTATIONS = {
    "rr interval": "rr_ms",
    "pr interval": "pr_ms",
    "qrs duration": "qrs_ms",
    "qt interval": "qt_ms",
    "qtc interval": "qtc_ms",
    "p axis": "p_axis_deg",
    "qrs axis": "qrs_axis_deg",
    "t axis": "t_axis_deg",
    "heart rate": "hr_bpm",
    "ventricular rate": "hr_bpm",
}
_SEX = {"M": "male", "F": "female", "O": "other"}
#: Largest DICOM file read (a 24 h 12-lead ambulatory ECG at 1 kHz is about 2 GB; resting ECGs are < 1 MB).
MAX_DICOM_BYTES = 2 * 1024**3


def _sniff(path: Path, head: bytes) -> bool:
    return len(head) >= 132 and head[128:132] == b"DICM"


@contextlib.contextmanager
def _quiet_pydicom():
    """pydicom warns and logs about odd values it reads; values from a file must not reach the log."""
    import pydicom

    logger = logging.getLogger("pydicom")
    old_level, old_mode = logger.level, pydicom.config.settings.reading_validation_mode
    logger.setLevel(logging.CRITICAL + 1)
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            yield pydicom
    finally:
        pydicom.config.settings.reading_validation_mode = old_mode
        logger.setLevel(old_level)


def _group_kind(item) -> str:
    label = str(item.get("MultiplexGroupLabel", "") or "").upper()
    originality = str(item.get("WaveformOriginality", "") or "").upper()
    if "MEDIAN" in label or "REPRESENTATIVE" in label or originality == "DERIVED":
        return "median"
    return "rhythm"


def _dicom_datetime(ds) -> dt.datetime | None:
    stamp = str(ds.get("AcquisitionDateTime", "") or "")
    if not stamp:
        date, time = str(ds.get("ContentDate", "") or ""), str(ds.get("ContentTime", "") or "")
        stamp = date + time
    stamp = stamp.split("+")[0].split("-")[0]
    for fmt, n in (("%Y%m%d%H%M%S", 14), ("%Y%m%d%H%M", 12), ("%Y%m%d", 8)):
        try:
            return dt.datetime.strptime(stamp[:n], fmt)
        except ValueError:
            continue
    return None


def _metadata(ds) -> dict[str, str]:
    meta: dict[str, str] = {"SOP class": ECG_SOP_CLASSES.get(str(ds.get("SOPClassUID", "")), "ECG")}
    fields = {
        "PatientName": "patient name",
        "PatientID": "patient id",
        "PatientBirthDate": "birth date",
        "PatientAge": "age",
        "PatientSize": "height",
        "PatientWeight": "weight",
        "Manufacturer": "manufacturer",
        "ManufacturerModelName": "device",
        "InstitutionName": "institution",
        "StudyDescription": "study",
    }
    for keyword, key in fields.items():
        value = ds.get(keyword, None)
        if value not in (None, ""):
            meta[key] = str(value)
    sex = str(ds.get("PatientSex", "") or "")
    if sex:
        meta["sex"] = _SEX.get(sex, sex)
    texts = []
    for ann in ds.get("WaveformAnnotationSequence", []) or []:
        text = str(ann.get("UnformattedTextValue", "") or "").strip()
        if text:
            texts.append(text)
    if texts:
        meta["device interpretation"] = "; ".join(texts)
    return meta


def _measurements(ds, meta) -> object:
    values: dict[str, float] = {}
    for ann in ds.get("WaveformAnnotationSequence", []) or []:
        concept = ann.get("ConceptNameCodeSequence")
        if not concept or ann.get("NumericValue") in (None, ""):
            continue
        key = _ANNOTATIONS.get(str(concept[0].get("CodeMeaning", "")).strip().lower())
        if key is None or key in values:
            continue
        try:
            number = ann.NumericValue
            values[key] = float(number[0] if isinstance(number, (list, tuple)) else number)
        except (TypeError, ValueError, IndexError):
            continue
    if "hr_bpm" not in values and values.get("rr_ms"):
        values["hr_bpm"] = 60000.0 / values["rr_ms"]
    who = " ".join(p for p in (meta.get("manufacturer"), meta.get("device")) if p) or "device"
    return vendor_measurements(f"DICOM annotations ({who})", values)


def read_dicom(path: Path, waveform: str = "rhythm", **_options) -> EcgRecord:
    """Read a DICOM ECG waveform file; ``waveform`` is ``"rhythm"`` (default) or ``"median"``."""
    kind = waveform.lower()
    if kind not in ("rhythm", "median"):
        raise EcgReadError(path, f"unknown waveform {waveform!r} (rhythm or median)")
    size = path.stat().st_size
    if size > MAX_DICOM_BYTES:
        raise EcgReadError(
            path, f"DICOM file of {size:,} bytes is larger than the {MAX_DICOM_BYTES:,} allowed"
        )
    # pydicom reads an element by its declared length; from memory a false length costs nothing,
    # from a file object it would allocate the declared size first
    raw = io.BytesIO(path.read_bytes())
    with _quiet_pydicom() as pydicom:
        try:
            ds = pydicom.dcmread(raw)
        except pydicom.errors.InvalidDicomError as exc:
            raise EcgReadError(path, f"not a DICOM file ({exc})") from exc
        groups = list(ds.get("WaveformSequence", []) or [])
        if not groups:
            sop = str(ds.get("SOPClassUID", "?"))
            raise EcgReadError(path, f"DICOM file without waveform data (SOP class {sop})")
        kinds = [_group_kind(g) for g in groups]
        if kind not in kinds:
            raise EcgReadError(path, f"no {kind} multiplex group (has: {', '.join(sorted(set(kinds)))})")
        index = kinds.index(kind)
        item = groups[index]
        n_ch = int(item.get("NumberOfWaveformChannels", 0) or 0)
        n_samp = int(item.get("NumberOfWaveformSamples", 0) or 0)
        bits = int(item.get("WaveformBitsAllocated", 16) or 16)
        fs = float(item.get("SamplingFrequency", 0) or 0)
        if n_ch <= 0 or n_samp < 2:
            raise EcgReadError(path, f"multiplex group declares {n_ch} channels x {n_samp} samples")
        if not np.isfinite(fs) or fs <= 0:
            raise EcgReadError(path, f"invalid sampling frequency {fs!r}")
        if bits not in (8, 16, 32, 64):
            raise EcgReadError(path, f"unsupported WaveformBitsAllocated {bits}")
        check_declared_size(path, n_ch * n_samp)
        stored = len(item.get("WaveformData", b"") or b"")
        if stored < n_ch * n_samp * bits // 8:
            raise EcgReadError(
                path,
                f"waveform data holds {stored:,} bytes; {n_ch} channels x {n_samp:,} samples "
                f"need {n_ch * n_samp * bits // 8:,}",
            )
        channels = list(item.get("ChannelDefinitionSequence", []) or [])
        if len(channels) != n_ch:
            raise EcgReadError(path, f"{len(channels)} channel definitions for {n_ch} channels")
        data = np.asarray(
            ds.waveform_array(index), dtype=np.float64
        )  # (samples, channels), sensitivity applied
        raw_names, units, factors = [], [], []
        for k, ch in enumerate(channels):
            source = ch.get("ChannelSourceSequence")
            label = str(ch.get("ChannelLabel", "") or "")
            if source:
                label = str(source[0].get("CodeMeaning", "") or label)
            raw_names.append(label or f"ch{k + 1}")
            unit_seq = ch.get("ChannelSensitivityUnitsSequence")
            unit = str(unit_seq[0].get("CodeValue", "")) if unit_seq else ""
            factor = millivolt_factor(unit) if unit else None
            factors.append(1.0 if factor is None else factor)
            units.append("mV" if factor is not None else (unit or "mV"))
        meta = _metadata(ds)
        vendor = _measurements(ds, meta)
        start = _dicom_datetime(ds)
    signals = np.ascontiguousarray((data * np.asarray(factors)).T, dtype=np.float32)
    names = unique_lead_names(raw_names)
    names_metadata(raw_names, names, meta)
    meta["waveform"] = kind
    others = sorted({k for k in kinds if k != kind})
    if others:
        meta["other waveforms in file"] = ", ".join(others) + " (read with waveform=...)"
    return EcgRecord(
        signals=signals,
        fs_hz=fs,
        lead_names=tuple(names),
        units=tuple(units),
        start_time=start,
        metadata=meta,
        source_path=path,
        format_name="DICOM ECG",
        vendor_measurements=vendor,
    )


READER = register_reader(
    Reader(
        name="dicom",
        description="DICOM ECG waveform",
        extensions=(".dcm", ".dicom"),
        sniff=_sniff,
        read=read_dicom,
    )
)
