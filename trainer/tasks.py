"""What the training loop trains: one :class:`Task` per kind of model output.

:func:`trainer.train.train` knows nothing about intervals or classes; it asks a
task for everything task-specific, in this order:

1. :meth:`Task.build` (once, after ``torch.manual_seed(config.seed)``): the model
   (fresh, or from ``config.init`` for transfer learning), its architecture name and
   a description of where it started from. The task keeps what it derives from
   the training rows (label normalisation, class weights) for the later calls.
2. :meth:`Task.dataset`: the training rows as a ``torch.utils.data.Dataset``
   whose items are tuples of tensors, the model input first; the loop sets its
   ``epoch`` attribute before each epoch (augmentation is seeded by
   ``(seed, epoch, row)``).
3. :meth:`Task.loss` per batch: the loss of the model output for the rest of the
   item tuple (moved to the device).
4. :meth:`Task.validate` after each epoch: a :class:`Validation` with the score
   (lower is better; it picks the best epoch and drives early stopping), JSON-ready
   metrics, the values of :attr:`Task.log_columns` for ``log.csv``, a one-line
   summary and the task's fields of the :class:`~ecgviewer.models.checkpoint.CheckpointMeta`
   saved for that epoch (task, targets or classes with thresholds, activation, input).

:class:`IntervalTask` trains the four global intervals (regression), and
:class:`ClassificationTask` multi-label record statements (sigmoid outputs,
class-weighted binary cross-entropy, thresholds chosen on the validation rows).
A new task (e.g. per-beat classes) implements the same five members in its own
module and is passed as ``train(config, data, out, task=MyTask(...))``;
``docs``/``/work/notes/train_task.md`` describe the contract.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from ecgviewer.inference.preprocess import scale_windows
from ecgviewer.models.checkpoint import TARGET_NAMES, ClassSpec, TargetSpec, load_checkpoint
from ecgviewer.models.registry import build_model
from trainer.augment import NO_AUGMENT, Augment
from trainer.data.arrays import INPUT_FS_HZ, INPUT_LEADS, INPUT_SAMPLES, DataError, LabelledRows
from trainer.metrics import (
    auc,
    best_f1_threshold,
    binary_counts,
    calibrated_probabilities,
    expected_calibration_error,
    fit_temperature,
    score,
)

if TYPE_CHECKING:
    from trainer.train import TrainConfig

#: Input scaling of the models trained here (``input.scaling`` of their checkpoints).
SCALING = {"unit": "mV", "center": "median", "scale_mv": 1.0}


def input_fields(
    leads: Sequence[str] = INPUT_LEADS,
    fs_hz: float = INPUT_FS_HZ,
    window_samples: int = INPUT_SAMPLES,
    scaling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``input`` fields of a :class:`CheckpointMeta` (default 8 leads, 500 Hz, 10 s, :data:`SCALING`)."""
    return {
        "input_leads": tuple(leads),
        "fs_hz": fs_hz,
        "window_samples": window_samples,
        "scaling": dict(scaling or SCALING),
    }


@dataclass(frozen=True)
class Built:
    """What :meth:`Task.build` returns: the model (train mode), its registry name, its origin."""

    model: nn.Module
    architecture: str
    init_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    """One epoch's validation, as :meth:`Task.validate` returns it.

    Attributes
    ----------
    score
        Lower is better; selects ``best`` and drives early stopping.
    metrics
        JSON-ready details (stored in the checkpoint's ``metrics`` after
        ``split``, ``epoch`` and ``score``, and in the resume state).
    log
        One formatted value per :attr:`Task.log_columns`.
    summary
        Short text for the per-epoch progress line.
    checkpoint
        The task's keyword arguments of :class:`CheckpointMeta`: ``task``,
        ``targets``, ``classes``, ``activation``, ``input_leads``, ``fs_hz``,
        ``window_samples``, ``scaling`` (and ``input_extra`` where needed).
    scalars
        Values for TensorBoard (``name -> float``).
    """

    score: float
    metrics: dict[str, Any]
    log: dict[str, str]
    summary: str
    checkpoint: dict[str, Any]
    scalars: dict[str, float] = field(default_factory=dict)


