"""``train-segmentation`` / ``evaluate-segmentation``: the ECG-image segmentation of PVC / fusion beats.

The method of Hernández-Fernández, Gómez-Moreno, Holgado-Cuadrado and Blanco-Velasco, "Long-term
ECG Analysis Through Image Conversion and Deep Learning" (CinC 2023; "the paper" below).

Data: the annotated records of ``trainer/splits/beats.json`` (the same record-level split
as the 1-D beat classifier), each given as ``NAME`` or ``NAME@START:STOP`` (seconds; either
end may be left out) so that the paper's own protocol -- train on the first part of a record,
test on the rest -- is ``--train mitdb-208/208@0:585.9375 --test mitdb-208/208@600:``.
Each record span is converted to images and masks (:mod:`ecgviewer.core.beat_image`): the
beat lead (:func:`~ecgviewer.core.beat_pass.beat_lead`), the V/F beats of its ``.atr``
file marked ``±half_width_s``.

Training (the paper: Adam, learning rate 1e-4, batch 32, 3000 steps, cross-entropy, 256 px
patches of the fixed grid) draws random ``patch_px`` crops from the training images, half of
them centred on an anomaly pixel (the records of the split hold few PVCs), and stops after
``--steps`` or ``--max-minutes``; every ``--val-every`` steps the whole pipeline
(:class:`~ecgviewer.inference.beat_segmentation.BeatSegmenter`) runs on the validation
spans and the checkpoint with the best refined pixel F1 is kept as ``best``.

Evaluation reports the paper's figures on the refined masks (pixel precision, recall, F1,
mean IoU; anomaly-level detection) and the beat-level scores of ``evaluate-beats`` (R peaks
from the detector, 150 ms matching) restricted to each span.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.beat_image import (
    IGNORE,
    ImageSpec,
    anomaly_mask,
    episode_scores,
    image_spans,
    mask_image,
    pixel_scores,
    prepare_signal,
    signal_image,
    to_spec_samples,
)
from trainer import reporting
from trainer.commands import Command
from trainer.data.arrays import SPLITS, DataError
from trainer.options import command_line
from trainer.reporting import fmt

CLASS_SETS: dict[str, tuple[str, ...]] = {
    "anomaly": ("background", "anomaly"),
    "VF": ("background", "V", "F"),
}


# -- record spans ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A record (name of the split file, relative to the data folder) and a time span in seconds."""

    name: str
    start_s: float = 0.0
    stop_s: float | None = None

    @classmethod
    def parse(cls, text: str) -> Span:
        """``NAME`` or ``NAME@START:STOP`` (seconds; ``@600:`` = from 600 s to the end)."""
        name, _, span = text.partition("@")
        if not span:
            return cls(name)
        a, sep, b = span.partition(":")
        if not sep:
            raise ValueError(f"{text}: the span must be START:STOP in seconds")
        try:
            return cls(name, float(a) if a else 0.0, float(b) if b else None)
        except ValueError:
            raise ValueError(f"{text}: the span must be START:STOP in seconds") from None

    def __str__(self) -> str:
        if self.start_s == 0.0 and self.stop_s is None:
            return self.name
        return f"{self.name}@{self.start_s:g}:{'' if self.stop_s is None else f'{self.stop_s:g}'}"


def expand_spans(items: Sequence[str], split_file: Path) -> list[Span]:
    """Roles of the split file (``train``, ``val``, ``test``) become their records; others are parsed."""
    from trainer.data.beats import read_split

    roles, _ = read_split(split_file)
    out: list[Span] = []
    for item in items:
        if item in SPLITS:
            out += [Span(n) for n, r in roles.items() if r == item]
        else:
            out.append(Span.parse(item))
    return out


@dataclass
class SpanData:
    """One record span as the network sees it: images, pixel masks and the per-sample truth."""

    span: Span
    fs_hz: float
    lead: str
    signal_mv: np.ndarray  # the span at the record's rate
    offset: int  # first sample of the span in the record
    truth: np.ndarray  # per-sample class at spec.fs_hz
    images: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    ref_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # in the span
    ref_classes: np.ndarray = field(default_factory=lambda: np.zeros(0, "<U1"))


