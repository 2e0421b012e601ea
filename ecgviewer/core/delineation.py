"""From per-sample wave labels to per-beat boundaries and record intervals (numpy only).

A delineation network (:mod:`ecgviewer.models.delineation`) labels every sample of
every lead as background, P, QRS or T. This module turns those labels into what a
reader checks:

1. :func:`waves_from_labels` -- the runs of one class in one lead, too-short runs
   dropped, each with its mean network confidence;
2. :func:`assign_beats` -- each beat (an R peak, from :func:`ecgviewer.core.beats.detect_r_peaks`:
   HR and RR come from R peaks, never from a regression) gets, *in each lead*, the
   QRS run around its R peak, the last P run that starts at most 400 ms before the
   QRS onset (and after the previous beat's QRS), and the first T run after the QRS
   that ends at most 800 ms after the QRS onset and before the next QRS;
3. :func:`record_intervals` -- per beat and lead PR = QRS onset - P onset,
   QRS = QRS offset - QRS onset, QT = T offset - QRS onset; per lead the median over
   beats, then the median over leads (the convention of ``shared/data/ludb/INTERVALS.md``,
   stated as :data:`CONVENTION` in every output); RR the median R-R difference.

A wave that is missing in most beats is reported as absent **with the reason**
(:class:`Interval.reason`), never as a number: no P waves before most QRS complexes
(atrial fibrillation or flutter, junctional or paced rhythm), no T-wave end, no
beats, no usable lead. Each record value carries its spread (a robust SD over all
per-lead per-beat values, 1.4826 x MAD) and the network's mean confidence in the
waves it comes from.

The consensus boundaries of a beat (:attr:`Delineation.consensus`) are the median
over the leads that have the point; they are what the viewer marks on every lead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Wave classes in network output order (index 0 is "no wave").
WAVE_CLASSES: tuple[str, ...] = ("none", "P", "QRS", "T")
#: Boundary points of a beat, in the last axis of :attr:`Delineation.points`.
POINTS: tuple[str, ...] = ("p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off")
#: Readable names of the boundary points (labels, messages, reasons).
POINT_NAMES: dict[str, str] = {
    "p_on": "P onset",
    "p_off": "P offset",
    "qrs_on": "QRS onset",
    "qrs_off": "QRS offset",
    "t_on": "T onset",
    "t_off": "T offset",
}
#: Shortest wave kept (ms); shorter runs are network flicker.
MIN_WAVE_MS: dict[str, float] = {"P": 30.0, "QRS": 30.0, "T": 60.0}
#: Gaps of background shorter than this inside a wave are bridged (ms).
BRIDGE_MS = 12.0
#: A beat's QRS run must contain its R peak or lie this close to it (ms).
QRS_MATCH_MS = 60.0
#: INTERVALS.md limits: P onset at most 400 ms before QRS onset, T offset at most 800 ms after.
MAX_PR_MS = 400.0
MAX_QT_MS = 800.0
#: A record interval needs its wave in at least this share of the measurable beats.
MIN_BEAT_SHARE = 0.5
#: PR is not measurable when the per-beat PR (consensus) varies more than this (robust SD, ms):
#: "P waves" without a constant relation to the QRS are fibrillation or flutter waves, or
#: dissociated. On the LUDB training and validation records sinus rhythm stays below 20 ms and
#: the records without expert P waves that still got "P waves" lie at 38-73 ms.
MAX_PR_BEAT_SD_MS = 30.0
#: The convention stated with every record value.
CONVENTION = (
    "per lead the median over beats, then the median over leads (shared/data/ludb/INTERVALS.md); "
    "RR the median R-R difference, HR = 60000 / RR"
)
_KIND_INDEX = {"P": 1, "QRS": 2, "T": 3}


class DelineationError(ValueError):
    """Labels and leads, or beats and samples, do not fit together."""


@dataclass(frozen=True)
class Wave:
    """One wave in one lead: class, first and last sample (inclusive), mean confidence."""

    kind: str
    onset: int
    offset: int
    confidence: float = 1.0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (inclusive) ends of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return starts, ends


def waves_from_labels(labels: np.ndarray, fs_hz: float, confidence: np.ndarray | None = None) -> list[Wave]:
    """The waves of one lead's per-sample labels (0 none, 1 P, 2 QRS, 3 T), in time order.

    Runs of one class separated by less than :data:`BRIDGE_MS` of background are
    merged; runs shorter than :data:`MIN_WAVE_MS` are dropped. ``confidence`` (same
    length, the probability of the chosen class) gives each wave its mean.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DelineationError(f"labels of one lead must be 1-D, got shape {labels.shape}")
    bridge = max(0, round(BRIDGE_MS * fs_hz / 1000.0))
    # running sum of the confidence: each wave's mean in O(1) (a 12-lead record has ~400 waves)
    csum = None if confidence is None else np.concatenate([[0.0], np.cumsum(confidence, dtype=np.float64)])
    waves: list[Wave] = []
    for kind, idx in _KIND_INDEX.items():
        starts, ends = _runs(labels == idx)
        if starts.size == 0:
            continue
        if bridge and starts.size > 1:
            gap = starts[1:] - ends[:-1] - 1
            join = gap <= bridge
            keep_start = np.concatenate([[True], ~join])
            keep_end = np.concatenate([~join, [True]])
            starts, ends = starts[keep_start], ends[keep_end]
        min_len = MIN_WAVE_MS[kind] * fs_hz / 1000.0
        keep = ends - starts + 1 >= min_len
        starts, ends = starts[keep], ends[keep]
        if csum is None:
            means = np.ones(starts.size)
        else:
            means = (csum[ends + 1] - csum[starts]) / (ends - starts + 1)
        waves += [Wave(kind, int(a), int(b), float(m)) for a, b, m in zip(starts, ends, means, strict=True)]
    waves.sort(key=lambda w: w.onset)
    return waves


