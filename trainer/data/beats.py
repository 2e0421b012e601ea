"""Beat-classifier data: beat-centred windows and N / S / V / F / Q labels from annotated records.

The records are the 57 in the shared data with reference beat annotations (``.atr``):
MIT-BIH Arrhythmia 208 (``mitdb-208/208``, 360 Hz, 30 min, 992 V and 373 F) and 100
(``wfdb-samples/100``), and the 55 QT Database records with ``.atr`` (``qtdb/sel*``,
250 Hz, 15 min). Each record's role (train / val / test) comes from the versioned
split file :data:`BEAT_SPLIT_FILE` (``trainer/splits/beats.json``); records that
hold the same recording (MIT-BIH 100 and its excerpt QTDB sel100) form one group.

Per annotated beat (symbols mapped to classes by
:data:`ecgviewer.core.beat_pass.SYMBOL_TO_CLASS`; non-beat annotations dropped), the
window is cut at the **annotated** R position with exactly the code the viewer uses
at inference (:func:`ecgviewer.inference.beats.beat_inputs`): the beat lead (II/MLII
where recorded, otherwise the first channel -- for these records always the first
channel), resampled to 250 Hz, 0.5-40 Hz, 2.56 s around the beat, median-centred; the
RR features come from the annotated beats. At inference the detector's R peaks are used
instead (``evaluate-beats`` scores that whole chain).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgviewer.core.beat_pass import BEAT_CLASSES, classes_from_symbols
from ecgviewer.inference.beats import BeatInputSpec, beat_inputs
from trainer.data.arrays import SPLITS, DataError, LabelledRows

#: The record-level split fixed in the repository.
BEAT_SPLIT_FILE = Path(__file__).resolve().parent.parent / "splits" / "beats.json"


@dataclass
class BeatDataset(LabelledRows):
    """Beat inputs ``x`` (N, 1 + n_rr_features, window) and class indices ``y`` (N, 1) into
    :data:`~ecgviewer.core.beat_pass.BEAT_CLASSES`.

    ``x`` is exactly the model input (the window, then the constant RR-feature rows); ``ids``
    are ``RECORD:SAMPLE``, ``groups`` the recording; ``r_peaks`` the annotated sample of each
    beat in its record.
    """

    r_peaks: np.ndarray | None = None

    def _check_labels(self, n: int) -> None:
        if self.y.shape != (n, 1):
            raise DataError(f"beat labels must be ({n}, 1) class indices, got {self.y.shape}")
        if n and (np.nanmin(self.y) < 0 or np.nanmax(self.y) >= len(BEAT_CLASSES)):
            raise DataError(f"beat labels must be class indices 0..{len(BEAT_CLASSES) - 1}")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.r_peaks is None:
            self.r_peaks = np.full(len(self.x), -1, dtype=np.int64)

    def subset(self, index: Sequence[int] | np.ndarray) -> BeatDataset:
        index = np.asarray(index, dtype=np.int64)
        out = super().subset(index)
        out.r_peaks = self.r_peaks[index]
        return out

    @property
    def labels(self) -> np.ndarray:
        """Class index per beat (int64)."""
        return self.y[:, 0].astype(np.int64)

    def class_counts(self) -> dict[str, int]:
        """Beats per class."""
        counts = np.bincount(self.labels, minlength=len(BEAT_CLASSES))
        return {c: int(k) for c, k in zip(BEAT_CLASSES, counts)}

    @property
    def records(self) -> list[str]:
        """Record names, in order of first appearance."""
        return list(dict.fromkeys(i.rsplit(":", 1)[0] for i in self.ids))


def read_split(split_file: str | Path = BEAT_SPLIT_FILE) -> tuple[dict[str, str], dict[str, str]]:
    """``(record -> role, record -> group)`` from a split file; raises :class:`DataError` when a
    record has two roles or a group straddles roles."""
    split_file = Path(split_file)
    try:
        data = json.loads(split_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{split_file}: cannot read the beat split file ({exc})") from None
    roles: dict[str, str] = {}
    for role in SPLITS:
        for name in data.get(role, []):
            if roles.setdefault(name, role) != role:
                raise DataError(f"{split_file}: record {name} is in both {roles[name]} and {role}")
    groups = {name: data.get("groups", {}).get(name, name) for name in roles}
    seen: dict[str, str] = {}
    for name, g in groups.items():
        if seen.setdefault(g, roles[name]) != roles[name]:
            raise DataError(f"{split_file}: group {g} has records in {seen[g]} and {roles[name]}")
    return roles, groups


def read_annotated(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(samples, classes)`` of the reference beats in ``PATH.atr`` (see ``SYMBOL_TO_CLASS``)."""
    samples, classes, _ = read_reference(path)
    return samples, classes


