"""The training loop: one loop for every task, pretraining and fine-tuning, 1 or N processes.

:func:`train` fits a model from :mod:`ecgviewer.models` to the rows of a
:class:`~trainer.data.arrays.LabelledRows` (rows with role ``train``; ``val``
rows choose the best epoch and stop training early). What the model predicts,
its loss and its validation come from a :class:`~trainer.tasks.Task`
(:class:`~trainer.tasks.IntervalTask` by default,
:class:`~trainer.tasks.ClassificationTask` for record statements); the loop
itself only schedules, freezes, checkpoints, logs and resumes. It writes into
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
    one row per epoch (learning rate, training loss, validation score, the task's
    validation columns, seconds).

Every file is written atomically; no file is ever unpickled. Under ``torchrun``
(``WORLD_SIZE > 1``) the loop runs DistributedDataParallel (NCCL on CUDA, gloo
on CPU); rank 0 writes the files. Training is deterministic for a given seed,
data and process count on the CPU.

The interval commands ``python -m trainer pretrain`` and ``finetune``
(:data:`PRETRAIN_COMMAND`, :data:`FINETUNE_COMMAND`) are defined at the end.
"""

from __future__ import annotations

import argparse
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
from ecgviewer.models.checkpoint import CheckpointMeta, save_checkpoint
from ecgviewer.models.registry import config_to_dict
from trainer.augment import Augment
from trainer.commands import Command
from trainer.data.arrays import DataError, LabelledRows
from trainer.options import DATA_HELP, add_common_train_options, add_ptbxl_options, command_line, load_sources
from trainer.tasks import (  # noqa: F401  (re-exported: the interval pieces' former home)
    SCALING,
    IntervalTask,
    Task,
    masked_loss,
    predict_rows,
    target_specs,
    validation_score,
)

SCHEDULES = ("cosine", "onecycle", "constant")
LOSSES = ("huber", "l1")
STATE_FILE = "state.safetensors"


def log_columns(task: Task) -> tuple[str, ...]:
    """The columns of ``log.csv``: the loop's, with the task's validation columns after ``val_score``."""
    return ("epoch", "step", "lr", "frozen", "train_loss", "val_score", *task.log_columns, "seconds", "best")


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
        Interval models: ``huber`` or ``l1`` on normalised targets (missing labels
        masked out). Other tasks define their own loss.
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

    @classmethod
    def from_args(cls, args: Any, **overrides: Any) -> TrainConfig:
        """The config given by the training options every ``python -m trainer`` command shares.

        ``args`` is the parsed command line (``trainer.cli``); ``overrides`` set what a command
        decides itself (e.g. ``loss``, or a task's own augmentation).
        """
        values: dict[str, Any] = {
            "model": getattr(args, "model", cls.model),
            "model_config": json.loads(getattr(args, "model_config", None) or "{}"),
            "init": getattr(args, "init", None),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "schedule": args.schedule,
            "warmup_epochs": args.warmup_epochs,
            "patience": args.patience,
            "freeze_epochs": getattr(args, "freeze_epochs", 0),
            "augment": None if args.no_augment else Augment(),
            "seed": args.seed,
            "workers": args.workers,
            "amp": not args.no_amp,
            "device": args.device,
            "tensorboard": args.tensorboard,
        }
        values.update(overrides)
        return cls(**values)

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


# -- schedule ----------------------------------------------------------------------


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