class Task(Protocol):
    """The task-specific half of a training run (see the module docstring for the call order)."""

    #: The checkpoint ``task`` this trains ("intervals", "classification", "beats").
    name: str

    @property
    def log_columns(self) -> tuple[str, ...]:
        """Columns of ``log.csv`` between ``val_score`` and ``seconds``."""
        ...

    def build(self, config: TrainConfig, train_rows: Any) -> Built:
        """The model to train (fresh or from ``config.init``), in train mode."""
        ...

    def dataset(self, rows: Any, augment: Augment | None, seed: int) -> torch.utils.data.Dataset:
        """Training items ``(input, *labels)`` as tensors; has a settable ``epoch`` attribute."""
        ...

    def loss(self, out: torch.Tensor, labels: Sequence[torch.Tensor], config: TrainConfig) -> torch.Tensor:
        """Scalar loss of a batch's model output ``out`` for the item tensors after the input."""
        ...

    def validate(self, model: nn.Module, rows: Any, device: str) -> Validation:
        """Score the model (in eval mode, no augmentation) on the validation rows."""
        ...


# -- shared pieces ------------------------------------------------------------------


class WindowRows(torch.utils.data.Dataset):
    """Rows of input windows with float labels: ``(x scaled, labels with nan -> 0, mask of known labels)``.

    ``x`` (N, leads, samples) is raw mV; augmentation (seeded by ``(seed, epoch,
    row)``) comes before :data:`SCALING`, as at inference.
    """

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        augment: Augment | None,
        seed: int,
        fs_hz: float = INPUT_FS_HZ,
    ) -> None:
        self.x = x
        self.labels = labels
        self.augment = augment or NO_AUGMENT
        self.seed = seed
        self.fs_hz = fs_hz
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        x = self.x[i]
        if self.augment != NO_AUGMENT:
            x = self.augment(x, self.fs_hz, np.random.default_rng([self.seed, self.epoch, int(i)]))
        x = scale_windows(np.asarray(x, dtype=np.float32)[None], SCALING)[0]
        y = self.labels[i]
        mask = np.isfinite(y)
        return (
            torch.from_numpy(np.ascontiguousarray(x)),
            torch.from_numpy(np.where(mask, y, 0.0)),
            torch.from_numpy(mask),
        )


