"""RR-interval features of beats and the prematurity rule for supraventricular ectopic beats.

Qt-free and torch-free (numpy and scipy). Two users:

- :func:`rr_features` gives the beat classifier's RR inputs
  (:mod:`ecgviewer.inference.beats` appends them to each beat window);
- :func:`apply_prematurity_rule` corrects the classifier's N / S decisions with the
  clinical definition of an atrial premature complex: a beat of normal (supraventricular)
  morphology that comes **early**. The network judges morphology well but, trained on the
  944 S beats of six MIT-BIH DS1 patients, uses the timing poorly across patients
  (S sensitivity 28 % in the DS1 record-level cross-validation, ``docs/accuracy.md``), while
  prematurity against the patient's own long-term RR is what defines the class.

The rule (:class:`PrematurityRule`, :data:`PREMATURITY_RULE`):

1. a beat the network calls **N** whose previous RR is shorter than ``s_below`` (0.8: 20 %
   early) times the long-term RR (the median of :data:`LONG_RR_BEATS` intervals, about
   5 min; de Chazal et al. 2004's normalisation) becomes **S** -- unless the rhythm around
   it is irregular (the median relative change of successive RR intervals over
   :data:`IRREGULAR_BEATS` beats above ``irregular_above``, 0.15): in atrial fibrillation
   every other beat is "early" and the beats are N by the AAMI convention;
2. a beat the network calls **S** whose previous RR is at least ``n_at_or_above`` (0.9)
   times the long-term RR (not early) becomes **N**.

V, F and Q decisions are never changed. The three numbers were chosen by record-level
cross-validation inside DS1 (nested: each fold's numbers chosen on the other five folds;
``docs/accuracy.md``, "Beats by the AAMI classes").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: RR intervals around a beat whose median is its local RR.
LOCAL_RR_BEATS = 16
#: RR intervals around a beat whose median is its long-term RR (about 5 min at 60 bpm, as
#: de Chazal et al. 2004 normalise by the average RR of +-5 min).
LONG_RR_BEATS = 301
#: Beats over which the irregularity of the rhythm (median relative successive RR change) is taken.
IRREGULAR_BEATS = 17
#: Names of the RR features (the bundled checkpoints store theirs in ``input.rr_features``).
RR_FEATURES: tuple[str, ...] = (
    "prev_rr_rel",
    "next_rr_rel",
    "local_rr_s",
    "prev_rr_long",
    "next_rr_long",
    "local_rr_long",
    "prev_rr_change",
)
#: The features of the first ``beatnet``.
BASIC_RR_FEATURES: tuple[str, ...] = RR_FEATURES[:3]


def _median_filter(v: np.ndarray, size: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.median_filter(v, size=min(size, v.size), mode="nearest")


def _at_beats(v: np.ndarray) -> np.ndarray:
    """A per-interval value at the beats: the mean of the beat's two neighbouring intervals."""
    left = np.concatenate([v[:1], v])
    right = np.concatenate([v, v[-1:]])
    return np.maximum(0.5 * (left + right), 1e-3)


