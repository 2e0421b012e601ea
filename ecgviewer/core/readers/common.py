"""Helpers shared by the readers: units, lead names, metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.record import VendorMeasurements, millivolt_factor

_SCALED_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-zµμ]+)\s*$")


def unit_factor(unit: str) -> float | None:
    """Factor from ``unit`` to mV; also for a value per count such as ``"5uV"`` (5 µV per unit)."""
    factor = millivolt_factor(unit)
    if factor is not None:
        return factor
    m = _SCALED_UNIT.match(unit)
    if m and (base := millivolt_factor(m.group(2))) is not None:
        return float(m.group(1)) * base
    return None


def to_millivolts(signals: np.ndarray, units: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Scale every voltage channel to mV in place; other channels keep their unit.

    A unit may carry a step, ``"5uV"`` meaning 5 µV per stored unit (raw ADC counts).
    """
    out_units = []
    for i, unit in enumerate(units):
        factor = unit_factor(unit)
        if factor is None:
            out_units.append(unit)
            continue
        if factor != 1.0:
            signals[i] *= factor
        out_units.append("mV")
    return signals, out_units


def unique_lead_names(names: Iterable[str]) -> list[str]:
    """Normalise lead names and make them unique (``II``, ``II (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = normalize_lead_name(str(raw)) or "ch"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


def default_lead_names(n: int) -> list[str]:
    """Names for a bare array: the 8 independent or 12 standard leads, else ch1..chN."""
    if n == 12:
        return list(STANDARD_LEADS)
    if n == 8:
        return list(INDEPENDENT_LEADS)
    return [f"ch{i + 1}" for i in range(n)]


_KEY_VALUE = re.compile(r"^<?([A-Za-z][\w .\-/()]{0,60}?)>?\s*:\s*(.*)$")
_TAGGED = re.compile(r"<([^<>]{1,60})>\s*:\s*([^<]*)")


def metadata_from_comments(comments: Iterable[str]) -> dict[str, str]:
    """Turn header comment lines into metadata.

    ``<age>: 51 <sex>: F`` (several tagged fields on a line) and ``key: value``
    lines become fields; other lines are joined under ``notes``.
    """
    meta: dict[str, str] = {}
    notes: list[str] = []
    for line in comments:
        text = line.strip().lstrip("#").strip()
        if not text:
            continue
        tagged = _TAGGED.findall(text)
        if tagged and text.startswith("<"):
            meta.update({k.strip(): v.strip() for k, v in tagged if v.strip()})
            continue
        m = _KEY_VALUE.match(text)
        if m:
            if m.group(2).strip():
                meta[m.group(1).strip()] = m.group(2).strip()
        else:
            notes.append(text)
    if notes:
        meta["notes"] = "; ".join(notes)
    return meta


#: Plausible ranges of vendor measurements; values outside (e.g. SCP's 29999 "undefined") are dropped.
_VENDOR_RANGES: dict[str, tuple[float, float]] = {
    "hr_bpm": (10.0, 400.0),
    "rr_ms": (150.0, 6000.0),
    "pr_ms": (20.0, 1000.0),
    "qrs_ms": (20.0, 400.0),
    "qt_ms": (100.0, 1000.0),
    "qtc_ms": (100.0, 1000.0),
    "p_axis_deg": (-180.0, 360.0),
    "qrs_axis_deg": (-180.0, 360.0),
    "t_axis_deg": (-180.0, 360.0),
}


def vendor_measurements(source: str, values: Mapping[str, float | None]) -> VendorMeasurements | None:
    """Measurements a device stored, less missing or implausible values; None when nothing is left."""
    kept = {}
    for key, value in values.items():
        if value is None or not np.isfinite(value):
            continue
        lo, hi = _VENDOR_RANGES[key]
        if lo <= value <= hi:
            kept[key] = float(value)
    return VendorMeasurements(source, kept) if kept else None


def stack_leads(path: Path, leads: Sequence[np.ndarray], warnings: list[str]) -> np.ndarray:
    """Stack per-lead float arrays into ``(n_leads, n_samples)`` float32, cutting to the shortest.

    A length mismatch is said in ``warnings``; fewer than two samples is an error.
    """
    if not leads:
        raise EcgReadError(path, "no leads with samples")
    lengths = {len(x) for x in leads}
    n = min(lengths)
    if n < 2:
        raise EcgReadError(path, "a lead holds fewer than two samples")
    if len(lengths) > 1:
        warnings.append(f"leads differ in length ({min(lengths)}-{max(lengths)} samples); cut to {n}")
    out = np.empty((len(leads), n), dtype=np.float32)
    for i, x in enumerate(leads):
        out[i] = x[:n]
    return out


def names_metadata(raw_names: Sequence[str], names: Sequence[str], metadata: dict[str, str]) -> None:
    """Record the lead names as the file spells them when normalisation changed any."""
    if list(raw_names) != list(names):
        metadata["lead names in file"] = ", ".join(str(n) for n in raw_names)
