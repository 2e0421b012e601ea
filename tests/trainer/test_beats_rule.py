"""``trainer cv-beats-rule``'s choice of the prematurity thresholds, on generated folds."""

from __future__ import annotations

import json

import numpy as np

from trainer.beats_rule import choose


def _fold(k: int, seed: int) -> dict:
    # sinus rhythm at 0.8 s with APCs 25-35 % early, which a timing-blind "network" calls N
    rng = np.random.default_rng(seed)
    rr = np.full(600, 0.8) + rng.normal(0, 0.01, 600)
    apc = rng.choice(np.arange(20, 580), 30, replace=False)
    rr[apc - 1] *= rng.uniform(0.65, 0.75, apc.size)
    r = (np.cumsum(np.r_[0.0, rr]) * 360).astype(np.int64)
    ref = np.full(r.size, "N")
    ref[apc] = "S"
    return {"record": f"r{k}", "fold": k, "r": r, "fs": 360.0, "ref": ref, "net": np.full(r.size, "N")}


def test_nested_choice_finds_the_apcs() -> None:
    res = choose([_fold(k, k) for k in range(4)])
    assert res["network"]["S"]["se"] == 0.0
    assert res["nested"]["S"]["se"] > 90 and res["nested"]["S"]["ppv"] > 90
    assert len(res["nested_choices"]) == 4
    # a grid point that calls only beats 30 % early finds a part of them
    strict = res["fixed"][json.dumps([0.7, 0.9, 0.15])]["S"]["se"]
    assert strict < res["fixed"][json.dumps([0.8, 0.9, 0.15])]["S"]["se"]
