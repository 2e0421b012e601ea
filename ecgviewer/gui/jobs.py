"""Functions the viewer runs on worker threads (no Qt, no widgets).

The core (readers, scipy filters) is imported inside the functions, on the
worker thread, so that start-up stays fast.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from ecgviewer.core.filters import FiltersHz, filtered_record

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.longterm.jobs import LongOpened
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


@dataclass(frozen=True)
class ShortOpened:
    """A record read whole (shorter than the long-term threshold): as read and as drawn."""

    path: Path | None
    record: EcgRecord
    filters: FiltersHz
    display: EcgRecord


#: What :func:`open_job` returns: a short record read whole, or a long one opened lazily
#: (:class:`~ecgviewer.gui.longterm.jobs.LongOpened`).
Opened = Union[ShortOpened, "LongOpened"]


def open_job(path: Path, filters_hz: FiltersHz, min_long_s: float, page_s: float, job: Job) -> Opened | None:
    """Open ``path`` once and say what it is.

    The file is opened with :func:`ecgviewer.core.opening.open_record`, the reading
    path of ``ecgviewer info``/``convert``/``analyze`` (so the viewer refuses what they
    refuse, with the same message). Formats that can be read lazily are opened on
    their header; a record shorter than ``min_long_s`` then has its samples read from
    that same open file (a :class:`ShortOpened`), a longer one stays on disk and becomes a
    :class:`~ecgviewer.gui.longterm.jobs.LongOpened` (first page read, cached
    pyramid loaded). Other formats are read whole once and wrapped when long.
    None when cancelled.

    Raises
    ------
    EcgReadError
        When the file cannot be opened.
    """
    from ecgviewer.core.opening import open_record

    t0 = time.perf_counter()
    path = Path(path)
    # the one reading path of the CLI too: the same files are refused, with the same messages
    rec = open_record(path)
    _freeze_imported_objects()
    if rec.duration_s < min_long_s:
        try:
            record = rec.read_all()
        finally:
            rec.close()
        return _short(path, record, filters_hz, job)
    if job.cancelled:
        return None
    from ecgviewer.gui.longterm.jobs import open_long

    return open_long(path, rec, filters_hz, page_s, t0, job)


def _short(path: Path, record: EcgRecord, filters_hz: FiltersHz, job: Job) -> ShortOpened | None:
    """The :class:`ShortOpened` of a record read whole (None when cancelled)."""
    if job.cancelled:
        return None
    return ShortOpened(path, record, filters_hz, filtered_record(record, filters_hz, lambda: job.cancelled))


def filter_job(record: EcgRecord, filters_hz: FiltersHz, job: Job) -> tuple[EcgRecord, FiltersHz, EcgRecord]:
    """Filter ``record`` for display: ``(record, filters_hz, display_record)``."""
    return record, filters_hz, filtered_record(record, filters_hz, lambda: job.cancelled)
