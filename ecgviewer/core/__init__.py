"""Qt-free and torch-free ECG domain: the record, leads, readers, filters, measurement.

Names are imported on first use (PEP 562), so ``import ecgviewer.core.filters``
or ``from ecgviewer.core import STANDARD_LEADS`` does not pull in scipy, wfdb
or pandas; the viewer's start-up stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EcgReadError": "ecgviewer.core.errors",
    "FilterSettings": "ecgviewer.core.filters",
    "apply_filters": "ecgviewer.core.filters",
    "filtered_record": "ecgviewer.core.filters",
    "INDEPENDENT_LEADS": "ecgviewer.core.leads",
    "STANDARD_LEADS": "ecgviewer.core.leads",
    "normalize_lead_name": "ecgviewer.core.leads",
    "read_record": "ecgviewer.core.readers",
    "open_long_record": "ecgviewer.core.readers.registry",
    "LongRecord": "ecgviewer.core.long_record",
    "readers": "ecgviewer.core.readers",
    "EcgRecord": "ecgviewer.core.record",
    "resample_record": "ecgviewer.core.resample",
}
__all__ = [
    "INDEPENDENT_LEADS",
    "STANDARD_LEADS",
    "EcgReadError",
    "EcgRecord",
    "FilterSettings",
    "LongRecord",
    "apply_filters",
    "filtered_record",
    "normalize_lead_name",
    "open_long_record",
    "read_record",
    "readers",
    "resample_record",
]

if TYPE_CHECKING:
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.filters import FilterSettings, apply_filters, filtered_record
    from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS, normalize_lead_name
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.readers import read_record, readers
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.core.resample import resample_record


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ecgviewer.core' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