def load_span(root: Path, span: Span, spec: ImageSpec, classes: Sequence[str]) -> SpanData:
    """Read one record span with its annotations and render its images and masks."""
    from ecgviewer.core.beat_pass import beat_lead
    from ecgviewer.core.readers.registry import open_long_record
    from trainer.data.beats import read_annotated

    path = root / f"{span.name}.hea"
    if not path.exists() or not path.with_suffix(".atr").exists():
        raise DataError(f"{path}: record or its .atr annotations not found")
    samples, labels = read_annotated(path)
    with open_long_record(path) as rec:
        fs = rec.fs_hz
        a = max(0, round(span.start_s * fs))
        b = rec.n_samples if span.stop_s is None else min(rec.n_samples, round(span.stop_s * fs))
        if b - a < spec.row_samples * fs / spec.fs_hz:
            raise DataError(f"{span}: shorter than one image row")
        lead = beat_lead(rec)
        x = rec.lead(lead, a, b)
    inside = (samples >= a) & (samples < b)
    ref_s, ref_c = samples[inside] - a, labels[inside]
    xs = prepare_signal(x, fs, spec)
    truth = anomaly_mask(xs.size, to_spec_samples(ref_s, fs, spec), ref_c, spec, classes)
    data = SpanData(span, fs, lead, x, a, truth, ref_samples=ref_s, ref_classes=ref_c)
    for s0, s1 in image_spans(xs.size, spec):
        image, _ = signal_image(xs[s0:s1], spec)
        data.images.append(image)
        data.masks.append(mask_image(truth[s0:s1], spec))
    return data


# -- training -------------------------------------------------------------------------------------
class CropSampler:
    """Random ``patch x patch`` crops of the training images; a share of them centred on anomalies."""

    def __init__(self, data: Sequence[SpanData], patch: int, positive_share: float, seed: int) -> None:
        self.patch = patch
        self.positive_share = positive_share
        self.rng = np.random.default_rng(seed)
        self.images: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        for d in data:
            for img, m in zip(d.images, d.masks):
                h, w = m.shape
                ph, pw = max(h, patch), max(w, patch)
                img_p = np.zeros((ph, pw, 3), np.uint8)
                m_p = np.full((ph, pw), IGNORE, np.uint8)
                img_p[:h, :w], m_p[:h, :w] = img, m
                self.images.append(img_p)
                self.masks.append(m_p)
        area = np.array([m.size for m in self.masks], dtype=np.float64)
        self.p_image = area / area.sum()
        self.positives = [np.argwhere((m > 0) & (m != IGNORE)) for m in self.masks]
        self.has_pos = np.array([len(p) > 0 for p in self.positives])

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 3, p, p)`` float32 images in [0, 1] and ``(n, p, p)`` int64 targets."""
        p = self.patch
        xs = np.empty((n, 3, p, p), np.float32)
        ys = np.empty((n, p, p), np.int64)
        for i in range(n):
            positive = self.has_pos.any() and self.rng.random() < self.positive_share
            if positive:
                w = self.p_image * self.has_pos
                k = self.rng.choice(len(self.masks), p=w / w.sum())
                cy, cx = self.positives[k][self.rng.integers(len(self.positives[k]))]
                y0 = int(np.clip(cy - self.rng.integers(p), 0, self.masks[k].shape[0] - p))
                x0 = int(np.clip(cx - self.rng.integers(p), 0, self.masks[k].shape[1] - p))
            else:
                k = self.rng.choice(len(self.masks), p=self.p_image)
                y0 = int(self.rng.integers(self.masks[k].shape[0] - p + 1))
                x0 = int(self.rng.integers(self.masks[k].shape[1] - p + 1))
            xs[i] = self.images[k][y0 : y0 + p, x0 : x0 + p].transpose(2, 0, 1) / 255.0
            ys[i] = self.masks[k][y0 : y0 + p, x0 : x0 + p]
        return xs, ys


def recalibrate_batchnorm(model: Any, sampler: CropSampler, batches: int, batch_size: int) -> None:
    """Re-estimate every BatchNorm's running statistics on training crops with the current weights.

    torchvision's MobileNetV3 normalises with momentum 0.01, made for long training runs: after a few
    hundred steps its running averages still describe the early weights, and the network in eval mode
    predicts nothing. A cumulative average over fresh crops (no gradient step) fixes that.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    was_training = model.training
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            x, _ = sampler.batch(batch_size)
            model(torch.from_numpy(x))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.train(was_training)


