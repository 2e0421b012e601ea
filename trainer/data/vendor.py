"""Vendor measurements stored in ECG files (GE 12SL in MUSE XML, Philips in Sierra XML ...).

``vendor:DIR`` reads every ECG file under ``DIR`` that carries
:attr:`~ecgviewer.core.record.EcgRecord.vendor_measurements` with at least one
of RR/HR, PR, QRS or QT, and uses those as reference labels. Every row is a
``test`` row: these files are for evaluation, never for training.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from trainer.data.arrays import DataError, IntervalDataset, record_input, targets_row


def vendor_labels(values: dict[str, float]) -> dict[str, float]:
    """The four targets from a file's vendor values (RR from HR when only HR is stored)."""
    out = {k: float(values[k]) for k in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms") if k in values}
    if "rr_ms" not in out and values.get("hr_bpm", 0) > 0:
        out["rr_ms"] = 60000.0 / float(values["hr_bpm"])
    return out


def load_vendor(directory: str | Path, progress: Callable[[int, int], None] | None = None) -> IntervalDataset:
    """Files under ``directory`` with vendor interval measurements, as test rows."""
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    directory = Path(directory)
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".dat"))
    xs, ys, ids, sources, skipped = [], [], [], [], []
    for k, path in enumerate(files):
        try:
            record = read_record(path)
        except EcgReadError:
            continue  # not an ECG file (or not one ecgviewer reads): not a reference
        vm = record.vendor_measurements
        labels = vendor_labels(dict(vm.values)) if vm is not None else {}
        if not labels:
            continue
        try:
            xs.append(record_input(record))
        except DataError as exc:
            skipped.append(str(exc))
            continue
        ys.append(targets_row(labels))
        ids.append(str(path.relative_to(directory)))
        sources.append(vm.source)
        if progress is not None:
            progress(k + 1, len(files))
    if not xs:
        raise DataError(f"{directory}: no readable ECG file with vendor interval measurements")
    y = np.stack(ys)
    provenance = {
        "source": "vendor measurements",
        "root": str(directory),
        "labels": sorted(set(sources)),
        "n_records": len(xs),
        "labelled": {k: int(np.isfinite(y[:, j]).sum()) for j, k in enumerate(("rr", "pr", "qrs", "qt"))},
        "skipped": skipped,
    }
    return IntervalDataset(np.stack(xs), y, ids, list(ids), provenance, ["test"] * len(xs))
