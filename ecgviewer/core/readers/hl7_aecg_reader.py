"""HL7 v3 annotated ECG (aECG, the FDA's XML format for ECGs in clinical trials).

The rhythm series (``<series>`` with code ``RHYTHM``) holds a ``<sequenceSet>``: one
time sequence (``GLIST_TS``/``GLIST_PQ``: ``head`` and ``increment``, from which the
sampling rate follows) and one ``SLIST_PQ`` sequence per lead (``origin`` + ``scale`` x
``digits``, in the units the file names), returned in mV. Lead codes
(``MDC_ECG_LEAD_I`` ... ``MDC_ECG_LEAD_V6``) are normalised to the standard names.
``waveform="median"`` reads the representative beat (``derivedSeries`` with code
``REPRESENTATIVE_BEAT``) instead.

Global annotations with a physical quantity (``MDC_ECG_HEART_RATE``,
``MDC_ECG_TIME_PD_RR``/``PR``/``QRS``/``QT``/``QTc``, ``MDC_ECG_ANGLE_P``/``QRS``/``T_FRONT``)
become the vendor measurements: the least nested annotation of each kind, the median
when there are several at that level (per-beat values).

Not supported: more than one sequence set per series (the first is read, with a
warning), compressed or encapsulated digits, and per-lead annotations.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers import xml_common as X
from ecgviewer.core.readers.common import names_metadata, stack_leads, unique_lead_names, vendor_measurements
from ecgviewer.core.readers.registry import Reader, register_reader
from ecgviewer.core.record import EcgRecord, millivolt_factor

_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_ANNOTATIONS = {
    "MDC_ECG_HEART_RATE": "hr_bpm",
    "MDC_ECG_TIME_PD_RR": "rr_ms",
    "MDC_ECG_TIME_PD_PR": "pr_ms",
    "MDC_ECG_TIME_PD_QRS": "qrs_ms",
    "MDC_ECG_TIME_PD_QT": "qt_ms",
    "MDC_ECG_TIME_PD_QTC": "qtc_ms",
    "MDC_ECG_ANGLE_P_FRONT": "p_axis_deg",
    "MDC_ECG_ANGLE_QRS_FRONT": "qrs_axis_deg",
    "MDC_ECG_ANGLE_T_FRONT": "t_axis_deg",
}
_SEX = {"M": "male", "F": "female", "UN": "unknown"}


def _sniff(path: Path, head: bytes) -> bool:
    text = X.head_text(head)
    return "<AnnotatedECG" in text or ("urn:hl7-org:v3" in text and "AnnotatedECG" in text)


def _code(elem) -> str:
    c = X.child(elem, "code")
    return (c.get("code", "") if c is not None else "").strip()


def _hl7_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    digits = value.split("+")[0].split("-")[0]
    main, _, frac = digits.partition(".")
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        try:
            t = dt.datetime.strptime(main, fmt)
        except ValueError:
            continue
        if frac.isdigit():
            t += dt.timedelta(seconds=float("0." + frac))
        return t
    return None


def _series(path: Path, root, waveform: str):
    rhythm = [s for s in X.descendants(root, "series") if _code(s) in ("RHYTHM", "")]
    if not rhythm:
        raise EcgReadError(path, "no rhythm <series> in the aECG file")
    if waveform == "rhythm":
        return rhythm[0]
    for derived in X.descendants(root, "derivedSeries"):
        if _code(derived) == "REPRESENTATIVE_BEAT":
            return derived
    raise EcgReadError(path, "no representative beat (derivedSeries REPRESENTATIVE_BEAT) in the file")


def _read_sequences(path: Path, series, warnings: list[str]):
    sets = [s for c in X.children(series, "component") for s in X.children(c, "sequenceSet")]
    if not sets:
        raise EcgReadError(path, "the series holds no <sequenceSet>")
    if len(sets) > 1:
        warnings.append(f"{len(sets)} sequence sets in the series; the first is shown")
    fs = None
    raw_names, arrays = [], []
    file_size = path.stat().st_size
    for comp in X.children(sets[0], "component"):
        seq = X.child(comp, "sequence")
        if seq is None:
            continue
        code = _code(seq)
        value = X.child(seq, "value")
        if value is None:
            continue
        if code.startswith("TIME_"):
            inc = X.child(value, "increment")
            step = X.number(inc.get("value")) if inc is not None else None
            unit = (inc.get("unit", "s") if inc is not None else "s").strip()
            if step is None or step <= 0 or unit not in _SECONDS:
                raise EcgReadError(path, "time sequence without a valid increment")
            fs = 1.0 / (step * _SECONDS[unit])
            continue
        digits_el = X.child(value, "digits")
        if digits_el is None:
            continue
        scale_el, origin_el = X.child(value, "scale"), X.child(value, "origin")
        scale = X.number(scale_el.get("value")) if scale_el is not None else 1.0
        unit = scale_el.get("unit", "uV") if scale_el is not None else "uV"
        origin = X.number(origin_el.get("value")) if origin_el is not None else 0.0
        factor = millivolt_factor(unit)
        if scale is None or factor is None or origin is None:
            raise EcgReadError(path, f"lead {code}: scale or origin missing or not a voltage ({unit!r})")
        text = digits_el.text or ""
        if len(text) > file_size:  # cannot happen for a parsed file; keeps allocation tied to the file
            raise EcgReadError(path, "digits longer than the file")
        digits = np.array(text.split(), dtype=np.float64)
        raw_names.append(code or f"ch{len(raw_names) + 1}")
        arrays.append(((origin + scale * digits) * factor).astype(np.float32))
    if fs is None:
        raise EcgReadError(path, "no time sequence (sampling interval) in the sequence set")
    if not arrays:
        raise EcgReadError(path, "no lead sequences with digits")
    return fs, raw_names, arrays


def _depth_values(root) -> dict[str, float]:
    found: dict[str, list[tuple[int, float]]] = {}

    def walk(elem, depth: int) -> None:
        for c in elem:
            if X.local(c.tag) == "annotation":
                key = _ANNOTATIONS.get(_code(c).upper())
                value = X.child(c, "value")
                if key and value is not None:
                    v = X.number(value.get("value"))
                    unit = value.get("unit", "").strip()
                    if v is not None and key.endswith("_ms") and unit in _SECONDS:
                        v = v * _SECONDS[unit] * 1000.0
                    if v is not None:
                        found.setdefault(key, []).append((depth, v))
                walk(c, depth + 1)
            else:
                walk(c, depth)

    walk(root, 0)
    out = {}
    for key, items in found.items():
        top = min(d for d, _ in items)
        out[key] = float(np.median([v for d, v in items if d == top]))
    return out


def _metadata(root, series) -> dict[str, str]:
    meta: dict[str, str] = {}
    subject = X.first(root, "trialSubject")
    person = X.first(subject, "subjectDemographicPerson")
    sid = X.child(subject, "id")
    if sid is not None and sid.get("extension"):
        meta["patient id"] = sid.get("extension", "")
    elif pid := X.text(person, "PatientID"):
        meta["patient id"] = pid
    if name := X.text(person, "name"):
        meta["patient name"] = name
    gender = X.child(person, "administrativeGenderCode")
    if gender is not None and gender.get("code"):
        meta["sex"] = _SEX.get(gender.get("code", ""), gender.get("code", ""))
    birth = X.child(person, "birthTime")
    if birth is not None and birth.get("value"):
        meta["birth date"] = birth.get("value", "")
    race = X.child(person, "raceCode")
    if race is not None and (race.get("displayName") or race.get("code")):
        meta["race"] = race.get("displayName") or race.get("code", "")
    device = X.first(series, "manufacturedSeriesDevice")
    maker = X.text(X.first(series, "manufacturerOrganization"), "name")
    model = X.text(device, "manufacturerModelName")
    if model or maker:
        meta["device"] = " ".join(p for p in (maker, model) if p)
    if trial := X.text(X.first(root, "clinicalTrial"), "title"):
        meta["trial"] = trial
    return meta


def read_aecg(path: Path, waveform: str = "rhythm", **_options) -> EcgRecord:
    """Read an HL7 aECG file; ``waveform`` is ``"rhythm"`` (default) or ``"median"``."""
    kind = waveform.lower()
    if kind not in ("rhythm", "median"):
        raise EcgReadError(path, f"unknown waveform {waveform!r} (rhythm or median)")
    root = X.parse_xml(path)
    if X.local(root.tag) != "AnnotatedECG":
        raise EcgReadError(path, f"root element is <{X.local(root.tag)}>, not <AnnotatedECG>")
    warnings: list[str] = []
    series = _series(path, root, kind)
    fs, raw_names, arrays = _read_sequences(path, series, warnings)
    signals = stack_leads(path, arrays, warnings)
    names = unique_lead_names(raw_names)
    rhythm = _series(path, root, "rhythm")
    meta = _metadata(root, rhythm)
    names_metadata(raw_names, names, meta)
    meta["waveform"] = kind
    low = X.first(X.child(rhythm, "effectiveTime"), "low")
    if low is None:
        low = X.first(X.child(root, "effectiveTime"), "center")
    model = meta.get("device", "device")
    return EcgRecord(
        signals=signals,
        fs_hz=fs,
        lead_names=tuple(names),
        units=("mV",) * len(names),
        start_time=_hl7_time(low.get("value") if low is not None else None),
        metadata=meta,
        source_path=path,
        format_name="HL7 aECG",
        warnings=tuple(warnings),
        vendor_measurements=vendor_measurements(f"HL7 aECG annotations ({model})", _depth_values(root)),
    )


READER = register_reader(
    Reader(
        name="hl7-aecg",
        description="HL7 aECG (FDA annotated ECG XML)",
        extensions=(".xml",),
        sniff=_sniff,
        read=read_aecg,
    )
)
