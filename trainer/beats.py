"""The beat classifier's training task (:class:`BeatTask`) and ``python -m trainer train-beats``.

The shared loop (:func:`trainer.train.train`) trains it like every other model;
this module supplies what is particular to beats:

- the model: ``beatnet`` (:mod:`ecgviewer.models.beatnet`, or any registered
  architecture that accepts the beat input) with 5 outputs, softmax over
  :data:`~ecgviewer.core.beat_pass.BEAT_CLASSES`;
- the rows (:class:`BeatRows`): each epoch draws :attr:`BeatTask.epoch_size` beats
  with class shares proportional to ``count ** class_power`` (0.5: the square root,
  so that 41 000 N beats do not drown 226 fusion beats, yet N is still seen most);
  the draw is fixed by ``(seed, epoch)``. Each beat's window is augmented
  (:data:`BEAT_AUGMENT`: gain, baseline wander, noise, a jitter of the R position of
  up to 20 ms) and median-centred again; the RR rows stay as they are;
- the loss: cross-entropy (optionally with class weights ``count ** -weight_power``);
- the validation (on the ``val`` records): the score to minimise is the class-balanced
  cross-entropy, the mean over the classes with at least :data:`MIN_VAL_BEATS` validation
  beats of their beats' mean cross-entropy (smooth, and N does not outweigh V), with
  per-class sensitivity, positive predictivity and F1 in the checkpoint's metrics.

Windows are cut at the annotated R peaks (:mod:`trainer.data.beats`); the
evaluation (``evaluate-beats``, :mod:`trainer.evaluate_beats`) runs the detector
and the classifier end to end instead.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ecgviewer.core.beat_classes import BEAT_CLASSES, CLASS_DESCRIPTIONS
from ecgviewer.inference.beats import BeatInputSpec
from ecgviewer.models.checkpoint import ClassSpec, load_checkpoint
from ecgviewer.models.registry import build_model
from trainer.augment import NO_AUGMENT, Augment
from trainer.commands import Command
from trainer.data.arrays import DataError
from trainer.data.beats import BeatDataset
from trainer.tasks import Built, Validation, input_fields, transfer_backbone

if TYPE_CHECKING:
    from trainer.train import TrainConfig

#: Augmentation of beat windows (mV, at the model rate); no powerline (the windows are low-passed).
BEAT_AUGMENT = Augment(amplitude=0.3, baseline_mv=0.3, noise_mv=0.05, powerline_mv=0.0, shift_s=0.02)
#: A class needs this many validation beats to count in the validation score.
MIN_VAL_BEATS = 10
#: Share of training draws whose second-lead rows are zeroed (``--second-lead``), as for a one-lead record.
SECOND_LEAD_DROPOUT = 0.2


class BeatRows(torch.utils.data.Dataset):
    """Class-balanced draws of beat inputs: items ``(input (rows, window) float32, class index int64)``.

    ``len()`` is the epoch size; item ``i`` of epoch ``e`` is the ``i``-th beat of a draw
    fixed by ``(seed, e)``; its augmentation is seeded by ``(seed, e, i)``.
    """

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        augment: Augment | None,
        seed: int,
        fs_hz: float,
        n_leads: int = 1,
        epoch_size: int | None = None,
        class_power: float = 0.5,
        second_row: int | None = None,
        second_dropout: float = 0.0,
    ) -> None:
        self.x, self.labels = x, np.asarray(labels, dtype=np.int64)
        self.augment = augment or NO_AUGMENT
        self.seed, self.fs_hz, self.n_leads = seed, fs_hz, n_leads
        #: the second lead's beat row (augmented like the first) and the chance that it and its
        #: template are zeroed, as for a record with one lead
        self.second_row, self.second_dropout = second_row, second_dropout
        self.size = int(epoch_size or len(x))
        counts = np.bincount(self.labels, minlength=len(BEAT_CLASSES)).astype(np.float64)
        present = counts > 0
        share = np.where(present, np.power(np.maximum(counts, 1.0), class_power), 0.0)
        self.class_share = share / share.sum()
        self.by_class = [np.flatnonzero(self.labels == c) for c in range(len(BEAT_CLASSES))]
        self._epoch = -1
        self._index = np.zeros(0, dtype=np.int64)
        self.epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        if value != self._epoch:
            self._epoch = value
            rng = np.random.default_rng([self.seed, value, 7])
            per_class = rng.multinomial(self.size, self.class_share)
            parts = [
                rng.choice(idx, size=k, replace=k > idx.size) for idx, k in zip(self.by_class, per_class) if k
            ]
            self._index = rng.permutation(np.concatenate(parts))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int):
        j = int(self._index[i])
        x = np.array(self.x[j], dtype=np.float32)
        if self.augment != NO_AUGMENT:
            rng = np.random.default_rng([self.seed, self._epoch, int(i)])
            k = self.second_row
            if k is not None and rng.random() < self.second_dropout:
                x[k : k + 2] = 0.0
            # the beat rows of both leads together (one time shift for the beat)
            rows = list(range(self.n_leads)) + ([k] if k is not None and x[k].any() else [])
            w = self.augment(x[rows], self.fs_hz, rng)
            x[rows] = w - np.median(w, axis=1, keepdims=True)
        return torch.from_numpy(x), torch.tensor(self.labels[j], dtype=torch.int64)


def per_class_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    """Per class: beats, sensitivity, positive predictivity and F1 (``nan`` where undefined)."""
    out = {}
    for c, name in enumerate(BEAT_CLASSES):
        tp = int(np.sum((truth == c) & (pred == c)))
        n_true, n_pred = int(np.sum(truth == c)), int(np.sum(pred == c))
        se = tp / n_true if n_true else math.nan
        ppv = tp / n_pred if n_pred else math.nan
        f1 = 2 * tp / (n_true + n_pred) if n_true + n_pred else math.nan
        out[name] = {"n": n_true, "n_pred": n_pred, "sensitivity": se, "ppv": ppv, "f1": f1}
    return out


class BeatTask:
    """Per-beat classes N / S / V / F / Q (softmax), for :func:`trainer.train.train`.

    Parameters
    ----------
    spec
        The model input the data was made with (stored in the checkpoint).
    epoch_size
        Beats drawn per epoch (default: the number of training beats).
    class_power
        Class shares of the draw are proportional to ``count ** class_power``
        (1: as in the data, 0: balanced).
    weight_power
        Cross-entropy class weights ``count ** -weight_power`` (0: unweighted).
    """

    name = "beats"
    log_columns = ("val_loss", "val_balanced_loss", "val_macro_f1", *(f"val_f1_{c}" for c in BEAT_CLASSES))

    def __init__(
        self,
        spec: BeatInputSpec | None = None,
        epoch_size: int | None = None,
        class_power: float = 0.5,
        weight_power: float = 0.0,
    ) -> None:
        self.spec = spec or BeatInputSpec()
        self.epoch_size = epoch_size
        self.class_power = class_power
        self.weight_power = weight_power
        self.weights = np.ones(len(BEAT_CLASSES), dtype=np.float32)
        self._weights_t: torch.Tensor | None = None

    def _model_config(self, config: TrainConfig) -> dict[str, Any]:
        return dict(
            config.model_config,
            n_classes=len(BEAT_CLASSES),
            n_leads=self.spec.n_leads,
            n_samples=self.spec.window_samples,
            n_rr_features=len(self.spec.rr_features),
            rr_packed=self.spec.rr_layout == "packed",
            joint_scale=self.spec.template,
        )

    def build(self, config: TrainConfig, train_rows: BeatDataset) -> Built:
        if config.heteroscedastic:
            raise ValueError("--heteroscedastic applies to interval models, not beat classifiers")
        counts = np.bincount(train_rows.labels, minlength=len(BEAT_CLASSES)).astype(np.float64)
        if np.count_nonzero(counts) < 2:
            raise DataError(f"the training beats hold one class only ({dict(zip(BEAT_CLASSES, counts))})")
        w = np.where(counts > 0, np.power(np.maximum(counts, 1.0), -self.weight_power), 0.0)
        self.weights = (w / w[counts > 0].mean()).astype(np.float32)
        if not config.init:
            model = build_model(config.model, self._model_config(config))
            return Built(model.train(), config.model, {})
        loaded = load_checkpoint(config.init)
        meta = loaded.meta
        info: dict[str, Any] = {
            "checkpoint": str(config.init),
            "sha256": meta.weights_sha256,
            "task": meta.task,
        }
        if meta.task == "beats" and meta.class_names == BEAT_CLASSES:
            info["head"] = "kept (same classes)"
            return Built(loaded.model.train(), meta.architecture, info)
        cfg = dict(meta.config, n_classes=len(BEAT_CLASSES))
        if "heteroscedastic" in cfg:
            cfg["heteroscedastic"] = False
        model = build_model(meta.architecture, cfg)
        fresh = transfer_backbone(loaded.model, model)
        info["head"] = f"re-initialised (fresh {', '.join(fresh)})"
        return Built(model.train(), meta.architecture, info)

    def dataset(self, rows: BeatDataset, augment: Augment | None, seed: int) -> BeatRows:
        second = 2 if self.spec.second_lead else None
        return BeatRows(
            rows.x, rows.labels, augment, seed, self.spec.fs_hz, 1, self.epoch_size, self.class_power,
            second_row=second, second_dropout=SECOND_LEAD_DROPOUT if second else 0.0,
        )  # fmt: skip

    def loss(self, out: torch.Tensor, labels: Sequence[torch.Tensor], config: TrainConfig) -> torch.Tensor:
        (y,) = labels
        if self._weights_t is None or self._weights_t.device != out.device:
            self._weights_t = torch.from_numpy(self.weights).to(out.device)
        return nn.functional.cross_entropy(out.float(), y, weight=self._weights_t)

    @torch.no_grad()
    def logits(self, model: nn.Module, x: np.ndarray, device: str, batch: int = 1024) -> np.ndarray:
        """Raw outputs for prepared beat inputs (eval mode)."""
        was_training = model.training
        model.eval()
        outs = [
            model(torch.from_numpy(np.ascontiguousarray(x[s : s + batch], dtype=np.float32)).to(device))
            .float()
            .cpu()
            .numpy()
            for s in range(0, len(x), batch)
        ]
        model.train(was_training)
        return np.concatenate(outs) if outs else np.zeros((0, len(BEAT_CLASSES)), dtype=np.float32)

    def validate(self, model: nn.Module, rows: BeatDataset, device: str) -> Validation:
        logits = self.logits(model, rows.x, device)
        truth = rows.labels
        val_loss = float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(truth)))
        pred = np.argmax(logits, axis=1)
        scores = per_class_scores(truth, pred)
        f1s = [scores[c]["f1"] for c in BEAT_CLASSES if not math.isnan(scores[c]["f1"])]
        macro_f1 = float(np.mean(f1s)) if f1s else math.nan
        per_beat = nn.functional.cross_entropy(
            torch.from_numpy(logits), torch.from_numpy(truth), reduction="none"
        ).numpy()
        counted = [c for c in range(len(BEAT_CLASSES)) if np.sum(truth == c) >= MIN_VAL_BEATS]
        balanced = float(np.mean([per_beat[truth == c].mean() for c in counted])) if counted else val_loss

        def fmt(v: float) -> str:
            return "nan" if math.isnan(v) else f"{v:.4f}"

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and math.isnan(v) else v

        classes = tuple(ClassSpec(c, CLASS_DESCRIPTIONS[c], 0.5) for c in BEAT_CLASSES)
        return Validation(
            score=balanced,
            metrics={
                "loss": val_loss,
                "macro_f1": clean(macro_f1),
                "balanced_loss": balanced,
                "score_rule": f"mean over classes with >= {MIN_VAL_BEATS} validation beats of their mean "
                "cross-entropy",
                "classes": {c: {k: clean(v) for k, v in s.items()} for c, s in scores.items()},
                "r_positions": "annotated",
            },
            log={
                "val_loss": f"{val_loss:.6f}",
                "val_balanced_loss": f"{balanced:.6f}",
                "val_macro_f1": fmt(macro_f1),
                **{f"val_f1_{c}": fmt(scores[c]["f1"]) for c in BEAT_CLASSES},
            },
            summary=", ".join(
                f"{c} Se {fmt(scores[c]['sensitivity'])} +P {fmt(scores[c]['ppv'])}"
                for c in BEAT_CLASSES
                if scores[c]["n"]
            ),
            checkpoint={
                "task": "beats",
                "targets": (),
                "classes": classes,
                "activation": "softmax",
                **input_fields(
                    self.spec.row_names,
                    self.spec.fs_hz,
                    self.spec.window_samples,
                    self.spec.scaling,
                ),
                "input_extra": self.spec.input_extra(),
            },
            scalars={"val/loss": val_loss, "val/macro_f1": macro_f1},
        )


# -- command line ------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer train-beats`` (batches of 128 by default)."""
    from trainer.options import add_common_train_options

    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the shared data folder")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="run folder: best/last checkpoints, state.safetensors (for --resume), log.csv",
    )
    p.add_argument(
        "--split-file", type=Path, default=None, metavar="JSON", help="record split (default beats.json)"
    )
    p.add_argument(
        "--records", nargs="+", default=None, metavar="NAME", help="only these records (quick runs)"
    )
    p.add_argument("--model", default="beatnet", help="architecture from ecgviewer.models (default beatnet)")
    p.add_argument("--model-config", default="{}", metavar="JSON", help="architecture overrides as JSON")
    p.add_argument("--init", default=None, metavar="CHECKPOINT", help="checkpoint to start from")
    p.add_argument("--epoch-size", type=int, default=16384, help="beats drawn per epoch (default 16384)")
    p.add_argument(
        "--class-power",
        type=float,
        default=0.5,
        help="class shares of the draw ~ count**POWER (1 = as in the data, 0 = balanced; default 0.5)",
    )
    add_spec_arguments(p)
    p.add_argument(
        "--weight-power",
        type=float,
        default=0.0,
        help="cross-entropy class weights ~ count**-POWER (default 0: unweighted)",
    )
    add_common_train_options(p)
    p.set_defaults(batch_size=128)


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The model-input options (``--rr-features``, ``--rr-layout``, ``--template``)."""
    from ecgviewer.inference.beats import BASIC_RR_FEATURES, RR_FEATURES

    p.add_argument(
        "--rr-features",
        nargs="+",
        default=list(BASIC_RR_FEATURES),
        choices=RR_FEATURES,
        metavar="NAME",
        help=f"RR features of the input (of {', '.join(RR_FEATURES)}; default {' '.join(BASIC_RR_FEATURES)})",
    )
    p.add_argument(
        "--rr-layout", choices=("rows", "packed"), default="rows", help="one row per RR feature or one row"
    )
    p.add_argument(
        "--template", action="store_true", help="add the median beat of the minute as a second input row"
    )
    p.add_argument(
        "--second-lead",
        action="store_true",
        help="add the record's second lead (V1, else the next mV channel) and its template as rows 3-4 "
        f"(needs --template; zeroed in {SECOND_LEAD_DROPOUT:.0%} of the training draws, so that "
        "one-lead records work)",
    )


def spec_from_args(args: argparse.Namespace) -> BeatInputSpec:
    """The :class:`BeatInputSpec` of the model-input options."""
    return BeatInputSpec(
        rr_features=tuple(args.rr_features),
        rr_layout=args.rr_layout,
        template=args.template,
        second_lead=getattr(args, "second_lead", False),
    )


def _role_counts(data: BeatDataset) -> dict[str, dict[str, int]]:
    roles = np.asarray(data.splits)
    return {
        role: {c: int(np.sum((roles == role) & (data.labels == k))) for k, c in enumerate(BEAT_CLASSES)}
        for role in ("train", "val")
    }


def run_train_beats(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer train-beats``."""
    from tqdm import tqdm

    from trainer.data.beats import BEAT_SPLIT_FILE, load_beats
    from trainer.options import command_line
    from trainer.train import TrainConfig, train

    split_file = args.split_file or BEAT_SPLIT_FILE
    bar = tqdm(desc="reading records", unit="rec", disable=args.quiet, file=sys.stderr, leave=False)

    def tick(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    spec = spec_from_args(args)
    data = load_beats(
        args.data, ("train", "val"), split_file=split_file, records=args.records, spec=spec, progress=tick
    )
    bar.close()
    config = TrainConfig.from_args(args, augment=None if args.no_augment else BEAT_AUGMENT)
    task = BeatTask(spec, args.epoch_size, args.class_power, args.weight_power)
    provenance = {
        "data": data.provenance,
        "command": command_line(argv),
        "seed": args.seed,
        "stage": "train-beats",
        "sampling": {"epoch_size": args.epoch_size, "class_power": args.class_power,
                     "weight_power": args.weight_power},
        "counts": _role_counts(data),
    }  # fmt: skip
    result = train(
        config, data, args.out, task=task, resume=args.resume, progress=not args.quiet, provenance=provenance
    )
    print(
        f"{args.out}: best epoch {result.best_epoch + 1} of {result.epochs_run} (validation score "
        f"{result.best_score:.4f}{', stopped early' if result.stopped_early else ''}); "
        f"checkpoint {args.out / 'best.json'}"
    )
    return 0


COMMAND = Command(
    help="train the beat classifier (N / S / V / F / Q) on annotated records",
    description=(
        "Train a beat classifier on the annotated records of the shared data (MIT-BIH 208 and 100, "
        "QTDB .atr) with the record-level split trainer/splits/beats.json: 'train' records are "
        "fitted, 'val' records pick the epoch and stop early, 'test' records are never read. "
        "Windows are cut at the annotated R peaks."
    ),
    add_arguments=add_arguments,
    run=run_train_beats,
)
