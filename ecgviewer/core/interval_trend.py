"""The QT, QTc, PR and QRS trend of a long record from per-beat wave boundaries (numpy only).

The beat pass (:func:`ecgviewer.inference.beats.run_beat_pass`) finds every beat; a
delineation network then gives each beat its boundaries
(:mod:`ecgviewer.inference.beat_delineation`), hence per beat QT (QRS onset to T-wave end),
PR (P onset to QRS onset) and QRS (QRS onset to offset) in ms, the median over the
delineated leads of each boundary (:attr:`ecgviewer.core.delineation.Delineation.consensus`).
:class:`IntervalTrend` keeps those per-beat values (float32, NaN where a wave was not found)
and summarises them per minute and per hour as Holter QT analysis does (:data:`METHOD`):

- the **QT** of a time bin is the median QT of its *measurable* beats: normal (N) beats that
  follow a normal beat, with the RR interval before them inside
  :data:`~ecgviewer.core.beat_pass.TREND_RR_RANGE_MS` and a QT inside :data:`QT_RANGE_MS`;
- its **RR** is the median of the RR intervals before *those same beats*, and its **QTc**
  is computed from the two medians, by Fridericia (QT / RR^(1/3)) and by Bazett
  (QT / RR^(1/2)), RR in seconds (:func:`ecgviewer.core.qtc.qtc_ms_array`);
- **PR** and **QRS** are the medians over the bin's normal beats that have them;
- a bin with fewer than :data:`MIN_BIN_BEATS` such beats has no value (NaN).

The **longest QTc** (:attr:`IntervalTrend.longest`) is the minute of largest Fridericia QTc
among the minutes whose QT was measured in at least :data:`MIN_EVENT_BEATS` beats and in at
least :data:`MIN_EVENT_SHARE` of their normal beats (a noisy minute with a few stray T-wave
ends cannot win); it is an event of the beat pass (``kind="max_qtc"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.core.beat_pass import TREND_RR_RANGE_MS, Event
from ecgviewer.core.qtc import QTC_FORMULAS, qtc_ms_array

#: Bin of the trend (s): one value per minute, the usual Holter QT trend.
TREND_BIN_S = 60.0
#: Bin of the hourly summary (s), hours counted from the record start.
HOUR_S = 3600.0
#: A bin needs at least this many measurable beats for a value.
MIN_BIN_BEATS = 5
#: The longest-QTc minute needs QT in at least this many beats ...
MIN_EVENT_BEATS = 10
#: ... and in at least this share of its normal beats.
MIN_EVENT_SHARE = 0.5
#: QT values outside this range (ms) are not physiological: a boundary was mistaken.
QT_RANGE_MS = (200.0, 800.0)
#: How the trend is made (stated in every output).
METHOD = (
    "per time bin: median QT of the normal beats that follow a normal beat (RR 250-3000 ms, "
    "QT 200-800 ms) and whose T-wave end was found; median of the RR intervals before those same "
    "beats; QTc from the two medians (Fridericia QT/RR^(1/3) and Bazett QT/RR^(1/2), RR in s); "
    "PR and QRS: medians over the bin's normal beats; a bin needs 5 beats"
)


def group_median(bins: np.ndarray, values: np.ndarray, n_bins: int) -> np.ndarray:
    """Median of ``values`` per bin index (``bins`` in ``0..n_bins-1``); NaN for empty bins.

    Examples
    --------
    >>> group_median(np.array([0, 0, 2, 0]), np.array([3.0, 1.0, 5.0, 2.0]), 3).tolist()
    [2.0, nan, 5.0]
    """
    bins = np.asarray(bins, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    out = np.full(n_bins, np.nan)
    if bins.size == 0:
        return out
    order = np.lexsort((values, bins))
    sv = values[order]
    counts = np.bincount(bins, minlength=n_bins)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[has] = 0.5 * (sv[lo[has]] + sv[hi[has]])
    return out


def _round(v: Any, nd: int = 1) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else round(float(v), nd)


@dataclass(frozen=True)
class BinnedIntervals:
    """QT, RR, QTc, PR and QRS per time bin (float32 ms, NaN: no value) and the beats behind them."""

    bin_s: float
    t_s: np.ndarray
    qt_ms: np.ndarray
    rr_ms: np.ndarray
    qtc_fridericia_ms: np.ndarray
    qtc_bazett_ms: np.ndarray
    pr_ms: np.ndarray
    qrs_ms: np.ndarray
    #: Measurable beats (QT) and normal beats per bin.
    n_qt: np.ndarray
    n_normal: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.size)

    def row(self, i: int) -> dict[str, Any]:
        """Bin ``i`` as a JSON-ready dict."""
        return {
            "start_s": float(self.t_s[i]),
            "qt_ms": _round(self.qt_ms[i]),
            "rr_ms": _round(self.rr_ms[i]),
            "qtc_fridericia_ms": _round(self.qtc_fridericia_ms[i]),
            "qtc_bazett_ms": _round(self.qtc_bazett_ms[i]),
            "pr_ms": _round(self.pr_ms[i]),
            "qrs_ms": _round(self.qrs_ms[i]),
            "n_beats_qt": int(self.n_qt[i]),
            "n_normal_beats": int(self.n_normal[i]),
        }

    def eligible(self) -> np.ndarray:
        """Bins whose QTc may be the longest (see :data:`MIN_EVENT_BEATS`, :data:`MIN_EVENT_SHARE`)."""
        return (
            np.isfinite(self.qtc_fridericia_ms)
            & (self.n_qt >= MIN_EVENT_BEATS)
            & (self.n_qt >= MIN_EVENT_SHARE * self.n_normal)
        )


@dataclass(frozen=True)
class LongestQtc:
    """The time bin of the longest median QTc (Fridericia) and a beat to show it at."""

    bin_index: int
    start: int
    stop: int
    beat: int
    qtc_ms: float
    qtc_bazett_ms: float
    qt_ms: float
    rr_ms: float
    bin_s: float

    def as_dict(self, fs_hz: float) -> dict[str, Any]:
        return {
            "start_s": round(self.bin_index * self.bin_s, 3),
            "bin_s": self.bin_s,
            "first_beat_s": round(self.start / fs_hz, 3),
            "qtc_fridericia_ms": _round(self.qtc_ms),
            "qtc_bazett_ms": _round(self.qtc_bazett_ms),
            "qt_ms": _round(self.qt_ms),
            "rr_ms": _round(self.rr_ms),
        }


@dataclass(frozen=True)
class _Beats:
    """What binning needs: beat samples, their RR before, and which beats count for which value."""

    t_s: np.ndarray  # beat times (s)
    rr: np.ndarray
    qt_ok: np.ndarray
    pr_ok: np.ndarray
    qrs_ok: np.ndarray
    is_n: np.ndarray


@dataclass(frozen=True)
class IntervalTrend:
    """Per-beat QT, PR, QRS of a long record and their per-minute and per-hour trend (see the module).

    Build it with :meth:`from_beats`. Per-beat arrays are aligned with the beat pass's beats.

    Attributes
    ----------
    qt_ms, pr_ms, qrs_ms
        ``(n_beats,)`` float32 per beat (consensus of the delineated leads), NaN where absent.
    delineated
        ``(n_beats,)`` bool: the beat was inside a delineated span (all of them unless sampled).
    measurable
        ``(n_beats,)`` bool: the beat counts for the QT trend (see the module docstring).
    minutes, hours
        The trend per :data:`TREND_BIN_S` and per :data:`HOUR_S`.
    longest
        The longest-QTc minute, None when no minute qualifies.
    leads, model, sampling, elapsed_s
        Leads delineated, delineation network, which part of the record was delineated,
        seconds the delineation took.
    """

    fs_hz: float
    qt_ms: np.ndarray
    pr_ms: np.ndarray
    qrs_ms: np.ndarray
    delineated: np.ndarray
    measurable: np.ndarray
    minutes: BinnedIntervals
    hours: BinnedIntervals
    longest: LongestQtc | None
    max_qtc_hour: int | None
    leads: tuple[str, ...] = ()
    model: str = ""
    sampling: str = "every beat"
    elapsed_s: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_beats(
        cls,
        fs_hz: float,
        r_peaks: np.ndarray,
        labels: np.ndarray,
        qt_ms: np.ndarray,
        pr_ms: np.ndarray,
        qrs_ms: np.ndarray,
        *,
        n_samples: int = 0,
        delineated: np.ndarray | None = None,
        leads: tuple[str, ...] = (),
        model: str = "",
        sampling: str = "every beat",
        elapsed_s: float = 0.0,
    ) -> IntervalTrend:
        """The trend of beats at ``r_peaks`` (samples) with ``labels`` and their per-beat intervals."""
        r = np.asarray(r_peaks, dtype=np.int64)
        lab = np.asarray(labels).astype("<U1")
        n = r.size
        qt, pr, qrs = (np.asarray(a, dtype=np.float32).reshape(n) for a in (qt_ms, pr_ms, qrs_ms))
        rr = np.full(n, np.nan)
        if n > 1:
            rr[1:] = np.diff(r) * 1000.0 / fs_hz
        is_n = lab == "N"
        prev_n = np.zeros(n, dtype=bool)
        prev_n[1:] = is_n[:-1]
        lo, hi = TREND_RR_RANGE_MS
        with np.errstate(invalid="ignore"):
            qt_ok = is_n & prev_n & (rr >= lo) & (rr <= hi) & (qt >= QT_RANGE_MS[0]) & (qt <= QT_RANGE_MS[1])
        beats = _Beats(r / fs_hz, rr, qt_ok, is_n & np.isfinite(pr), is_n & np.isfinite(qrs), is_n)
        duration_s = (n_samples or (int(r[-1]) + 1 if n else 1)) / fs_hz
        minutes = _binned(beats, qt, pr, qrs, TREND_BIN_S, duration_s)
        hours = _binned(beats, qt, pr, qrs, HOUR_S, duration_s)
        longest = None
        ok = minutes.eligible()
        if ok.any():
            m = int(np.flatnonzero(ok)[np.argmax(minutes.qtc_fridericia_ms[ok])])
            b = np.minimum((beats.t_s / TREND_BIN_S).astype(np.int64), len(minutes) - 1)
            idx = np.flatnonzero(qt_ok & (b == m))
            longest = LongestQtc(
                m,
                int(r[idx[0]]),
                int(r[idx[-1]]),
                int(idx[len(idx) // 2]),
                float(minutes.qtc_fridericia_ms[m]),
                float(minutes.qtc_bazett_ms[m]),
                float(minutes.qt_ms[m]),
                float(minutes.rr_ms[m]),
                TREND_BIN_S,
            )
        ok_h = hours.eligible()
        max_hour = int(np.flatnonzero(ok_h)[np.argmax(hours.qtc_fridericia_ms[ok_h])]) if ok_h.any() else None
        whole = _binned(beats, qt, pr, qrs, duration_s + 1.0, duration_s)
        return cls(
            float(fs_hz),
            qt,
            pr,
            qrs,
            np.ones(n, dtype=bool) if delineated is None else np.asarray(delineated, dtype=bool).reshape(n),
            qt_ok,
            minutes,
            hours,
            longest,
            max_hour,
            tuple(leads),
            model,
            sampling,
            float(elapsed_s),
            whole.row(0) if len(whole) else {},
        )

    @property
    def n_beats(self) -> int:
        return int(self.qt_ms.size)

    def events(self) -> tuple[Event, ...]:
        """The ``max_qtc`` event of the beat pass (empty when no minute qualifies)."""
        lq = self.longest
        if lq is None:
            return ()
        text = (
            f"Longest QTc {lq.qtc_ms:.0f} ms (Fridericia; Bazett {lq.qtc_bazett_ms:.0f} ms), "
            f"median of 1 min: QT {lq.qt_ms:.0f} ms at RR {lq.rr_ms:.0f} ms"
        )
        return (Event("max_qtc", lq.start, lq.stop, lq.beat, round(lq.qtc_ms, 1), text),)

    def per_hour(self) -> list[dict[str, Any]]:
        """One JSON-ready row per hour from the record start (``hour`` added)."""
        return [{"hour": h, **self.hours.row(h)} for h in range(len(self.hours))]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: method, formulas, record medians, per hour, longest QTc (no per-beat data)."""
        return {
            "method": METHOD,
            "qtc_formulas": dict(QTC_FORMULAS),
            "qtc_rr": "median RR interval before the beats whose QT is in the median",
            "model": self.model,
            "leads": list(self.leads),
            "boundaries": "per beat the median over the leads delineated",
            "sampling": self.sampling,
            "beats_delineated": int(self.delineated.sum()),
            "beats_with_qt": int(self.measurable.sum()),
            "seconds": round(self.elapsed_s, 2),
            "record": self.record,
            "per_hour": self.per_hour(),
            "max_qtc_hour": None
            if self.max_qtc_hour is None
            else {"hour": self.max_qtc_hour, **self.hours.row(self.max_qtc_hour)},
            "longest_qtc_minute": None if self.longest is None else self.longest.as_dict(self.fs_hz),
        }


