"""Agreement of predicted and reference intervals, the way the accuracy tables report it.

Per interval: n (rows where both are finite), MAE, mean difference (prediction -
reference, the bias), SD of the difference, the share within a clinical
tolerance, and a percentile bootstrap 95 % confidence interval of the MAE.
Heart rate is scored in bpm from RR (HR = 60000 / RR), the durations in ms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ecgviewer.models.checkpoint import TARGET_NAMES

#: Reported intervals, their unit and the tolerance of the "within" share.
INTERVALS: tuple[tuple[str, str, float], ...] = (
    ("hr_bpm", "bpm", 2.0),
    ("pr_ms", "ms", 10.0),
    ("qrs_ms", "ms", 10.0),
    ("qt_ms", "ms", 25.0),
)
#: Short column titles.
TITLES = {"hr_bpm": "HR", "pr_ms": "PR", "qrs_ms": "QRS", "qt_ms": "QT", "rr_ms": "RR"}


@dataclass(frozen=True)
class Agreement:
    """Agreement statistics of one interval (``nan`` where n = 0)."""

    name: str
    unit: str
    n: int
    mae: float
    mean_diff: float
    sd_diff: float
    within: float
    tolerance: float
    mae_ci_low: float
    mae_ci_high: float

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def as_reported(values: np.ndarray) -> dict[str, np.ndarray]:
    """``(N, 4)`` values in :data:`TARGET_NAMES` order -> reported intervals (HR from RR)."""
    values = np.asarray(values, dtype=np.float64)
    cols = {t: values[:, j] for j, t in enumerate(TARGET_NAMES)}
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["hr_bpm"] = np.where(cols["rr_ms"] > 0, 60000.0 / cols["rr_ms"], np.nan)
    return cols


def agreement(
    name: str,
    unit: str,
    pred: np.ndarray,
    ref: np.ndarray,
    tolerance: float,
    n_boot: int = 2000,
    seed: int = 0,
) -> Agreement:
    """Statistics of ``pred - ref`` over the rows where both are finite."""
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    ok = np.isfinite(pred) & np.isfinite(ref)
    d = pred[ok] - ref[ok]
    n = int(d.size)
    if n == 0:
        nan = math.nan
        return Agreement(name, unit, 0, nan, nan, nan, nan, tolerance, nan, nan)
    err = np.abs(d)
    lo = hi = math.nan
    if n_boot > 0 and n > 1:
        rng = np.random.default_rng(seed)
        boots = err[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
        lo, hi = (float(v) for v in np.percentile(boots, [2.5, 97.5]))
    return Agreement(
        name,
        unit,
        n,
        float(err.mean()),
        float(d.mean()),
        float(d.std(ddof=1)) if n > 1 else math.nan,
        float((err <= tolerance).mean()),
        tolerance,
        lo,
        hi,
    )


def score(pred: np.ndarray, ref: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, Agreement]:
    """:class:`Agreement` per reported interval for ``(N, 4)`` predictions and references."""
    p, r = as_reported(pred), as_reported(ref)
    return {
        name: agreement(name, unit, p[name], r[name], tol, n_boot=n_boot, seed=seed)
        for name, unit, tol in INTERVALS
    }
