"""The interval-model training loop: one loop for pretraining and fine-tuning, 1 or N processes.

:func:`train` fits a model from :mod:`ecgviewer.models` to an
:class:`~trainer.data.arrays.IntervalDataset` (rows with role ``train``;
``val`` rows choose the best epoch and stop training early). It writes into
``out_dir``:

``best.safetensors`` / ``best.json``
    the checkpoint of the best validation epoch (loads in the viewer as is);
``last.safetensors`` / ``last.json``
    the checkpoint after the latest epoch;
``state.safetensors``
    weights, optimizer moments, step, epoch, early-stopping counters and RNG
    state in one file, so ``--resume`` after a kill continues exactly where the
    last finished epoch left off;
``log.csv``
    one row per epoch (learning rate, losses, validation MAE per interval, seconds).

Every file is written atomically; no file is ever unpickled. Under ``torchrun``
(``WORLD_SIZE > 1``) the loop runs DistributedDataParallel (NCCL on CUDA, gloo
on CPU); rank 0 writes the files. Training is deterministic for a given seed,
data and process count on the CPU.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ecgviewer.core.io_utils import atomic_path, atomic_write
from ecgviewer.inference.preprocess import scale_windows
from ecgviewer.models.checkpoint import (
    TARGET_NAMES,
    CheckpointMeta,
    TargetSpec,
    load_checkpoint,
    save_checkpoint,
)
from ecgviewer.models.registry import build_model, config_to_dict
from trainer.augment import NO_AUGMENT, Augment
from trainer.data.arrays import INPUT_FS_HZ, INPUT_LEADS, INPUT_SAMPLES, DataError, IntervalDataset
from trainer.metrics import score

SCHEDULES = ("cosine", "onecycle", "constant")
LOSSES = ("huber", "l1")
SCALING = {"unit": "mV", "center": "median", "scale_mv": 1.0}
STATE_FILE = "state.safetensors"
LOG_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "frozen",
    "train_loss",
    "val_score",
    "val_mae_hr_bpm",
    "val_mae_pr_ms",
    "val_mae_qrs_ms",
    "val_mae_qt_ms",
    "seconds",
    "best",
)


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint's ``training`` section).

    Parameters
    ----------
    model
        Architecture name from :func:`ecgviewer.models.available_models` (ignored with ``init``).
    model_config
        Overrides of the architecture's config (e.g. ``{"dropout": 0.2}``).
    heteroscedastic
        Predict a variance per interval too (Gaussian NLL loss); the viewer shows it.
    init
        Checkpoint to start from (transfer learning); its architecture and label
        normalisation are kept.
    epochs, batch_size
        Epoch limit and global batch size (divided over processes).
    lr, weight_decay
        AdamW peak learning rate and decoupled weight decay (not on biases and norms).
    schedule, warmup_epochs
        ``cosine`` (linear warm-up then cosine decay to 1 % of ``lr``), ``onecycle``
        (30 % rising from ``lr/25``, then cosine to ``lr/1e4``) or ``constant``.
    loss, huber_delta
        ``huber`` or ``l1`` on normalised targets (missing labels masked out).
    patience
        Stop after this many epochs without a better validation score (0 = never).
    freeze_epochs
        Epochs at the start that train only the output head (backbone frozen).
    augment
        Augmentation strengths, or None for none.
    seed, workers, amp, device
        Seed of everything; DataLoader worker processes; mixed precision on CUDA;
        ``auto``/``cpu``/``cuda``/``mps``.
    """

    model: str = "resnet1d"
    model_config: dict[str, Any] = field(default_factory=dict)
    heteroscedastic: bool = False
    init: str | None = None
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    loss: str = "huber"
    huber_delta: float = 1.0
    patience: int = 8
    freeze_epochs: int = 0
    augment: Augment | None = field(default_factory=Augment)
    seed: int = 0
    workers: int = 0
    amp: bool = True
    device: str = "auto"
    tensorboard: bool = False

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch size and learning rate must be positive")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["augment"] = dataclasses.asdict(self.augment) if self.augment else None
        return d


@dataclass
class TrainResult:
    """What a run produced."""

    out_dir: Path
    best_epoch: int
    best_score: float
    epochs_run: int
    stopped_early: bool
    best_metrics: dict[str, Any]


# -- data ------------------------------------------------------------------------