def _binned(
    beats: _Beats, qt: np.ndarray, pr: np.ndarray, qrs: np.ndarray, bin_s: float, duration_s: float
) -> BinnedIntervals:
    n_bins = max(1, math.ceil(duration_s / bin_s - 1e-9))
    b = np.minimum((beats.t_s / bin_s).astype(np.int64), n_bins - 1)

    def med(mask: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = np.bincount(b[mask], minlength=n_bins)
        m = group_median(b[mask], values[mask], n_bins)
        m[count < MIN_BIN_BEATS] = np.nan
        return m, count

    qt_m, n_qt = med(beats.qt_ok, qt)
    rr_m, _ = med(beats.qt_ok, beats.rr)
    pr_m, _ = med(beats.pr_ok, pr)
    qrs_m, _ = med(beats.qrs_ok, qrs)
    f32 = np.float32
    return BinnedIntervals(
        float(bin_s),
        np.arange(n_bins) * float(bin_s),
        qt_m.astype(f32),
        rr_m.astype(f32),
        qtc_ms_array(qt_m, rr_m, "fridericia").astype(f32),
        qtc_ms_array(qt_m, rr_m, "bazett").astype(f32),
        pr_m.astype(f32),
        qrs_m.astype(f32),
        n_qt.astype(np.int32),
        np.bincount(b[beats.is_n], minlength=n_bins).astype(np.int32),
    )
