"""Wave boundaries of every beat of a long record, chunk by chunk: the QT/QTc trend of a Holter.

:func:`delineate_beats` runs a :class:`~ecgviewer.inference.delineation.Delineator` over
the record in chunks of :data:`CHUNK_S` seconds (read with :data:`CONTEXT_S` seconds on
each side, so every beat has its P wave and T-wave end in view), on the leads of
:func:`trend_leads` (the beat lead and at most one more: a 12-lead Holter costs what a
2-lead one does). Each chunk's per-sample labels become the boundaries of the pass's own
beats (R peaks: :func:`ecgviewer.core.delineation.delineation_from_labels`), whose
consensus over the leads gives per-beat QT, PR and QRS; only those three float32 numbers
per beat are kept (never a probability or label array beyond one chunk), and
:class:`~ecgviewer.core.interval_trend.IntervalTrend` makes the per-minute and per-hour
trend of them.

``sample=(on_s, every_s)`` delineates only ``on_s`` seconds of every ``every_s`` (e.g.
10 s of every 30 s) when the whole record would take too long; by default every beat is
delineated (a 24 h 2-lead Holter in about a minute on one CPU core: ``docs/benchmarks.md``).

Torch runs on :data:`THREADS` CPU thread(s) during the pass (as the beat classifier: more
threads gain little on an idle machine and cost much on a busy one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.beat_pass import chunk_spans
from ecgviewer.core.delineation import delineation_from_labels, labels_from_probabilities
from ecgviewer.core.interval_trend import IntervalTrend
from ecgviewer.core.leads import beat_lead
from ecgviewer.inference.errors import PredictionCancelled, PredictionError

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.inference.delineation import Delineator

#: Seconds of beats delineated at once, and the context read on each side of them.
CHUNK_S = 120.0
CONTEXT_S = 2.0
#: Leads delineated: the beat lead and at most this many in all.
MAX_LEADS = 2
#: Second leads preferred after the beat lead (the first of these recorded is taken; else the
#: next recorded lead in mV): V5 and the lateral leads show the T wave best.
SECOND_LEADS: tuple[str, ...] = ("V5", "V6", "V4", "V2", "V3", "V1", "I", "II", "III", "aVF", "aVL")
#: CPU threads of torch during the pass.
THREADS = 1

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def trend_leads(rec: LongRecord, max_leads: int = MAX_LEADS) -> tuple[str, ...]:
    """The recorded mV leads to delineate: :func:`~ecgviewer.core.leads.beat_lead` first, then the
    first of :data:`SECOND_LEADS` recorded, then the other recorded mV leads, ``max_leads`` in all."""
    recorded = [n for n, u in zip(rec.lead_names, rec.units) if u == "mV"]
    first = beat_lead(rec)
    if first not in recorded:
        if not recorded:
            return ()
        first = recorded[0]
    ordered = [first] + [n for n in SECOND_LEADS if n in recorded] + recorded
    out: list[str] = []
    for name in ordered:
        if name not in out:
            out.append(name)
    return tuple(out[: max(1, max_leads)])


@contextmanager
def cpu_threads(n: int | None, device: str | None) -> Iterator[None]:
    """Torch on ``n`` CPU threads inside the block (restored after; nothing on other devices)."""
    import torch

    if n is None or not str(device or "cpu").startswith("cpu"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sampled_spans(
    n_samples: int, fs_hz: float, chunk_s: float, sample: tuple[float, float] | None
) -> list[tuple[int, int]]:
    """The ``[start, stop)`` spans whose beats are delineated: consecutive chunks, or ``on_s`` of every
    ``every_s`` seconds (``sample``)."""
    if sample is None:
        return chunk_spans(n_samples, fs_hz, chunk_s)
    on_s, every_s = sample
    if not 0 < on_s <= every_s:
        raise ValueError("sample must be (on_s, every_s) with 0 < on_s <= every_s")
    step, on = round(every_s * fs_hz), round(on_s * fs_hz)
    return [(s, min(s + on, n_samples)) for s in range(0, n_samples, step)]


def delineate_beats(
    rec: LongRecord,
    r_peaks: np.ndarray,
    labels: np.ndarray,
    delineator: Delineator,
    *,
    leads: Sequence[str] | None = None,
    chunk_s: float = CHUNK_S,
    sample: tuple[float, float] | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> IntervalTrend | None:
    """Per-beat QT, PR and QRS of the beats at ``r_peaks`` (classes ``labels``) and their trend.

    Parameters
    ----------
    rec
        The record (read chunk by chunk).
    r_peaks, labels
        The beat pass's beats and classes (the trend counts normal beats only).
    delineator
        The delineation network.
    leads
        Leads to delineate (default :func:`trend_leads`).
    chunk_s, sample
        Chunk length; ``(on_s, every_s)`` to delineate only part of the record.
    progress
        ``progress(done_samples, n_samples)`` after each chunk.
    cancelled
        Polled before each chunk and between network batches.

    Returns
    -------
    IntervalTrend or None
        None when cancelled.

    Raises
    ------
    PredictionError
        No lead in mV to delineate.
    """
    t0 = time.perf_counter()
    names = tuple(leads) if leads is not None else trend_leads(rec)
    if not names:
        raise PredictionError(f"no lead in mV to delineate (record has {', '.join(rec.lead_names)})")
    delineator.load()
    r = np.asarray(r_peaks, dtype=np.int64)
    fs, n = rec.fs_hz, rec.n_samples
    qt, pr, qrs = (np.full(r.size, np.nan, dtype=np.float32) for _ in range(3))
    done = np.zeros(r.size, dtype=bool)
    pad = round(CONTEXT_S * fs)
    stop_now = cancelled or (lambda: False)
    with cpu_threads(THREADS, getattr(delineator, "_device", None)):
        for start, stop in sampled_spans(n, fs, chunk_s, sample):
            if stop_now():
                return None
            i0, i1 = (int(i) for i in np.searchsorted(r, [start, stop]))
            if i1 > i0:
                a, b = max(0, start - pad), min(n, stop + pad)
                chunk = rec.read(a, b)  # one read of every channel (cheaper than one per lead)
                x = chunk.leads_array(names).astype(np.float32, copy=False)
                try:
                    prob = delineator.probabilities(x, fs, should_stop=stop_now)
                except PredictionCancelled:
                    return None
                lab, conf = labels_from_probabilities(prob)
                del prob
                d = delineation_from_labels(lab, fs, names, r[i0:i1] - a, conf, method=delineator.model_name)
                iv = d.beat_intervals()
                qt[i0:i1], pr[i0:i1], qrs[i0:i1] = iv["qt_ms"], iv["pr_ms"], iv["qrs_ms"]
                done[i0:i1] = True
            if progress is not None:
                progress(stop, n)
    if sample is None:
        how = "every beat"
    else:
        how = f"the beats of {sample[0]:g} s of every {sample[1]:g} s"
    return IntervalTrend.from_beats(
        fs,
        r,
        labels,
        qt,
        pr,
        qrs,
        n_samples=n,
        delineated=done,
        leads=names,
        model=delineator.model_name,
        sampling=how,
        elapsed_s=time.perf_counter() - t0,
    )
