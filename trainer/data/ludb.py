"""Record-level expert intervals from LUDB wave boundaries.

Implements exactly the definition in ``shared/data/ludb/INTERVALS.md``:

1. per lead, per annotated QRS complex: QRS = offset - onset; PR = QRS onset -
   P onset when the wave just before is a P wave starting at most 400 ms
   earlier; QT = T offset - QRS onset when the wave just after is a T wave
   ending at most 800 ms after the QRS onset;
2. the median over a lead's beats, then the median over the leads with a value;
3. RR = median difference of consecutive QRS peaks in lead II (or the lead with
   most QRS annotations when II has fewer than two); HR = 60000 / RR;
4. an interval without any value is ``nan`` (left out of scores, never zero).

A wave's onset is the nearest ``(`` before its peak and its offset the nearest
``)`` after it, looking no further than the neighbouring peaks; a ``(`` that
stands after a peak (LUDB record 7, lead V1) is therefore ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
_PEAKS = {"p", "N", "t"}


@dataclass(frozen=True)
class Wave:
    kind: str  # "p", "N" or "t"
    peak: int
    onset: int | None
    offset: int | None


@dataclass(frozen=True)
class ExpertIntervals:
    """Record-level reference values (ms, bpm); ``nan`` where the record has none."""

    record: str
    rr_ms: float
    hr_bpm: float
    pr_ms: float
    qrs_ms: float
    qt_ms: float

    def as_dict(self) -> dict[str, float | str]:
        return {k: getattr(self, k) for k in ("record", "hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms")}


def parse_waves(symbols: list[str], samples: list[int], peaks: Collection[str] = _PEAKS) -> list[Wave]:
    """Group an annotation stream ``( p ) ( N ) ( t )`` into waves with onset and offset.

    ``peaks`` are the wave symbols (default ``p``, ``N``, ``t``); a boundary is never
    looked for beyond the neighbouring peak.
    """
    waves = []
    n = len(symbols)
    for k, sym in enumerate(symbols):
        if sym not in peaks:
            continue
        onset = offset = None
        j = k - 1
        while j >= 0 and symbols[j] not in peaks:
            if symbols[j] == "(":
                onset = int(samples[j])
                break
            j -= 1
        j = k + 1
        while j < n and symbols[j] not in peaks:
            if symbols[j] == ")":
                offset = int(samples[j])
                break
            j += 1
        waves.append(Wave(sym, int(samples[k]), onset, offset))
    return waves


def lead_intervals(waves: list[Wave], fs_hz: float) -> dict[str, float]:
    """Median PR, QRS and QT (ms) over one lead's beats (``nan`` where none)."""
    ms = 1000.0 / fs_hz
    pr, qrs, qt = [], [], []
    for i, w in enumerate(waves):
        if w.kind != "N" or w.onset is None:
            continue
        if w.offset is not None:
            qrs.append((w.offset - w.onset) * ms)
        before = waves[i - 1] if i > 0 else None
        if before is not None and before.kind == "p" and before.onset is not None:
            d = (w.onset - before.onset) * ms
            if 0 < d <= 400:
                pr.append(d)
        after = waves[i + 1] if i + 1 < len(waves) else None
        if after is not None and after.kind == "t" and after.offset is not None:
            d = (after.offset - w.onset) * ms
            if 0 < d <= 800:
                qt.append(d)
    med = lambda v: float(np.median(v)) if v else math.nan  # noqa: E731
    return {"pr_ms": med(pr), "qrs_ms": med(qrs), "qt_ms": med(qt)}


def expert_intervals(record_path: str | Path, fs_hz: float = 500.0) -> ExpertIntervals:
    """Reference intervals of one LUDB record (``data/<ID>`` without extension)."""
    import wfdb

    record_path = Path(record_path)
    per_lead: dict[str, dict[str, float]] = {}
    qrs_peaks: dict[str, np.ndarray] = {}
    for lead in LUDB_LEADS:
        ann = wfdb.rdann(str(record_path), lead)
        waves = parse_waves(list(ann.symbol), list(ann.sample))
        per_lead[lead] = lead_intervals(waves, fs_hz)
        qrs_peaks[lead] = np.array([w.peak for w in waves if w.kind == "N"])
    values = {}
    for key in ("pr_ms", "qrs_ms", "qt_ms"):
        v = [d[key] for d in per_lead.values() if not math.isnan(d[key])]
        values[key] = float(np.median(v)) if v else math.nan
    rr_lead = "ii" if len(qrs_peaks["ii"]) >= 2 else max(qrs_peaks, key=lambda k: len(qrs_peaks[k]))
    peaks = qrs_peaks[rr_lead]
    rr = float(np.median(np.diff(peaks))) * 1000.0 / fs_hz if len(peaks) >= 2 else math.nan
    hr = 60000.0 / rr if rr and not math.isnan(rr) else math.nan
    return ExpertIntervals(record_path.name, rr, hr, values["pr_ms"], values["qrs_ms"], values["qt_ms"])


def ludb_records(ludb_dir: str | Path) -> list[Path]:
    """Record paths listed in a LUDB folder's ``RECORDS`` file (or found in ``data/``)."""
    ludb_dir = Path(ludb_dir)
    listing = ludb_dir / "RECORDS"
    if listing.exists():
        names = [ln.strip() for ln in listing.read_text().split() if ln.strip()]
        return [ludb_dir / n if "/" in n else ludb_dir / "data" / n for n in names]
    return sorted((p.with_suffix("") for p in (ludb_dir / "data").glob("*.hea")), key=lambda p: int(p.name))


#: The record-level LUDB split fixed in the repository (train / val / test record names).
LUDB_SPLIT_FILE = Path(__file__).resolve().parent.parent / "splits" / "ludb.json"


def ludb_split(split_file: str | Path = LUDB_SPLIT_FILE) -> dict[str, str]:
    """Record name -> ``"train"``, ``"val"`` or ``"test"`` from the split file."""
    import json

    data = json.loads(Path(split_file).read_text())
    return {name: role for role in ("train", "val", "test") for name in data[role]}


def load_ludb(
    ludb_dir: str | Path,
    split_file: str | Path = LUDB_SPLIT_FILE,
    progress: Callable[[int, int], None] | None = None,
    names: Collection[str] | None = None,
):
    """LUDB records with their expert intervals (``INTERVALS.md``) as an ``IntervalDataset``.

    Rows keep the role the split file gives their record (records not in the
    file are left out, so a new split never leaks test records into training).
    ``names`` restricts the set to those record names.
    """
    from ecgviewer.core.readers import read_record
    from trainer.data.arrays import DataError, IntervalDataset, record_input, targets_row

    roles = ludb_split(split_file)
    paths = [p for p in ludb_records(ludb_dir) if p.name in roles and (names is None or p.name in names)]
    if not paths:
        raise DataError(f"{ludb_dir}: no LUDB records found that the split file {split_file} names")
    xs, ys, ids, splits = [], [], [], []
    for k, path in enumerate(paths):
        ref = expert_intervals(path)
        xs.append(record_input(read_record(path.with_suffix(".hea"))))
        ys.append(targets_row(ref.as_dict()))
        ids.append(f"ludb-{path.name}")
        splits.append(roles[path.name])
        if progress is not None:
            progress(k + 1, len(paths))
    provenance = {
        "source": "LUDB",
        "root": str(ludb_dir),
        "labels": "expert wave boundaries, record-level per shared/data/ludb/INTERVALS.md",
        "split_file": str(split_file),
        "n_records": len(xs),
    }
    return IntervalDataset(np.stack(xs), np.stack(ys), ids, list(ids), provenance, splits)
