"""Wave delineation training (:class:`DelineationTask`) and ``python -m trainer delineate``.

The shared loop (:func:`trainer.train.train`) trains it like every other model; this
module supplies what is particular to per-sample P/QRS/T segmentation:

- the data (:class:`WaveData`): LUDB (each lead's own expert boundaries, the fixed
  split of ``trainer/splits/ludb.json``) and QTDB ``q1c`` (only the annotated beats
  count; the fixed split of ``trainer/splits/qtdb.json`` keeps the six MIT-BIH DS2
  excerpts in its test part), all at the network rate (250 Hz);
- the items: a window of :data:`WINDOW` samples holding :data:`SLOTS` lead slots. A
  record contributes a random subset of 1 to 6 of its leads; a subset smaller than the
  slots is repeated to fill them (the network's cross-lead fusion is a mean, so a
  repeated subset is the same input as the subset alone), which teaches single-lead,
  two-lead and many-lead inputs with one tensor shape;
- augmentation (:class:`WaveAugment`) that covers what clinics see: a time stretch to a
  heart rate drawn from 35-180 bpm with the labels moved exactly with the samples,
  amplitude, baseline wander, noise and powerline (:class:`trainer.augment.Augment`);
- the loss: per-sample cross-entropy over the known (masked) samples;
- the validation: the real post-processing (:mod:`ecgviewer.core.delineation`) on the
  LUDB validation records, all 12 leads; the score is the mean of the PR, QRS and QT
  mean absolute errors against ``INTERVALS.md``, each over its tolerance (10, 10, 25 ms)
  plus the HR error over 2 bpm.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ecgviewer.core.beats import detect_r_peaks
from ecgviewer.core.delineation import (
    WAVE_CLASSES,
    delineation_from_labels,
    labels_from_probabilities,
    record_intervals,
)
from ecgviewer.core.resample import resample_signals
from ecgviewer.models.checkpoint import ANY_LEAD, ClassSpec, load_checkpoint
from ecgviewer.models.registry import build_model
from trainer.augment import Augment
from trainer.commands import Command
from trainer.data.arrays import DataError
from trainer.tasks import Built, Validation

if TYPE_CHECKING:
    from trainer.train import TrainConfig

#: Network rate (Hz), window (samples, 10.24 s) and lead slots per training item.
FS_HZ = 250.0
WINDOW = 2560
SLOTS = 6
SCALING = {"unit": "mV", "center": "median", "scale_mv": 1.0}
#: Heart rates the time stretch draws from (bpm).
HR_RANGE = (35.0, 180.0)
QTDB_SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "qtdb.json"
_TOL = {"hr_bpm": 2.0, "pr_ms": 10.0, "qrs_ms": 10.0, "qt_ms": 25.0}


@dataclass
class WaveRecord:
    """One record at :data:`FS_HZ`: signals (leads, n) mV, labels, mask, HR and reference intervals."""

    name: str
    source: str
    role: str
    leads: tuple[str, ...]
    x: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    hr_bpm: float
    reference: dict[str, float] = field(default_factory=dict)


@dataclass
class WaveData:
    """Records with roles; what :func:`trainer.train.train` splits, counts and hands to the task."""

    records: list[WaveRecord]
    provenance: dict[str, Any] = field(default_factory=dict)

    def split(self, role: str) -> WaveData:
        return WaveData([r for r in self.records if r.role == role], self.provenance)

    def __len__(self) -> int:
        return len(self.records)


def _to_rate(x: np.ndarray, labels: np.ndarray, mask: np.ndarray, fs: float):
    if fs == FS_HZ:
        return x, labels, mask
    y = resample_signals(x, fs, FS_HZ)
    idx = np.clip(np.round(np.arange(y.shape[1]) * fs / FS_HZ).astype(np.int64), 0, x.shape[1] - 1)
    return y, labels[:, idx], mask[:, idx]


def _hr(x: np.ndarray) -> float:
    r = detect_r_peaks(x, FS_HZ)
    return 60000.0 / (float(np.median(np.diff(r))) * 4.0) if r.size > 2 else 70.0


def qtdb_split(split_file: str | Path = QTDB_SPLIT_FILE) -> dict[str, str]:
    data = json.loads(Path(split_file).read_text())
    return {name: role for role in ("train", "val", "test") for name in data[role]}


def load_wave_data(
    ludb_dir: str | Path | None,
    qtdb_dir: str | Path | None,
    roles: tuple[str, ...] = ("train", "val", "test"),
    synthetic: int = 0,
    teacher: str | Path | None = None,
    seed: int = 0,
) -> WaveData:
    """LUDB and QTDB records (either may be None) with their roles, at :data:`FS_HZ`.

    ``synthetic`` > 0 adds that many ``deepfake-ecg`` records labelled by the ``teacher``
    delineation checkpoint (:func:`trainer.data.waves.synthetic_wave_labels`) as training rows.
    """
    from trainer.data.ludb import expert_intervals, ludb_records, ludb_split
    from trainer.data.waves import ludb_wave_labels, qtdb_wave_labels

    records: list[WaveRecord] = []
    if ludb_dir is not None:
        split = ludb_split()
        for path in ludb_records(ludb_dir):
            role = split.get(path.name)
            if role not in roles:
                continue
            w = ludb_wave_labels(path)
            x, lab, mask = _to_rate(w.signals, w.labels, w.mask, w.fs_hz)
            ref = expert_intervals(path).as_dict()
            ref.pop("record")
            records.append(
                WaveRecord(
                    f"ludb/{path.name}", "ludb", role, w.leads, x, lab, mask, float(ref["hr_bpm"]), ref
                )
            )
    if qtdb_dir is not None:
        split = qtdb_split()
        for name, role in sorted(split.items()):
            if role not in roles:
                continue
            path = Path(qtdb_dir) / name
            if not path.with_suffix(".q1c").exists():
                continue
            w = qtdb_wave_labels(path)
            known = np.flatnonzero(w.mask.any(axis=0))
            if known.size == 0:
                continue
            a, b = max(0, known[0] - 750), min(w.signals.shape[1], known[-1] + 750)
            x, lab, mask = w.signals[:, a:b], w.labels[:, a:b], w.mask[:, a:b]
            x, lab, mask = _to_rate(x, lab, mask, w.fs_hz)
            records.append(WaveRecord(f"qtdb/{name}", "qtdb", role, w.leads, x, lab, mask, _hr(x)))
    if synthetic > 0:
        from trainer.data.waves import synthetic_wave_labels

        if teacher is None:
            raise DataError("--synthetic needs --teacher (a delineation checkpoint)")
        for w in synthetic_wave_labels(synthetic, seed, teacher):
            x, lab, mask = _to_rate(w.signals, w.labels, w.mask, w.fs_hz)
            records.append(WaveRecord(w.name, "synthetic", "train", w.leads, x, lab, mask, _hr(x)))
    if not records:
        raise DataError("no delineation records: give --ludb and/or --qtdb folders")
    provenance = {
        "sources": [s for s, d in (("LUDB", ludb_dir), ("QTDB q1c", qtdb_dir)) if d is not None]
        + ([f"deepfake-ecg x {synthetic} (seed {seed}), teacher {teacher}"] if synthetic else []),
        "labels": "expert wave boundaries per lead (LUDB), annotated beats only (QTDB q1c)",
        "split_files": ["trainer/splits/ludb.json", "trainer/splits/qtdb.json"],
        "n_records": {role: sum(r.role == role for r in records) for role in roles},
    }
    return WaveData(records, provenance)


@dataclass(frozen=True)
class WaveAugment:
    """Time stretch to a heart rate in :data:`HR_RANGE` (labels moved exactly), then :class:`Augment`."""

    stretch: float = 0.7
    signal: Augment = field(default_factory=lambda: Augment(shift_s=0.0))

    def stretch_index(self, n: int, hr: float, rng: np.random.Generator) -> np.ndarray | None:
        """Source positions (float) of a stretched record, or None for no stretch this time."""
        if rng.random() >= self.stretch or not (hr > 0):
            return None
        target = math.exp(rng.uniform(math.log(HR_RANGE[0]), math.log(HR_RANGE[1])))
        factor = hr / target  # > 1 slows the rhythm down (longer record)
        factor = float(np.clip(factor, 0.4, 2.5))
        return np.arange(int(n * factor)) / factor


class WaveItems(torch.utils.data.Dataset):
    """Items ``(x (SLOTS, WINDOW) float32 scaled, labels (SLOTS, WINDOW) int64, mask (SLOTS, WINDOW) bool)``.

    Each record appears :attr:`repeats` times per epoch; everything random is drawn
    from ``(seed, epoch, item)``.
    """

    def __init__(self, data: WaveData, augment: WaveAugment | None, seed: int, repeats: int = 2) -> None:
        self.records = data.records
        self.augment = augment
        self.seed = seed
        self.repeats = repeats
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records) * self.repeats

    def __getitem__(self, i: int):
        from ecgviewer.inference.preprocess import scale_windows

        rec = self.records[i % len(self.records)]
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        x, lab, mask = rec.x, rec.labels, rec.mask
        if self.augment is not None:
            pos = self.augment.stretch_index(x.shape[1], rec.hr_bpm, rng)
            if pos is not None:
                i0 = np.clip(pos.astype(np.int64), 0, x.shape[1] - 1)
                i1 = np.minimum(i0 + 1, x.shape[1] - 1)
                f = (pos - i0).astype(np.float32)
                x = x[:, i0] * (1 - f) + x[:, i1] * f
                near = np.clip(np.round(pos).astype(np.int64), 0, lab.shape[1] - 1)
                lab, mask = lab[:, near], mask[:, near]
        # a window that holds known samples
        n = x.shape[1]
        known = np.flatnonzero(mask.any(axis=0))
        if n > WINDOW:
            lo = max(0, min(n - WINDOW, (known[0] if known.size else 0) - WINDOW // 2))
            hi = max(lo, min(n - WINDOW, (known[-1] if known.size else n) - WINDOW // 2))
            s = int(rng.integers(lo, hi + 1))
            x, lab, mask = x[:, s : s + WINDOW], lab[:, s : s + WINDOW], mask[:, s : s + WINDOW]
        elif n < WINDOW:
            before = int(rng.integers(0, WINDOW - n + 1))
            pad = ((0, 0), (before, WINDOW - n - before))
            x = np.pad(x, pad, mode="edge")
            lab, mask = np.pad(lab, pad), np.pad(mask, pad)
        # a lead subset of 1..SLOTS leads, repeated to fill the slots
        n_leads = x.shape[0]
        k = int(rng.choice([1, 2, 3, SLOTS], p=[0.25, 0.15, 0.1, 0.5]))
        k = min(k, n_leads)
        chosen = rng.choice(n_leads, size=k, replace=False)
        slots = np.resize(chosen, SLOTS)
        first = np.zeros(SLOTS, bool)
        first[:k] = True  # the loss counts each chosen lead once
        x = np.asarray(x[slots], dtype=np.float32)
        if self.augment is not None:
            x = self.augment.signal(x, FS_HZ, rng)
        x = scale_windows(x[None], SCALING)[0]
        m = mask[slots] & first[:, None]
        return (
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(lab[slots].astype(np.int64)),
            torch.from_numpy(np.ascontiguousarray(m)),
        )


@torch.no_grad()
def record_probabilities(model: nn.Module, x: np.ndarray, device: str) -> np.ndarray:
    """``(leads, 4, n)`` probabilities of a record at :data:`FS_HZ` (one padded window per 10.24 s)."""
    from ecgviewer.inference.preprocess import scale_windows

    n = x.shape[1]
    out = np.zeros((x.shape[0], len(WAVE_CLASSES), n), np.float32)
    for s in range(0, n, WINDOW):
        seg = x[:, s : s + WINDOW]
        m = seg.shape[1]
        if m < WINDOW:
            seg = np.pad(seg, ((0, 0), (0, WINDOW - m)), mode="edge")
        inp = torch.from_numpy(scale_windows(seg[None].astype(np.float32), SCALING)).to(device)
        out[:, :, s : s + m] = torch.softmax(model(inp).float(), dim=2)[0, :, :, :m].cpu().numpy()
    return out


def record_scores(model: nn.Module, records: list[WaveRecord], device: str) -> dict[str, dict[str, float]]:
    """MAE and mean difference of HR, PR, QRS, QT against the LUDB references of ``records``."""
    errs: dict[str, list[float]] = {k: [] for k in _TOL}
    for rec in records:
        if not rec.reference:
            continue
        prob = record_probabilities(model, rec.x, device)
        labels, conf = labels_from_probabilities(prob)
        d = delineation_from_labels(labels, FS_HZ, rec.leads, detect_r_peaks(rec.x, FS_HZ), conf)
        iv = record_intervals(d)
        for k in errs:
            ref = rec.reference.get(k, math.nan)
            if math.isnan(ref):
                continue
            v = iv[k].value
            errs[k].append(math.inf if v is None else v - ref)
    out = {}
    for k, e in errs.items():
        a = np.asarray(e, dtype=float)
        fin = a[np.isfinite(a)]
        out[k] = {
            "n": int(a.size),
            "missing": int((~np.isfinite(a)).sum()),
            "mae": float(np.mean(np.abs(fin))) if fin.size else math.nan,
            "mean_diff": float(np.mean(fin)) if fin.size else math.nan,
        }
    return out


class DelineationTask:
    """Per-sample P / QRS / T segmentation of any lead set (see the module docstring)."""

    name = "delineation"
    log_columns = ("val_mae_hr_bpm", "val_mae_pr_ms", "val_mae_qrs_ms", "val_mae_qt_ms")

    def __init__(self, repeats: int = 2) -> None:
        self.repeats = repeats

    def build(self, config: TrainConfig, train_rows: WaveData) -> Built:
        if config.init:
            loaded = load_checkpoint(config.init)
            if loaded.meta.task != "delineation":
                raise DataError(f"{config.init} is a {loaded.meta.task} checkpoint, not a delineation one")
            return Built(
                loaded.model.train(),
                loaded.meta.architecture,
                {"checkpoint": str(config.init), "sha256": loaded.meta.weights_sha256},
            )
        return Built(build_model(config.model, config.model_config).train(), config.model, {})

    def dataset(self, rows: WaveData, augment: Any, seed: int) -> WaveItems:
        wave_augment = WaveAugment() if augment is not None else None
        if augment is not None and isinstance(augment, Augment):
            wave_augment = WaveAugment(signal=Augment(**{**augment.__dict__, "shift_s": 0.0}))
        return WaveItems(rows, wave_augment, seed, self.repeats)

    def loss(self, out: torch.Tensor, labels: Any, config: TrainConfig) -> torch.Tensor:
        y, mask = labels
        ce = F.cross_entropy(
            out.permute(0, 1, 3, 2).reshape(-1, out.shape[2]), y.reshape(-1), reduction="none"
        )
        m = mask.reshape(-1).float()
        return (ce * m).sum() / m.sum().clamp_min(1.0)

    def validate(self, model: nn.Module, rows: WaveData, device: str) -> Validation:
        was = model.training
        model.eval()
        scores = record_scores(model, rows.records, device)
        model.train(was)
        score = float(
            np.mean(
                [
                    (s["mae"] if not math.isnan(s["mae"]) else 10 * _TOL[k]) / _TOL[k]
                    + 2.0 * s["missing"] / max(1, s["n"])
                    for k, s in scores.items()
                ]
            )
        )
        return Validation(
            score=score,
            metrics=scores,
            log={f"val_mae_{k}": f"{s['mae']:.3f}" for k, s in scores.items()},
            summary=", ".join(f"{k.split('_')[0].upper()} {s['mae']:.1f}" for k, s in scores.items()),
            checkpoint=checkpoint_fields(),
            scalars={f"val/mae_{k}": s["mae"] for k, s in scores.items()},
        )


def checkpoint_fields() -> dict[str, Any]:
    """The task's :class:`~ecgviewer.models.checkpoint.CheckpointMeta` keywords."""
    descriptions = {"none": "no wave", "P": "P wave", "QRS": "QRS complex", "T": "T wave"}
    return {
        "task": "delineation",
        "targets": (),
        "classes": tuple(ClassSpec(c, descriptions[c], 0.5) for c in WAVE_CLASSES),
        "activation": "softmax",
        "input_leads": (ANY_LEAD,),
        "fs_hz": FS_HZ,
        "window_samples": WINDOW,
        "scaling": dict(SCALING),
    }