def _write_log(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    with atomic_write(path, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
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


def train(
    config: TrainConfig,
    data: LabelledRows,
    out_dir: str | Path,
    *,
    task: Task | None = None,
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
    task
        What to train (:class:`~trainer.tasks.IntervalTask` when None); see :mod:`trainer.tasks`.
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
    task = task if task is not None else IntervalTask()
    columns = log_columns(task)
    rank, world, local = _distributed()
    device = _device(config.device, local, world)
    train_rows, val_rows = data.split("train"), data.split("val")
    if not len(train_rows):
        raise DataError("no training rows (every row is in the val or test split)")
    if not len(val_rows):
        raise DataError("no validation rows: choose validation folds/records that are present")
    torch.manual_seed(config.seed)
    built = task.build(config, train_rows)
    model, architecture, init_info = built.model, built.architecture, built.init_info
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
    rows = task.dataset(train_rows, config.augment, config.seed)
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

    def meta(metrics: dict[str, Any], epoch: int, checkpoint: dict[str, Any]) -> CheckpointMeta:
        return CheckpointMeta(
            architecture=architecture,
            config=config_to_dict(model.config),
            **checkpoint,
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
        for x, *labels in bar:
            lr = config.lr * lr_factor(config.schedule, step, total_steps, warmup)
            for g in optimizer.param_groups:
                g["lr"] = lr
            x, labels = x.to(device, non_blocking=True), [t.to(device) for t in labels]
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=use_amp):
                out = ddp(x)
            loss = task.loss(out, labels, config)
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
        validation = task.validate(model, val_rows, device)
        val_score = validation.score
        improved = val_score < best_score - 1e-6
        metrics = {"split": "val", "epoch": epoch, "score": val_score, **validation.metrics}
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
            **validation.log,
            "seconds": f"{time.perf_counter() - t0:.1f}",
            "best": int(improved),
        }
        if rank == 0:
            if improved:
                save_checkpoint(model, meta(metrics, epoch, validation.checkpoint), out_dir / "best")
            save_checkpoint(model, meta(metrics, epoch, validation.checkpoint), out_dir / "last")
            log_rows.append(row)
            _write_log(out_dir / "log.csv", log_rows, columns)
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
                for k, v in validation.scalars.items():
                    writer.add_scalar(k, v, epoch)
            if progress:
                print(
                    f"epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.4f}, val score "
                    f"{val_score:.4f} ({validation.summary}){' *' if improved else ''}",
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


# -- command line: pretrain, finetune ------------------------------------------------------------

_TRAIN_DESCRIPTION = (
    " Rows in 'train' are fitted, 'val' rows pick the best epoch and stop early, 'test' rows are "
    "never seen. Multi-GPU / multi-node: launch with torchrun --nproc_per_node N -m trainer ..."
)


def add_train_arguments(p: argparse.ArgumentParser, finetune: bool) -> None:
    """The options of ``pretrain`` (``finetune`` False) and ``finetune``."""
    p.add_argument("--data", action="append", required=True, metavar="KIND:PATH", help=DATA_HELP)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="run folder: best/last checkpoints, state.safetensors (for --resume), log.csv",
    )
    if finetune:
        p.add_argument(
            "--init",
            required=True,
            metavar="CHECKPOINT",
            help="checkpoint to start from (a run's best.json, a bundled model file); its "
            "architecture and label normalisation are kept",
        )
        p.add_argument(
            "--freeze-epochs",
            type=int,
            default=0,
            metavar="N",
            help="train only the output head for the first N epochs, then everything (default 0)",
        )
    else:
        from ecgviewer.models.registry import available_models

        p.add_argument(
            "--model",
            default="resnet1d",
            choices=available_models(),
            help="architecture from ecgviewer.models (default resnet1d)",
        )
        p.add_argument(
            "--model-config",
            default="{}",
            metavar="JSON",
            help="architecture overrides as JSON, e.g. '{\"dropout\": 0.2}'",
        )
    p.add_argument(
        "--heteroscedastic",
        action="store_true",
        help="also predict a variance per interval (Gaussian NLL); the viewer shows it as ± SD",
    )
    p.add_argument(
        "--loss",
        default="huber",
        choices=("huber", "l1"),
        help="regression loss on normalised targets; missing labels are masked (default huber)",
    )
    add_common_train_options(p)
    add_ptbxl_options(p)


def run_train(args: argparse.Namespace, argv: list[str], finetune: bool) -> int:
    """``python -m trainer pretrain`` / ``finetune``: train an interval model on ``--data``."""
    data = load_sources(args.data, args, progress=not args.quiet)
    config = TrainConfig.from_args(
        args,
        model="" if finetune else args.model,
        model_config={} if finetune else json.loads(args.model_config),
        heteroscedastic=args.heteroscedastic,
        init=args.init if finetune else None,
        loss=args.loss,
        freeze_epochs=args.freeze_epochs if finetune else 0,
    )
    provenance = {
        "data": data.provenance,
        "command": command_line(argv),
        "seed": args.seed,
        "stage": "finetune" if finetune else "pretrain",
    }
    result = train(config, data, args.out, resume=args.resume, progress=not args.quiet, provenance=provenance)
    if os.environ.get("RANK", "0") != "0":
        return 0
    print(
        f"{args.out}: best epoch {result.best_epoch + 1} of {result.epochs_run} "
        f"(validation score {result.best_score:.4f}{', stopped early' if result.stopped_early else ''}); "
        f"checkpoint {args.out / 'best.json'}"
    )
    return 0


PRETRAIN_COMMAND = Command(
    help="train an interval model from random initialisation",
    description="Train an interval model from random initialisation." + _TRAIN_DESCRIPTION,
    add_arguments=lambda p: add_train_arguments(p, finetune=False),
    run=lambda args, argv: run_train(args, argv, finetune=False),
)
FINETUNE_COMMAND = Command(
    help="continue training from a checkpoint (transfer learning)",
    description="Continue training from a checkpoint (transfer learning)." + _TRAIN_DESCRIPTION,
    add_arguments=lambda p: add_train_arguments(p, finetune=True),
    run=lambda args, argv: run_train(args, argv, finetune=True),
)
