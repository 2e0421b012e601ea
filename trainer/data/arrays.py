"""The in-memory form every training source is turned into.

:class:`LabelledRows` is the base of every task's data (inputs, a label row per
input, ids, groups, train/val/test roles, provenance);
``trainer.data.statements.ClassDataset`` holds class labels and ``trainer.data.beats``
beat windows. An :class:`IntervalDataset` holds model inputs in **raw millivolts** (the
leads, rate and length of the model's input contract, by default I, II, V1-V6 at
500 Hz for 10 s) and the four interval targets in the checkpoint's order
(``rr_ms, pr_ms, qrs_ms, qt_ms``); a missing label is ``nan`` and is left out
of the loss and of every score. Scaling (``input.scaling`` of the checkpoint)
is applied by the training loop with :func:`ecgviewer.inference.preprocess.scale_windows`,
so training and inference share one definition.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.io_utils import atomic_path
from ecgviewer.core.leads import INDEPENDENT_LEADS
from ecgviewer.core.record import EcgRecord
from ecgviewer.models.checkpoint import TARGET_NAMES

#: Default model input: the 8 independent leads, 500 Hz, 10 s.
INPUT_LEADS: tuple[str, ...] = tuple(INDEPENDENT_LEADS)
INPUT_FS_HZ = 500.0
INPUT_SAMPLES = 5000
#: Row roles.
SPLITS: tuple[str, ...] = ("train", "val", "test")


class DataError(ValueError):
    """A data source could not be read or has no usable rows; the message says which and why."""


@dataclass
class LabelledRows:
    """Inputs ``x`` (N, leads, samples) in mV with a label row ``y`` each: the base of every task's data.

    ``groups`` holds what must not be split across train/validation/test (the
    PTB-XL patient, the LUDB record, the synthetic shard); ``splits`` gives each
    row's role (``"train"``, ``"val"`` or ``"test"``), decided by the source's
    own rule (PTB-XL folds, the LUDB split file, ...) and always constant within
    a group; ``provenance`` says where the rows came from and how they were labelled.
    A missing label is ``nan``. Subclasses say what ``y`` holds (:meth:`_check_labels`).
    """

    x: np.ndarray
    y: np.ndarray
    ids: list[str]
    groups: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)
    splits: list[str] | None = None

    def _check_labels(self, n: int) -> None:
        """Raise :class:`DataError` unless ``y`` has the shape this kind of data needs."""
        if self.y.ndim != 2 or len(self.y) != n:
            raise DataError(f"labels must be ({n}, k), got {self.y.shape}")

    def __post_init__(self) -> None:
        n = len(self.x)
        if self.x.ndim != 3:
            raise DataError(f"inputs must be (N, leads, samples), got {self.x.shape}")
        self._check_labels(n)
        if len(self.ids) != n or len(self.groups) != n:
            raise DataError(f"{n} rows but {len(self.ids)} ids and {len(self.groups)} groups")
        if self.splits is None:
            self.splits = ["train"] * n
        bad = sorted(set(self.splits) - set(SPLITS))
        if len(self.splits) != n or bad:
            raise DataError(f"splits must be one of {SPLITS} per row (got {len(self.splits)} rows, {bad})")
        roles: dict[str, str] = {}
        for g, s in zip(self.groups, self.splits):
            if roles.setdefault(g, s) != s:
                raise DataError(f"group {g!r} is in both {roles[g]!r} and {s!r}: splits must follow groups")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: Sequence[int] | np.ndarray):
        """Rows ``index`` (a copy of the arrays; the same type, with the same further fields)."""
        index = np.asarray(index, dtype=np.int64)
        return dataclasses.replace(
            self,
            x=self.x[index],
            y=self.y[index],
            ids=[self.ids[i] for i in index],
            groups=[self.groups[i] for i in index],
            provenance=dict(self.provenance),
            splits=[self.splits[i] for i in index],
        )

    def split(self, name: str):
        """The rows whose role is ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {name!r}")
        return self.subset([i for i, s in enumerate(self.splits) if s == name])

    def select_ids(self, ids: Sequence[str]):
        """Rows whose id is in ``ids`` (in this dataset's order)."""
        wanted = set(ids)
        return self.subset([i for i, r in enumerate(self.ids) if r in wanted])


