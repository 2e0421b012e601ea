"""Coherent statements: which classes above their threshold a report may state together.

A multi-label classifier gives each class its own probability and threshold, so on
its own it may say "NORM, CD, HYP, SR, SARRH" at once: a normal ECG next to two
abnormal diagnostic classes, and two rhythms that exclude each other. This module
turns per-class threshold decisions into a coherent set, with a reason for every
class withheld. It is pure Python (no numpy, torch or Qt), and its tables come from
PTB-XL's ``scp_statements.csv`` (a test checks them against the file):

1. **Rhythm exclusivity.** The primary rhythms (:data:`EXCLUSIVE_RHYTHMS`: SR, AFIB,
   AFLT, STACH, SBRAD, SARRH, SVARR, SVTAC, PSVT, PACE) describe the underlying rhythm
   and exclude each other (in the 21 837 PTB-XL records at most 2 records carry any
   pair of them). Of those above threshold only the most probable is stated. BIGU and
   TRIGU (bigeminal/trigeminal ectopy) accompany a primary rhythm and are not
   affected.
2. **One ventricular conduction block.** The bundle-branch block statements and the
   nonspecific intraventricular conduction delay (:data:`EXCLUSIVE_CONDUCTION`: CLBBB,
   CRBBB, ILBBB, IRBBB, IVCD) describe the one QRS of the record and exclude each other
   (in the 3 801 records of the shared 100 Hz PTB-XL set at most 2 records carry any pair
   of them; none carries CLBBB with CRBBB). Of those above threshold only the most
   probable is stated.
3. **NORM excludes the abnormal diagnostic classes.** NORM is never stated together
   with MI, STTC, CD, HYP or any of their subclasses. When both sides are above
   threshold, the side with the higher probability wins: NORM against the most
   probable abnormal class.
4. **Hierarchy.** A diagnostic subclass (e.g. IMI, CLBBB, ``_AVB``) is stated only when
   its superclass (:data:`SUPERCLASS_OF`, the ``diagnostic_class`` of its statements)
   is stated too, if the classifier has that superclass as an output. A subclass of a
   superclass withheld by rule 3 is withheld with it.

Classes the tables do not know (a user's own labels) are stated by their threshold
alone. The probabilities are unchanged: the rules only decide what is *stated*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: PTB-XL's diagnostic superclasses; NORM is the normal ECG, the others abnormal.
SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
#: Diagnostic subclass -> its superclass (``diagnostic_subclass`` -> ``diagnostic_class`` of
#: PTB-XL's scp_statements.csv). NORM and STTC are also subclass names of the same superclass.
SUPERCLASS_OF: dict[str, str] = {
    "IMI": "MI", "AMI": "MI", "LMI": "MI", "PMI": "MI",
    "LVH": "HYP", "RVH": "HYP", "LAO/LAE": "HYP", "RAO/RAE": "HYP", "SEHYP": "HYP",
    "CLBBB": "CD", "CRBBB": "CD", "IRBBB": "CD", "ILBBB": "CD", "_AVB": "CD", "IVCD": "CD",
    "LAFB/LPFB": "CD", "WPW": "CD",
    "NST_": "STTC", "ISC_": "STTC", "ISCA": "STTC", "ISCI": "STTC",
}  # fmt: skip
#: Primary rhythm statements of PTB-XL: at most one of them is stated.
EXCLUSIVE_RHYTHMS: tuple[str, ...] = (
    "SR", "AFIB", "AFLT", "STACH", "SBRAD", "SARRH", "SVARR", "SVTAC", "PSVT", "PACE",
)  # fmt: skip
#: Ventricular conduction statements (diagnostic subclasses of CD): at most one of them is stated.
EXCLUSIVE_CONDUCTION: tuple[str, ...] = ("CLBBB", "CRBBB", "ILBBB", "IRBBB", "IVCD")
#: Rhythm statements that may accompany a primary rhythm.
ACCOMPANYING_RHYTHMS: tuple[str, ...] = ("BIGU", "TRIGU")


@dataclass(frozen=True)
class Decision:
    """Whether one class is stated, and why not when it is above its threshold but withheld."""

    name: str
    above_threshold: bool
    stated: bool
    note: str = ""


def is_abnormal_diagnostic(name: str) -> bool:
    """True for MI, STTC, CD, HYP and their subclasses."""
    return (name in SUPERCLASSES and name != "NORM") or name in SUPERCLASS_OF


def coherent_statements(
    names: Sequence[str], probabilities: Sequence[float], thresholds: Sequence[float]
) -> tuple[Decision, ...]:
    """Apply the rules of this module to one record's classes (in the classifier's order).

    Parameters
    ----------
    names, probabilities, thresholds
        One entry per class: its name, probability and decision threshold.

    Returns
    -------
    tuple of Decision
        One per class, in the same order. ``stated`` is False below the threshold and for
        a class withheld by a rule (its ``note`` names the rule and the winning class).
    """
    if not (len(names) == len(probabilities) == len(thresholds)):
        raise ValueError("names, probabilities and thresholds must have the same length")
    p = {n: float(v) for n, v in zip(names, probabilities, strict=True)}
    above = {n: float(v) >= float(t) for n, v, t in zip(names, probabilities, thresholds, strict=True)}
    stated = dict(above)
    notes: dict[str, str] = {}

    def withhold(name: str, note: str) -> None:
        if stated.get(name):
            stated[name] = False
            notes[name] = note

    # 1. one primary rhythm, 2. one ventricular conduction block
    for group, what in ((EXCLUSIVE_RHYTHMS, "rhythms"), (EXCLUSIVE_CONDUCTION, "conduction blocks")):
        members = [n for n in names if n in group and stated[n]]
        if len(members) > 1:
            best = max(members, key=lambda n: p[n])
            for n in members:
                if n != best:
                    withhold(n, f"{what} exclude each other: {best} is more probable ({100 * p[best]:.0f} %)")
    # 3. NORM or the abnormal diagnostic classes
    abnormal = [n for n in names if is_abnormal_diagnostic(n) and stated[n]]
    if stated.get("NORM") and abnormal:
        rival = max(abnormal, key=lambda n: p[n])
        if p["NORM"] >= p[rival]:
            for n in abnormal:
                withhold(n, f"NORM is more probable ({100 * p['NORM']:.0f} %) and excludes abnormal classes")
        else:
            withhold("NORM", f"{rival} is more probable ({100 * p[rival]:.0f} %); NORM excludes it")
    # 4. a subclass only under its stated superclass
    for n in names:
        parent = SUPERCLASS_OF.get(n)
        if parent is not None and parent in p and stated[n] and not stated[parent]:
            withhold(n, f"its superclass {parent} is not stated")
    return tuple(Decision(n, above[n], stated[n], notes.get(n, "")) for n in names)


__all__ = [
    "ACCOMPANYING_RHYTHMS",
    "EXCLUSIVE_CONDUCTION",
    "EXCLUSIVE_RHYTHMS",
    "SUPERCLASSES",
    "SUPERCLASS_OF",
    "Decision",
    "coherent_statements",
    "is_abnormal_diagnostic",
]