class RowDataset(torch.utils.data.Dataset):
    """Rows of an :class:`IntervalDataset` as model tensors (augmented, scaled, normalised)."""

    def __init__(
        self,
        data: IntervalDataset,
        targets: tuple[TargetSpec, ...],
        augment: Augment | None,
        seed: int,
    ) -> None:
        self.data = data
        self.mean = np.array([t.mean for t in targets], dtype=np.float32)
        self.std = np.array([t.std for t in targets], dtype=np.float32)
        self.augment = augment or NO_AUGMENT
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        x = self.data.x[i]
        if self.augment != NO_AUGMENT:
            x = self.augment(x, INPUT_FS_HZ, np.random.default_rng([self.seed, self.epoch, int(i)]))
        x = scale_windows(np.asarray(x, dtype=np.float32)[None], SCALING)[0]
        y = (self.data.y[i] - self.mean) / self.std
        mask = np.isfinite(y)
        return (
            torch.from_numpy(np.ascontiguousarray(x)),
            torch.from_numpy(np.where(mask, y, 0.0)),
            (torch.from_numpy(mask)),
        )


class EpochSampler(torch.utils.data.Sampler):
    """A permutation fixed by ``(seed, epoch)``, padded and dealt out to ``world`` processes."""

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        self.n, self.seed, self.rank, self.world, self.shuffle = n, seed, rank, world, shuffle
        self.epoch = 0

    def __iter__(self):
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
            if self.shuffle
            else (np.arange(self.n))
        )
        per = math.ceil(self.n / self.world)
        order = np.resize(order, per * self.world)  # pads by wrapping, like DistributedSampler
        return iter(order[self.rank :: self.world].tolist())

    def __len__(self) -> int:
        return math.ceil(self.n / self.world)


def target_specs(train: IntervalDataset) -> tuple[TargetSpec, ...]:
    """Label normalisation (mean, SD) from the labelled training rows."""
    specs = []
    for j, name in enumerate(TARGET_NAMES):
        v = train.y[:, j]
        v = v[np.isfinite(v)]
        if v.size < 2:
            raise DataError(f"too few training labels for {name} ({v.size}) to normalise it")
        specs.append(TargetSpec(name, "ms", round(float(v.mean()), 3), round(max(float(v.std()), 1.0), 3)))
    return tuple(specs)


# -- schedule and loss --------------------------------------------------------------


