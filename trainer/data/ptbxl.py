"""PTB-XL from a local folder, labelled by PTB-XL+ feature tables or by a teacher.

A PTB-XL folder holds ``ptbxl_database.csv`` and ``records500/`` (the 500 Hz
WFDB records). Labels come from one of:

* **PTB-XL+** (``labels="12sl"``, ``"unig"`` or ``"ecgdeli"``): the feature
  tables of Strodthoff et al. (PhysioNet ``ptb-xl-plus``), ``features/12sl_features.csv``,
  ``features/unig_features.csv`` or ``features/ecgdeli_features.csv``, whose
  ``RR_Mean_Global``, ``PR_Int_Global``, ``QRS_Dur_Global`` and ``QT_Int_Global``
  columns (ms) are the targets. Point ``features_dir`` at the folder that holds them.
* **a teacher** (``labels="teacher"``): a delineator from :mod:`trainer.teachers`
  measures every record (slow, so the result is cached beside the output).

Splits follow PTB-XL's patient-wise ``strat_fold``: by default fold 9 is
validation and fold 10 test (the dataset's recommendation); other folds train.
"""

from __future__ import annotations

import ast
import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.data.arrays import DataError, IntervalDataset, record_input, targets_row

#: PTB-XL+ feature table per labelling algorithm.
PTBXL_PLUS_TABLES = {
    "12sl": "12sl_features.csv",
    "unig": "unig_features.csv",
    "ecgdeli": "ecgdeli_features.csv",
}
#: PTB-XL+ column per target.
PTBXL_PLUS_COLUMNS = {
    "rr_ms": "RR_Mean_Global",
    "pr_ms": "PR_Int_Global",
    "qrs_ms": "QRS_Dur_Global",
    "qt_ms": "QT_Int_Global",
}
LABEL_SOURCES = ("teacher", *PTBXL_PLUS_TABLES)


@dataclass(frozen=True)
class PtbxlRow:
    """One row of ``ptbxl_database.csv`` (the fields the trainer uses)."""

    ecg_id: int
    patient_id: str
    strat_fold: int
    filename_hr: str
    scp_codes: dict[str, float]
    #: The 100 Hz file (``records100/...``; empty when the database has no such column).
    filename_lr: str = ""

    @property
    def is_normal(self) -> bool:
        """True when the record's statements include NORM with likelihood 100 %."""
        return self.scp_codes.get("NORM", 0.0) >= 100.0


def read_database(root: str | Path) -> list[PtbxlRow]:
    """The rows of ``ROOT/ptbxl_database.csv``; raises :class:`DataError` for a missing or odd file."""
    path = Path(root) / "ptbxl_database.csv"
    if not path.is_file():
        raise DataError(f"{path}: not found (is {root} a PTB-XL folder?)")
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"ecg_id", "patient_id", "strat_fold", "filename_hr", "scp_codes"} - set(
            reader.fieldnames or []
        )
        if missing:
            raise DataError(f"{path}: missing columns {sorted(missing)}")
        for line in reader:
            try:
                codes = ast.literal_eval(line["scp_codes"] or "{}")
                rows.append(
                    PtbxlRow(
                        int(float(line["ecg_id"])),
                        str(int(float(line["patient_id"]))),
                        int(line["strat_fold"]),
                        line["filename_hr"],
                        {str(k): float(v) for k, v in dict(codes).items()},
                        line.get("filename_lr") or "",
                    )
                )
            except (ValueError, SyntaxError, TypeError) as exc:
                raise DataError(f"{path}: bad row ecg_id={line.get('ecg_id')!r}: {exc}") from exc
    return rows


