"""Signal quality per lead and per segment: is there an ECG to measure? (numpy/scipy only)

:func:`assess_quality` cuts every recorded lead in mV into segments of
:data:`SEGMENT_S` seconds and flags each segment with what is wrong with it:

==================  ==========  ==========================================================
flag                unusable?   rule (thresholds below, all in one place)
==================  ==========  ==========================================================
``flat``            yes         the 0.5-40 Hz band-passed signal spans less than
                                :data:`FLAT_MV` (0.5-99.5 percentile): no QRS complex,
                                which is at least ~0.1 mV in every lead of a real ECG
``lead_off``        yes         more than :data:`NAN_SHARE` of the samples missing (NaN),
                                or flat at a rail (a level beyond :data:`RAIL_MV`, or
                                pinned at the lead's own extreme while the lead moves
                                elsewhere), or a DC step larger than :data:`STEP_MV` between
                                neighbouring 100 ms medians (an electrode pop)
``clipped``         yes         at least :data:`CLIP_SHARE` of the samples sit on plateaus
                                (runs of :data:`CLIP_RUN_MS` or longer) at the segment's
                                maximum or minimum, that extreme far from the median
                                (:data:`CLIP_FAR_FRAC`), at least :data:`CLIP_MIN_RUNS`
                                plateaus: the amplifier or the file's range cut
                                the waves, so amplitudes and often the QRS end are wrong
``noise``           yes         the robust RMS above 40 Hz exceeds :data:`NOISE_RATIO` times the
                                span of the 0.5-40 Hz ECG (about the QRS amplitude) and
                                :data:`NOISE_MIN_MV` (muscle/EMG noise, white noise at
                                about 5 dB SNR or worse, strong mains hum)
``baseline_wander`` no          the 0.7 Hz low-passed baseline moves more than
                                :data:`WANDER_MV` within the segment (the measurements
                                high-pass at 0.5 Hz; a warning only)
``pacing``          no          sharp spikes: a second difference above
                                :data:`PACE_MIN_MV` and :data:`PACE_MAD_FACTOR` times the
                                segment's robust noise level, in at least
                                :data:`PACE_MIN_SPIKES` places of the lead; only at
                                >= :data:`PACE_MIN_FS_HZ` Hz (a pacemaker stimulus lasts
                                0.5-1 ms and is lost at lower rates); a flag, not unusable
==================  ==========  ==========================================================

A lead is **unusable** when at least half of its segments are unusable (then the
reasons are the unusable flags of those segments); a usable lead's unusable
segments are listed as skipped. Derived limb leads (III, aVR, aVL, aVF computed
from I and II) are not assessed on their own: they inherit the state of I and II.
The record is **measurable** when at least one lead is usable and at least one
segment is usable in the usable leads; otherwise :attr:`QualityReport.reason` says
why ("no measurable ECG: all leads flat").

Why rules and not a library index
---------------------------------
NeuroKit2's ``ecg_quality`` (the template-matching index of Zhao & Zhang 2018 and
the Orphanidou 2015 rules) scores the beats found by its own R-peak detector, and
it answers "is this usable" for the whole signal without saying *why*, which the
viewer and the reports must show. On PTB-XL record 1, lead II (NeuroKit2 0.2.x,
``method="zhao2018"``) it rates the clean lead "Excellent", the same lead with white
noise at 0 dB SNR "Excellent", clipped at +-0.2 mV "Excellent" and an all-zero lead
"Barely acceptable": it judges the regularity of what its detector finds, not whether
there is an ECG to measure. It is also only a test/training extra of ecgviewer, and
``core`` may not depend on it. The rules here are transparent, cheap (a few ms per
lead and 10 s), give a reason per lead and segment, and their thresholds have units
and a physiological basis.

On the 300 PTB-XL records of the shared data (12 leads, 10 s, 500 Hz) the
assessment marks 1 of 3600 leads unusable (lead II of record 423, visibly noisy)
and every record measurable; it flags pacing in exactly the one record annotated
with a pacemaker (385). See ``docs/quality.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import signal

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord

# -- thresholds (units in the names; the module notes give the basis) ------------------------
#: Segment length, s: a few beats (2.5 s is one column of the 3x4 printout).
SEGMENT_S = 2.5
#: A last segment shorter than this (s) is merged into the one before it.
MIN_SEGMENT_S = 1.0
#: Span (0.5-99.5 percentile) of the 0.5-40 Hz signal below which a segment is flat, mV.
FLAT_MV = 0.05
#: Share of missing (non-finite) samples that makes a segment "lead off".
NAN_SHARE = 0.5
#: A flat segment whose level is beyond this (mV) sits at a rail: lead off.
RAIL_MV = 3.0
#: Jump between neighbouring 100 ms medians that is an electrode pop / DC step, mV.
STEP_MV = 5.0
#: Plateau at the segment's extreme: samples within this share of its span of the extreme ...
CLIP_TOL_FRAC = 0.002
#: ... in runs at least this long (ms) ...
CLIP_RUN_MS = 10.0
#: ... covering at least this share of the segment's samples: clipped ...
CLIP_SHARE = 0.01
#: ... when that extreme is at least this share of the span away from the segment's median (a flat
#: baseline that happens to be the lowest part of a lead with only upward waves is not a plateau).
CLIP_FAR_FRAC = 0.3
#: ... and at least this many separate plateaus at that extreme in the segment (a rail cuts every beat).
CLIP_MIN_RUNS = 2
#: Robust RMS above 40 Hz (1.4826 x MAD: pacing spikes and QRS edges do not count) over the span of
#: the 0.5-40 Hz ECG (about the QRS amplitude) beyond which a segment is too noisy. PTB-XL leads are
#: below 0.01 (95th percentile); white noise at 20/10/5/0 dB SNR gives about 0.015/0.044/0.076/0.13
#: (medians), and the classical PR error grows past 5 dB.
NOISE_RATIO = 0.07
#: ... and the RMS above 40 Hz must exceed this (mV): a small lead with ordinary noise is fine.
NOISE_MIN_MV = 0.02
#: A measurement from several usable leads is withheld when the median noise ratio of those leads
#: exceeds this: each lead passes, but together they are too noisy to delineate P and T waves (with
#: white noise on PTB-XL, records below it keep their classical PR, QRS and QT within 10-14 ms of the
#: clean values at 10 dB; between 0.05 and 0.07 the PR error reaches 90 ms, the QT error 150 ms).
RECORD_NOISE_RATIO = 0.05
#: Baseline (0.7 Hz low-pass) excursion within a segment flagged as baseline wander, mV.
WANDER_MV = 1.0
#: Pacing spikes: second difference at least this (mV) ...
PACE_MIN_MV = 0.5
#: ... and this many times the segment's robust (MAD) second-difference level ...
PACE_MAD_FACTOR = 15.0
#: ... in at least this many places of a lead; only at this sampling rate or above (Hz).
PACE_MIN_SPIKES = 2
PACE_MIN_FS_HZ = 500.0
#: A lead is unusable when at least this share of its segments is unusable.
LEAD_UNUSABLE_SHARE = 0.5

#: Every flag, in the order they are reported.
FLAGS: tuple[str, ...] = ("lead_off", "flat", "clipped", "noise", "baseline_wander", "pacing")
#: Flags that make a segment unusable (the others are warnings).
UNUSABLE_FLAGS: frozenset[str] = frozenset({"lead_off", "flat", "clipped", "noise"})
#: Words for the flags in reasons and marks.
FLAG_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "lead_off": "lead off",
        "flat": "flat",
        "clipped": "clipped",
        "noise": "noise",
        "baseline_wander": "baseline wander",
        "pacing": "pacing spikes",
    }
)


@dataclass(frozen=True)
class SegmentQuality:
    """One segment of one lead: ``start_s``..``stop_s`` and its :data:`FLAGS`."""

    start_s: float
    stop_s: float
    flags: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """False when any flag is in :data:`UNUSABLE_FLAGS`."""
        return not (set(self.flags) & UNUSABLE_FLAGS)


@dataclass(frozen=True)
class LeadQuality:
    """The quality of one lead.

    Attributes
    ----------
    lead
        Lead name.
    usable
        False: the lead is left out of every measurement and classification.
    reasons
        Unusable flags of an unusable lead (most frequent first); empty when usable.
    flags
        Every flag seen in any segment (warnings too), in :data:`FLAGS` order.
    segments
        Per segment (empty for a derived lead).
    derived_from
        For a derived limb lead, the leads it is computed from (it inherits their state).
    metrics
        Per-lead numbers behind the flags (medians over segments): ``amplitude_mv`` (0.5-40 Hz
        span), ``noise_ratio``, ``wander_mv``, ``clipped_share``, ``pacing_spikes``.
    """

    lead: str
    usable: bool
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    segments: tuple[SegmentQuality, ...] = ()
    derived_from: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def reason_text(self) -> str:
        """``"flat"``, ``"clipped, noise"``, ``"I flat"`` for a derived lead; empty when usable."""
        return ", ".join(FLAG_TEXT.get(r, r) for r in self.reasons)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Flags that do not make the lead unusable (baseline wander, pacing) and skipped segments."""
        return tuple(f for f in self.flags if f not in UNUSABLE_FLAGS or self.usable)

    @property
    def skipped_segments(self) -> tuple[SegmentQuality, ...]:
        """Unusable segments of a usable lead."""
        return tuple(s for s in self.segments if not s.usable) if self.usable else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the measurement document's ``quality.leads`` entry)."""
        return {
            "usable": self.usable,
            "reasons": list(self.reasons),
            "flags": list(self.flags),
            "derived_from": list(self.derived_from) or None,
            "skipped_segments_s": [[s.start_s, s.stop_s] for s in self.skipped_segments],
            "metrics": {k: _round(v) for k, v in self.metrics.items()},
        }