def read_reference(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """``(samples, classes, vf_spans)`` from one read of ``PATH.atr``: the reference beats (see
    ``SYMBOL_TO_CLASS``) and the ``[start, stop)`` samples of the ventricular flutter/fibrillation
    episodes (between the ``[`` and ``]`` annotations; one still open at the end runs to the last
    annotation). The beat-by-beat comparison leaves the episodes out, as the reference tool ``bxb``
    of the WFDB software does (app/bxb.c: reference annotations between VFON and VFOFF are
    ignored, and test beats during reference-marked VF are not counted)."""
    import wfdb

    stem = Path(path).with_suffix("")
    try:
        ann = wfdb.rdann(str(stem), "atr")
    except (OSError, ValueError) as exc:
        raise DataError(f"{stem}.atr: cannot read the beat annotations ({exc})") from None
    spans: list[tuple[int, int]] = []
    start = None
    for sym, sample in zip(ann.symbol, ann.sample):
        if sym == "[" and start is None:
            start = int(sample)
        elif sym == "]" and start is not None:
            spans.append((start, int(sample) + 1))
            start = None
    if start is not None and len(ann.sample):
        spans.append((start, int(ann.sample[-1]) + 1))
    samples, classes = classes_from_symbols(ann.symbol, ann.sample)
    return samples, classes, spans


def outside_spans(samples: np.ndarray, spans: Collection[tuple[int, int]]) -> np.ndarray:
    """True for the samples outside every ``[start, stop)`` span."""
    keep = np.ones(len(samples), dtype=bool)
    for a, b in spans:
        keep &= (samples < a) | (samples >= b)
    return keep


def load_beats(
    root: str | Path,
    roles: Collection[str] = SPLITS,
    *,
    split_file: str | Path = BEAT_SPLIT_FILE,
    records: Collection[str] | None = None,
    spec: BeatInputSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BeatDataset:
    """The beats of the split file's records with the given roles, as one :class:`BeatDataset`.

    Parameters
    ----------
    root
        The shared data folder (holding ``mitdb-208``, ``wfdb-samples``, ``qtdb``).
    roles
        Which roles to read (default all).
    split_file
        The record-level split.
    records
        Only these record names (e.g. ``["qtdb/sel213"]``; quick runs and tests).
    spec
        The model input (default :class:`~ecgviewer.inference.beats.BeatInputSpec`).
    progress
        ``progress(records_done, n_records)``.
    """
    from ecgviewer.core.readers.registry import open_long_record

    root = Path(root)
    spec = spec or BeatInputSpec()
    role_of, group_of = read_split(split_file)
    names = [n for n, r in role_of.items() if r in roles and (records is None or n in records)]
    if records is not None:
        unknown = sorted(set(records) - set(role_of))
        if unknown:
            raise DataError(f"records {unknown} are not in the split file {split_file}")
    if not names:
        raise DataError(f"no records with roles {sorted(roles)} in {split_file}")
    xs, ys, ids, groups, splits, peaks = [], [], [], [], [], []
    counts: dict[str, dict[str, int]] = {}
    for k, name in enumerate(names):
        path = root / f"{name}.hea"
        if not path.exists():
            raise DataError(f"{path}: record of the beat split not found (is {root} the shared data folder?)")
        samples, classes = read_annotated(path)
        with open_long_record(path) as rec:
            x = beat_inputs(rec, samples, spec)
        xs.append(x)
        ys.append(np.asarray([BEAT_CLASSES.index(c) for c in classes], dtype=np.float32)[:, None])
        ids += [f"{name}:{s}" for s in samples]
        groups += [group_of[name]] * len(samples)
        splits += [role_of[name]] * len(samples)
        peaks.append(samples)
        counts[name] = {c: int(np.count_nonzero(classes == c)) for c in BEAT_CLASSES}
        if progress is not None:
            progress(k + 1, len(names))
    provenance = {
        "source": "annotated beats (.atr) of MIT-BIH 208, 100 and the QT Database",
        "root": str(root),
        "split_file": str(split_file),
        "labels": "MIT-BIH symbols -> N/V/F/Q (ecgviewer.core.beat_pass.SYMBOL_TO_CLASS)",
        "r_positions": "annotated",
        "records": {n: {"role": role_of[n], **counts[n]} for n in names},
    }
    return BeatDataset(
        np.concatenate(xs), np.concatenate(ys), ids, groups, provenance, splits, np.concatenate(peaks)
    )
