"""Score teachers against the LUDB cardiologists: ``python -m trainer.teacher_accuracy``.

For each teacher and LUDB record, the teacher labels the record read with
:func:`ecgviewer.core.readers.read_record` -- all 12 leads, 10 s at 500 Hz, or
with ``--input-leads`` only the model input (I, II, V1-V6, the form synthetic
rows have when a teacher labels them) -- and is compared with the record-level
expert values of :func:`trainer.data.ludb.expert_intervals`. Per interval (HR
bpm, PR, QRS, QT ms) it reports the statistics of :mod:`trainer.metrics` (n,
MAE with a bootstrap 95 % interval, mean difference teacher - expert, SD of the
difference, share within tolerance) plus ``missed``: records the experts
measured and the teacher could not.

Example::

    python -m trainer.teacher_accuracy --ludb ../shared/data/ludb \\
        --teachers classical neurokit2 --json teacher_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.io_utils import atomic_write
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.models.checkpoint import TARGET_NAMES
from trainer.data.arrays import INPUT_FS_HZ, INPUT_LEADS, record_input
from trainer.data.ludb import expert_intervals, ludb_records
from trainer.metrics import INTERVALS, TITLES, Agreement, as_reported, score
from trainer.teachers import TEACHERS, get_teacher


@dataclass
class TeacherScore:
    """One teacher's values on the records, the experts' values and the agreement."""

    teacher: str
    version: str
    records: list[str]
    pred: np.ndarray  # (N, 4) in TARGET_NAMES order
    ref: np.ndarray
    seconds: float
    scores: dict[str, Agreement] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return len(self.records)

    def mean_duration_mae(self) -> float:
        """Mean of the PR, QRS and QT MAE (ms): the number teachers are ranked by."""
        return float(np.mean([self.scores[k].mae for k in ("pr_ms", "qrs_ms", "qt_ms")]))

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {"record": r, **{f"{t}": p for t, p in zip(TARGET_NAMES, self.pred[i])},
             **{f"expert_{t}": v for t, v in zip(TARGET_NAMES, self.ref[i])}}
            for i, r in enumerate(self.records)
        ]  # fmt: skip
        return {
            "teacher": self.teacher,
            "version": self.version,
            "n_records": self.n_records,
            "seconds": round(self.seconds, 2),
            "records_per_s": round(self.n_records / self.seconds, 3) if self.seconds else None,
            "scores": {k: {**a.to_dict(), "missed": self.missed[k]} for k, a in self.scores.items()},
            "rows": rows,
        }


def evaluate_teacher(
    name: str,
    record_paths: Sequence[Path],
    *,
    input_leads: bool = False,
    time_limit_s: float | None = None,
    n_boot: int = 2000,
    progress: Callable[[str], None] | None = None,
) -> TeacherScore:
    """Label ``record_paths`` (LUDB ``data/<ID>``) with teacher ``name`` and score it.

    With ``time_limit_s`` no new record is started once that much time has
    passed; :attr:`TeacherScore.records` says which were scored.
    """
    teacher = get_teacher(name)
    names, pred, ref = [], [], []
    seconds = 0.0
    for path in record_paths:
        if time_limit_s is not None and seconds > time_limit_s:
            break
        path = Path(path)
        record = read_record(path.with_suffix(".hea"))
        if input_leads:
            record = EcgRecord(record_input(record), INPUT_FS_HZ, INPUT_LEADS, ("mV",) * len(INPUT_LEADS))
        expert = expert_intervals(path)
        t0 = time.perf_counter()
        got = teacher(record)
        seconds += time.perf_counter() - t0
        names.append(path.name)
        pred.append([got[t] for t in TARGET_NAMES])
        ref.append([getattr(expert, t) for t in TARGET_NAMES])
        if progress is not None:
            progress(f"{name} {path.name}: {seconds:.0f} s")
    res = TeacherScore(name, teacher.version, names, np.array(pred, float), np.array(ref, float), seconds)
    res.scores = score(res.pred, res.ref, n_boot=n_boot)
    p, r = as_reported(res.pred), as_reported(res.ref)
    res.missed = {k: int((np.isfinite(r[k]) & ~np.isfinite(p[k])).sum()) for k, _, _ in INTERVALS}
    return res


def markdown_table(results: Sequence[TeacherScore]) -> str:
    """The scores as a Markdown table (one row per teacher and interval)."""
    lines = [
        "| teacher | records | interval | n | missed | MAE (95 % CI) | mean diff | SD diff | within tol |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for key, unit, tol in INTERVALS:
            a = res.scores[key]
            lines.append(
                f"| {res.teacher} {res.version} | {res.n_records} | {TITLES[key]} ({unit}) | {a.n} "
                f"| {res.missed[key]} | {a.mae:.1f} ({a.mae_ci_low:.1f}-{a.mae_ci_high:.1f}) "
                f"| {a.mean_diff:+.1f} | {a.sd_diff:.1f} | {100 * a.within:.0f} % (±{tol:g}) |"
            )
    return "\n".join(lines)


def best_teacher(results: Sequence[TeacherScore]) -> str:
    """The teacher with the lowest mean of its PR, QRS and QT MAE (the duration targets, ms)."""
    return min(results, key=TeacherScore.mean_duration_mae).teacher


def _json_safe(obj):
    """``nan`` -> ``None`` (JSON has no NaN), recursively."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m trainer.teacher_accuracy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--ludb", type=Path, required=True, help="LUDB folder (with RECORDS and data/)")
    parser.add_argument("--teachers", nargs="+", default=["classical", "neurokit2"], choices=TEACHERS)
    parser.add_argument(
        "--input-leads", action="store_true", help="label only the model input leads (I, II, V1-V6)"
    )
    parser.add_argument("--limit", type=int, default=None, help="score only the first N records")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="teacher seconds per teacher, then stop"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write scores and per-record values")
    args = parser.parse_args(argv)

    paths = ludb_records(args.ludb)[: args.limit]
    if not paths:
        parser.error(f"no LUDB records in {args.ludb}")
    results = []
    for name in args.teachers:
        res = evaluate_teacher(name, paths, input_leads=args.input_leads, time_limit_s=args.time_limit)
        rate = res.n_records / res.seconds if res.seconds else math.nan
        print(
            f"{name} {res.version}: {res.n_records} records, {res.seconds:.1f} s ({rate:.2f} records/s)",
            file=sys.stderr,
        )
        results.append(res)
    print(markdown_table(results))
    print(f"\nlowest error (mean of PR, QRS and QT MAE): {best_teacher(results)}")
    if args.json is not None:
        with atomic_write(args.json) as fh:
            report = {
                "command": " ".join(["python -m trainer.teacher_accuracy", *argv]),
                "results": [r.to_dict() for r in results],
            }
            json.dump(_json_safe(report), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
