"""Where the PR, QRS and QT spans sit on a median beat (numpy only, no Qt, no scipy).

The spans are anchored at the classical QRS onset of the median beat:

* PR  = [qrs_onset - PR, qrs_onset]
* QRS = [qrs_onset, qrs_onset + QRS]
* QT  = [qrs_onset, qrs_onset + QT]

with the model's interval lengths when they are given, otherwise the classical
fiducials (P onset, QRS offset, T offset). The median-beat panel of the viewer
and the PDF report both draw what :func:`median_beat_spans` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ecgviewer.core.beats import MedianBeat

#: Span names in drawing order, and the interval key each one shows.
SPAN_KEYS: tuple[tuple[str, str], ...] = (("PR", "pr_ms"), ("QRS", "qrs_ms"), ("QT", "qt_ms"))


def pick_lead(beat: MedianBeat) -> int:
    """Row of lead II in the median beat, else 0."""
    return beat.leads.index("II") if "II" in beat.leads else 0


def fiducial_ms(beat: MedianBeat, key: str) -> float | None:
    """A fiducial of the median beat in ms relative to its R peak (None when not found)."""
    v = beat.fiducials.get(key)
    return None if v is None else float((int(v) - beat.r_index) * 1000.0 / beat.fs_hz)


def median_beat_spans(
    beat: MedianBeat, model_ms: Mapping[str, float] | None = None
) -> tuple[dict[str, tuple[float, float, float]], str | None]:
    """The spans to draw on a median beat.

    Parameters
    ----------
    beat
        A delineated median beat (:func:`ecgviewer.core.beats.delineate`).
    model_ms
        ``{"pr_ms", "qrs_ms", "qt_ms"}`` from a model, or None for the classical spans.

    Returns
    -------
    spans, source
        ``name -> (t0_ms, t1_ms, duration_ms)`` relative to the R peak, and
        ``"model"``, ``"classical"`` or None (no QRS onset: nothing to anchor on).
    """
    on = fiducial_ms(beat, "qrs_onset")
    if on is None:
        return {}, None
    out: dict[str, tuple[float, float, float]] = {}
    if model_ms is not None:
        for name, key in SPAN_KEYS:
            ms = model_ms.get(key)
            if ms is not None and np.isfinite(ms) and ms > 0:
                ms = float(ms)
                out[name] = (on - ms, on, ms) if name == "PR" else (on, on + ms, ms)
        return out, "model"
    p_on, qrs_off, t_off = (fiducial_ms(beat, k) for k in ("p_onset", "qrs_offset", "t_offset"))
    if p_on is not None:
        out["PR"] = (p_on, on, on - p_on)
    if qrs_off is not None:
        out["QRS"] = (on, qrs_off, qrs_off - on)
    if t_off is not None:
        out["QT"] = (on, t_off, t_off - on)
    return out, "classical"


def model_interval_ms(prediction) -> dict[str, float] | None:
    """``{"pr_ms", "qrs_ms", "qt_ms"}`` of a model result (``PredictionResult``), None without one."""
    if prediction is None:
        return None
    return {
        key: float(prediction.intervals[key].value) for _, key in SPAN_KEYS if key in prediction.intervals
    }


#: Consensus boundaries marked on a median beat and on the rhythm strip, with the wave they bound.
MARKED_POINTS: tuple[tuple[str, str], ...] = (
    ("p_on", "P"),
    ("qrs_on", "QRS"),
    ("qrs_off", "QRS"),
    ("t_off", "T"),
)
#: Span name -> the two boundary points it runs between (QT from QRS onset to T offset).
SPAN_POINTS: dict[str, tuple[str, str]] = {
    "PR": ("p_on", "qrs_on"),
    "QRS": ("qrs_on", "qrs_off"),
    "QT": ("qrs_on", "t_off"),
}


def boundary_offsets_ms(consensus: np.ndarray, r_peaks: np.ndarray, fs_hz: float) -> dict[str, float]:
    """Median over beats of each consensus boundary relative to the beat's R peak, in ms.

    ``consensus``: ``(n_beats, 6)`` samples in :data:`ecgviewer.core.delineation.POINTS` order
    (``nan`` where absent); a point absent in every beat is left out.
    """
    from ecgviewer.core.delineation import POINTS

    c = np.asarray(consensus, dtype=np.float64)
    r = np.asarray(r_peaks, dtype=np.float64)
    out: dict[str, float] = {}
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[0] != r.size:
        return out
    for i, name in enumerate(POINTS):
        rel = c[:, i] - r
        rel = rel[np.isfinite(rel)]
        if rel.size:
            out[name] = float(np.median(rel) * 1000.0 / fs_hz)
    return out


def delineation_spans(
    offsets_ms: Mapping[str, float], values_ms: Mapping[str, float | None]
) -> dict[str, tuple[float, float, float]]:
    """PR, QRS and QT spans between the median boundaries (:func:`boundary_offsets_ms`), labelled
    with the record values ``values_ms`` (``pr_ms``, ``qrs_ms``, ``qt_ms``); a span whose value is
    absent (None) or whose boundaries are missing is left out. ``name -> (t0_ms, t1_ms, value_ms)``."""
    out: dict[str, tuple[float, float, float]] = {}
    for name, key in SPAN_KEYS:
        a, b = SPAN_POINTS[name]
        value = values_ms.get(key)
        if value is None or not np.isfinite(value) or a not in offsets_ms or b not in offsets_ms:
            continue
        out[name] = (offsets_ms[a], offsets_ms[b], float(value))
    return out