def score_spans(segmenter: Any, data: Sequence[SpanData], beats: bool = False) -> dict[str, Any]:
    """The paper's figures (refined and raw masks) per span and pooled; with ``beats`` also the
    beat-level scores of ``evaluate-beats`` on the detector's beats of each span."""
    per: list[dict[str, Any]] = []
    for d in data:
        t0 = time.perf_counter()
        res = segmenter.segment(d.signal_mv, d.fs_hz)
        row: dict[str, Any] = {"span": str(d.span), "seconds": round(time.perf_counter() - t0, 2)}
        for kind, mask in (("refined", res.refined), ("raw", res.raw)):
            row[kind] = {"pixel": pixel_scores(mask, d.truth), "episodes": episode_scores(mask, d.truth)}
        if beats:
            row["beats"] = _beat_scores(d, res)
        per.append(row)
    pooled: dict[str, Any] = {}
    for kind in ("refined", "raw"):
        tp, fp, fn, tn = (sum(r[kind]["pixel"][k] for r in per) for k in ("tp", "fp", "fn", "tn"))
        n_true = sum(r[kind]["episodes"]["n_true"] for r in per)
        n_det = sum(r[kind]["episodes"]["n_detected"] for r in per)
        iou_a = tp / (tp + fp + fn) if tp + fp + fn else math.nan
        iou_b = tn / (tn + fp + fn) if tn + fp + fn else math.nan
        pooled[kind] = {
            "precision": tp / (tp + fp) if tp + fp else math.nan,
            "recall": tp / (tp + fn) if tp + fn else math.nan,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan,
            "iou_anomaly": iou_a,
            "mean_iou": (iou_a + iou_b) / 2,
            "n_true": n_true,
            "n_detected": n_det,
            "detection": n_det / n_true if n_true else math.nan,
            "n_false": sum(r[kind]["episodes"]["n_false"] for r in per),
        }
    out: dict[str, Any] = {"pooled": pooled, "per_span": per}
    if beats:
        from trainer.evaluate_beats import class_scores, detection_scores

        m = sum(np.asarray(r["beats"]["confusion"]) for r in per)
        out["beats"] = {
            "confusion": m.tolist(),
            "classes": class_scores(m),
            "detection": detection_scores(m),
            "episodes": {
                k: sum(r["beats"]["episodes"][k] for r in per) for k in ("n_true", "n_detected", "n_false")
            },
        }
    return out


def _beat_scores(d: SpanData, res: Any) -> dict[str, Any]:
    """``evaluate-beats``' confusion and episodes on the detector's beats of the span."""
    from ecgviewer.core.beat_pass import MATCH_TOLERANCE_S
    from ecgviewer.core.beats import detect_r_peaks
    from trainer.evaluate_beats import class_scores, confusion, episodes

    det = detect_r_peaks(d.signal_mv, d.fs_hz)
    lab = res.beat_labels(det, d.fs_hz)
    m, rl, dl, ri, di = confusion(d.ref_samples, d.ref_classes, det, lab, round(MATCH_TOLERANCE_S * d.fs_hz))
    return {
        "confusion": np.asarray(m).tolist(),
        "classes": class_scores(m),
        "episodes": episodes(rl, dl, ri, di),
    }


