"""Qt-free and torch-free ECG domain: the record, leads, readers, filters, measurement."""

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.filters import FilterSettings, apply_filters
from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.readers import read_record, readers
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.resample import resample_record

__all__ = [
    "INDEPENDENT_LEADS",
    "STANDARD_LEADS",
    "EcgReadError",
    "EcgRecord",
    "FilterSettings",
    "apply_filters",
    "normalize_lead_name",
    "read_record",
    "readers",
    "resample_record",
]
