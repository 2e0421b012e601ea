"""Coherent statements (ecgviewer.core.statements) on hand-made probability vectors."""

from __future__ import annotations

import csv
import itertools

import pytest

from ecgviewer.core.statements import (
    ACCOMPANYING_RHYTHMS,
    EXCLUSIVE_CONDUCTION,
    EXCLUSIVE_RHYTHMS,
    SUPERCLASS_OF,
    SUPERCLASSES,
    coherent_statements,
)


def stated(classes: dict[str, tuple[float, float]]) -> list[str]:
    """Names stated for ``name -> (probability, threshold)``."""
    names = list(classes)
    out = coherent_statements(names, [classes[n][0] for n in names], [classes[n][1] for n in names])
    return [d.name for d in out if d.stated]


def test_the_issue_example_becomes_coherent() -> None:
    # sinus bradycardia read as "NORM, CD, HYP, SR, SARRH": NORM at 12 % over a 7 % threshold
    probs = {
        "NORM": (0.12, 0.07), "MI": (0.05, 0.5), "STTC": (0.10, 0.5), "CD": (0.40, 0.3),
        "HYP": (0.45, 0.39), "SR": (0.30, 0.18), "SARRH": (0.55, 0.5), "SBRAD": (0.20, 0.5),
    }  # fmt: skip
    assert stated(probs) == ["CD", "HYP", "SARRH"]
    out = {d.name: d for d in coherent_statements(list(probs), [v[0] for v in probs.values()],
                                                  [v[1] for v in probs.values()])}  # fmt: skip
    assert out["NORM"].above_threshold and not out["NORM"].stated and "HYP" in out["NORM"].note
    assert out["SR"].above_threshold and not out["SR"].stated and "SARRH" in out["SR"].note
    assert not out["SBRAD"].above_threshold and out["SBRAD"].note == ""


def test_norm_wins_when_more_probable_and_takes_its_rivals_subclasses_along() -> None:
    probs = {"NORM": (0.8, 0.5), "CD": (0.6, 0.5), "IRBBB": (0.7, 0.3), "SR": (0.9, 0.5)}
    assert stated(probs) == ["NORM", "SR"]
    # lower NORM: the abnormal side wins, and the subclass stays under its stated superclass
    probs["NORM"] = (0.55, 0.5)
    assert stated(probs) == ["CD", "IRBBB", "SR"]


def test_subclass_needs_its_superclass_when_the_model_has_it() -> None:
    assert stated({"MI": (0.3, 0.5), "IMI": (0.6, 0.5)}) == []
    assert stated({"MI": (0.6, 0.5), "IMI": (0.6, 0.5)}) == ["MI", "IMI"]
    assert stated({"IMI": (0.6, 0.5)}) == ["IMI"]  # no MI output: the subclass stands alone
    assert stated({"NORM": (0.9, 0.5), "IMI": (0.6, 0.5)}) == ["NORM"]  # still excluded by NORM


def test_one_primary_rhythm_and_accompanying_ectopy() -> None:
    probs = {"SR": (0.6, 0.5), "AFIB": (0.7, 0.2), "STACH": (0.9, 0.95), "BIGU": (0.5, 0.3)}
    assert stated(probs) == ["AFIB", "BIGU"]
    assert stated({"SR": (0.2, 0.5), "AFIB": (0.1, 0.5)}) == []  # none above threshold: none stated


def test_one_ventricular_conduction_block() -> None:
    # PTB-XL 00287 read as "CD, CLBBB (7 %), CRBBB (67 %)": complete left and right block at once
    probs = {"CD": (0.99, 0.3), "CLBBB": (0.07, 0.05), "CRBBB": (0.67, 0.2), "LAFB/LPFB": (0.6, 0.3)}
    assert stated(probs) == ["CD", "CRBBB", "LAFB/LPFB"]  # a fascicular block may accompany a BBB
    out = {d.name: d for d in coherent_statements(list(probs), [v[0] for v in probs.values()],
                                                  [v[1] for v in probs.values()])}  # fmt: skip
    assert "CRBBB is more probable" in out["CLBBB"].note


def test_conduction_blocks_never_come_together_in_ptbxl(shared_data) -> None:
    import ast

    path = shared_data / "ptb-xl-100hz" / "ptbxl_database.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        codes = [ast.literal_eval(r["scp_codes"]) for r in csv.DictReader(fh)]
    assert len(codes) > 3000
    for a, b in itertools.combinations(EXCLUSIVE_CONDUCTION, 2):
        assert sum(1 for c in codes if a in c and b in c) <= 2, (a, b)
    assert sum(1 for c in codes if "CLBBB" in c) > 50 and sum(1 for c in codes if "CRBBB" in c) > 50


@pytest.mark.parametrize("seed", range(20))
def test_no_random_vector_gives_an_incoherent_report(seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    names = [*SUPERCLASSES, *SUPERCLASS_OF, *EXCLUSIVE_RHYTHMS, *ACCOMPANYING_RHYTHMS, "OWN"]
    p, t = rng.uniform(size=len(names)), rng.uniform(0.05, 0.6, size=len(names))
    out = coherent_statements(names, p.tolist(), t.tolist())
    said = {d.name for d in out if d.stated}
    assert all(d.above_threshold for d in out if d.stated)
    assert not ("NORM" in said and said & ({"MI", "STTC", "CD", "HYP"} | set(SUPERCLASS_OF)))
    assert len(said & set(EXCLUSIVE_RHYTHMS)) <= 1
    assert len(said & set(EXCLUSIVE_CONDUCTION)) <= 1
    assert all(SUPERCLASS_OF[n] in said for n in said if n in SUPERCLASS_OF)
    assert ("OWN" in said) == (p[-1] >= t[-1])  # unknown classes: the threshold alone
    for d in out:  # every withheld class says why
        assert (d.above_threshold and not d.stated) == bool(d.note)


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        coherent_statements(["NORM"], [0.5, 0.2], [0.5])


def test_tables_match_scp_statements(shared_data) -> None:
    """The hierarchy and the rhythm lists are PTB-XL's (scp_statements.csv of the 100 Hz set)."""
    path = shared_data / "ptb-xl-100hz" / "scp_statements.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    code = next(iter(rows[0]))
    diag = [r for r in rows if (r["diagnostic"] or "").strip() in ("1", "1.0")]
    table = {r["diagnostic_subclass"]: r["diagnostic_class"] for r in diag}
    assert set(SUPERCLASSES) == {r["diagnostic_class"] for r in diag}
    assert {k: v for k, v in table.items() if k not in ("NORM", "STTC")} == SUPERCLASS_OF
    rhythm = {r[code] for r in rows if (r["rhythm"] or "").strip() in ("1", "1.0")}
    assert rhythm == set(EXCLUSIVE_RHYTHMS) | set(ACCOMPANYING_RHYTHMS)
    assert not set(itertools.chain(EXCLUSIVE_RHYTHMS)) & set(ACCOMPANYING_RHYTHMS)
