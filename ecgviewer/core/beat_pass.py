"""The beat pass over a long record: R peaks, RR series, heart-rate trend, beat classes and events.

Qt-free and torch-free. The classifier that labels the beats lives in
:mod:`ecgviewer.inference.beats` (:func:`~ecgviewer.inference.beats.run_beat_pass`
runs both halves); this module holds what does not need a network:

- :func:`detect_r_peaks_long` runs the classical detector
  :func:`ecgviewer.core.beats.detect_r_peaks` over overlapping chunks of one lead
  (:func:`beat_lead`: II -- the MIT-BIH "MLII" -- when recorded, else the first
  channel in mV). Each chunk of :data:`CHUNK_S` seconds is read with
  :data:`OVERLAP_S` seconds of context on both sides, so the detector's filters and
  adaptive threshold have settled; only the peaks inside the chunk's own span are
  kept, and a peak closer than the refractory time to the previous one (the same
  beat seen by two chunks and refined onto neighbouring samples) is dropped, as are
  peaks in flat or lead-off stretches (:func:`ecgviewer.core.quality.no_signal_spans`). One
  lead is enough: on the 57 annotated MIT-BIH/QTDB records in the shared data the
  first channel alone finds 99.9 % of the reference beats with 99.96 % positive
  predictivity (150 ms tolerance), two leads did not do better.
- :class:`BeatPassResult`: beats, labels (:data:`BEAT_CLASSES`), the RR series,
  heart-rate trend, tachogram, class density per time bin and the event list; with a
  delineation network, also every beat's QT, PR and QRS and their trend
  (:class:`~ecgviewer.core.interval_trend.IntervalTrend`, ``intervals``), whose
  longest-QTc minute is an event (``max_qtc``).
- :func:`find_events`: isolated PVCs, fusion beats, couplets, ventricular runs
  (3 or more consecutive V beats: non-sustained VT when shorter than 30 s) with their
  rate, ventricular bigeminy, isolated APCs (S beats), atrial couplets and atrial runs
  (3 or more consecutive S beats, with their rate), pauses (RR > :data:`PAUSE_S`) and the highest and lowest
  heart rate averaged over :data:`RATE_WINDOW_BEATS` consecutive normal-to-normal
  intervals, as Holter reports give them.
- :data:`SYMBOL_TO_CLASS`: the MIT-BIH beat annotation symbols mapped to the five
  AAMI EC57 classes N, S, V, F, Q.

Progress callbacks are called as ``progress(done, total)`` (integers) and
``cancelled() -> bool`` is polled between chunks; a cancelled pass returns None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.beat_classes import BEAT_CLASSES, CLASS_DESCRIPTIONS  # noqa: F401 (re-exported)
from ecgviewer.core.beats import R_REFRACTORY_MS, detect_r_peaks
from ecgviewer.core.leads import beat_lead
from ecgviewer.core.quality import no_signal_spans

if TYPE_CHECKING:
    from ecgviewer.core.interval_trend import IntervalTrend
    from ecgviewer.core.long_record import LongRecord

#: MIT-BIH beat symbols (``wfdb.rdann(...).symbol``) -> class, the AAMI EC57 grouping: N (N L R B e j
#: n), S (A a J S), V (V E r), F (F), Q (/ f Q ?).
#: Every other symbol (rhythm ``+``, noise ``~``, artefact ``|``, ST/T changes ``s T`` ...)
#: is not a beat.
SYMBOL_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys("NLRBejn", "N"),
        **dict.fromkeys("AaJS", "S"),
        **dict.fromkeys("VEr", "V"),
        "F": "F",
        **dict.fromkeys("/fQ?", "Q"),
    }
)

#: Length of the chunks the detector sees, and the context read on each side.
CHUNK_S = 60.0
OVERLAP_S = 5.0
#: An RR interval longer than this is a pause.
PAUSE_S = 2.0
#: Normal-to-normal intervals averaged for the highest and lowest heart rate.
RATE_WINDOW_BEATS = 8
#: RR intervals outside this range (ms) are left out of the heart-rate trend (missed or extra beats).
TREND_RR_RANGE_MS = (250.0, 3000.0)
#: Tolerance when matching detected beats to reference beats (ANSI/AAMI EC57).
MATCH_TOLERANCE_S = 0.150

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


# -- events ----------------------------------------------------------------------------
EVENT_KINDS: tuple[str, ...] = (
    "PVC",
    "fusion",
    "couplet",
    "run",
    "bigeminy",
    "APC",
    "atrial_couplet",
    "atrial_run",
    "pause",
    "max_rate",
    "min_rate",
    "max_qtc",
)


@dataclass(frozen=True)
class Event:
    """One row of the event list.

    Attributes
    ----------
    kind
        One of :data:`EVENT_KINDS`.
    start, stop
        First and last sample of the event (R peaks; for a pause the beats around it).
    beat
        Index into the pass's beats of the beat to jump to (the first beat of the event).
    value
        Run rate (bpm), pause length (s), bigeminy PVC count or the max/min rate (bpm); None
        for single beats.
    text
        A short readable description.
    """

    kind: str
    start: int
    stop: int
    beat: int
    value: float | None
    text: str


def _codes(labels: np.ndarray) -> str:
    """The labels as one string (one character per beat), for regular-expression searches."""
    if labels.size == 0:
        return ""
    lab = np.asarray(labels).astype("<U1")
    return lab.tobytes().decode("utf-32-le")


def find_events(r_peaks: np.ndarray, labels: np.ndarray, fs_hz: float) -> tuple[Event, ...]:
    """The event list of a labelled beat series, sorted by time.

    Parameters
    ----------
    r_peaks
        Sorted R-peak samples.
    labels
        One of :data:`BEAT_CLASSES` per beat.
    fs_hz
        Sampling rate of ``r_peaks``.

    Returns
    -------
    tuple of Event
        Per maximal sequence of consecutive V beats: ``PVC`` (1 beat), ``couplet`` (2) or
        ``run`` (3 or more, with its rate from the RR intervals inside it); the same for
        consecutive S beats (``APC``, ``atrial_couplet``, ``atrial_run``); every F beat
        (``fusion``); ``bigeminy`` for 3 or more consecutive N-V pairs; ``pause`` for each RR
        longer than :data:`PAUSE_S`; ``max_rate``/``min_rate`` at the highest and lowest mean
        rate over :data:`RATE_WINDOW_BEATS` consecutive intervals between N beats.
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    lab = np.asarray(labels).astype("<U1")
    if r.shape != lab.shape:
        raise ValueError(f"{r.size} R peaks but {lab.size} labels")
    events: list[Event] = []
    codes = _codes(lab)

    def t_ms(a: int, b: int) -> float:
        return (r[b] - r[a]) * 1000.0 / fs_hz

    for m in re.finditer("V+", codes):
        a, b = m.start(), m.end() - 1
        n = b - a + 1
        if n == 1:
            events.append(Event("PVC", int(r[a]), int(r[a]), a, None, "PVC"))
        elif n == 2:
            events.append(Event("couplet", int(r[a]), int(r[b]), a, None, "Couplet (2 PVCs)"))
        else:
            rate = 60000.0 * (n - 1) / t_ms(a, b)
            kind = "VT" if t_ms(a, b) >= 30000 else "NSVT"
            text = f"Run of {n} PVCs at {rate:.0f} bpm ({kind})"
            events.append(Event("run", int(r[a]), int(r[b]), a, round(rate, 1), text))
    for m in re.finditer("S+", codes):
        a, b = m.start(), m.end() - 1
        n = b - a + 1
        if n == 1:
            events.append(Event("APC", int(r[a]), int(r[a]), a, None, "APC (supraventricular ectopic beat)"))
        elif n == 2:
            events.append(Event("atrial_couplet", int(r[a]), int(r[b]), a, None, "Atrial couplet (2 APCs)"))
        else:
            rate = 60000.0 * (n - 1) / t_ms(a, b)
            text = f"Atrial run of {n} beats at {rate:.0f} bpm"
            events.append(Event("atrial_run", int(r[a]), int(r[b]), a, round(rate, 1), text))
    for i in np.flatnonzero(lab == "F"):
        events.append(Event("fusion", int(r[i]), int(r[i]), int(i), None, "Fusion beat"))
    for m in re.finditer("(?:NV){3,}", codes):
        a, b = m.start(), m.end() - 1
        n_v = (b - a + 1) // 2
        events.append(
            Event("bigeminy", int(r[a]), int(r[b]), a + 1, float(n_v), f"Ventricular bigeminy, {n_v} PVCs")
        )
    if r.size > 1:
        rr_s = np.diff(r) / fs_hz
        for i in np.flatnonzero(rr_s > PAUSE_S):
            events.append(
                Event("pause", int(r[i]), int(r[i + 1]), int(i), round(float(rr_s[i]), 3),
                      f"Pause {rr_s[i]:.1f} s")
            )  # fmt: skip
        rate = _window_rate(r, lab, fs_hz, RATE_WINDOW_BEATS)
        if np.isfinite(rate).any():
            for kind, i in (("max_rate", int(np.nanargmax(rate))), ("min_rate", int(np.nanargmin(rate)))):
                word = "Highest" if kind == "max_rate" else "Lowest"
                j = i + RATE_WINDOW_BEATS
                events.append(
                    Event(kind, int(r[i]), int(r[j]), i, round(float(rate[i]), 1),
                          f"{word} heart rate {rate[i]:.0f} bpm ({RATE_WINDOW_BEATS} beats)")
                )  # fmt: skip
    events.sort(key=lambda e: (e.start, EVENT_KINDS.index(e.kind)))
    return tuple(events)


