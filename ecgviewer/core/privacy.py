"""Which metadata fields identify the patient, so that outputs show them only when asked.

Readers store patient fields under the keys of :data:`PATIENT_FIELDS` (``"patient name"``,
``"patient id"``, ``"birth date"``, ``"age"``, ``"sex"`` ...). :func:`is_patient_field` also
recognises the free-form keys that come from file comments (e.g. WFDB ``<age>:``), so
``ecgviewer info`` and the report can leave them out unless the user asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Metadata keys the readers use for patient-identifying or demographic fields.
PATIENT_FIELDS: tuple[str, ...] = (
    "patient name",
    "patient id",
    "birth date",
    "age",
    "sex",
    "race",
    "height",
    "weight",
)

_PATIENT_WORDS = re.compile(
    r"\b(patient|subject|name|first ?name|last ?name|surname|birth|dob|age|sex|gender|race|ethnic\w*"
    r"|height|weight|address|phone|mrn|ssn|social security|insurance)\b",
    re.IGNORECASE,
)
#: Keys with one of those words that describe the record, not the person.
_NOT_PATIENT = frozenset({"record name", "file name", "device name", "site name", "institution name"})


def is_patient_field(key: str) -> bool:
    """True when a metadata key names a patient-identifying or demographic field."""
    k = key.strip().lower()
    if k in _NOT_PATIENT:
        return False
    return k in PATIENT_FIELDS or bool(_PATIENT_WORDS.search(k.replace("_", " ")))


def without_patient_fields(metadata: Mapping[str, str]) -> dict[str, str]:
    """The metadata less every patient field."""
    return {k: v for k, v in metadata.items() if not is_patient_field(k)}


def patient_fields(metadata: Mapping[str, str]) -> dict[str, str]:
    """Only the patient fields of the metadata."""
    return {k: v for k, v in metadata.items() if is_patient_field(k)}