def rr_features(r_peaks: np.ndarray, fs_hz: float, names: Sequence[str] = RR_FEATURES) -> np.ndarray:
    """Per-beat RR features ``(n_beats, len(names))`` float32.

    ``prev_rr_rel`` / ``next_rr_rel``: the RR interval before / after the beat divided by the
    local RR, the median of the :data:`LOCAL_RR_BEATS` intervals around the beat (a PVC: well
    below 1, then above 1); ``local_rr_s``: that local RR in seconds. ``prev_rr_long`` /
    ``next_rr_long`` / ``local_rr_long``: the previous, next and local RR divided by the long-term
    RR (the median of :data:`LONG_RR_BEATS` intervals around the beat: the patient's own rate,
    de Chazal et al.'s normalisation, so that a run of APCs, which drags the local median down,
    still shows as premature); ``prev_rr_change``: the previous RR divided by the one before it.
    The first beat's previous and the last beat's next interval are taken equal to the local RR;
    a single beat gets 1 s.
    """
    unknown = set(names) - set(RR_FEATURES)
    if unknown:
        raise ValueError(f"unknown RR features {sorted(unknown)} (known: {RR_FEATURES})")
    r = np.asarray(r_peaks, dtype=np.float64)
    n = r.size
    if n < 2:
        return np.ones((n, len(names)), dtype=np.float32)
    rr = np.diff(r) / fs_hz
    local = _at_beats(_median_filter(rr, LOCAL_RR_BEATS))
    long = _at_beats(_median_filter(rr, LONG_RR_BEATS))
    prev = np.concatenate([[np.nan], rr])
    nxt = np.concatenate([rr, [np.nan]])
    prev[0], nxt[-1] = local[0], local[-1]
    before = np.concatenate([[np.nan, np.nan], rr[:-1]])
    before[: min(2, n)] = local[: min(2, n)]
    before = np.maximum(before, 1e-3)
    feats = {
        "prev_rr_rel": lambda: np.clip(prev / local, 0.0, 5.0),
        "next_rr_rel": lambda: np.clip(nxt / local, 0.0, 5.0),
        "local_rr_s": lambda: np.clip(local, 0.0, 5.0),
        "prev_rr_long": lambda: np.clip(prev / long, 0.0, 5.0),
        "next_rr_long": lambda: np.clip(nxt / long, 0.0, 5.0),
        "local_rr_long": lambda: np.clip(local / long, 0.0, 5.0),
        "prev_rr_change": lambda: np.clip(prev / before, 0.0, 5.0),
    }
    return np.stack([feats[k]() for k in names], axis=1).astype(np.float32).reshape(n, len(names))


def rr_irregularity(r_peaks: np.ndarray, fs_hz: float) -> np.ndarray:
    """Per beat, the median over :data:`IRREGULAR_BEATS` beats of the relative change of successive
    RR intervals (``|RR_i - RR_i-1| / RR_i``): about 0.02-0.05 in sinus rhythm with ectopic beats,
    0.2-0.3 in atrial fibrillation (MIT-BIH 201 and 203)."""
    r = np.asarray(r_peaks, dtype=np.float64)
    if r.size < 3:
        return np.zeros(r.size)
    rr = np.maximum(np.diff(r) / fs_hz, 1e-3)
    change = np.concatenate([[0.0, 0.0], np.abs(np.diff(rr)) / rr[1:]])
    return _median_filter(change, IRREGULAR_BEATS)


@dataclass(frozen=True)
class PrematurityRule:
    """The prematurity rule's thresholds (see the module text)."""

    #: an N beat whose previous RR is below this fraction of the long-term RR becomes S
    s_below: float = 0.8
    #: an S beat whose previous RR is at least this fraction of the long-term RR becomes N
    n_at_or_above: float = 0.9
    #: no N -> S where the rhythm's irregularity (:func:`rr_irregularity`) is above this
    irregular_above: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 < self.s_below <= self.n_at_or_above:
            raise ValueError("need 0 < s_below <= n_at_or_above")
        if self.irregular_above <= 0.0:
            raise ValueError("irregular_above must be positive")

    def to_dict(self) -> dict[str, float]:
        """The thresholds, for outputs that say how their labels were made."""
        return asdict(self)


#: The rule the beat pass applies (chosen by the DS1 cross-validation).
PREMATURITY_RULE = PrematurityRule()


def apply_prematurity_rule(
    labels: np.ndarray, r_peaks: np.ndarray, fs_hz: float, rule: PrematurityRule = PREMATURITY_RULE
) -> np.ndarray:
    """The labels with the rule applied to the N and S decisions (a new array; V, F, Q kept).

    Parameters
    ----------
    labels
        One of ``N S V F Q`` per beat, in the order of ``r_peaks``.
    r_peaks
        Samples of the beats, ascending.
    fs_hz
        Sampling rate of ``r_peaks``.
    """
    lab = np.asarray(labels).astype("<U1", copy=True)
    r = np.asarray(r_peaks)
    if lab.shape != r.shape:
        raise ValueError(f"{lab.size} labels for {r.size} beats")
    if r.size < 3:
        return lab
    early = rr_features(r, fs_hz, ("prev_rr_long",))[:, 0]
    regular = rr_irregularity(r, fs_hz) <= rule.irregular_above
    to_s = (lab == "N") & (early < rule.s_below) & regular
    to_n = (lab == "S") & (early >= rule.n_at_or_above)
    lab[to_s] = "S"
    lab[to_n] = "N"
    return lab