@dataclass(frozen=True)
class QualityReport:
    """The quality of a record (:func:`assess_quality`).

    Attributes
    ----------
    leads
        Per lead shown (recorded ECG leads, then derived ones), in display order.
    measurable
        False when nothing usable is left: every measurement and statement is withheld.
    reason
        Why the record is not measurable (one line), else None.
    skipped_s
        Spans (s) where every usable lead is unusable: left out of the beat measurement.
    pacing
        Pacing spikes were found in at least one lead.
    pacing_assessed
        False when the sampling rate is too low to see pacing spikes.
    segment_s
        Segment length used.
    """

    leads: Mapping[str, LeadQuality]
    measurable: bool
    reason: str | None = None
    skipped_s: tuple[tuple[float, float], ...] = ()
    pacing: bool = False
    pacing_assessed: bool = True
    segment_s: float = SEGMENT_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "leads", MappingProxyType(dict(self.leads)))

    @property
    def usable_leads(self) -> tuple[str, ...]:
        """Leads that measurements may use."""
        return tuple(n for n, q in self.leads.items() if q.usable)

    @property
    def unusable_leads(self) -> tuple[str, ...]:
        """Leads left out."""
        return tuple(n for n, q in self.leads.items() if not q.usable)

    def is_usable(self, lead: str) -> bool:
        """True for a usable lead, and for a lead the report does not know (not assessed)."""
        q = self.leads.get(lead)
        return q is None or q.usable

    def lead_problem(self, leads: Sequence[str]) -> str | None:
        """Why a consumer that needs all of ``leads`` cannot run, e.g. ``"lead V1 unusable (flat)"``.

        None when every one of ``leads`` is usable. With several bad leads they are listed
        (``"leads V1, V2 unusable (flat)"``; different reasons are separated by ``;``).
        """
        if not self.measurable:
            return self.reason
        bad = [n for n in leads if not self.is_usable(n)]
        if not bad:
            return self.noise_problem(leads)
        by_reason: dict[str, list[str]] = {}
        for n in bad:
            by_reason.setdefault(self.leads[n].reason_text, []).append(n)
        parts = [
            f"{'leads' if len(names) > 1 else 'lead'} {', '.join(names)} unusable ({why})"
            for why, names in by_reason.items()
        ]
        return "; ".join(parts)

    def noise_problem(self, leads: Sequence[str]) -> str | None:
        """``"leads too noisy (median noise ratio 0.062 > 0.05)"`` when the usable ones of ``leads``
        are together too noisy (:data:`RECORD_NOISE_RATIO`), else None."""
        ratios = [
            self.leads[n].metrics.get("noise_ratio", float("nan"))
            for n in leads
            if n in self.leads and self.leads[n].usable and not self.leads[n].derived_from
        ]
        ratios = [r for r in ratios if np.isfinite(r)]
        if not ratios:
            return None
        median = float(np.median(ratios))
        if median <= RECORD_NOISE_RATIO:
            return None
        return f"leads too noisy (median noise ratio {median:.3f} > {RECORD_NOISE_RATIO:g})"

    def summary(self) -> str:
        """One line for panels and reports: ``"all 12 leads usable"``, ``"V1 flat; II noise"``, the reason."""
        if not self.measurable:
            return self.reason or "no measurable ECG"
        by_reason: dict[str, list[str]] = {}
        for n, q in self.leads.items():
            if not q.usable:
                by_reason.setdefault(q.reason_text, []).append(n)
        bad = [f"{', '.join(names)} {why}" for why, names in by_reason.items()]
        warn = sorted(
            {
                FLAG_TEXT[f]
                for q in self.leads.values()
                if q.usable
                for f in q.flags
                if f not in UNUSABLE_FLAGS
            }
        )
        parts = [f"unusable: {'; '.join(bad)}"] if bad else [f"all {len(self.leads)} leads usable"]
        if warn:
            parts.append(", ".join(warn))
        if self.skipped_s:
            parts.append(f"{len(self.skipped_s)} segment(s) skipped")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the measurement document's ``quality`` section)."""
        return {
            "measurable": self.measurable,
            "reason": self.reason,
            "summary": self.summary(),
            "method": "rules (ecgviewer.core.quality)",
            "segment_s": self.segment_s,
            "usable_leads": list(self.usable_leads),
            "unusable_leads": list(self.unusable_leads),
            "skipped_segments_s": [[a, b] for a, b in self.skipped_s],
            "pacing": self.pacing,
            "pacing_assessed": self.pacing_assessed,
            "leads": {n: q.to_dict() for n, q in self.leads.items()},
        }


