"""The statistics of the accuracy tables: interval agreement and classifier scores.

Intervals: per interval n (rows where both are finite), MAE, mean difference
(prediction - reference, the bias), SD of the difference, the share within a
clinical tolerance, and a percentile bootstrap 95 % confidence interval of the
MAE. Heart rate is scored in bpm from RR (HR = 60000 / RR), the durations in ms.
:func:`clustered_agreement` gives every one of those statistics a CI, resampling
records (or any clusters, e.g. the beats of a record) rather than rows.

Wave boundaries: :func:`match_boundaries` pairs reference and predicted boundaries
one to one within a tolerance, :func:`boundary_tally` counts true positives, misses
and false positives and :func:`boundary_summary` pools them into sensitivity,
positive predictivity and the mean and SD of the error (the form of the
delineation literature, e.g. Martinez et al. 2004).

Classifiers: per class the rank-based ROC AUC (Mann-Whitney, ties count 1/2),
and at the decision threshold F1, sensitivity and specificity; the macro AUC and
macro F1 average the classes that have both labels. Every figure has a
percentile bootstrap 95 % CI over records (:func:`bootstrap_indices`, the same
resampling as the interval CIs).
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


def bootstrap_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` row indices drawn with replacement: the resamples of every bootstrap CI here."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def percentile_ci(boots: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap statistics (``nan`` entries, undefined resamples, left out)."""
    boots = np.asarray(boots, dtype=np.float64)
    boots = boots[np.isfinite(boots)]
    if not boots.size:
        return math.nan, math.nan
    tail = round(50 * (1 - level), 10)
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return float(lo), float(hi)


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
        boots = err[bootstrap_indices(n, n_boot, seed)].mean(axis=1)
        lo, hi = percentile_ci(boots)
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


