"""Any folder of ECG files with a labels CSV (a user's own labelled set).

The CSV has a ``file`` column (path relative to the CSV's folder, any format
ecgviewer reads) and any of ``rr_ms``, ``hr_bpm`` (converted to RR), ``pr_ms``,
``qrs_ms``, ``qt_ms`` (empty = unknown). Optional columns: ``group`` (rows of
one group, e.g. a patient, are never split apart; default: the file) and
``split`` (``train``/``val``/``test``; default: a stable hash of the group,
``val_share`` of groups to validation).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trainer.data.arrays import SPLITS, DataError, IntervalDataset, hashed_split, record_input, targets_row

LABEL_COLUMNS = ("rr_ms", "hr_bpm", "pr_ms", "qrs_ms", "qt_ms")


def _number(text: str | None) -> float:
    try:
        v = float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan
    return v if math.isfinite(v) and v > 0 else math.nan


def load_folder(
    labels_csv: str | Path,
    val_share: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> IntervalDataset:
    """Records listed in ``labels_csv`` with their labels; unreadable files are listed in provenance.

    Raises
    ------
    DataError
        Missing CSV, no ``file`` column, no label column, or no readable record.
    """
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    labels_csv = Path(labels_csv)
    if not labels_csv.is_file():
        raise DataError(f"{labels_csv}: labels CSV not found")
    with open(labels_csv, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        lines = list(reader)
    if "file" not in cols:
        raise DataError(f"{labels_csv}: needs a 'file' column (has {sorted(cols)})")
    if not cols & set(LABEL_COLUMNS):
        raise DataError(f"{labels_csv}: needs at least one of the columns {', '.join(LABEL_COLUMNS)}")
    xs, ys, ids, groups, splits, skipped = [], [], [], [], [], []
    for k, line in enumerate(lines):
        path = labels_csv.parent / line["file"]
        try:
            x = record_input(read_record(path))
        except (EcgReadError, DataError) as exc:
            skipped.append(str(exc))
            continue
        values = {c: _number(line.get(c)) for c in LABEL_COLUMNS}
        if math.isnan(values["rr_ms"]) and not math.isnan(values["hr_bpm"]):
            values["rr_ms"] = 60000.0 / values["hr_bpm"]
        group = line.get("group") or line["file"]
        role = (line.get("split") or "").strip() or hashed_split(group, val_share, salt="folder")
        if role not in SPLITS:
            raise DataError(f"{labels_csv}: row {k + 2}: split must be one of {SPLITS}, not {role!r}")
        xs.append(x)
        ys.append(targets_row(values))
        ids.append(line["file"])
        groups.append(group)
        splits.append(role)
        if progress is not None:
            progress(k + 1, len(lines))
    if not xs:
        raise DataError(f"{labels_csv}: no readable records ({'; '.join(skipped[:3])})")
    provenance = {
        "source": "folder",
        "labels_csv": str(labels_csv),
        "labels": "user labels CSV",
        "n_records": len(xs),
        "skipped": skipped,
    }
    return IntervalDataset(np.stack(xs), np.stack(ys), ids, groups, provenance, splits)