# -- command line --------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ecgviewer.models.registry import available_models
    from trainer.options import add_common_train_options

    p.add_argument("--ludb", type=Path, metavar="DIR", help="LUDB folder (RECORDS, data/)")
    p.add_argument("--qtdb", type=Path, metavar="DIR", help="QTDB folder (sel*.hea, .q1c)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder (best/last, log.csv)")
    p.add_argument(
        "--model",
        default="unet1d",
        choices=[m for m in available_models() if m in ("unet1d", "vit_seg1d")],
        help="delineation architecture (default unet1d)",
    )
    p.add_argument("--model-config", default="{}", metavar="JSON", help="architecture overrides as JSON")
    p.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="delineation checkpoint to start from (e.g. a synthetic pretraining)",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="N",
        help="add N synthetic deepfake-ecg records labelled by --teacher to the training rows",
    )
    p.add_argument("--teacher", metavar="CHECKPOINT", help="delineation checkpoint that labels --synthetic")
    p.add_argument(
        "--pretrain",
        action="store_true",
        help="LUDB/QTDB give only their validation records (train on --synthetic alone)",
    )
    p.add_argument(
        "--repeats", type=int, default=2, help="draws of each training record per epoch (default 2)"
    )
    add_common_train_options(p)
    p.set_defaults(batch_size=16, epochs=60, patience=12, lr=3e-3)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.options import command_line
    from trainer.train import TrainConfig, train

    roles = ("val",) if args.pretrain else ("train", "val")
    data = load_wave_data(
        args.ludb, args.qtdb, roles=roles, synthetic=args.synthetic, teacher=args.teacher, seed=args.seed
    )
    config = TrainConfig.from_args(
        args, model=args.model, model_config=json.loads(args.model_config), init=args.init
    )
    provenance = {"data": data.provenance, "command": command_line(argv), "seed": args.seed}
    task = DelineationTask(repeats=args.repeats)
    result = train(
        config, data, args.out, task=task, resume=args.resume, progress=not args.quiet, provenance=provenance
    )
    if os.environ.get("RANK", "0") == "0":
        print(
            f"{args.out}: best epoch {result.best_epoch + 1} of {result.epochs_run} "
            f"(validation score {result.best_score:.4f}); checkpoint {args.out / 'best.json'}"
        )
    return 0


COMMAND = Command(
    help="train a wave delineation network (P/QRS/T boundaries of any lead) on LUDB and QTDB",
    description=(
        "Train a per-sample P/QRS/T segmentation network (unet1d or vit_seg1d) on LUDB per-lead expert "
        "boundaries and QTDB q1c annotated beats, with time-stretch (35-180 bpm), amplitude, baseline, "
        "noise, powerline and lead-subset augmentation; LUDB validation records select the epoch."
    ),
    add_arguments=add_arguments,
    run=run,
)
