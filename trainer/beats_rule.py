"""``python -m trainer cv-beats-rule``: how the prematurity rule's thresholds were chosen.

Takes the fold models of a ``cv-beats`` run (``RUN/foldK/last.json``), labels the
annotated beats of each fold's held-out DS1 records with them (out-of-fold: no model
sees its own records), and scores the N / S decisions with and without
:func:`ecgviewer.core.beat_rr.apply_prematurity_rule` over a grid of thresholds:

- **fixed**: every grid point on all six folds' pooled out-of-fold labels (what the
  choice of the bundled numbers looked at, so the best of them is optimistic);
- **nested**: for each fold, the grid point with the best S F1 on the *other five*
  folds' labels, applied to this fold; pooled, an estimate of the rule that did not
  see the records it is scored on.

Annotated R peaks are used (no detector), so the figures differ a little from the
end-to-end ``cv-beats --evaluate-only`` table.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.beat_pass import BEAT_CLASSES
from trainer.commands import Command

#: The grid: s_below x n_at_or_above (None: S calls are never undone) x irregular_above (None: no gate).
GRID_S_BELOW = (0.7, 0.75, 0.8, 0.85, 0.9)
GRID_N_AT_OR_ABOVE = (None, 0.9, 1.0)
GRID_IRREGULAR = (None, 0.1, 0.15, 0.2)


def _rule(labels: np.ndarray, r: np.ndarray, fs: float, point: tuple) -> np.ndarray:
    from ecgviewer.core.beat_rr import PrematurityRule, apply_prematurity_rule

    s_below, n_above, irregular = point
    rule = PrematurityRule(
        s_below, 99.0 if n_above is None else n_above, 1e9 if irregular is None else irregular
    )
    return apply_prematurity_rule(labels, r, fs, rule)


def _scores(pred: np.ndarray, ref: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for c in ("N", "S", "V"):
        tp = float(np.sum((pred == c) & (ref == c)))
        n_ref, n_pred = float(np.sum(ref == c)), float(np.sum(pred == c))
        out[c] = {
            "se": 100 * tp / max(1.0, n_ref),
            "ppv": 100 * tp / max(1.0, n_pred),
            "f1": 100 * 2 * tp / max(1.0, n_ref + n_pred),
        }
    return out


def out_of_fold_labels(run: Path, root: Path, cache: Path | None) -> list[dict[str, Any]]:
    """Per held-out record: ``r`` (annotated samples), ``fs``, ``ref`` and ``net`` (the fold model's
    argmax) labels, and its fold index."""
    from ecgviewer.core.readers.registry import open_long_record
    from ecgviewer.inference.beats import BeatClassifier, BeatInputSpec
    from trainer.beats_cv import read_cv_split, record_beats

    split = read_cv_split()
    rows = []
    for k, held in enumerate(split["folds"]):
        clf = BeatClassifier(run / f"fold{k + 1}" / "last.json", device="cpu", rule=None)
        spec = BeatInputSpec.from_meta(clf.meta)
        for name in held:
            x, y, s = record_beats(root, name, spec, cache)
            with open_long_record(root / f"{name}.hea") as rec:
                fs = rec.fs_hz
            net = np.asarray(BEAT_CLASSES)[clf.classify_inputs(x.astype(np.float32)).argmax(axis=1)]
            rows.append(
                {"record": name, "fold": k, "r": s, "fs": fs, "ref": np.asarray(BEAT_CLASSES)[y], "net": net}
            )
    return rows


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The fixed-grid and nested results (see the module text)."""
    grid = list(itertools.product(GRID_S_BELOW, GRID_N_AT_OR_ABOVE, GRID_IRREGULAR))
    ref = np.concatenate([r["ref"] for r in rows])
    fold = np.concatenate([np.full(r["ref"].size, r["fold"]) for r in rows])
    net = np.concatenate([r["net"] for r in rows])
    by_point = {p: np.concatenate([_rule(r["net"], r["r"], r["fs"], p) for r in rows]) for p in grid}

    def f1_s(pred: np.ndarray, mask: np.ndarray) -> float:
        return _scores(pred[mask], ref[mask])["S"]["f1"]

    nested = net.copy()
    chosen = []
    for k in sorted(set(fold.tolist())):
        best = max(grid, key=lambda p: f1_s(by_point[p], fold != k))
        chosen.append(best)
        nested[fold == k] = by_point[best][fold == k]
    fixed = {json.dumps(p): _scores(v, ref) for p, v in by_point.items()}
    return {
        "network": _scores(net, ref),
        "fixed": fixed,
        "nested": _scores(nested, ref),
        "nested_choices": [list(p) for p in chosen],
    }


def _line(name: str, s: dict[str, dict[str, float]]) -> str:
    return (
        f"| {name} | " + " | ".join(f"{s[c]['se']:.1f} / {s[c]['ppv']:.1f}" for c in ("N", "S", "V")) + " |"
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer cv-beats-rule``."""
    p.add_argument(
        "run_dir", type=Path, metavar="RUN", help="a cv-beats run folder (fold1 ... fold6 with last.json)"
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the shared data folder")
    p.add_argument("--cache", type=Path, default=Path("/tmp/beats_cache"), help="beat cache folder")
    p.add_argument("--out", type=Path, default=None, metavar="JSON", help="write the results here")


def run_cv_beats_rule(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer cv-beats-rule``."""
    from ecgviewer.core.beat_rr import PREMATURITY_RULE

    res = choose(out_of_fold_labels(args.run_dir, args.data, args.cache))
    bundled = json.dumps(
        [PREMATURITY_RULE.s_below, PREMATURITY_RULE.n_at_or_above, PREMATURITY_RULE.irregular_above]
    )
    lines = [
        f"Out-of-fold labels of {args.run_dir} on the annotated DS1 beats; Se / +P %.",
        "",
        "| labels | N | S | V |",
        "|---|---|---|---|",
        _line("network argmax", res["network"]),
        _line(f"rule as bundled {bundled}", res["fixed"][bundled]),
        _line("rule, nested choice per fold", res["nested"]),
    ]
    best = max(res["fixed"], key=lambda p: res["fixed"][p]["S"]["f1"])
    lines += [
        _line(f"best fixed grid point by S F1 {best}", res["fixed"][best]),
        "",
        "Nested choices (s_below, n_at_or_above, irregular_above) per fold: "
        + ", ".join(str(tuple(c)) for c in res["nested_choices"]),
    ]
    print("\n".join(lines))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"command": "python -m trainer " + " ".join(argv), **res}, indent=1) + "\n"
        )
    return 0


COMMAND = Command(
    help="choose the prematurity rule's thresholds by nested cross-validation on a cv-beats run",
    description=__doc__.split("\n\n")[1] if __doc__ else None,
    add_arguments=add_arguments,
    run=run_cv_beats_rule,
)