def clustered_agreement(
    pred: np.ndarray,
    ref: np.ndarray,
    tolerance: float,
    clusters: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, object]:
    """Agreement of ``pred`` with ``ref`` with a bootstrap 95 % CI of every statistic.

    Rows where both are finite count; ``missed`` is the number of rows with a finite
    reference and no prediction, ``extra`` the number with a prediction where the reference
    has none (e.g. a PR measured where the experts saw no P wave). The statistics are those
    of :func:`agreement` (MAE, mean difference = bias, SD of the difference, share within
    ``tolerance``); each gets
    a percentile CI from resampling the ``clusters`` (e.g. the record of each beat;
    default: every row its own) with :func:`bootstrap_indices`. The resampling is
    vectorised over per-cluster sums, so 1000 resamples of a few thousand rows take
    milliseconds.
    """
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    groups = np.arange(pred.size) if clusters is None else np.asarray(clusters)
    ok = np.isfinite(pred) & np.isfinite(ref)
    missed = int((np.isfinite(ref) & ~np.isfinite(pred)).sum())
    extra = int((~np.isfinite(ref) & np.isfinite(pred)).sum())
    d = pred[ok] - ref[ok]
    names = ("mae", "mean_diff", "sd_diff", "within")
    out: dict[str, object] = {"n": int(d.size), "missed": missed, "extra": extra}
    out["tolerance"] = float(tolerance)
    _, inv = np.unique(groups[ok], return_inverse=True)
    k = int(inv.max()) + 1 if inv.size else 0
    out["n_clusters"] = k
    sums = np.zeros((k, 5))
    np.add.at(sums, inv, np.stack([np.ones_like(d), d, d * d, np.abs(d), np.abs(d) <= tolerance], axis=1))

    def stats(t: np.ndarray) -> np.ndarray:
        """(..., 5) totals (n, sum d, sum d^2, sum |d|, within) -> (..., 4) statistics (nan: undefined)."""
        n = t[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = t[..., 1] / n
            var = (t[..., 2] - t[..., 1] * mean) / (n - 1)
            sd = np.where(n > 1, np.sqrt(np.clip(var, 0.0, None)), np.nan)
            return np.stack([t[..., 3] / n, mean, sd, t[..., 4] / n], axis=-1)

    point = stats(sums.sum(axis=0)) if k else np.full(4, np.nan)
    boots = stats(sums[bootstrap_indices(k, n_boot, seed)].sum(axis=1)) if k > 1 and n_boot > 0 else None
    for j, name in enumerate(names):
        out[name] = float(point[j]) if np.isfinite(point[j]) else None
        lo, hi = percentile_ci(boots[:, j]) if boots is not None else (math.nan, math.nan)
        out[f"{name}_ci"] = [lo, hi] if math.isfinite(lo) else None
    return out


# -- wave boundaries -------------------------------------------------------------------------


def match_boundaries(ref: np.ndarray, pred: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs ``(i_ref, j_pred)`` of boundaries at most ``tolerance`` apart, nearest first.

    Every candidate pair within the tolerance is taken in order of its distance
    (ties: the earlier reference) unless either end is already used, so a predicted
    boundary counts for at most one reference boundary and vice versa.
    """
    ref, pred = np.asarray(ref, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    if not ref.size or not pred.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dist = np.abs(pred[None, :] - ref[:, None])
    i, j = np.nonzero(dist <= tolerance)
    order = np.lexsort((i, dist[i, j]))
    used_r, used_p = set(), set()
    pairs = []
    for a, b in zip(i[order], j[order], strict=True):
        if a not in used_r and b not in used_p:
            used_r.add(a)
            used_p.add(b)
            pairs.append((a, b))
    pairs.sort()
    got = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return got[:, 0], got[:, 1]


def boundary_tally(
    ref: np.ndarray,
    pred: np.ndarray,
    tolerance: float,
    spans: list[tuple[float, float]] | None = None,
) -> dict[str, object]:
    """True positives, misses, false positives and the errors of one kind of boundary.

    ``ref`` and ``pred`` are positions (any unit; ``nan`` entries are dropped);
    a reference boundary with a prediction within ``tolerance`` (:func:`match_boundaries`)
    is a true positive with error ``pred - ref``, one without is a false negative. An
    unmatched prediction is a false positive when it lies inside one of ``spans`` (the
    annotated stretches, ends included; default: anywhere), so predictions outside the
    annotated part of a record are not counted against it.
    """
    ref = np.asarray(ref, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    ref, pred = ref[np.isfinite(ref)], pred[np.isfinite(pred)]
    i, j = match_boundaries(ref, pred, tolerance)
    rest = np.setdiff1d(np.arange(pred.size), j)
    if spans is not None:
        inside = np.zeros(rest.size, bool)
        for a, b in spans:
            inside |= (pred[rest] >= a) & (pred[rest] <= b)
        rest = rest[inside]
    return {"tp": int(i.size), "fn": int(ref.size - i.size), "fp": int(rest.size), "errors": pred[j] - ref[i]}


def boundary_summary(tallies: list[dict[str, object]], scale: float = 1.0) -> dict[str, object]:
    """Pooled Se, positive predictivity and mean / SD of the errors (times ``scale``, e.g. ms per sample).

    Se = TP / (TP + FN), PPV = TP / (TP + FP) (``None`` where a tally has no ``fp``, as
    for a best-lead choice), the error mean and SD (ddof 1) over every matched pair.
    """
    tp = sum(int(t["tp"]) for t in tallies)
    fn = sum(int(t["fn"]) for t in tallies)
    has_fp = all(t.get("fp") is not None for t in tallies)
    fp = sum(int(t["fp"]) for t in tallies) if has_fp else None
    errors = np.concatenate([np.asarray(t["errors"], dtype=np.float64) for t in tallies]) if tallies else []
    errors = np.asarray(errors, dtype=np.float64) * scale
    return {
        "n_ref": tp + fn,
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "se": tp / (tp + fn) if tp + fn else None,
        "ppv": (tp / (tp + fp) if tp + fp else None) if fp is not None else None,
        "mean": float(errors.mean()) if errors.size else None,
        "sd": float(errors.std(ddof=1)) if errors.size > 1 else None,
    }


# -- classification -------------------------------------------------------------------------


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for boolean ``truth`` (Mann-Whitney U / (n_pos n_neg), ties count 1/2).

    ``nan`` when either label is absent.
    """
    from scipy.stats import rankdata

    truth = np.asarray(truth, dtype=bool)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_counts(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """TP/FP/FN/TN, F1, sensitivity and specificity of boolean predictions (``nan`` where undefined)."""
    truth, predicted = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = int((truth & predicted).sum())
    fp = int((~truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    tn = int((~truth & ~predicted).sum())

    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
    }


def best_f1_threshold(truth: np.ndarray, prob: np.ndarray, default: float = 0.5) -> tuple[float, float]:
    """The decision threshold that maximises F1 of ``prob >= threshold``, and that F1.

    Candidates are the distinct probabilities; the returned threshold lies halfway
    between the best candidate and the next lower probability (so that it does not
    sit on a validation row). Without positive rows: ``(default, nan)``.
    """
    truth = np.asarray(truth, dtype=bool)
    prob = np.asarray(prob, dtype=np.float64)
    if not truth.any():
        return default, math.nan
    values = np.unique(prob)[::-1]  # descending
    order = np.argsort(-prob, kind="stable")
    sorted_p, sorted_t = prob[order], truth[order]
    # rows predicted positive at threshold v: those with prob >= v
    n_pred = np.searchsorted(-sorted_p, -values, side="right")
    tp = np.concatenate([[0], np.cumsum(sorted_t)])[n_pred]
    f1 = 2 * tp / (n_pred + truth.sum())
    k = int(np.argmax(f1))
    lower = values[k + 1] if k + 1 < len(values) else 0.0
    return float(round(0.5 * (values[k] + lower), 6)), float(f1[k])


@dataclass(frozen=True)
class ClassScore:
    """Scores of one class on labelled rows, with bootstrap 95 % CIs (``nan`` where undefined)."""

    name: str
    n: int
    n_pos: int
    threshold: float
    auc: float
    auc_ci: tuple[float, float]
    f1: float
    f1_ci: tuple[float, float]
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, tuple):
                return [clean(x) for x in v]
            return None if isinstance(v, float) and math.isnan(v) else v

        return {k: clean(v) for k, v in asdict(self).items()}


def _class_stats(truth: np.ndarray, prob: np.ndarray, threshold: float) -> tuple[float, float, float, float]:
    """AUC, F1, sensitivity, specificity of one class on known rows."""
    c = binary_counts(truth, prob >= threshold)
    return auc(truth, prob), c["f1"], c["sensitivity"], c["specificity"]


def classification_scores(
    names: list[str] | tuple[str, ...],
    y: np.ndarray,
    prob: np.ndarray,
    thresholds: list[float] | tuple[float, ...],
    n_boot: int = 2000,
    seed: int = 0,
    groups: dict[str, list[str]] | None = None,
) -> dict:
    """Per-class and macro scores of probabilities ``prob`` against labels ``y`` (1, 0, nan = unknown).

    Returns ``{"n": rows, "classes": [ClassScore, ...], "macro_auc": ..., "macro_auc_ci": (lo, hi),
    "macro_f1": ..., "macro_f1_ci": ..., "macro_classes": [names averaged]}``. Bootstrap
    resamples draw records; a statistic undefined in a resample (e.g. no positive
    drawn) is left out of that statistic's interval. The macro averages take the
    classes with both labels among all rows, each resample averaging those of them
    that are defined in it. ``groups`` (name -> class names) adds a macro AUC per
    group of classes (e.g. the superclasses alone), under ``"groups"``.
    """
    y = np.asarray(y, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    n, k = y.shape
    if prob.shape != (n, k) or len(names) != k or len(thresholds) != k:
        raise ValueError(f"labels {y.shape}, probabilities {prob.shape}, {len(names)} names: shapes differ")
    idx = bootstrap_indices(n, n_boot, seed) if n_boot > 0 and n > 1 else np.zeros((0, n), dtype=np.int64)
    point = np.full((k, 4), np.nan)
    boots = np.full((len(idx), k, 4), np.nan)
    classes = []
    for j in range(k):
        known = np.isfinite(y[:, j])
        truth_all = y[:, j] > 0.5
        point[j] = _class_stats(truth_all[known], prob[known, j], thresholds[j])
        for b, rows in enumerate(idx):
            rows = rows[known[rows]]
            boots[b, j] = _class_stats(truth_all[rows], prob[rows, j], thresholds[j])
        ci = [percentile_ci(boots[:, j, m]) for m in range(4)]
        auc_ci, f1_ci, sens_ci, spec_ci = ci
        classes.append(
            ClassScore(
                name=names[j],
                n=int(known.sum()),
                n_pos=int(truth_all[known].sum()),
                threshold=float(thresholds[j]),
                auc=float(point[j, 0]),
                auc_ci=auc_ci,
                f1=float(point[j, 1]),
                f1_ci=f1_ci,
                sensitivity=float(point[j, 2]),
                sensitivity_ci=sens_ci,
                specificity=float(point[j, 3]),
                specificity_ci=spec_ci,
            )
        )

    def macro(m: int, among: list[int] | None = None) -> tuple[float, tuple[float, float], list[str]]:
        use = [j for j in (range(k) if among is None else among) if np.isfinite(point[j, m])]
        if not use:
            return math.nan, (math.nan, math.nan), []
        with np.errstate(all="ignore"):
            per_boot = np.array(
                [np.nanmean(b[use, m]) if np.isfinite(b[use, m]).any() else np.nan for b in boots]
            )
        return float(point[use, m].mean()), percentile_ci(per_boot), [names[j] for j in use]

    macro_auc, macro_auc_ci, auc_classes = macro(0)
    macro_f1, macro_f1_ci, _ = macro(1)
    group_scores = {}
    for group, members in (groups or {}).items():
        g_auc, g_ci, g_classes = macro(0, [list(names).index(c) for c in members])
        group_scores[group] = {"macro_auc": g_auc, "macro_auc_ci": g_ci, "classes": g_classes}
    return {
        "n": n,
        "n_boot": len(idx),
        "classes": classes,
        "macro_auc": macro_auc,
        "macro_auc_ci": macro_auc_ci,
        "macro_f1": macro_f1,
        "macro_f1_ci": macro_f1_ci,
        "macro_classes": auc_classes,
        "groups": group_scores,
    }


# -- calibration -----------------------------------------------------------------------------


def _known_pairs(y: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (record, class) pairs with a known label, flattened: ``(labels 0/1, values)``."""
    y = np.asarray(y, dtype=np.float64)
    known = np.isfinite(y)
    return (y[known] > 0.5).astype(np.float64), np.asarray(values, dtype=np.float64)[known]


def calibrated_probabilities(
    logits: np.ndarray, temperature: float = 1.0, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """``sigmoid((logits - offset) / temperature)``, as the viewer's Classifier computes it."""
    z = (np.asarray(logits, dtype=np.float64) - np.asarray(offset, dtype=np.float64)) / float(temperature)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def fit_temperature(logits: np.ndarray, y: np.ndarray, offset: np.ndarray | float = 0.0) -> float:
    """The temperature that minimises the binary log-loss of the known labels (``nan`` left out).

    One scalar for all classes (temperature scaling, Guo et al. 2017), searched on
    ``log T`` in [-3, 3]; 1.0 when there is no known label.
    """
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=np.float64) - np.asarray(offset, dtype=np.float64)
    t, v = _known_pairs(y, z)
    if not len(t):
        return 1.0

    def nll(log_t: float) -> float:
        s = v / math.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - t * s))

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-4})
    return float(math.exp(res.x))


def reliability_bins(prob: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Equal-width probability bins over all known (record, class) pairs.

    Each bin: ``lo``, ``hi``, ``n`` pairs, ``confidence`` (mean predicted probability)
    and ``frequency`` (share of positive labels); empty bins have ``n`` 0 and nan means.
    """
    t, p = _known_pairs(y, prob)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        n = int(m.sum())
        out.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "n": n,
                "confidence": float(p[m].mean()) if n else math.nan,
                "frequency": float(t[m].mean()) if n else math.nan,
            }
        )
    return out


def expected_calibration_error(prob: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE over all known (record, class) pairs: sum over bins of share x |frequency - confidence|.

    The multi-label ("class-wise pooled") form: every class's probability of every
    record with a known label is one prediction. nan when no label is known.
    """
    bins = reliability_bins(prob, y, n_bins)
    total = sum(b["n"] for b in bins)
    if not total:
        return math.nan
    return float(sum(b["n"] / total * abs(b["frequency"] - b["confidence"]) for b in bins if b["n"]))