def read_ptbxl_plus(features_dir: str | Path, algorithm: str) -> dict[int, dict[str, float]]:
    """PTB-XL+ global intervals per ``ecg_id`` from one feature table (ms; missing -> nan)."""
    if algorithm not in PTBXL_PLUS_TABLES:
        raise DataError(f"unknown PTB-XL+ table {algorithm!r} (known: {', '.join(PTBXL_PLUS_TABLES)})")
    path = Path(features_dir) / PTBXL_PLUS_TABLES[algorithm]
    if not path.is_file():
        raise DataError(f"{path}: PTB-XL+ feature table not found")
    out: dict[int, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        missing = ({"ecg_id"} | set(PTBXL_PLUS_COLUMNS.values())) - cols
        if missing:
            raise DataError(f"{path}: missing columns {sorted(missing)}")
        for line in reader:
            values = {}
            for target, col in PTBXL_PLUS_COLUMNS.items():
                try:
                    v = float(line[col])
                except (TypeError, ValueError):
                    v = math.nan
                values[target] = v if math.isfinite(v) and v > 0 else math.nan
            out[int(float(line["ecg_id"]))] = values
    return out


def fold_split(fold: int, val_folds: Sequence[int], test_folds: Sequence[int]) -> str:
    """Role of a PTB-XL ``strat_fold``."""
    if fold in test_folds:
        return "test"
    if fold in val_folds:
        return "val"
    return "train"


def load_ptbxl(
    root: str | Path,
    labels: str = "teacher",
    *,
    features_dir: str | Path | None = None,
    teacher: str | None = None,
    normal_only: bool = False,
    val_folds: Sequence[int] = (9,),
    test_folds: Sequence[int] = (10,),
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IntervalDataset:
    """PTB-XL records with interval labels as an :class:`IntervalDataset`.

    Parameters
    ----------
    root
        Folder with ``ptbxl_database.csv`` and ``records500/``.
    labels
        ``"teacher"`` or a PTB-XL+ table (``"12sl"``, ``"unig"``, ``"ecgdeli"``).
    features_dir
        Folder of the PTB-XL+ feature tables (default ``ROOT/features``).
    teacher
        Teacher name when ``labels="teacher"`` (default :data:`trainer.teachers.DEFAULT_TEACHER`).
    normal_only
        Keep only records whose statements include NORM at 100 %.
    val_folds, test_folds
        ``strat_fold`` values for validation and test (other folds train).
    limit
        Use at most this many records (in database order), for quick runs.
    progress
        Called with ``(done, total)`` after each record.
    """
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    root = Path(root)
    if labels not in LABEL_SOURCES:
        raise DataError(f"labels must be one of {', '.join(LABEL_SOURCES)}, not {labels!r}")
    rows = read_database(root)
    if normal_only:
        rows = [r for r in rows if r.is_normal]
    if limit is not None:
        rows = rows[:limit]
    present = [r for r in rows if (root / (r.filename_hr + ".hea")).is_file()]
    if not present:
        raise DataError(f"{root}: none of the {len(rows)} records listed in ptbxl_database.csv is present")
    table: dict[int, dict[str, float]] = {}
    label_fn = None
    if labels == "teacher":
        from trainer.teachers import DEFAULT_TEACHER, get_teacher

        label_fn = get_teacher(teacher or DEFAULT_TEACHER)
        label_desc = f"teacher:{label_fn.name} {label_fn.version}"
    else:
        table = read_ptbxl_plus(features_dir or root / "features", labels)
        label_desc = f"PTB-XL+ {labels}"
    xs, ys, ids, groups, splits, skipped = [], [], [], [], [], []
    for k, row in enumerate(present):
        try:
            record = read_record(root / (row.filename_hr + ".hea"))
            x = record_input(record)
        except (EcgReadError, DataError) as exc:
            skipped.append(f"{row.ecg_id}: {exc}")
            continue
        values = label_fn(record) if label_fn is not None else table.get(row.ecg_id)
        if values is None:
            skipped.append(f"{row.ecg_id}: no PTB-XL+ row")
            continue
        xs.append(x)
        ys.append(targets_row(values))
        ids.append(f"ptbxl-{row.ecg_id:05d}")
        groups.append(f"ptbxl-patient-{row.patient_id}")
        splits.append(fold_split(row.strat_fold, val_folds, test_folds))
        if progress is not None:
            progress(k + 1, len(present))
    if not xs:
        raise DataError(f"{root}: no usable records ({'; '.join(skipped[:3])})")
    provenance = {
        "source": "PTB-XL",
        "root": str(root),
        "labels": label_desc,
        "normal_only": normal_only,
        "val_folds": list(val_folds),
        "test_folds": list(test_folds),
        "n_records": len(xs),
        "n_listed": len(rows),
        "skipped": skipped,
    }
    return IntervalDataset(np.stack(xs), np.stack(ys), ids, groups, provenance, splits)
