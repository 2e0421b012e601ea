"""Where the wave boundaries of a delineation are drawn (numpy only, no Qt).

A :class:`~ecgviewer.core.delineation.Delineation` holds, for every beat and every
delineated lead, the P, QRS and T boundaries (sample indices, ``nan`` when the lead
has no such wave in that beat), and their consensus over the leads. The viewer marks
them on the paper:

* :func:`lead_boundaries` -- the boundaries marked on one lead: the lead's own where it
  has them, the consensus otherwise (and for leads that were not delineated), with a
  mask saying which is which;
* :func:`median_boundaries_ms` -- the boundaries of a "typical" beat, relative to its R
  peak: per point the median over beats of the consensus minus the beat's R peak (what
  the median-beat panel marks);
* :func:`boundary_spans` -- the PR, QRS and QT spans between those points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.delineation import POINT_NAMES, POINTS

if TYPE_CHECKING:
    from ecgviewer.core.delineation import Delineation

#: Points marked with a full tick (the ones the intervals are measured between).
PRIMARY_POINTS: tuple[str, ...] = ("p_on", "qrs_on", "qrs_off", "t_off")
#: Points marked with a short, lighter tick (the other ends of the P and T waves).
SECONDARY_POINTS: tuple[str, ...] = ("p_off", "t_on")
#: The wave each point belongs to (its colour).
WAVE_OF_POINT: dict[str, str] = {
    "p_on": "P",
    "p_off": "P",
    "qrs_on": "QRS",
    "qrs_off": "QRS",
    "t_on": "T",
    "t_off": "T",
}
#: Readable names of the points.
POINT_LABELS = POINT_NAMES
#: A median-beat point needs the consensus point in at least this share of the beats.
MIN_MEDIAN_SHARE = 0.5


def lead_boundaries(d: Delineation, lead: str) -> tuple[np.ndarray, np.ndarray]:
    """The boundaries to mark on ``lead``: ``(points, own)``, both ``(n_beats, len(POINTS))``.

    ``points`` are sample indices (``nan``: nothing to mark); ``own`` is True where the
    point is the lead's own, False where it is the consensus of the delineated leads
    (the lead lacks that wave in that beat, or the lead was not delineated).
    """
    consensus = d.consensus
    if lead not in d.leads:
        return consensus.copy(), np.zeros(consensus.shape, dtype=bool)
    own_points = d.points[d.leads.index(lead)]
    own = np.isfinite(own_points)
    return np.where(own, own_points, consensus), own


def median_boundaries_ms(d: Delineation) -> dict[str, float]:
    """Per point, the median over beats of the consensus point minus the beat's R peak (ms).

    Points found in fewer than :data:`MIN_MEDIAN_SHARE` of the beats are left out.
    """
    if d.n_beats == 0:
        return {}
    rel = (d.consensus - d.r_peaks[:, None].astype(np.float64)) * (1000.0 / d.fs_hz)
    out: dict[str, float] = {}
    for k, name in enumerate(POINTS):
        col = rel[:, k]
        ok = np.isfinite(col)
        if ok.sum() and ok.mean() >= MIN_MEDIAN_SHARE:
            out[name] = float(np.median(col[ok]))
    return out


def boundary_spans(points_ms: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """``PR``, ``QRS``, ``QT`` -> ``(t0_ms, t1_ms, duration_ms)`` between boundary points (those present)."""
    out: dict[str, tuple[float, float, float]] = {}
    on = points_ms.get("qrs_on")
    if on is None:
        return out
    for name, a, b in (("PR", "p_on", "qrs_on"), ("QRS", "qrs_on", "qrs_off"), ("QT", "qrs_on", "t_off")):
        t0, t1 = points_ms.get(a), points_ms.get(b)
        if t0 is not None and t1 is not None and t1 > t0:
            out[name] = (t0, t1, t1 - t0)
    return out
