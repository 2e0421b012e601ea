"""Functions the viewer runs on worker threads (no Qt, no widgets).

The core (readers, scipy filters) is imported inside the functions, on the
worker thread, so that start-up stays fast.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

from ecgviewer.core.filters import FiltersHz, filtered_record

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.workers import Job

#: Records with more values than this (leads x samples) are filtered on a worker thread.
BACKGROUND_FILTER_VALUES = 400_000


_FROZEN = False


def _freeze_imported_objects() -> None:
    """Move the objects created by the reader imports out of the garbage collector's sight.

    The first read imports wfdb, pandas and scipy (hundreds of thousands of
    objects); without this, the next full collection -- typically while the
    first record is being drawn -- would stall the GUI thread for ~100 ms.
    """
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.freeze()


def needs_background(record: EcgRecord) -> bool:
    """True when filtering ``record`` could freeze the window noticeably."""
    return record.signals.size > BACKGROUND_FILTER_VALUES


def load_job(path: Path, filters_hz: FiltersHz, job: Job) -> tuple[EcgRecord, FiltersHz, EcgRecord] | None:
    """Read ``path`` and filter it for display: ``(record, filters_hz, display_record)``.

    Raises
    ------
    EcgReadError
        When the file cannot be read.
    """
    from ecgviewer.core.readers import read_record

    record = read_record(path)
    _freeze_imported_objects()
    if job.cancelled:
        return None
    return record, filters_hz, filtered_record(record, filters_hz, lambda: job.cancelled)


def filter_job(record: EcgRecord, filters_hz: FiltersHz, job: Job) -> tuple[EcgRecord, FiltersHz, EcgRecord]:
    """Filter ``record`` for display: ``(record, filters_hz, display_record)``."""
    return record, filters_hz, filtered_record(record, filters_hz, lambda: job.cancelled)
