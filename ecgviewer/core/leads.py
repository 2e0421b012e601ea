"""Standard lead names, name normalisation and the 8 -> 12 lead derivation.

Einthoven's and Goldberger's relations give the four limb leads that carts do
not store (III, aVR, aVL, aVF) from the two that they do (I, II)::

    III = II - I
    aVR = -(I + II) / 2
    aVL = I - II / 2
    aVF = II - I / 2

Derived leads are computed on demand (see :meth:`EcgRecord.lead`) and never
stored next to the recorded ones.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord

#: The 12 standard leads in the conventional printing order.
STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

#: The 8 independent leads a cart records (the interval models' input order).
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

#: Leads that can be derived from I and II, with their coefficients on (I, II).
DERIVED_LIMB_LEADS: dict[str, tuple[float, float]] = {
    "III": (-1.0, 1.0),
    "aVR": (-0.5, -0.5),
    "aVL": (1.0, -0.5),
    "aVF": (-0.5, 1.0),
}

_ALIASES: dict[str, str] = {
    "MLI": "I",
    "MLII": "II",
    "MLIII": "III",
    "D1": "I",
    "D2": "II",
    "D3": "III",
    "DI": "I",
    "DII": "II",
    "DIII": "III",
    "LEADI": "I",
    "LEADII": "II",
    "LEADIII": "III",
}
_CANONICAL = {name.upper(): name for name in STANDARD_LEADS}
#: Prefixes stripped before matching (after spaces, "_" and "-" are removed and the name is upper-cased).
_PREFIXES: tuple[str, ...] = ("MDCECGLEAD", "ECG", "EKG", "LEAD")


def normalize_lead_name(name: str) -> str:
    """Return the standard spelling of a lead name, or the stripped name if unknown.

    ``"i"``, ``"LEAD I"``, ``"MLII"``, ``"AVR"``, ``"v1"``, ``"V-1"``, ``"ECG V1"``,
    ``"EKG aVL"``, ``"Lead I (Einthoven)"`` and ``"MDC_ECG_LEAD_AVF"`` map to ``I``, ``I``,
    ``II``, ``aVR``, ``V1``, ``V1``, ``V1``, ``aVL``, ``I`` and ``aVF``.
    Names that are not one of the 12 standard leads (``"PLETH"``, ``"vx"``) are
    returned stripped but otherwise unchanged.
    """
    raw = name.strip()
    # "Lead I (Einthoven)" (DICOM), "MDC_ECG_LEAD_AVR" (HL7 aECG), "EKG aVL" (EDF), "ECG V1"
    key = re.sub(r"[\s_\-]+", "", re.sub(r"\(.*?\)", "", raw)).upper()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, stripped = key[len(prefix) :], True
    if key in _CANONICAL:
        return _CANONICAL[key]
    if key in _ALIASES:
        return _ALIASES[key]
    return raw


def derive_limb_lead(name: str, lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    """Compute a derived limb lead (III, aVR, aVL or aVF) from leads I and II."""
    try:
        a, b = DERIVED_LIMB_LEADS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a lead derivable from I and II") from None
    return a * lead_i + b * lead_ii


def beat_lead(rec: EcgRecord | LongRecord) -> str:
    """The lead beats are detected and classified on, and that long-term pages fold: II (MIT-BIH
    MLII) when recorded, else the first channel in mV, else the first channel."""
    if rec.is_recorded("II"):
        return "II"
    for name, unit in zip(rec.lead_names, rec.units):
        if unit == "mV":
            return name
    if not rec.lead_names:
        raise ValueError("the record has no channels")
    return rec.lead_names[0]


def second_beat_lead(rec: EcgRecord | LongRecord, first: str | None = None) -> str | None:
    """The second lead a two-lead beat classifier reads beside :func:`beat_lead`: V1 when recorded
    (the MIT-BIH records' usual second channel, where P waves and the QRS of ventricular beats
    look most unlike the limb leads), else the first other recorded channel in mV; None when the
    record has no other such channel."""
    first = first or beat_lead(rec)
    if first != "V1" and rec.is_recorded("V1"):
        return "V1"
    for name, unit in zip(rec.lead_names, rec.units):
        if name != first and unit == "mV":
            return name
    return None