def lr_factor(schedule: str, step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier at ``step`` of ``total`` (see :class:`TrainConfig`)."""
    total = max(total, 1)
    if schedule == "constant":
        return 1.0
    if schedule == "onecycle":
        peak = max(int(0.3 * total), 1)
        if step < peak:
            return 1 / 25 + (1 - 1 / 25) * 0.5 * (1 - math.cos(math.pi * step / peak))
        p = min((step - peak) / max(total - peak, 1), 1.0)
        return 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * p))
    if step < warmup:
        return 0.01 + 0.99 * step / warmup
    p = min((step - warmup) / max(total - warmup, 1), 1.0)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * p))


def masked_loss(out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Mean loss over the labelled entries (normalised units)."""
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


# -- evaluation -----------------------------------------------------------------------


@torch.no_grad()
def predict_rows(
    model: nn.Module, data: IntervalDataset, targets: tuple[TargetSpec, ...], device: str, batch: int = 64
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions ``(N, 4)`` in ms for every row (and SDs when heteroscedastic), no augmentation."""
    was_training = model.training
    model.eval()
    mean = np.array([t.mean for t in targets], dtype=np.float32)
    std = np.array([t.std for t in targets], dtype=np.float32)
    k = len(targets)
    means, sds = [], []
    for s in range(0, len(data), batch):
        x = scale_windows(data.x[s : s + batch].astype(np.float32, copy=False), SCALING)
        out = model(torch.from_numpy(np.ascontiguousarray(x)).to(device)).float().cpu().numpy()
        means.append(out[:, :k] * std + mean)
        if out.shape[1] == 2 * k:
            sds.append(np.exp(0.5 * np.clip(out[:, k:], -10, 10)) * std)
    model.train(was_training)
    return np.concatenate(means), (np.concatenate(sds) if sds else None)


def validation_score(pred: np.ndarray, ref: np.ndarray, targets: tuple[TargetSpec, ...]) -> float:
    """Mean over the four targets of MAE / label SD (lower is better; labelled rows only)."""
    parts = []
    for j, t in enumerate(targets):
        ok = np.isfinite(ref[:, j])
        if ok.any():
            parts.append(float(np.abs(pred[ok, j] - ref[ok, j]).mean()) / t.std)
    return float(np.mean(parts)) if parts else math.nan


# -- state files -------------------------------------------------------------------------


def _save_state(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, info: dict) -> None:
    """One atomic file: model weights, optimizer moments, torch RNG and the loop counters (JSON)."""
    from safetensors.torch import save_file

    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    tensors.update({f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    scalars: dict[str, dict[str, float]] = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"opt.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    meta = dict(info, param_groups=sd["param_groups"], opt_scalars=scalars)
    with atomic_path(out_dir / STATE_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"info": json.dumps(meta)})


def _load_state(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = out_dir / STATE_FILE
    with safe_open(str(path), framework="pt") as fh:
        info = json.loads(fh.metadata()["info"])
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, st in info.pop("opt_scalars").items():
        state.setdefault(int(idx), {}).update(st)
    optimizer.load_state_dict({"state": state, "param_groups": info.pop("param_groups")})
    torch.set_rng_state(tensors["rng.torch"])
    return info


def _read_log(path: Path, before_epoch: int) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [r for r in csv.DictReader(fh) if int(r["epoch"]) < before_epoch]


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_write(path, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        w.writeheader()
        w.writerows(rows)


# -- the loop -----------------------------------------------------------------------------


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return rank, world, local


def _device(requested: str, local_rank: int, world: int) -> str:
    from ecgviewer.inference.predictor import select_device

    device = select_device(requested)
    if device == "cuda" and world > 1:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    return device


def _build(
    config: TrainConfig, train_rows: IntervalDataset
) -> tuple[nn.Module, str, tuple[TargetSpec, ...], dict]:
    """The model, its architecture name, its label normalisation and where it started from."""
    torch.manual_seed(config.seed)
    if config.init:
        loaded = load_checkpoint(config.init)
        model, targets = loaded.model, loaded.meta.targets
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
        return model.train(), loaded.meta.architecture, tuple(targets), init_info
    cfg = dict(config.model_config, heteroscedastic=config.heteroscedastic)
    return build_model(config.model, cfg).train(), config.model, target_specs(train_rows), {}


def train(
    config: TrainConfig,
    data: IntervalDataset,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train on ``data``'s ``train`` rows, select and stop on its ``val`` rows; write ``out_dir``.

    Parameters
    ----------
    config
        The run's settings.
    data
        Rows with roles; there must be labelled ``train`` and ``val`` rows.
    out_dir
        Output folder (created).
    resume
        Continue the run in ``out_dir`` from its last finished epoch.
    progress
        Show tqdm progress bars (rank 0 only).
    provenance
        Extra ``training`` fields for the checkpoint JSON (data description, command).
    on_epoch
        Called on rank 0 with each epoch's log row (tests stop a run with it).
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    rank, world, local = _distributed()
    device = _device(config.device, local, world)
    train_rows, val_rows = data.split("train"), data.split("val")
    if not len(train_rows):
        raise DataError("no training rows (every row is in the val or test split)")
    if not len(val_rows):
        raise DataError("no validation rows: choose validation folds/records that are present")
    model, architecture, targets, init_info = _build(config, train_rows)
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    head_params = {id(p) for p in model.head.parameters()}
    ddp = (
        nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.startswith("cuda") else None)
        if world > 1
        else model
    )
    rows = RowDataset(train_rows, targets, config.augment, config.seed)
    sampler = EpochSampler(len(rows), config.seed, rank, world)
    per_process = max(1, math.ceil(config.batch_size / world))
    loader = torch.utils.data.DataLoader(
        rows,
        batch_size=per_process,
        sampler=sampler,
        num_workers=config.workers,
        drop_last=len(sampler) > per_process,
        pin_memory=device.startswith("cuda"),
        persistent_workers=False,
    )
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * config.epochs
    warmup = round(config.warmup_epochs * steps_per_epoch)
    use_amp = config.amp and device.startswith("cuda")
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    start_epoch, step, best_score, best_epoch, bad_epochs, best_metrics = 0, 0, math.inf, -1, 0, {}
    if resume:
        if not (out_dir / STATE_FILE).exists():
            raise DataError(f"{out_dir}: nothing to resume (no {STATE_FILE})")
        info = _load_state(out_dir, model, optimizer)
        start_epoch, step = info["epoch"] + 1, info["step"]
        best_score, best_epoch, bad_epochs = info["best_score"], info["best_epoch"], info["bad_epochs"]
        best_metrics = info.get("best_metrics", {})
    elif (out_dir / STATE_FILE).exists():
        raise DataError(f"{out_dir} already holds a run; use --resume to continue it or another --out")
    log_rows = _read_log(out_dir / "log.csv", start_epoch) if rank == 0 else []
    writer = None
    if config.tensorboard and rank == 0:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise RuntimeError(
                "--tensorboard needs the tensorboard package (pip install tensorboard)"
            ) from exc
        writer = SummaryWriter(str(out_dir / "tensorboard"))
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)

    def meta(metrics: dict[str, Any], epoch: int) -> CheckpointMeta:
        return CheckpointMeta(
            architecture=architecture,
            config=config_to_dict(model.config),
            input_leads=INPUT_LEADS,
            fs_hz=INPUT_FS_HZ,
            window_samples=INPUT_SAMPLES,
            scaling=SCALING,
            targets=targets,
            training=dict(
                provenance or {},
                config=config.to_dict(),
                init=init_info or None,
                epoch=epoch,
                processes=world,
                device=device,
                n_train=len(train_rows),
                n_val=len(val_rows),
                torch=torch.__version__,
            ),
            metrics=metrics,
            trained=True,
            status="trained",
        )

    stopped_early = False
    epoch = start_epoch - 1
    for epoch in range(start_epoch, config.epochs):
        t0 = time.perf_counter()
        frozen = epoch < config.freeze_epochs
        rows.epoch = sampler.epoch = epoch
        ddp.train()
        if frozen:
            model.eval()
            model.head.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress or rank != 0,
                   leave=False, unit="batch", file=sys.stderr)  # fmt: skip
        for x, y, mask in bar:
            lr = config.lr * lr_factor(config.schedule, step, total_steps, warmup)
            for g in optimizer.param_groups:
                g["lr"] = lr
            x, y, mask = x.to(device, non_blocking=True), y.to(device), mask.to(device)
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=use_amp):
                out = ddp(x)
            loss = masked_loss(out, y, mask, config)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if frozen:
                for p in model.parameters():
                    if id(p) not in head_params:
                        p.grad = None
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            step += 1
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", lr=f"{lr:.2e}")
        if world > 1:  # BN statistics drift per process; rank 0's are the ones saved
            for buf in model.buffers():
                torch.distributed.broadcast(buf, 0)
        pred, _ = predict_rows(model, val_rows, targets, device)
        val_score = validation_score(pred, val_rows.y, targets)
        agree = score(pred, val_rows.y, n_boot=0)
        improved = val_score < best_score - 1e-6
        metrics = {
            "split": "val",
            "epoch": epoch,
            "score": val_score,
            **{k: {"n": a.n, "mae": a.mae, "mean_diff": a.mean_diff} for k, a in agree.items()},
        }
        if improved:
            best_score, best_epoch, bad_epochs, best_metrics = val_score, epoch, 0, metrics
        else:
            bad_epochs += 1
        row = {
            "epoch": epoch,
            "step": step,
            "lr": f"{lr:.6g}",
            "frozen": int(frozen),
            "train_loss": f"{np.mean(losses):.6f}",
            "val_score": f"{val_score:.6f}",
            **{f"val_mae_{k}": f"{a.mae:.3f}" for k, a in agree.items()},
            "seconds": f"{time.perf_counter() - t0:.1f}",
            "best": int(improved),
        }
        if rank == 0:
            if improved:
                save_checkpoint(model, meta(metrics, epoch), out_dir / "best")
            save_checkpoint(model, meta(metrics, epoch), out_dir / "last")
            log_rows.append(row)
            _write_log(out_dir / "log.csv", log_rows)
            _save_state(
                out_dir,
                model,
                optimizer,
                {
                    "epoch": epoch,
                    "step": step,
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs,
                    "best_metrics": best_metrics,
                    "config": config.to_dict(),
                },
            )
            if writer is not None:
                writer.add_scalar("loss/train", float(np.mean(losses)), epoch)
                writer.add_scalar("val/score", val_score, epoch)
                for k, a in agree.items():
                    writer.add_scalar(f"val/mae_{k}", a.mae, epoch)
            if progress:
                maes = ", ".join(f"{k.split('_')[0].upper()} {a.mae:.1f}" for k, a in agree.items())
                print(
                    f"epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.4f}, val score "
                    f"{val_score:.4f} ({maes}){' *' if improved else ''}",
                    file=sys.stderr,
                )
            if on_epoch is not None:
                on_epoch(row)
        if world > 1:
            torch.distributed.barrier()
        if config.patience and bad_epochs >= config.patience:
            stopped_early = True
            break
    if writer is not None:
        writer.close()
    return TrainResult(out_dir, best_epoch, best_score, epoch + 1, stopped_early, best_metrics)