@torch.no_grad()
def forward_rows(model: nn.Module, x: np.ndarray, device: str, batch: int = 64) -> np.ndarray:
    """Raw model outputs ``(N, outputs)`` for raw-mV windows ``x`` (eval mode, :data:`SCALING`)."""
    was_training = model.training
    model.eval()
    outs = []
    for s in range(0, len(x), batch):
        xb = scale_windows(x[s : s + batch].astype(np.float32, copy=False), SCALING)
        outs.append(model(torch.from_numpy(np.ascontiguousarray(xb)).to(device)).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(outs)


def transfer_backbone(source: nn.Module, target: nn.Module) -> list[str]:
    """Copy every tensor of ``source`` except its ``head.*`` into ``target``; returns the fresh keys.

    Raises
    ------
    DataError
        When the backbones differ (a tensor missing, extra or of another shape).
    """
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    expected = target.state_dict()
    bad = [k for k, v in state.items() if k not in expected or expected[k].shape != v.shape]
    if bad:
        raise DataError(f"the --init backbone does not fit the model: {bad[:5]}")
    missing = [k for k in expected if k not in state]
    if any(not k.startswith("head.") for k in missing):
        raise DataError(f"the --init checkpoint lacks backbone tensors {missing[:5]}")
    target.load_state_dict(state, strict=False)
    return missing


# -- intervals ----------------------------------------------------------------------------


def target_specs(train: LabelledRows) -> tuple[TargetSpec, ...]:
    """Label normalisation (mean, SD) from the labelled training rows."""
    specs = []
    for j, name in enumerate(TARGET_NAMES):
        v = train.y[:, j]
        v = v[np.isfinite(v)]
        if v.size < 2:
            raise DataError(f"too few training labels for {name} ({v.size}) to normalise it")
        specs.append(TargetSpec(name, "ms", round(float(v.mean()), 3), round(max(float(v.std()), 1.0), 3)))
    return tuple(specs)


def masked_loss(out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Mean interval loss over the labelled entries (normalised units)."""
    k = y.shape[1]
    mu = out[:, :k].float()
    m = mask.float()
    if config.heteroscedastic:
        log_var = out[:, k : 2 * k].float().clamp(-10, 10)
        elem = 0.5 * (torch.exp(-log_var) * (mu - y) ** 2 + log_var)
    elif config.loss == "l1":
        elem = (mu - y).abs()
    else:
        elem = nn.functional.huber_loss(mu, y, reduction="none", delta=config.huber_delta)
    return (elem * m).sum() / m.sum().clamp(min=1.0)


def predict_rows(
    model: nn.Module, data: LabelledRows, targets: tuple[TargetSpec, ...], device: str, batch: int = 64
) -> tuple[np.ndarray, np.ndarray | None]:
    """Interval predictions ``(N, 4)`` in ms for every row (and SDs when heteroscedastic)."""
    out = forward_rows(model, data.x, device, batch)
    mean = np.array([t.mean for t in targets], dtype=np.float32)
    std = np.array([t.std for t in targets], dtype=np.float32)
    k = len(targets)
    means = out[:, :k] * std + mean
    sds = np.exp(0.5 * np.clip(out[:, k:], -10, 10)) * std if out.shape[1] == 2 * k else None
    return means, sds


def validation_score(pred: np.ndarray, ref: np.ndarray, targets: tuple[TargetSpec, ...]) -> float:
    """Mean over the four targets of MAE / label SD (lower is better; labelled rows only)."""
    parts = []
    for j, t in enumerate(targets):
        ok = np.isfinite(ref[:, j])
        if ok.any():
            parts.append(float(np.abs(pred[ok, j] - ref[ok, j]).mean()) / t.std)
    return float(np.mean(parts)) if parts else math.nan


class IntervalTask:
    """The four global intervals (RR, PR, QRS, QT) by regression on normalised targets.

    Labels are normalised by the training rows' mean and SD (or kept from
    ``config.init``); the loss is Huber or L1 (Gaussian NLL when
    ``config.heteroscedastic``), missing labels masked; the validation score is
    the mean over targets of MAE / label SD.
    """

    name = "intervals"
    log_columns = ("val_mae_hr_bpm", "val_mae_pr_ms", "val_mae_qrs_ms", "val_mae_qt_ms")

    def __init__(self) -> None:
        self.targets: tuple[TargetSpec, ...] = ()

    def build(self, config: TrainConfig, train_rows: LabelledRows) -> Built:
        if config.init:
            loaded = load_checkpoint(config.init)
            if loaded.meta.task != "intervals":
                raise DataError(
                    f"{config.init} is a {loaded.meta.task} checkpoint; interval training starts from an "
                    "interval checkpoint (use 'trainer classify --init' for classifiers)"
                )
            model = loaded.model
            init_info = {"checkpoint": str(config.init), "sha256": loaded.meta.weights_sha256}
            if bool(getattr(model.config, "heteroscedastic", False)) != config.heteroscedastic:
                fresh = build_model(
                    loaded.meta.architecture,
                    dict(loaded.meta.config, heteroscedastic=config.heteroscedastic),
                )
                state = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
                fresh.load_state_dict(state, strict=False)
                model = fresh
                init_info["head"] = "re-initialised (heteroscedastic changed)"
            self.targets = tuple(loaded.meta.targets)
            return Built(model.train(), loaded.meta.architecture, init_info)
        cfg = dict(config.model_config, heteroscedastic=config.heteroscedastic)
        model = build_model(config.model, cfg).train()
        self.targets = target_specs(train_rows)
        return Built(model, config.model, {})

    def dataset(self, rows: LabelledRows, augment: Augment | None, seed: int) -> WindowRows:
        mean = np.array([t.mean for t in self.targets], dtype=np.float32)
        std = np.array([t.std for t in self.targets], dtype=np.float32)
        return WindowRows(rows.x, (rows.y - mean) / std, augment, seed)

    def loss(self, out: torch.Tensor, labels: Sequence[torch.Tensor], config: TrainConfig) -> torch.Tensor:
        y, mask = labels
        return masked_loss(out, y, mask, config)

    def validate(self, model: nn.Module, rows: LabelledRows, device: str) -> Validation:
        pred, _ = predict_rows(model, rows, self.targets, device)
        val_score = validation_score(pred, rows.y, self.targets)
        agree = score(pred, rows.y, n_boot=0)
        return Validation(
            score=val_score,
            metrics={k: {"n": a.n, "mae": a.mae, "mean_diff": a.mean_diff} for k, a in agree.items()},
            log={f"val_mae_{k}": f"{a.mae:.3f}" for k, a in agree.items()},
            summary=", ".join(f"{k.split('_')[0].upper()} {a.mae:.1f}" for k, a in agree.items()),
            checkpoint={"task": "intervals", "targets": self.targets, **input_fields()},
            scalars={f"val/mae_{k}": a.mae for k, a in agree.items()},
        )


# -- multi-label classification ---------------------------------------------------------


def positive_weights(y: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """BCE ``pos_weight`` per class: negatives / positives among the known training labels.

    Raises
    ------
    DataError
        When a class has no positive (or no negative) training row: it cannot be learned.
    """
    weights = []
    for j, name in enumerate(names):
        known = y[np.isfinite(y[:, j]), j]
        pos, neg = int((known > 0.5).sum()), int((known <= 0.5).sum())
        if pos == 0 or neg == 0:
            raise DataError(
                f"class {name} has {pos} positive and {neg} negative training rows; it cannot be "
                "learned (leave it out of --classes or add rows)"
            )
        weights.append(neg / pos)
    return np.array(weights, dtype=np.float32)


def masked_bce(
    logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, pos_weight: torch.Tensor
) -> torch.Tensor:
    """Class-weighted binary cross-entropy, mean over the known labels."""
    elem = nn.functional.binary_cross_entropy_with_logits(
        logits.float(), y.float(), pos_weight=pos_weight, reduction="none"
    )
    m = mask.float()
    return (elem * m).sum() / m.sum().clamp(min=1.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


#: A calibrated classifier keeps the threshold 0.5 for a class with fewer validation positives than this
#: (an F1-optimal threshold from 1-4 positives is noise: with one positive it can fall to 0.001).
MIN_THRESHOLD_POSITIVES = 5


def _f1_at(truth: np.ndarray, prob: np.ndarray, threshold: float) -> float:
    pred = prob >= threshold
    tp = float((pred & truth).sum())
    denom = float(pred.sum() + truth.sum())
    return 2 * tp / denom if denom else math.nan


class ClassificationTask:
    """Multi-label record statements: one sigmoid output per class.

    The loss is binary cross-entropy with ``pos_weight`` = negatives / positives of
    each class in the training rows (unknown labels, ``nan``, are masked out). The
    validation score is 1 - macro AUC over the classes with both labels among the
    validation rows (the validation BCE when no class has).

    **Calibration.** The class weighting raises every logit by about ``log(pos_weight)``;
    that offset is subtracted, and one temperature ``T`` is fitted on the validation
    rows (minimum log-loss), so the probability is ``sigmoid((logit - log pos_weight) / T)``;
    both are saved in the checkpoint's ``calibration`` and applied by the viewer's
    Classifier. Each class's decision threshold is the one that maximises its F1 on the
    validation rows, on that calibrated scale; a class with fewer than
    :data:`MIN_THRESHOLD_POSITIVES` validation positives keeps 0.5 (calibrated, so "more likely
    than not"; uncalibrated runs keep the F1 rule).

    Parameters
    ----------
    classes
        Names in output order; ``y`` of the data has one column per name (1, 0, nan).
    descriptions
        Readable text per class (shown by the viewer).
    fs_hz, window_samples
        The input contract (the data's rate; 10 s windows); saved in the checkpoint.
    calibrate
        Fit and save the calibration (default True).
    """

    name = "classification"

    def __init__(
        self,
        classes: Sequence[str],
        descriptions: Sequence[str] | None = None,
        fs_hz: float = INPUT_FS_HZ,
        window_samples: int = INPUT_SAMPLES,
        calibrate: bool = True,
    ) -> None:
        if not classes:
            raise DataError("a classifier needs at least one class")
        self.classes = tuple(classes)
        self.descriptions = tuple(descriptions or ("",) * len(self.classes))
        self.fs_hz = float(fs_hz)
        self.window_samples = int(window_samples)
        self.calibrate = calibrate
        self.pos_weight = np.ones(len(self.classes), dtype=np.float32)
        self._pos_weight_t: torch.Tensor | None = None

    @property
    def log_columns(self) -> tuple[str, ...]:
        return ("val_loss", "val_macro_auc", "val_macro_f1", *(f"val_auc_{c}" for c in self.classes))

    def build(self, config: TrainConfig, train_rows: LabelledRows) -> Built:
        n = len(self.classes)
        if train_rows.y.shape[1] != n:
            raise DataError(f"the data has {train_rows.y.shape[1]} label columns for {n} classes")
        if config.heteroscedastic:
            raise ValueError("--heteroscedastic applies to interval models, not classifiers")
        if train_rows.x.shape[-1] != self.window_samples:
            raise DataError(
                f"the data has {train_rows.x.shape[-1]} samples per row, the task {self.window_samples}"
            )
        self.pos_weight = positive_weights(train_rows.y, self.classes)
        if not config.init:
            cfg = dict(config.model_config, n_classes=n)
            cfg.setdefault("n_samples", self.window_samples)
            model = build_model(config.model, cfg)
            return Built(model.train(), config.model, {})
        loaded = load_checkpoint(config.init)
        meta = loaded.meta
        info: dict[str, Any] = {
            "checkpoint": str(config.init),
            "sha256": meta.weights_sha256,
            "task": meta.task,
        }
        same = (
            meta.task == "classification"
            and meta.class_names == self.classes
            and meta.activation == "sigmoid"
        )
        if same and meta.window_samples == self.window_samples:
            info["head"] = "kept (same classes)"
            return Built(loaded.model.train(), meta.architecture, info)
        cfg = dict(meta.config, n_classes=n)
        if "heteroscedastic" in cfg:
            cfg["heteroscedastic"] = False
        if "n_samples" in cfg:  # the data's input contract (e.g. 100 Hz) rather than the source's
            cfg["n_samples"] = self.window_samples
        if meta.fs_hz != self.fs_hz:
            info["input_note"] = (
                f"backbone trained at {meta.fs_hz:g} Hz, fine-tuned on {self.fs_hz:g} Hz input"
            )
        model = build_model(meta.architecture, cfg)
        fresh = transfer_backbone(loaded.model, model)
        info["head"] = f"re-initialised ({n} classes; fresh {', '.join(fresh)})"
        return Built(model.train(), meta.architecture, info)

    def dataset(self, rows: LabelledRows, augment: Augment | None, seed: int) -> WindowRows:
        return WindowRows(rows.x, rows.y.astype(np.float32), augment, seed, self.fs_hz)

    def loss(self, out: torch.Tensor, labels: Sequence[torch.Tensor], config: TrainConfig) -> torch.Tensor:
        y, mask = labels
        if self._pos_weight_t is None or self._pos_weight_t.device != out.device:
            self._pos_weight_t = torch.from_numpy(self.pos_weight).to(out.device)
        return masked_bce(out, y, mask, self._pos_weight_t)

    def validate(self, model: nn.Module, rows: LabelledRows, device: str) -> Validation:
        logits = forward_rows(model, rows.x, device)
        y = rows.y.astype(np.float64)
        mask = np.isfinite(y)
        val_loss = float(
            masked_bce(
                torch.from_numpy(logits),
                torch.from_numpy(np.where(mask, y, 0.0)),
                torch.from_numpy(mask),
                torch.from_numpy(self.pos_weight),
            )
        )
        offset = np.log(self.pos_weight.astype(np.float64)) if self.calibrate else np.zeros(len(self.classes))
        temperature = fit_temperature(logits, y, offset) if self.calibrate else 1.0
        probs = calibrated_probabilities(logits, temperature, offset)
        ece_raw = expected_calibration_error(sigmoid(logits.astype(np.float64)), y)
        ece = expected_calibration_error(probs, y)
        per_class: dict[str, Any] = {}
        specs = []
        aucs, f1s = [], []
        for j, (name, desc) in enumerate(zip(self.classes, self.descriptions, strict=True)):
            known = mask[:, j]
            truth, p = y[known, j] > 0.5, probs[known, j]
            a = auc(truth, p)
            threshold, f1 = best_f1_threshold(truth, p)
            if self.calibrate and int(truth.sum()) < MIN_THRESHOLD_POSITIVES:
                # too few positives to choose a threshold: 0.5 on the calibrated probability
                threshold = 0.5
                f1 = _f1_at(truth, p, threshold)
            counts = binary_counts(truth, p >= threshold)
            per_class[name] = {"n": int(known.sum()), "n_pos": int(truth.sum()), "auc": a, "f1": f1,
                               "threshold": threshold, **counts}  # fmt: skip
            specs.append(ClassSpec(name, desc, threshold))
            if not math.isnan(a):
                aucs.append(a)
            if not math.isnan(f1):
                f1s.append(f1)
        macro_auc = float(np.mean(aucs)) if aucs else math.nan
        macro_f1 = float(np.mean(f1s)) if f1s else math.nan
        score_ = 1.0 - macro_auc if aucs else val_loss
        fmt = lambda v: "nan" if math.isnan(v) else f"{v:.4f}"  # noqa: E731
        return Validation(
            score=score_,
            metrics={
                "loss": val_loss,
                "macro_auc": _json_float(macro_auc),
                "macro_f1": _json_float(macro_f1),
                "temperature": temperature,
                "ece_uncalibrated": _json_float(ece_raw),
                "ece": _json_float(ece),
                "classes": {k: {kk: _json_float(vv) for kk, vv in v.items()} for k, v in per_class.items()},
            },
            log={
                "val_loss": f"{val_loss:.6f}",
                "val_macro_auc": fmt(macro_auc),
                "val_macro_f1": fmt(macro_f1),
                **{f"val_auc_{c}": fmt(per_class[c]["auc"]) for c in self.classes},
            },
            summary=f"macro AUC {fmt(macro_auc)}, macro F1 {fmt(macro_f1)}",
            checkpoint={
                "task": "classification",
                "targets": (),
                "classes": tuple(specs),
                "activation": "sigmoid",
                "calibration": (
                    {
                        "method": "temperature",
                        "temperature": round(temperature, 6),
                        "logit_offset": [round(float(v), 6) for v in offset],
                        "fitted_on": f"validation rows ({len(y)})",
                    }
                    if self.calibrate
                    else {}
                ),
                **input_fields(fs_hz=self.fs_hz, window_samples=self.window_samples),
            },
            scalars={"val/loss": val_loss, "val/macro_auc": macro_auc, "val/macro_f1": macro_f1},
        )


def _json_float(v: Any) -> Any:
    """``nan`` -> None (strict JSON); other values unchanged."""
    return None if isinstance(v, float) and math.isnan(v) else v