def _window_rate(r: np.ndarray, lab: np.ndarray, fs_hz: float, k: int) -> np.ndarray:
    """Mean rate (bpm) of the ``k`` intervals starting at beat i, NaN unless beats i..i+k are all N.

    Length ``n_beats - k`` (empty when shorter).
    """
    if r.size <= k:
        return np.zeros(0)
    is_n = (lab == "N").astype(np.int64)
    c = np.concatenate([[0], np.cumsum(is_n)])
    all_n = (c[k + 1 :] - c[: -k - 1]) == k + 1
    span_s = (r[k:] - r[:-k]) / fs_hz
    with np.errstate(divide="ignore"):
        rate = 60.0 * k / span_s
    return np.where(all_n & (span_s > 0), rate, np.nan)


# -- the result ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BeatPassResult:
    """Every beat of a record with its class, and what follows from them.

    Attributes
    ----------
    fs_hz
        Sampling rate of ``r_peaks`` (the record's).
    r_peaks
        R-peak samples, sorted (int64).
    labels
        One of :data:`BEAT_CLASSES` per beat.
    probabilities
        ``(n_beats, 5)`` class probabilities in :data:`BEAT_CLASSES` order, None without a classifier.
    method
        How the labels were made (``"beatnet"``, ``"detection only"`` ...).
    n_samples
        Length of the record (for the time bins); 0 = up to the last beat.
    lead
        The lead the beats were detected (and classified) on.
    events
        :func:`find_events` of the beats and the longest-QTc event of ``intervals`` (computed
        when not given).
    intervals
        The per-beat QT, PR and QRS and their trend
        (:class:`~ecgviewer.core.interval_trend.IntervalTrend`), None when the pass did not
        delineate the beats.
    intervals_note
        Why there is no ``intervals`` although they were asked for (one line), else empty.
    """

    fs_hz: float
    r_peaks: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray | None = None
    method: str = "detection only"
    n_samples: int = 0
    lead: str = ""
    events: tuple[Event, ...] = field(default=None)  # type: ignore[assignment]
    intervals: IntervalTrend | None = None
    intervals_note: str = ""

    def __post_init__(self) -> None:
        r = np.asarray(self.r_peaks, dtype=np.int64)
        lab = np.asarray(self.labels).astype("<U1")
        if r.ndim != 1 or r.shape != lab.shape:
            raise ValueError(f"{r.size} R peaks but {lab.size} labels")
        unknown = set(np.unique(lab)) - set(BEAT_CLASSES)
        if unknown:
            raise ValueError(f"unknown beat classes {sorted(unknown)} (known: {BEAT_CLASSES})")
        if self.probabilities is not None and np.shape(self.probabilities) != (r.size, len(BEAT_CLASSES)):
            raise ValueError(f"probabilities must be ({r.size}, {len(BEAT_CLASSES)})")
        object.__setattr__(self, "r_peaks", r)
        object.__setattr__(self, "labels", lab)
        if self.intervals is not None and self.intervals.n_beats != r.size:
            raise ValueError(f"intervals of {self.intervals.n_beats} beats for {r.size} beats")
        if self.events is None:
            events = find_events(r, lab, self.fs_hz)
            if self.intervals is not None:
                events = tuple(
                    sorted(
                        events + self.intervals.events(), key=lambda e: (e.start, EVENT_KINDS.index(e.kind))
                    )
                )
            object.__setattr__(self, "events", events)

    @property
    def n_beats(self) -> int:
        """Number of beats."""
        return int(self.r_peaks.size)

    @property
    def duration_s(self) -> float:
        """Length of the record (or up to the last beat when ``n_samples`` is 0)."""
        n = self.n_samples or (int(self.r_peaks[-1]) + 1 if self.n_beats else 0)
        return n / self.fs_hz

    @property
    def times_s(self) -> np.ndarray:
        """R-peak times in seconds from the record start."""
        return self.r_peaks / self.fs_hz

    @property
    def rr_ms(self) -> np.ndarray:
        """RR intervals in ms (``n_beats - 1``; interval i ends at beat i + 1)."""
        return np.diff(self.r_peaks) * 1000.0 / self.fs_hz

    def counts(self) -> dict[str, int]:
        """Number of beats per class."""
        return {c: int(np.count_nonzero(self.labels == c)) for c in BEAT_CLASSES}

    @cached_property
    def _nn_mask(self) -> np.ndarray:
        """Interval i (beats i, i+1) is normal-to-normal and within :data:`TREND_RR_RANGE_MS`."""
        rr = self.rr_ms
        is_n = self.labels == "N"
        lo, hi = TREND_RR_RANGE_MS
        return is_n[:-1] & is_n[1:] & (rr >= lo) & (rr <= hi)

    def tachogram(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(t_s, rr_ms, label)``: each RR interval at the time of the beat that ends it, and
        that beat's class (a premature V beat shows as a short interval followed by a long one)."""
        return self.times_s[1:], self.rr_ms, self.labels[1:]

    def _bins(self, bin_s: float) -> tuple[np.ndarray, int]:
        if bin_s <= 0:
            raise ValueError("bin_s must be positive")
        n_bins = max(1, int(np.ceil(self.duration_s / bin_s)))
        return np.arange(n_bins) * float(bin_s), n_bins

    def hr_trend(self, bin_s: float = 60.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Heart rate per time bin, from normal-to-normal intervals only.

        Ectopic beats (any interval touching an S, V, F or Q beat) and intervals outside
        :data:`TREND_RR_RANGE_MS` are left out, so a PVC's short coupling interval and
        its compensatory pause do not show as rate swings.

        Returns
        -------
        t_s, mean_bpm, min_bpm, max_bpm
            Bin starts (s); ``60000 / mean NN interval`` of the intervals ending in the bin;
            lowest and highest rate of the running mean over :data:`RATE_WINDOW_BEATS`
            consecutive NN intervals ending in the bin. NaN where a bin has no NN interval.
        """
        t, n_bins = self._bins(bin_s)
        mean = np.full(n_bins, np.nan)
        lo = np.full(n_bins, np.nan)
        hi = np.full(n_bins, np.nan)
        if self.n_beats < 2:
            return t, mean, lo, hi
        rr = self.rr_ms
        ok = self._nn_mask
        b = np.minimum((self.r_peaks[1:] / self.fs_hz / bin_s).astype(np.int64), n_bins - 1)
        s = np.bincount(b[ok], weights=rr[ok], minlength=n_bins)
        c = np.bincount(b[ok], minlength=n_bins)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(c > 0, 60000.0 * c / s, np.nan)
        # running mean over k NN intervals (only the NN ones, in order), attributed to the bin of its last one
        k = RATE_WINDOW_BEATS
        nn_rr, nn_bin = rr[ok], b[ok]
        if nn_rr.size:
            if nn_rr.size >= k:
                cs = np.concatenate([[0.0], np.cumsum(nn_rr)])
                run = 60000.0 * k / (cs[k:] - cs[:-k])
                run_bin = nn_bin[k - 1 :]
            else:
                run, run_bin = 60000.0 / nn_rr, nn_bin
            lo_v = np.full(n_bins, np.inf)
            hi_v = np.full(n_bins, -np.inf)
            np.minimum.at(lo_v, run_bin, run)
            np.maximum.at(hi_v, run_bin, run)
            lo = np.where(np.isfinite(lo_v), lo_v, np.nan)
            hi = np.where(np.isfinite(hi_v), hi_v, np.nan)
            # a bin with NN intervals but no complete running window yet: its own intervals
            own = (c > 0) & ~np.isfinite(lo)
            lo[own] = hi[own] = mean[own]
        return t, mean, lo, hi

    def class_density(self, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, counts)``: bin starts and beats per class per bin, ``(n_bins, 5)`` int in
        :data:`BEAT_CLASSES` order."""
        t, n_bins = self._bins(bin_s)
        counts = np.zeros((n_bins, len(BEAT_CLASSES)), dtype=np.int64)
        if self.n_beats:
            b = np.minimum((self.r_peaks / self.fs_hz / bin_s).astype(np.int64), n_bins - 1)
            for j, c in enumerate(BEAT_CLASSES):
                counts[:, j] = np.bincount(b[self.labels == c], minlength=n_bins)
        return t, counts

    def to_dict(self) -> dict:
        """A JSON-ready summary (counts, events; not the per-beat arrays)."""
        rr = self.rr_ms[self._nn_mask] if self.n_beats > 1 else np.zeros(0)
        return {
            "method": self.method,
            "lead": self.lead,
            "fs_hz": self.fs_hz,
            "n_beats": self.n_beats,
            "counts": self.counts(),
            "mean_hr_bpm": round(60000.0 / float(rr.mean()), 1) if rr.size else None,
            "events": [vars(e).copy() for e in self.events],
            "interval_trend": None if self.intervals is None else self.intervals.to_dict(),
            "interval_trend_note": self.intervals_note or None,
        }


# -- detection over a long record ----------------------------------------------------------
def chunk_spans(n_samples: int, fs_hz: float, chunk_s: float = CHUNK_S) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive chunks covering ``n_samples`` (the last may be shorter)."""
    step = max(1, round(chunk_s * fs_hz))
    return [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]


def dedupe_peaks(peaks: np.ndarray, min_distance: int) -> np.ndarray:
    """Sorted unique peaks; a peak closer than ``min_distance`` to the kept peak before it is dropped."""
    p = np.unique(np.asarray(peaks, dtype=np.int64))
    if p.size < 2 or np.all(np.diff(p) >= min_distance):
        return p
    keep = np.ones(p.size, dtype=bool)
    kept_prev = p[0]
    for i in range(1, p.size):  # rare (seams only): resolve in order
        if p[i] - kept_prev < min_distance:
            keep[i] = False
        else:
            kept_prev = p[i]
    return p[keep]


def detect_r_peaks_long(
    rec: LongRecord,
    *,
    lead: str | None = None,
    chunk_s: float = CHUNK_S,
    overlap_s: float = OVERLAP_S,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> np.ndarray | None:
    """R peaks of a whole record, chunk by chunk (never the whole record in memory).

    Parameters
    ----------
    rec
        The record.
    lead
        Lead to detect on (default :func:`beat_lead`).
    chunk_s, overlap_s
        Chunk length and the context read on each side of it.
    progress
        ``progress(done_samples, n_samples)`` after each chunk.
    cancelled
        Polled before each chunk.

    Returns
    -------
    numpy.ndarray or None
        Sorted int64 samples, None when cancelled.
    """
    lead = lead or beat_lead(rec)
    fs = rec.fs_hz
    pad = round(overlap_s * fs)
    parts = []
    for start, stop in chunk_spans(rec.n_samples, fs, chunk_s):
        if cancelled is not None and cancelled():
            return None
        a, b = max(0, start - pad), min(rec.n_samples, stop + pad)
        x = rec.lead(lead, a, b)
        p = detect_r_peaks(x, fs) + a
        keep = (p >= start) & (p < stop)
        for s0, s1 in no_signal_spans(x[start - a : stop - a], fs):  # no beats where there is no ECG
            keep &= ~((p >= start + s0) & (p < start + s1))
        parts.append(p[keep])
        if progress is not None:
            progress(stop, rec.n_samples)
    peaks = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return dedupe_peaks(peaks, max(1, round(R_REFRACTORY_MS * fs / 1000.0)))


# -- matching against reference annotations --------------------------------------------------
def match_beats(reference: np.ndarray, detected: np.ndarray, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and detected beats one-to-one within ``tolerance`` samples (nearest first).

    Returns
    -------
    ref_idx, det_idx
        Indices of the matched pairs (same length, increasing); unmatched reference beats are
        false negatives, unmatched detections false positives.
    """
    ref = np.asarray(reference, dtype=np.int64)
    det = np.asarray(detected, dtype=np.int64)
    if ref.size == 0 or det.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # candidate pairs: each reference with its nearest detection on either side
    j = np.searchsorted(det, ref)
    cand_r = np.concatenate([np.arange(ref.size), np.arange(ref.size)])
    cand_d = np.concatenate([j - 1, j])
    ok = (cand_d >= 0) & (cand_d < det.size)
    cand_r, cand_d = cand_r[ok], cand_d[ok]
    dist = np.abs(det[cand_d] - ref[cand_r])
    ok = dist <= tolerance
    cand_r, cand_d, dist = cand_r[ok], cand_d[ok], dist[ok]
    order = np.argsort(dist, kind="stable")
    used_r = np.zeros(ref.size, dtype=bool)
    used_d = np.zeros(det.size, dtype=bool)
    pairs = []
    for k in order:
        i, d = cand_r[k], cand_d[k]
        if not used_r[i] and not used_d[d]:
            used_r[i] = used_d[d] = True
            pairs.append((i, d))
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pr = np.asarray(sorted(pairs), dtype=np.int64)
    return pr[:, 0], pr[:, 1]


def classes_from_symbols(symbols: Sequence[str], samples: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Beat samples and classes from WFDB annotation symbols (non-beat symbols dropped).

    See :data:`SYMBOL_TO_CLASS`.
    """
    keep = [i for i, s in enumerate(symbols) if s in SYMBOL_TO_CLASS]
    samples_arr = np.asarray(samples, dtype=np.int64)[keep]
    labels = np.asarray([SYMBOL_TO_CLASS[symbols[i]] for i in keep], dtype="<U1")
    order = np.argsort(samples_arr, kind="stable")
    return samples_arr[order], labels[order]
