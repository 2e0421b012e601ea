"""What the long-term view runs on worker threads (no Qt, no widgets).

- :func:`open_long`: a long record opened by :func:`ecgviewer.gui.jobs.open_job`
  (a :class:`~ecgviewer.core.long_record.LongRecord`, header only) plus, for the
  first paint, the first page's samples and the cached pyramid when there is one.
- :func:`page_job`: samples of paper pages and min/max envelope tiles of strip
  pages; the first request is the page shown, the rest are prefetched
  neighbours. Each result is reported through ``job.progress`` as soon as it is
  ready, so a newer request (which cancels this one) never waits for the prefetches.
- :func:`pyramid_job` and :func:`beat_pass_job`: the background passes over the
  whole record, with progress and cancellation.

The core is imported inside the functions (on the worker thread), as in
:mod:`ecgviewer.gui.jobs`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.leads import beat_lead
from ecgviewer.gui.jobs import FiltersHz, filtered_record

if TYPE_CHECKING:
    from ecgviewer.core.beat_pass import BeatPassResult
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.pyramid import MinMaxPyramid
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.workers import Job

#: Seconds read on each side of a paper page so the display filters settle before the page starts.
FILTER_PAD_S = 3.0
#: Paper pages longer than 10 s show the rhythm lead folded into lines of this many seconds.
FOLD_LINE_S = 10.0


@dataclass(frozen=True)
class PaperRequest:
    """Samples ``[start, stop)`` for ECG paper, with the display filters in force."""

    start: int
    stop: int
    filters: FiltersHz


@dataclass(frozen=True)
class PaperPage:
    """A paper page: the samples as read and as drawn (display filters applied)."""

    request: PaperRequest
    record: EcgRecord
    display: EcgRecord


@dataclass(frozen=True)
class TileRequest:
    """Min/max envelopes of ``leads`` over tile ``index`` (``tile_length`` samples) in ``n_bins`` bins.

    ``with_pyramid`` is part of the key only so that tiles computed before the
    pyramid was ready are replaced once it is (the values agree; the bins may not).
    """

    index: int
    tile_length: int
    n_bins: int
    leads: tuple[str, ...]
    with_pyramid: bool


@dataclass(frozen=True)
class Tile:
    """Envelopes of one tile: ``t_s`` (n,), ``lo``/``hi`` (n_leads, n) in the leads' units."""

    request: TileRequest
    start: int
    stop: int
    t_s: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class LongOpened:
    """A long record opened for the long-term view."""

    path: Path
    record: LongRecord
    pyramid: MinMaxPyramid | None
    first_page: PaperPage
    open_s: float


def crop(record: EcgRecord, start: int, stop: int) -> EcgRecord:
    """Samples ``[start, stop)`` of an in-memory record, ``start_time`` shifted to match."""
    import datetime as dt

    start_time = record.start_time
    if start_time is not None:
        start_time = start_time + dt.timedelta(seconds=start / record.fs_hz)
    return replace(record, signals=record.signals[:, start:stop], start_time=start_time)


def read_paper_page(rec: LongRecord, request: PaperRequest, job: Job | None = None) -> PaperPage:
    """Read a paper page; the filters run on a padded span so they have settled at the page edges."""
    if all(f is None for f in request.filters):
        record = rec.read(request.start, request.stop)
        return PaperPage(request, record, record)
    pad = round(FILTER_PAD_S * rec.fs_hz)
    lo = max(0, request.start - pad)
    padded = rec.read(lo, request.stop + pad)
    a = request.start - lo
    b = a + (min(request.stop, rec.n_samples) - request.start)
    shown = filtered_record(padded, request.filters, None if job is None else (lambda: job.cancelled))
    return PaperPage(request, crop(padded, a, b), crop(shown, a, b))


#: The folded pages show the lead the beats are detected on (core.leads is numpy-only, no scipy).
rhythm_lead = beat_lead


def fold_lead(record: EcgRecord, lead: str, line_s: float, names: Sequence[str]) -> EcgRecord:
    """One lead cut into consecutive lines of ``line_s`` seconds, one row ("lead") per line.

    The result is a record whose rows are lines ``0..len(names)-1`` of ``lead``
    (named ``names``; NaN past the end of the record), so the stacked paper
    layout draws a Holter-style page of rhythm strips.
    """
    fs = record.fs_hz
    n_line = max(1, round(line_s * fs))
    x = record.lead(lead)
    out = np.full((len(names), n_line), np.nan, dtype=np.float32)
    flat = out.reshape(-1)
    n = min(x.size, flat.size)
    flat[:n] = x[:n]
    unit = record.unit_of(lead)
    return replace(record, signals=out, lead_names=tuple(names), units=(unit,) * len(names), warnings=())