@dataclass(frozen=True)
class Interval:
    """A record interval (ms or bpm): a value with its spread and confidence, or absent with a reason."""

    name: str
    value: float | None
    spread: float | None = None
    confidence: float | None = None
    n_beats: int = 0
    n_leads: int = 0
    reason: str | None = None

    @property
    def present(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "spread": self.spread,
            "confidence": self.confidence,
            "n_beats": self.n_beats,
            "n_leads": self.n_leads,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Delineation:
    """Per-beat, per-lead boundaries of a record (samples at :attr:`fs_hz`, ``nan`` where absent).

    Attributes
    ----------
    points
        ``(n_leads, n_beats, len(POINTS))`` float sample indices.
    confidence
        ``(n_leads, n_beats, 3)`` mean network probability of the P, QRS and T wave used (``nan`` absent).
    r_peaks
        ``(n_beats,)`` R-peak samples (the beats).
    """

    fs_hz: float
    leads: tuple[str, ...]
    r_peaks: np.ndarray
    points: np.ndarray
    confidence: np.ndarray
    method: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_beats(self) -> int:
        return int(self.r_peaks.size)

    def point(self, name: str) -> np.ndarray:
        """``(n_leads, n_beats)`` samples of one boundary point."""
        return self.points[:, :, POINTS.index(name)]

    @property
    def consensus(self) -> np.ndarray:
        """``(n_beats, len(POINTS))``: per beat the median over leads having the point (``nan`` if
        fewer than a quarter of the leads, at least one, have it)."""
        need = max(1, math.ceil(len(self.leads) / 4))
        have = np.isfinite(self.points).sum(axis=0)
        with np.errstate(all="ignore"), _quiet():
            med = np.nanmedian(self.points, axis=0) if self.points.size else np.full((0, len(POINTS)), np.nan)
        return np.where(have >= need, med, np.nan)

    def beat_intervals(self) -> dict[str, np.ndarray]:
        """Per-beat ``rr_ms`` (to the previous beat), ``pr_ms``, ``qrs_ms``, ``qt_ms`` from the consensus."""
        c = self.consensus
        ms = 1000.0 / self.fs_hz
        rr = np.full(self.n_beats, np.nan)
        if self.n_beats > 1:
            rr[1:] = np.diff(self.r_peaks) * ms
        i = {p: POINTS.index(p) for p in POINTS}
        return {
            "rr_ms": rr,
            "pr_ms": (c[:, i["qrs_on"]] - c[:, i["p_on"]]) * ms,
            "qrs_ms": (c[:, i["qrs_off"]] - c[:, i["qrs_on"]]) * ms,
            "qt_ms": (c[:, i["t_off"]] - c[:, i["qrs_on"]]) * ms,
        }

    def lead_beat_intervals(self) -> dict[str, np.ndarray]:
        """``(n_leads, n_beats)`` PR, QRS and QT (ms) of every lead and beat."""
        ms = 1000.0 / self.fs_hz
        p = {name: self.point(name) for name in POINTS}
        return {
            "pr_ms": (p["qrs_on"] - p["p_on"]) * ms,
            "qrs_ms": (p["qrs_off"] - p["qrs_on"]) * ms,
            "qt_ms": (p["t_off"] - p["qrs_on"]) * ms,
        }

    def select(self, mask: np.ndarray) -> Delineation:
        """The beats where ``mask`` (``(n_beats,)`` bool) is true."""
        mask = np.asarray(mask, dtype=bool)
        return Delineation(
            self.fs_hz,
            self.leads,
            self.r_peaks[mask],
            self.points[:, mask],
            self.confidence[:, mask],
            self.method,
            self.notes,
        )


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def assign_beats(
    waves_per_lead: Sequence[Sequence[Wave]],
    r_peaks: np.ndarray,
    fs_hz: float,
    leads: Sequence[str],
    method: str = "",
) -> Delineation:
    """Give each beat (R peak) its QRS, P and T wave in each lead (see the module docstring)."""
    if len(waves_per_lead) != len(leads):
        raise DelineationError(f"{len(waves_per_lead)} lead label rows for {len(leads)} leads")
    r = np.asarray(r_peaks, dtype=np.int64)
    n_beats = r.size
    pts = np.full((len(leads), n_beats, len(POINTS)), np.nan)
    conf = np.full((len(leads), n_beats, 3), np.nan)
    match = QRS_MATCH_MS * fs_hz / 1000.0
    max_pr = MAX_PR_MS * fs_hz / 1000.0
    max_qt = MAX_QT_MS * fs_hz / 1000.0
    for li, waves in enumerate(waves_per_lead):
        qrs = [w for w in waves if w.kind == "QRS"]
        ps = [w for w in waves if w.kind == "P"]
        ts = [w for w in waves if w.kind == "T"]
        if not qrs:
            continue
        q_on = np.array([w.onset for w in qrs])
        q_off = np.array([w.offset for w in qrs])
        p_on = np.array([w.onset for w in ps]) if ps else np.zeros(0, int)
        p_off = np.array([w.offset for w in ps]) if ps else np.zeros(0, int)
        t_on = np.array([w.onset for w in ts]) if ts else np.zeros(0, int)
        t_off = np.array([w.offset for w in ts]) if ts else np.zeros(0, int)
        # distance of each R peak to each QRS run (0 inside)
        k = np.searchsorted(q_on, r, side="right") - 1  # last run starting at or before R
        used: set[int] = set()
        for bi in range(n_beats):
            cand = []
            for j in (k[bi], k[bi] + 1):
                if 0 <= j < len(qrs):
                    d = max(q_on[j] - r[bi], r[bi] - q_off[j], 0)
                    if d <= match:
                        cand.append((d, j))
            if not cand:
                continue
            j = min(cand)[1]
            if j in used:
                continue
            used.add(j)
            on, off = q_on[j], q_off[j]
            pts[li, bi, 2:4] = (on, off)
            conf[li, bi, 1] = qrs[j].confidence
            prev_off = q_off[j - 1] if j > 0 else -np.inf
            next_on = q_on[j + 1] if j + 1 < len(qrs) else np.inf
            # P: the last P run that ends before this QRS onset, after the previous QRS
            if p_on.size:
                m = np.flatnonzero((p_off < on) & (p_on > prev_off) & (on - p_on <= max_pr))
                if m.size:
                    pi = m[-1]
                    pts[li, bi, 0:2] = (p_on[pi], p_off[pi])
                    conf[li, bi, 0] = ps[pi].confidence
            # T: the first T run that starts after this QRS offset, ends before the next QRS
            if t_on.size:
                m = np.flatnonzero((t_on > off) & (t_off < next_on) & (t_off - on <= max_qt))
                if m.size:
                    ti = m[0]
                    pts[li, bi, 4:6] = (t_on[ti], t_off[ti])
                    conf[li, bi, 2] = ts[ti].confidence
    return Delineation(float(fs_hz), tuple(leads), r, pts, conf, method)


def delineation_from_labels(
    labels: np.ndarray,
    fs_hz: float,
    leads: Sequence[str],
    r_peaks: np.ndarray,
    confidence: np.ndarray | None = None,
    method: str = "",
) -> Delineation:
    """:func:`assign_beats` over the waves of ``labels`` (``(n_leads, n_samples)`` ints)."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != len(leads):
        raise DelineationError(f"labels must be (n_leads={len(leads)}, n_samples), got {labels.shape}")
    waves = [
        waves_from_labels(labels[i], fs_hz, None if confidence is None else confidence[i])
        for i in range(len(leads))
    ]
    return assign_beats(waves, r_peaks, fs_hz, leads, method)


def _robust_sd(v: np.ndarray) -> float | None:
    v = v[np.isfinite(v)]
    if v.size < 2:
        return None
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def _beat_sd(v: np.ndarray) -> float | None:
    """Robust SD of per-beat values, None with fewer than three beats."""
    v = v[np.isfinite(v)]
    return _robust_sd(v) if v.size >= 3 else None


_ABSENT = {
    "pr_ms": "no P wave found before most QRS complexes (atrial fibrillation or flutter, "
    "junctional or paced rhythm, or P waves lost in noise)",
    "qrs_ms": "no QRS complex delineated",
    "qt_ms": "no T-wave end found after most QRS complexes (flat or merged T wave, or noise)",
}
_WAVE_OF = {"pr_ms": 0, "qrs_ms": 1, "qt_ms": 2}


def record_intervals(d: Delineation, withheld: Sequence[str] = ()) -> dict[str, Interval]:
    """Record RR, HR, PR, QRS and QT (ms, bpm) of a delineation, following :data:`CONVENTION`.

    ``withheld`` names leads left out before delineation (e.g. a lead off); they are
    mentioned in the reason when nothing is left.
    """
    out: dict[str, Interval] = {}
    ms = 1000.0 / d.fs_hz
    if not d.leads:
        why = "no usable lead" + (f" ({', '.join(withheld)} withheld)" if withheld else "")
        return {k: Interval(k, None, reason=why) for k in ("rr_ms", "hr_bpm", "pr_ms", "qrs_ms", "qt_ms")}
    if d.n_beats >= 2:
        rr_all = np.diff(d.r_peaks) * ms
        rr = float(np.median(rr_all))
        out["rr_ms"] = Interval("rr_ms", rr, _robust_sd(rr_all), None, d.n_beats, len(d.leads))
        hr_all = 60000.0 / rr_all
        out["hr_bpm"] = Interval("hr_bpm", 60000.0 / rr, _robust_sd(hr_all), None, d.n_beats, len(d.leads))
    else:
        why = "fewer than two beats detected"
        out["rr_ms"] = Interval("rr_ms", None, reason=why)
        out["hr_bpm"] = Interval("hr_bpm", None, reason=why)
    per = d.lead_beat_intervals()
    has_qrs = np.isfinite(per["qrs_ms"])
    measurable = has_qrs.any(axis=0)  # beats with a QRS in some lead
    n_meas = int(measurable.sum())
    for name in ("pr_ms", "qrs_ms", "qt_ms"):
        v = per[name]
        if n_meas == 0:
            out[name] = Interval(name, None, reason="no beat delineated in any lead")
            continue
        beat_has = np.isfinite(v).any(axis=0)
        share = beat_has[measurable].mean()
        lead_med = []
        with _quiet():
            for li in range(v.shape[0]):
                row = v[li][np.isfinite(v[li])]
                if row.size:
                    lead_med.append(float(np.median(row)))
        if not lead_med or share < MIN_BEAT_SHARE:
            out[name] = Interval(
                name,
                None,
                n_beats=int(beat_has.sum()),
                n_leads=len(lead_med),
                reason=f"{_ABSENT[name]}: found in {int(beat_has.sum())} of {n_meas} beats",
            )
            continue
        pr_sd = _beat_sd(d.beat_intervals()["pr_ms"]) if name == "pr_ms" else None
        if pr_sd is not None and pr_sd > MAX_PR_BEAT_SD_MS:
            out[name] = Interval(
                name,
                None,
                n_beats=int(beat_has.sum()),
                n_leads=len(lead_med),
                reason=f"P waves without a constant relation to the QRS (PR varies by ± {pr_sd:.0f} ms "
                "from beat to beat): no measurable PR (atrial fibrillation or flutter, AV dissociation)",
            )
            continue
        c = d.confidence[:, :, _WAVE_OF[name]]
        with _quiet():
            if name == "pr_ms":  # PR rests on the P and the QRS wave; QT on the QRS and the T wave
                c = np.nanmean(np.stack([d.confidence[:, :, 0], d.confidence[:, :, 1]]), axis=0)
            elif name == "qt_ms":
                c = np.nanmean(np.stack([d.confidence[:, :, 1], d.confidence[:, :, 2]]), axis=0)
            cm = float(np.nanmean(np.where(np.isfinite(v), c, np.nan)))
        out[name] = Interval(
            name,
            float(np.median(lead_med)),
            _robust_sd(v.ravel()),
            None if math.isnan(cm) else cm,
            int(beat_has.sum()),
            len(lead_med),
        )
    return out


def labels_from_probabilities(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample class (argmax) and its probability from ``(..., 4, n_samples)`` probabilities."""
    prob = np.asarray(prob)
    labels = np.argmax(prob, axis=-2).astype(np.int8)
    conf = np.take_along_axis(prob, labels[..., None, :].astype(np.int64), axis=-2)[..., 0, :]
    return labels, conf.astype(np.float32)
