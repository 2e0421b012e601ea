"""GE MUSE "RestingECG" XML: base64 int16 waveforms, demographics and the 12SL measurements.

A MUSE export has a ``Rhythm`` waveform (usually 10 s of the 8 independent leads
I, II, V1-V6; III, aVR, aVL, aVF are derived by :class:`~ecgviewer.core.record.EcgRecord`)
and a ``Median`` waveform (one representative beat per lead). The rhythm is read by
default; ``waveform="median"`` reads the median beats. Leads that the file stores
beyond the 8 (some exports hold all 12) are kept as recorded.

Samples are little-endian int16 in ``<WaveFormData>``, scaled by
``<LeadAmplitudeUnitsPerBit>`` in ``<LeadAmplitudeUnits>`` (microvolts) and returned
in mV. ``<RestingECGMeasurements>`` (GE 12SL: rate, PR, QRS, QT, QTc, axes) become the
record's vendor measurements; patient and test demographics become metadata. Names of
referring, attending and editing staff are not kept.
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

_UNITS_TO_MV = {"MICROVOLTS": 1e-3, "MILLIVOLTS": 1.0, "NANOVOLTS": 1e-6, "UV": 1e-3, "MV": 1.0}

#: MUSE measurement tag -> vendor-measurement key.
_MEASUREMENTS = {
    "VentricularRate": "hr_bpm",
    "PRInterval": "pr_ms",
    "QRSDuration": "qrs_ms",
    "QTInterval": "qt_ms",
    "QTCorrected": "qtc_ms",
    "PAxis": "p_axis_deg",
    "RAxis": "qrs_axis_deg",
    "TAxis": "t_axis_deg",
}
#: Demographic tag -> metadata key (patient fields use the keys of ecgviewer.core.privacy).
_PATIENT = {
    "PatientID": "patient id",
    "DateofBirth": "birth date",
    "Gender": "sex",
    "Race": "race",
    "HeightCM": "height",
    "WeightKG": "weight",
}
_TEST = {
    "DataType": "test type",
    "AcquisitionDevice": "device",
    "AcquisitionSoftwareVersion": "acquisition software",
    "AnalysisSoftwareVersion": "analysis software (12SL)",
    "SiteName": "site",
    "LocationName": "location",
    "CartNumber": "cart number",
    "Status": "status",
}


def _sniff(path: Path, head: bytes) -> bool:
    text = X.head_text(head)
    return "<RestingECG" in text and "<restingecgdata" not in text


def _start_time(test) -> dt.datetime | None:
    date, time = X.text(test, "AcquisitionDate"), X.text(test, "AcquisitionTime")
    for fmt in ("%m-%d-%Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            day = dt.datetime.strptime(date, fmt).date()
        except ValueError:
            continue
        try:
            clock = dt.time.fromisoformat(time) if time else dt.time()
        except ValueError:
            clock = dt.time()
        return dt.datetime.combine(day, clock)
    return None


def _metadata(root) -> dict[str, str]:
    meta: dict[str, str] = {}
    patient = X.child(root, "PatientDemographics")
    last, first = X.text(patient, "PatientLastName"), X.text(patient, "PatientFirstName")
    if last or first:
        meta["patient name"] = ", ".join(p for p in (last, first) if p)
    age = X.text(patient, "PatientAge")
    if age:
        meta["age"] = f"{age} {X.text(patient, 'AgeUnits').lower()}".strip()
    for tag, key in _PATIENT.items():
        if value := X.text(patient, tag):
            meta[key] = value
    test = X.child(root, "TestDemographics")
    for tag, key in _TEST.items():
        if value := X.text(test, tag):
            meta[key] = value
    if version := X.text(root, "MuseInfo", "MuseVersion"):
        meta["MUSE version"] = version
    statements = [X.text(s, "StmtText") for s in X.children(X.child(root, "Diagnosis"), "DiagnosisStatement")]
    if statements := [s for s in statements if s]:
        meta["device interpretation"] = " ".join(statements)
    return meta


def _measurements(root, meta: dict[str, str]):
    block = X.child(root, "RestingECGMeasurements")
    if block is None:
        return None
    values = {key: X.number(X.text(block, tag)) for tag, key in _MEASUREMENTS.items()}
    rr = X.number(X.text(root, "QRSTimesTypes", "GlobalRR"))
    if rr is None and values.get("hr_bpm"):
        rr = 60000.0 / values["hr_bpm"]
    values["rr_ms"] = rr
    software = meta.get("analysis software (12SL)")
    source = "GE MUSE (12SL" + (f" v{software}" if software else "") + ")"
    return vendor_measurements(source, values)


def _waveform(path: Path, root, kind: str):
    available = {X.text(w, "WaveformType").lower(): w for w in X.children(root, "Waveform")}
    if not available:
        raise EcgReadError(path, "GE MUSE XML without a <Waveform> block")
    if kind not in available:
        raise EcgReadError(path, f"no {kind} waveform in the file (has: {', '.join(sorted(available))})")
    return available[kind], sorted(available)


def read_muse(path: Path, waveform: str = "rhythm", **_options) -> EcgRecord:
    """Read a GE MUSE XML file; ``waveform`` is ``"rhythm"`` (default) or ``"median"``."""
    root = X.parse_xml(path)
    if X.local(root.tag) != "RestingECG":
        raise EcgReadError(path, f"root element is <{X.local(root.tag)}>, not <RestingECG>")
    wave, kinds = _waveform(path, root, waveform.lower())
    base = X.number(X.text(wave, "SampleBase"))
    exponent = X.number(X.text(wave, "SampleExponent")) or 0.0
    if base is None or base <= 0 or not -3 <= exponent <= 3:
        raise EcgReadError(path, "missing or invalid <SampleBase> (sampling rate)")
    fs = base * 10.0**exponent
    file_size = path.stat().st_size
    raw_names, arrays, warnings = [], [], []
    for lead in X.children(wave, "LeadData"):
        name = X.text(lead, "LeadID")
        declared = X.number(X.text(lead, "LeadSampleCountTotal"))
        sample_size = X.number(X.text(lead, "LeadSampleSize")) or 2
        if sample_size != 2:
            raise EcgReadError(path, f"lead {name}: {sample_size:g}-byte samples are not supported (only 2)")
        if declared is not None:
            check_declared_size(path, int(declared))
            if declared * 2 > file_size:
                raise EcgReadError(
                    path, f"lead {name} declares {declared:,.0f} samples, more than the file can hold"
                )
        samples = X.b64_int16(path, X.text(lead, "WaveFormData"), f"lead {name}")
        if declared is not None and len(samples) != int(declared):
            warnings.append(f"lead {name}: {len(samples)} samples stored, {declared:.0f} declared")
            samples = samples[: int(declared)]
        per_bit = X.number(X.text(lead, "LeadAmplitudeUnitsPerBit"))
        unit = X.text(lead, "LeadAmplitudeUnits").upper() or "MICROVOLTS"
        if unit not in _UNITS_TO_MV:
            raise EcgReadError(path, f"lead {name}: unknown amplitude unit {unit!r}")
        if per_bit is None or per_bit <= 0:
            raise EcgReadError(path, f"lead {name}: missing or invalid <LeadAmplitudeUnitsPerBit>")
        raw_names.append(name or f"ch{len(raw_names) + 1}")
        arrays.append(samples.astype(np.float32) * np.float32(per_bit * _UNITS_TO_MV[unit]))
    if not arrays:
        raise EcgReadError(path, f"the {waveform} waveform holds no <LeadData>")
    signals = stack_leads(path, arrays, warnings)
    names = unique_lead_names(raw_names)
    meta = _metadata(root)
    names_metadata(raw_names, names, meta)
    meta["waveform"] = waveform.lower()
    others = [k for k in kinds if k != waveform.lower()]
    if others:
        meta["other waveforms in file"] = ", ".join(others) + " (read with waveform=...)"
    return EcgRecord(
        signals=signals,
        fs_hz=fs,
        lead_names=tuple(names),
        units=("mV",) * len(names),
        start_time=_start_time(X.child(root, "TestDemographics")),
        metadata=meta,
        source_path=path,
        format_name="GE MUSE XML",
        warnings=tuple(warnings),
        vendor_measurements=_measurements(root, meta),
    )


READER = register_reader(
    Reader(
        name="muse-xml",
        description="GE MUSE XML (RestingECG)",
        extensions=(".xml",),
        sniff=_sniff,
        read=read_muse,
    )
)