def _round(v: float) -> float | None:
    v = float(v)
    return round(v, 4) if np.isfinite(v) else None


# -- the assessment ---------------------------------------------------------------------------
def segment_bounds(n_samples: int, fs_hz: float, segment_s: float = SEGMENT_S) -> list[tuple[int, int]]:
    """``[start, stop)`` of the segments of ``n_samples``; a short last one joins the one before."""
    step = max(1, round(segment_s * fs_hz))
    bounds = [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < MIN_SEGMENT_S * fs_hz:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


def _sos(fs_hz: float, kind: str, freq: float | list[float], order: int = 2) -> np.ndarray | None:
    nyq = fs_hz / 2.0
    if kind == "bandpass":
        lo, hi = freq  # type: ignore[misc]
        if hi >= 0.9 * nyq:
            return signal.butter(order, lo, "highpass", fs=fs_hz, output="sos")
    elif freq >= 0.9 * nyq:  # type: ignore[operator]
        return None
    return signal.butter(order, freq, kind, fs=fs_hz, output="sos")


def _filt(sos: np.ndarray | None, x: np.ndarray, fs_hz: float) -> np.ndarray:
    if sos is None:
        return np.zeros_like(x)
    padlen = min(x.shape[-1] - 1, int(3 * fs_hz))
    if padlen < 1:
        return x.copy()
    return signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen)