def train_segmentation(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer train-segmentation``."""
    import torch

    from ecgviewer.inference.beat_segmentation import BeatSegmenter, checkpoint_meta_fields
    from ecgviewer.models.beat_segmentation import BeatSegmentationConfig, DeepLabV3
    from ecgviewer.models.checkpoint import CheckpointMeta, save_checkpoint
    from ecgviewer.models.registry import config_to_dict
    from trainer.data.beats import BEAT_SPLIT_FILE

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data)
    split_file = args.split_file or BEAT_SPLIT_FILE
    spec = ImageSpec(
        patch_px=args.patch_px,
        scale=args.scale,
        scale_x=args.scale_x,
        highpass_hz=None if args.no_highpass else 0.5,
    )
    classes = CLASS_SETS[args.classes]
    train_spans = expand_spans(args.train, split_file)
    val_spans = expand_spans(args.val, split_file) if args.val else []
    t0 = time.perf_counter()
    train_data = [load_span(root, s, spec, classes) for s in train_spans]
    val_data = [load_span(root, s, spec, classes) for s in val_spans]
    print(
        f"read {len(train_data)} training and {len(val_data)} validation spans in "
        f"{time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    sampler = CropSampler(train_data, spec.patch_px, args.positive_share, args.seed)
    bn_sampler = CropSampler(train_data, spec.patch_px, args.positive_share, args.seed + 1)
    config = BeatSegmentationConfig(
        backbone=args.backbone, n_classes=len(classes), n_samples=spec.row_samples
    )
    model = DeepLabV3(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lead = train_data[0].lead if train_data else "II"
    provenance = {
        "command": command_line(argv),
        "data": {
            "root": str(root),
            "split_file": str(split_file),
            "train": [str(s) for s in train_spans],
            "val": [str(s) for s in val_spans],
        },
        "backbone": args.backbone,
        "pretrained": False,
        "patch_px": spec.patch_px,
        "scale": [spec.scale, spec.scale_x],
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": "Adam",
        "loss": "cross-entropy",
        "anomaly_weight": args.anomaly_weight,
        "positive_share": args.positive_share,
        "bn_recalibration_batches": args.bn_batches,
        "seed": args.seed,
    }

    def save(name: str, step: int, metrics: dict[str, Any]) -> Path:
        if name == "last" and not metrics:  # a new checkpoint: its BatchNorm statistics first
            recalibrate_batchnorm(model, bn_sampler, args.bn_batches, args.batch_size)
        meta = CheckpointMeta(
            architecture="deeplabv3",
            config=config_to_dict(config),
            training={**provenance, "steps": step},
            metrics=metrics,
            trained=True,
            status="trained",
            **checkpoint_meta_fields(spec, classes, lead),
        )
        model.eval()
        save_checkpoint(model, meta, out / name)
        model.train()
        return out / f"{name}.json"

    log_rows: list[dict[str, Any]] = []
    best = -1.0
    step = 0
    start = time.perf_counter()
    losses: list[float] = []
    model.train()

    def validate() -> dict[str, Any]:
        nonlocal best
        save("last", step, {})
        metrics: dict[str, Any] = {"step": step}
        if val_data:
            seg = BeatSegmenter(out / "last", device="cpu", batch_size=16)
            res = score_spans(seg, val_data)
            metrics["val"] = res["pooled"]
            score = res["pooled"]["refined"]["f1"]
            score = -1.0 if math.isnan(score) else score
        else:
            score = float(step)  # no validation: the last checkpoint is the best
        save("last", step, metrics)
        if score > best:
            best = score
            save("best", step, metrics)
        row = {
            "step": step,
            "minutes": round((time.perf_counter() - start) / 60, 2),
            "train_loss": round(float(np.mean(losses[-args.val_every :])), 5) if losses else math.nan,
        }
        if val_data:
            r = metrics["val"]["refined"]
            row.update(
                val_f1=round(r["f1"], 4),
                val_mean_iou=round(r["mean_iou"], 4),
                val_detection=round(r["detection"], 4),
                val_false=r["n_false"],
            )
        log_rows.append(row)
        with open(out / "log.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(log_rows[-1]))
            w.writeheader()
            w.writerows(log_rows)
        print(json.dumps(row), file=sys.stderr, flush=True)
        return metrics

    class_weight = torch.tensor([1.0, float(args.anomaly_weight)])
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight, ignore_index=IGNORE)
    while step < args.steps:
        x, y = sampler.batch(args.batch_size)
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        step += 1
        if step % args.log_every == 0:
            print(
                f"step {step} loss {np.mean(losses[-args.log_every :]):.4f} "
                f"{(time.perf_counter() - start) / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )
        if step % args.val_every == 0:
            validate()
        if (time.perf_counter() - start) / 60 > args.max_minutes:
            print(f"stopping after {step} steps: --max-minutes {args.max_minutes} reached", file=sys.stderr)
            break
    if not log_rows or log_rows[-1]["step"] != step:
        validate()
    print(f"{out}: {step} steps, best checkpoint {out / 'best.json'}")
    return 0


def evaluate_segmentation(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer evaluate-segmentation``."""
    import torch

    from ecgviewer.inference.beat_segmentation import BeatSegmenter
    from trainer.data.beats import BEAT_SPLIT_FILE

    if args.threads:
        torch.set_num_threads(args.threads)
    seg = BeatSegmenter(args.checkpoint, device=args.device)
    split_file = args.split_file or BEAT_SPLIT_FILE
    spans = expand_spans(args.records, split_file)
    data = [load_span(Path(args.data), s, seg.spec, seg.classes) for s in spans]
    results = score_spans(seg, data, beats=True)
    results["checkpoint"] = str(args.checkpoint)
    results["training"] = dict(seg.meta.training)
    results["command"] = command_line(argv)
    table = segmentation_table(results)
    reporting.write_outputs(
        results, table, args.out, comment_header=True, json_newline=True, json_default=float
    )
    return 0


def _na(v: float | None) -> str:
    return fmt(v, 3, missing="n/a")


def segmentation_table(results: dict[str, Any]) -> str:
    """Markdown: the paper's pixel and anomaly-level figures and the beat-level V/F scores."""
    lines = [
        "| masks | pixel precision | pixel recall | pixel F1 | mean IoU | anomalies detected | false blobs |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("refined", "raw"):
        p = results["pooled"][kind]
        lines.append(
            f"| {kind} | {_na(p['precision'])} | {_na(p['recall'])} | {_na(p['f1'])} "
            f"| {_na(p['mean_iou'])} | {p['n_detected']}/{p['n_true']} ({_na(p['detection'])}) "
            f"| {p['n_false']} |"
        )
    b = results.get("beats")
    if b:
        lines += ["", "| beats | Se | +P | F1 |", "|---|---|---|---|"]
        for c in ("N", "V", "F", "VF"):
            s = b["classes"][c]
            lines.append(f"| {c} | {_na(s['sensitivity'])} | {_na(s['ppv'])} | {_na(s['f1'])} |")
        e = b["episodes"]
        share = e["n_detected"] / e["n_true"] if e["n_true"] else math.nan
        lines.append(
            f"\nV/F episodes detected (beat level): {e['n_detected']}/{e['n_true']} ({_na(share)}), "
            f"false episodes {e['n_false']}"
        )
    return "\n".join(lines) + "\n"


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer train-segmentation``."""
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the shared data folder")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder (best/last, log.csv)")
    p.add_argument(
        "--split-file", type=Path, default=None, metavar="JSON", help="record split (default beats.json)"
    )
    p.add_argument(
        "--train",
        nargs="+",
        default=["train"],
        metavar="R",
        help="training records: roles of the split file or NAME[@START:STOP] (default train)",
    )
    p.add_argument(
        "--val",
        nargs="*",
        default=["val"],
        metavar="R",
        help="validation records that pick the best checkpoint (default val; none: the last)",
    )
    p.add_argument(
        "--backbone",
        default="mobilenet_v3_large",
        choices=("resnet50", "mobilenet_v3_large"),
        help="resnet50 (the paper's) or mobilenet_v3_large (for CPUs, default)",
    )
    p.add_argument(
        "--classes",
        default="anomaly",
        choices=tuple(CLASS_SETS),
        help="anomaly: the paper's binary mask (default); VF: separate V and F classes",
    )
    p.add_argument("--patch-px", type=int, default=256, help="patch side in pixels (paper: 256)")
    p.add_argument("--scale", type=float, default=2.56, help="pixels per image row (paper: 2.56)")
    p.add_argument(
        "--scale-x", type=float, default=None, help="pixels per sample (default: --scale, as the paper)"
    )
    p.add_argument("--no-highpass", action="store_true", help="no 0.5 Hz baseline high-pass (as the paper)")
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps (paper: 3000)")
    p.add_argument("--batch-size", type=int, default=32, help="patches per step (paper: 32)")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (paper: 1e-4)")
    p.add_argument("--positive-share", type=float, default=0.5, help="share of crops centred on an anomaly")
    p.add_argument(
        "--anomaly-weight",
        type=float,
        default=1.0,
        help="cross-entropy weight of the PVC/fusion pixels against 1 for the background (default 1, the "
        "paper's plain loss; the anomaly is about 1 %% of the pixels, and with weight 1 a short CPU run "
        "predicts background everywhere)",
    )
    p.add_argument(
        "--bn-batches",
        type=int,
        default=25,
        help="batches of training crops that re-estimate the BatchNorm statistics before each checkpoint",
    )
    p.add_argument("--max-minutes", type=float, default=math.inf, help="stop training after this long")
    p.add_argument("--val-every", type=int, default=100, help="validate and checkpoint every N steps")
    p.add_argument("--log-every", type=int, default=10, help="print the loss every N steps")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and crops")


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer evaluate-segmentation``."""
    p.add_argument("checkpoint", help="checkpoint (best.json of a train-segmentation run)")
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the shared data folder")
    p.add_argument(
        "--records",
        nargs="+",
        default=["test"],
        metavar="R",
        help="roles of the split file or NAME[@START:STOP] (default test)",
    )
    p.add_argument(
        "--split-file", type=Path, default=None, metavar="JSON", help="record split (default beats.json)"
    )
    p.add_argument("--device", default="auto", help="torch device (default auto)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    reporting.add_out_option(p, csv=False)


TRAIN_COMMAND = Command(
    help="train the ECG-image segmentation of PVC/fusion beats (Hernández-Fernández et al.)",
    description=" ".join(__doc__.split("\n\n")[1:3]) if __doc__ else None,
    add_arguments=add_train_arguments,
    run=train_segmentation,
)
EVALUATE_COMMAND = Command(
    help="score a segmentation checkpoint: pixel / anomaly figures (as Hernández-Fernández et al.) and beats",
    description="Score a train-segmentation checkpoint on record spans: pixel precision, recall, F1 "
    "and mean IoU, share of true anomalies detected (refined and raw masks), and beat-level "
    "Se/+P/F1 on the detector's beats (150 ms matching, as evaluate-beats).",
    add_arguments=add_evaluate_arguments,
    run=evaluate_segmentation,
)
