"""Helpers shared by the readers: units, lead names, metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.record import millivolt_factor


def to_millivolts(signals: np.ndarray, units: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Scale every voltage channel to mV in place; other channels keep their unit."""
    out_units = []
    for i, unit in enumerate(units):
        factor = millivolt_factor(unit)
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