def _plateau_share(x: np.ndarray, fs_hz: float) -> float:
    """Share of samples on runs of at least :data:`CLIP_RUN_MS` at the maximum or minimum of ``x``."""
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    if span <= 0:
        return 1.0
    tol = CLIP_TOL_FRAC * span + 1e-9
    min_run = max(3, round(CLIP_RUN_MS * fs_hz / 1000.0))
    med = float(np.median(x))
    total = 0
    for edge, at_edge in ((hi, x >= hi - tol), (lo, x <= lo + tol)):
        if abs(edge - med) < CLIP_FAR_FRAC * span:
            continue
        d = np.diff(np.concatenate([[0], at_edge.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        runs = stops - starts
        runs = runs[runs >= min_run]
        if runs.size >= CLIP_MIN_RUNS:  # a rail cuts every beat; one flat trough of a slow wave is not one
            total += int(runs.sum())
    return total / x.size


def _pacing_spikes(x: np.ndarray) -> np.ndarray:
    """Sample indices of pacing-like spikes in ``x`` (second difference, one per 10 samples)."""
    if x.size < 5:
        return np.zeros(0, dtype=np.int64)
    d2 = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:]))
    mad = float(np.median(d2)) * 1.4826
    thr = max(PACE_MIN_MV, PACE_MAD_FACTOR * mad)
    idx = np.flatnonzero(d2 > thr) + 1
    if idx.size > 1:
        idx = idx[np.concatenate([[True], np.diff(idx) > 10])]
    return idx