@dataclass
class IntervalDataset(LabelledRows):
    """Inputs ``x`` (N, leads, samples) in mV, interval targets ``y`` (N, 4) in ms (:class:`LabelledRows`)."""

    def _check_labels(self, n: int) -> None:
        if self.y.shape != (n, len(TARGET_NAMES)):
            raise DataError(f"targets must be ({n}, {len(TARGET_NAMES)}), got {self.y.shape}")

    def labelled_share(self) -> dict[str, float]:
        """Share of rows with a label, per target."""
        if not len(self):
            return {t: 0.0 for t in TARGET_NAMES}
        return {t: float(np.isfinite(self.y[:, j]).mean()) for j, t in enumerate(TARGET_NAMES)}

    # -- files -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write an uncompressed ``.npz`` (x as float32) atomically; return its path."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                x=self.x.astype(np.float32, copy=False),
                y=self.y.astype(np.float32, copy=False),
                ids=np.asarray(self.ids, dtype=str),
                groups=np.asarray(self.groups, dtype=str),
                provenance=np.asarray(json.dumps(self.provenance)),
                splits=np.asarray(self.splits, dtype=str),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> IntervalDataset:
        """Read a file written by :meth:`save` (no pickles are ever loaded)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(
                    z["x"].astype(np.float32, copy=False),
                    z["y"].astype(np.float32, copy=False),
                    [str(s) for s in z["ids"]],
                    [str(s) for s in z["groups"]],
                    json.loads(str(z["provenance"])),
                    [str(s) for s in z["splits"]] if "splits" in z.files else None,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: not an interval dataset ({exc})") from exc

    @classmethod
    def concat(cls, parts: Sequence[IntervalDataset], provenance: dict[str, Any] | None = None):
        """Rows of all ``parts`` in order."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise DataError("no rows to concatenate")
        return cls(
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.y for p in parts]),
            [i for p in parts for i in p.ids],
            [g for p in parts for g in p.groups],
            provenance if provenance is not None else dict(parts[0].provenance),
            [s for p in parts for s in p.splits],
        )


def record_input(
    record: EcgRecord,
    leads: Sequence[str] = INPUT_LEADS,
    fs_hz: float = INPUT_FS_HZ,
    n_samples: int = INPUT_SAMPLES,
) -> np.ndarray:
    """The first model window of ``record`` in raw mV, ``(len(leads), n_samples)`` float32.

    Uses the inference code's lead selection and resampling (unscaled), so a
    training row is exactly what the viewer would feed the model.
    """
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.inference.preprocess import prepare_windows

    try:
        w = prepare_windows(record, leads, fs_hz, n_samples, {"center": "none", "scale_mv": 1.0})
    except PredictionError as exc:
        raise DataError(f"{record.source_path}: {exc}") from exc
    return w.data[0]


def targets_row(values: dict[str, float]) -> np.ndarray:
    """A ``(4,)`` float32 row in :data:`TARGET_NAMES` order from a dict (missing -> nan)."""
    return np.array([float(values.get(t, np.nan)) for t in TARGET_NAMES], dtype=np.float32)


def hashed_split(group: str, val_share: float, test_share: float = 0.0, salt: str = "") -> str:
    """A stable role for ``group`` from a hash of its name (same answer on every machine and run).

    Used by sources without a split of their own; ``val_share`` and ``test_share``
    are the expected shares of groups that go to validation and test.
    """
    import hashlib

    u = int.from_bytes(hashlib.sha256(f"{salt}:{group}".encode()).digest()[:8], "big") / 2.0**64
    if u < test_share:
        return "test"
    if u < test_share + val_share:
        return "val"
    return "train"