def read_tile(rec: LongRecord, request: TileRequest, pyramid: MinMaxPyramid | None) -> Tile:
    """The envelopes of one tile (from the pyramid when given, else from raw samples).

    :func:`~ecgviewer.core.pyramid.envelopes` aligns its bins to multiples of their width
    from the record start; a tile keeps the bins that *start* inside it, so neighbouring
    tiles of the same size and bin count fit together without overlap.
    """
    from ecgviewer.core.pyramid import envelopes

    start = request.index * request.tile_length
    stop = min(rec.n_samples, start + request.tile_length)
    n_bins = max(1, min(request.n_bins, stop - start))
    found = envelopes(rec, request.leads, start, stop, n_bins, pyramid)
    envs = [found[name] for name in request.leads]
    if not envs:
        return Tile(
            request, start, stop, np.zeros(0), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        )
    first = envs[0]
    bin_starts = first.first_sample + np.arange(len(first)) * first.bin_samples
    keep = (bin_starts >= start) & (bin_starts < stop)
    lo = np.vstack([np.asarray(e.lo, dtype=np.float32)[keep] for e in envs])
    hi = np.vstack([np.asarray(e.hi, dtype=np.float32)[keep] for e in envs])
    return Tile(request, start, stop, np.asarray(first.t_s, dtype=np.float64)[keep], lo, hi)


def page_job(
    rec: LongRecord,
    pyramid: MinMaxPyramid | None,
    requests: list[PaperRequest | TileRequest],
    job: Job,
) -> int:
    """Compute ``requests`` in order, reporting each result through ``job.progress``.

    Returns the number of results computed (fewer when cancelled).
    """
    done = 0
    for request in requests:
        if job.cancelled:
            break
        if isinstance(request, PaperRequest):
            result: PaperPage | Tile = read_paper_page(rec, request, job)
        else:
            result = read_tile(rec, request, pyramid)
        job.progress(result)
        done += 1
    return done


def open_long(path: Path, rec: LongRecord, filters_hz: FiltersHz, page_s: float, t0: float, job: Job):
    """The :class:`LongOpened` of an opened long record: its cached pyramid and first page.

    Called by :func:`ecgviewer.gui.jobs.open_job` (on the worker thread); ``t0`` is
    when the opening started (``time.perf_counter()``).
    """
    from ecgviewer.core.pyramid import MinMaxPyramid

    pyramid = MinMaxPyramid.load_cached(rec)
    stop = min(rec.n_samples, round(page_s * rec.fs_hz))
    first = read_paper_page(rec, PaperRequest(0, stop, filters_hz), job)
    return LongOpened(path, rec, pyramid, first, time.perf_counter() - t0)


def pyramid_job(rec: LongRecord, job: Job) -> MinMaxPyramid | None:
    """Build (or load) the min/max pyramid of ``rec``; None when cancelled."""
    from ecgviewer.core.pyramid import MinMaxPyramid

    def progress(done: int, total: int) -> None:
        job.progress(done / total if total else 1.0)

    return MinMaxPyramid.build(rec, progress=progress, cancelled=lambda: job.cancelled)


@dataclass(frozen=True)
class BeatPassOutcome:
    """What the beat pass gives the window: the result, how long it took, and a note when the
    classifier could not be used (then the beats are detected but not classified)."""

    result: BeatPassResult
    seconds: float
    note: str = ""


def beat_pass_job(
    rec: LongRecord, job: Job, in_child: bool = False, delineate: bool = True
) -> BeatPassOutcome | None:
    """Detect and classify every beat of ``rec`` (``run_beat_pass``); None when cancelled.

    With ``delineate`` the pass also measures every beat's QT, PR and QRS (the QT/QTc trend).

    Progress is reported as a fraction in 0..1. When the bundled classifier
    cannot be loaded the pass runs as detection only and says why. With
    ``in_child`` (and a record a child process can reopen from its file) the pass
    runs in a child process (:func:`ecgviewer.gui.model_process.run_beat_pass_in_child`):
    torch, the beat network and the pass's buffers never enter the viewer's memory,
    and cancelling kills the child.
    """
    from ecgviewer.gui import model_process

    if in_child and model_process.can_reopen(rec):
        found = model_process.run_beat_pass_in_child(rec, job.progress, lambda: job.cancelled, delineate)
    else:
        found = model_process.beat_pass(rec, job.progress, lambda: job.cancelled, delineate)
    if found is None or job.cancelled:
        return None
    result, seconds, note = found
    return BeatPassOutcome(result, seconds, note)


def long_record_info(rec: LongRecord) -> dict:
    """:func:`ecgviewer.core.info.describe` of a long record (header facts; no samples are read)."""
    from ecgviewer.core.info import describe

    info = describe(rec.read(0, 0))
    info["n_samples"] = rec.n_samples
    info["duration_s"] = round(rec.duration_s, 3)
    return info