def _assess_lead(x: np.ndarray, fs_hz: float, bounds: list[tuple[int, int]]) -> LeadQuality:
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    filled = np.where(finite, x, np.median(x[finite]) if finite.any() else 0.0)
    band = _filt(_sos(fs_hz, "bandpass", [0.5, 40.0]), filled, fs_hz)
    high = _filt(_sos(fs_hz, "highpass", 40.0), filled, fs_hz)
    base = _filt(_sos(fs_hz, "lowpass", 0.7), filled, fs_hz)
    lead_lo, lead_hi = float(filled.min()), float(filled.max())
    lead_moves = lead_hi - lead_lo > FLAT_MV
    block = max(1, round(0.1 * fs_hz))
    pacing_ok = fs_hz >= PACE_MIN_FS_HZ
    segs, amps, noises, wanders, clips, spikes = [], [], [], [], [], 0
    for a, b in bounds:
        flags: set[str] = set()
        seg, fin = filled[a:b], finite[a:b]
        nan_share = 1.0 - float(fin.mean())
        amp = float(np.subtract(*np.percentile(band[a:b], [99.5, 0.5])))
        raw_amp = float(np.subtract(*np.percentile(seg, [99.5, 0.5])))
        amp = min(amp, raw_amp)  # a zeroed stretch inside a lead: the filters' ringing is no signal
        level = float(np.median(seg))
        amps.append(amp)
        if nan_share > NAN_SHARE:
            flags.add("lead_off")
        elif amp < FLAT_MV:
            railed = abs(level) > RAIL_MV or (
                lead_moves and (abs(level - lead_hi) < FLAT_MV or abs(level - lead_lo) < FLAT_MV)
            )
            flags.add("lead_off" if railed else "flat")
        else:
            n_blocks = (b - a) // block
            if n_blocks >= 2:
                med = np.median(seg[: n_blocks * block].reshape(n_blocks, block), axis=1)
                if float(np.max(np.abs(np.diff(med)))) > STEP_MV:
                    flags.add("lead_off")
            share = _plateau_share(seg, fs_hz)
            clips.append(share)
            if share >= CLIP_SHARE:
                flags.add("clipped")
            hf = high[a:b]
            hf_rms = 1.4826 * float(np.median(np.abs(hf - np.median(hf))))  # robust: spikes, QRS edges
            noise = hf_rms / max(amp, 1e-9)
            noises.append(noise)
            if noise > NOISE_RATIO and hf_rms > NOISE_MIN_MV:
                flags.add("noise")
            wander = float(np.ptp(base[a:b]))
            wanders.append(wander)
            if wander > WANDER_MV:
                flags.add("baseline_wander")
            if pacing_ok:
                n = _pacing_spikes(seg).size
                spikes += n
                if n:
                    flags.add("pacing")
        segs.append(SegmentQuality(a / fs_hz, b / fs_hz, tuple(f for f in FLAGS if f in flags)))
    if spikes < PACE_MIN_SPIKES:  # one spike is an artefact, not pacing
        segs = [SegmentQuality(s.start_s, s.stop_s, tuple(f for f in s.flags if f != "pacing")) for s in segs]
    bad = [s for s in segs if not s.usable]
    usable = len(bad) < LEAD_UNUSABLE_SHARE * len(segs)
    reasons: tuple[str, ...] = ()
    if not usable:
        counts: dict[str, int] = {}
        for s in bad:
            for f in s.flags:
                if f in UNUSABLE_FLAGS:
                    counts[f] = counts.get(f, 0) + 1
        reasons = tuple(sorted(counts, key=lambda f: (-counts[f], FLAGS.index(f))))
    seen = {f for s in segs for f in s.flags}
    metrics = {
        "amplitude_mv": float(np.median(amps)) if amps else float("nan"),
        "noise_ratio": float(np.median(noises)) if noises else float("nan"),
        "wander_mv": float(np.max(wanders)) if wanders else float("nan"),
        "clipped_share": float(np.max(clips)) if clips else float("nan"),
        "pacing_spikes": float(spikes if spikes >= PACE_MIN_SPIKES else 0),
    }
    return LeadQuality("", usable, reasons, tuple(f for f in FLAGS if f in seen), tuple(segs), (), metrics)


def assess_quality(record: EcgRecord, segment_s: float = SEGMENT_S) -> QualityReport:
    """Flag every recorded ECG lead (unit mV) of ``record`` per segment; see the module notes.

    Channels in other units (a plethysmogram) are not assessed and not listed. Derived limb
    leads inherit the state of I and II.
    """
    fs = record.fs_hz
    bounds = segment_bounds(record.n_samples, fs, segment_s) if record.n_samples else []
    leads: dict[str, LeadQuality] = {}
    for name, unit in zip(record.lead_names, record.units):
        if unit != "mV" or not bounds:
            continue
        q = _assess_lead(record.lead(name), fs, bounds)
        leads[name] = LeadQuality(name, q.usable, q.reasons, q.flags, q.segments, (), q.metrics)
    for name in record.derived_leads:
        sources = tuple(n for n in ("I", "II") if n in leads)
        bad = [n for n in sources if not leads[n].usable]
        reasons = tuple(f"{n} {leads[n].reason_text}" for n in bad)
        flags = tuple(f for f in FLAGS if any(f in leads[n].flags for n in sources))
        leads[name] = LeadQuality(name, not bad, reasons, flags, (), sources, {})
    ordered = {n: leads[n] for n in record.display_leads if n in leads}
    return _summarise(ordered, bounds, fs, segment_s)


def _summarise(
    leads: dict[str, LeadQuality], bounds: list[tuple[int, int]], fs: float, segment_s: float
) -> QualityReport:
    pacing_assessed = fs >= PACE_MIN_FS_HZ
    pacing = any("pacing" in q.flags for q in leads.values())
    if not leads:
        return QualityReport(
            {}, False, "no measurable ECG: no ECG lead in mV", (), False, pacing_assessed, segment_s
        )
    recorded = {n: q for n, q in leads.items() if not q.derived_from}
    usable = [q for q in recorded.values() if q.usable]
    if not usable:
        return QualityReport(leads, False, _nothing_usable(recorded), (), pacing, pacing_assessed, segment_s)
    skipped = []
    for i, (a, b) in enumerate(bounds):
        if all(not q.segments[i].usable for q in usable):
            skipped.append((a / fs, b / fs))
    if len(skipped) == len(bounds):
        flags = sorted({f for q in usable for s in q.segments for f in s.flags if f in UNUSABLE_FLAGS})
        reason = (
            "no measurable ECG: no segment usable in any lead ("
            + ", ".join(FLAG_TEXT[f] for f in flags)
            + ")"
        )
        return QualityReport(leads, False, reason, tuple(skipped), pacing, pacing_assessed, segment_s)
    return QualityReport(leads, True, None, tuple(skipped), pacing, pacing_assessed, segment_s)


def _nothing_usable(recorded: Mapping[str, LeadQuality]) -> str:
    """``"no measurable ECG: all leads flat"`` or ``"... all leads unusable (I, II: flat; V1: clipped)"``."""
    texts = {n: q.reason_text for n, q in recorded.items()}
    if len(set(texts.values())) == 1:
        only = next(iter(texts.values()))
        n = len(texts)
        return f"no measurable ECG: {'the only lead is' if n == 1 else f'all {n} leads'} {only}"
    by: dict[str, list[str]] = {}
    for n, t in texts.items():
        by.setdefault(t, []).append(n)
    return (
        "no measurable ECG: all leads unusable ("
        + "; ".join(f"{', '.join(v)}: {k}" for k, v in by.items())
        + ")"
    )


def usable_sample_mask(report: QualityReport, n_samples: int, fs_hz: float) -> np.ndarray:
    """Boolean mask over the samples: False inside :attr:`QualityReport.skipped_s`."""
    mask = np.ones(n_samples, dtype=bool)
    for a, b in report.skipped_s:
        mask[round(a * fs_hz) : round(b * fs_hz)] = False
    return mask


def no_signal_spans(x: np.ndarray, fs_hz: float, segment_s: float = SEGMENT_S) -> list[tuple[int, int]]:
    """``[start, stop)`` sample spans of the flat or lead-off segments of one lead.

    The long-record beat pass (:func:`ecgviewer.core.beat_pass.detect_r_peaks_long`) drops the
    beats found there: a detector with an adaptive threshold finds "beats" in any flat stretch.
    Noise and clipping are not judged here (a noisy or clipped Holter stretch still has beats).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < 4:
        return [(0, x.size)] if x.size else []
    bounds = segment_bounds(x.size, fs_hz, segment_s)
    q = _assess_lead(x, fs_hz, bounds)
    return [(a, b) for (a, b), seg in zip(bounds, q.segments) if {"flat", "lead_off"} & set(seg.flags)]
