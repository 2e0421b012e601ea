"""Classifier data and evaluation for ``python -m trainer classify`` / ``classify-evaluate``.

Evaluation runs each checkpoint through the viewer's own
:class:`~ecgviewer.inference.classifier.Classifier` (the exact inference path of
the GUI and the batch command) on a data source's ``test`` rows, and reports per
class n, positives, ROC AUC, and at the checkpoint's stored thresholds F1,
sensitivity and specificity, each with a bootstrap 95 % CI over records
(:func:`trainer.metrics.classification_scores`), plus macro AUC and macro F1.

The commands themselves (:data:`CLASSIFY_COMMAND`, :data:`EVALUATE_COMMAND`) are defined at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trainer import reporting
from trainer.commands import Command
from trainer.data.arrays import DataError
from trainer.data.statements import ClassDataset, load_labels_csv, load_ptbxl_classes
from trainer.metrics import classification_scores
from trainer.reporting import finite, fmt


def load_class_data(
    data: str | None,
    labels_csv: str | Path | None,
    classes: str | Sequence[str] | None,
    *,
    val_folds: Sequence[int] = (9,),
    test_folds: Sequence[int] = (10,),
    min_positives: int = 10,
    min_likelihood: float = 0.0,
    val_share: float = 0.2,
    test_share: float = 0.2,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    val_holdout: float = 0.0,
    input_fs: float | None = None,
    cache_dir: str | Path | None = None,
) -> ClassDataset:
    """Rows with class labels from ``ptbxl:DIR`` (500 Hz files), ``ptbxl100:DIR`` (100 Hz files) or a
    labels CSV (exactly one of them).

    ``classes``: for PTB-XL a ``--classes`` spec (default ``superclasses,rhythm``);
    for a CSV the class columns to use (default all).
    """
    if (data is None) == (labels_csv is None):
        raise DataError("give either --data ptbxl:DIR or --labels CSV (one of them)")
    if labels_csv is not None:
        names = None
        if classes:
            names = [c.strip() for c in (classes.split(",") if isinstance(classes, str) else classes)]
            names = [c for c in names if c]
        return load_labels_csv(
            labels_csv, classes=names, val_share=val_share, test_share=test_share, progress=progress
        )
    kind, sep, path = data.partition(":")
    if kind not in ("ptbxl", "ptbxl100") or not sep or not path:
        raise DataError(
            f"classifier data must be ptbxl:DIR or ptbxl100:DIR (or use --labels CSV), not {data!r}"
        )
    return load_ptbxl_classes(
        path,
        classes or "superclasses,rhythm",
        val_folds=val_folds,
        test_folds=test_folds,
        min_positives=min_positives,
        min_likelihood=min_likelihood,
        limit=limit,
        progress=progress,
        rate="lr" if kind == "ptbxl100" else "hr",
        fs_hz=input_fs,
        val_holdout=val_holdout,
        cache_dir=cache_dir,
    )


def predict_probabilities(
    checkpoint: str, data: ClassDataset, device: str = "auto", progress: bool = False
) -> tuple[np.ndarray, dict[str, Any], Any]:
    """``(N, classes)`` probabilities of a checkpoint for every row, its description and its meta."""
    from tqdm import tqdm

    from ecgviewer.inference.classifier import Classifier
    from trainer.evaluate import row_record

    clf = Classifier(checkpoint, device=device).load()
    meta = clf.meta
    out = []
    for i in tqdm(range(len(data)), desc=Path(checkpoint).stem, disable=not progress, file=sys.stderr):
        r = clf.classify(row_record(data, i))
        out.append([c.probability for c in r.classes])
    info = {
        "kind": "classifier",
        "checkpoint": str(checkpoint),
        "architecture": meta.architecture,
        "status": meta.status,
        "sha256": meta.weights_sha256,
        "classes": list(meta.class_names),
        "thresholds": list(meta.thresholds),
        "training_command": meta.training.get("command"),
    }
    return np.array(out, dtype=np.float64).reshape(len(data), len(meta.classes)), info, meta


def class_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Macro-AUC groups reported beside the overall macro: superclasses, rhythm statements, the rest.

    Only when a checkpoint mixes kinds (e.g. ``superclasses,rhythm``): the PTB-XL
    benchmark scores its superdiagnostic and rhythm tasks separately.
    """
    from trainer.data.statements import PTBXL_RHYTHM, SUBCLASSES, SUPERCLASSES

    known = set(SUPERCLASSES) | set(SUBCLASSES) | set(PTBXL_RHYTHM)
    groups = {
        "superclasses": [c for c in names if c in SUPERCLASSES],
        "subclasses": [c for c in names if c in SUBCLASSES and c not in SUPERCLASSES],
        "rhythm": [c for c in names if c in PTBXL_RHYTHM],
        "other classes": [c for c in names if c not in known],
    }
    groups = {k: v for k, v in groups.items() if v}
    return groups if len(groups) > 1 else {}


def select_split(data: ClassDataset, split: str) -> ClassDataset:
    """The rows of ``split``: a role, ``"val+test"`` (e.g. all of PTB-XL fold 9) or ``"all"``."""
    if split == "all":
        return data
    roles = split.split("+")
    return data.subset([i for i, s in enumerate(data.splits) if s in roles])


def uncalibrated(prob: np.ndarray, meta: Any, offset_only: bool = False) -> np.ndarray:
    """Undo a checkpoint's calibration: the plain sigmoid of the logits (or with the offset only).

    The Classifier gives ``sigmoid((z - offset) / T)``; this returns ``sigmoid(z)``
    (``offset_only``: ``sigmoid(z - offset)``). Exact up to the rounding of ``prob``.
    """
    if not getattr(meta, "calibration", None):
        return prob
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    u = np.log(p / (1 - p)) * meta.temperature  # = z - offset
    if not offset_only:
        u = u + np.asarray(meta.logit_offset, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-u))


def calibration_report(prob: np.ndarray, y: np.ndarray, meta: Any, n_bins: int = 10) -> dict[str, Any]:
    """ECE (pooled over classes, :func:`trainer.metrics.expected_calibration_error`) before and after."""
    from trainer.metrics import expected_calibration_error, reliability_bins

    out: dict[str, Any] = {
        "temperature": meta.temperature if getattr(meta, "calibration", None) else None,
        "n_bins": n_bins,
        "ece": _clean(expected_calibration_error(prob, y, n_bins)),
        "bins": [{k: _clean(v) for k, v in b.items()} for b in reliability_bins(prob, y, n_bins)],
    }
    if getattr(meta, "calibration", None):
        raw = uncalibrated(prob, meta)
        out["ece_uncalibrated"] = _clean(expected_calibration_error(raw, y, n_bins))
        out["ece_offset_only"] = _clean(expected_calibration_error(uncalibrated(prob, meta, True), y, n_bins))
        out["bins_uncalibrated"] = [
            {k: _clean(v) for k, v in b.items()} for b in reliability_bins(raw, y, n_bins)
        ]
    return out


def reliability_figure(report: dict[str, Any], path: Path) -> None:
    """A reliability diagram (PNG) of every method of a ``classify-evaluate`` report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [m for m in report["methods"] if m.get("calibration")]
    n_cols = min(3, len(methods))
    n_rows = math.ceil(len(methods) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 3.5 * n_rows), squeeze=False)
    for ax in axes.flat[len(methods) :]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, methods, strict=False):
        cal = m["calibration"]
        ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls="--")
        name = "calibrated" if cal.get("temperature") else "as stored (no calibration)"
        curves = [(name, cal["bins"], cal["ece"], "#1f4fa3")]
        if "bins_uncalibrated" in cal:
            curves.insert(0, ("uncalibrated", cal["bins_uncalibrated"], cal["ece_uncalibrated"], "#b00020"))
        for label, bins, ece, color in curves:
            xs = [b["confidence"] for b in bins if b["n"]]
            ys = [b["frequency"] for b in bins if b["n"]]
            ax.plot(xs, ys, marker="o", ms=3, color=color, label=f"{label} (ECE {ece:.3f})")
        ax.set_title(m["name"], fontsize=9)
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="upper left")
    split = report["split"]
    fig.suptitle(f"Reliability, all classes pooled, {split} rows ({report['n_records']} records)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def batch_latency(checkpoint: str, n_records: int = 64, repeats: int = 3) -> dict[str, Any]:
    """CPU time per 10 s record when ``n_records`` records are classified in one batch (median of runs)."""
    import time

    import torch

    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.classifier import Classifier
    from ecgviewer.inference.preprocess import prepare_windows

    clf = Classifier(checkpoint, device="cpu", batch_size=n_records).load()
    spec = clf.input_spec()
    rng = np.random.default_rng(0)
    fs = float(spec["fs_hz"])
    leads = tuple(spec["leads"])
    items = [
        prepare_windows(
            EcgRecord(rng.normal(0, 0.1, (len(leads), round(10 * fs))).astype(np.float32), fs, leads,
                      ("mV",) * len(leads)),
            **spec,
        )
        for _ in range(n_records)
    ]  # fmt: skip
    clf.classify_windows(items[:2])  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        clf.classify_windows(items)
        times.append(time.perf_counter() - t0)
    return {
        "records": n_records,
        "threads": torch.get_num_threads(),
        "ms_per_record": round(1000 * float(np.median(times)) / n_records, 3),
    }


def _method_name(checkpoint: str) -> str:
    p = Path(checkpoint)
    if p.suffix in (".json", ".safetensors"):
        return p.parent.name if p.stem in ("best", "last") else p.stem
    return str(checkpoint)


def evaluate_classifiers(
    checkpoints: Sequence[str],
    load: Callable[[tuple[str, ...]], ClassDataset],
    *,
    split: str = "test",
    device: str = "auto",
    n_boot: int = 2000,
    progress: bool = True,
    latency: bool = False,
) -> dict[str, Any]:
    """Score each checkpoint on the ``split`` rows of ``load(its class names)`` (``"all"``: every row,
    ``"val+test"``: both; see :func:`select_split`). ``latency`` also times a batch of 64 records.

    ``load`` returns the labelled rows for a tuple of class names; it is called once
    per distinct class list.
    """
    from ecgviewer.inference.predictor import resolve_checkpoint
    from ecgviewer.models.checkpoint import read_meta

    cache: dict[tuple[str, ...], ClassDataset] = {}
    methods = []
    per_record: dict[str, dict[str, Any]] = {}
    provenance = None
    n_rows = 0
    for ckpt in checkpoints:
        meta = read_meta(resolve_checkpoint(ckpt))
        if meta.task != "classification":
            raise DataError(f"{ckpt}: a {meta.task} checkpoint, not a classifier")
        names = meta.class_names
        if names not in cache:
            cache[names] = load(names)
        data = cache[names]
        if list(data.classes) != list(names):
            raise DataError(f"{ckpt}: the data gives classes {data.classes}, the checkpoint {names}")
        rows = select_split(data, split)
        if not len(rows):
            raise DataError(f"no rows in split {split!r} ({len(data)} rows in all)")
        provenance = provenance or rows.provenance
        n_rows = len(rows)
        prob, info, meta = predict_probabilities(ckpt, rows, device, progress)
        scores = classification_scores(
            list(names), rows.y, prob, list(meta.thresholds), n_boot=n_boot, groups=class_groups(names)
        )
        label = _method_name(ckpt)
        entry = {"name": label, **info, "scores": _scores_json(scores)}
        if meta.activation == "sigmoid":
            entry["calibration"] = calibration_report(prob, rows.y, meta)
            entry["coherence"] = coherence_counts(prob, meta)
        if latency:
            entry["latency"] = batch_latency(ckpt)
        methods.append(entry)
        for i, rid in enumerate(rows.ids):
            rec = per_record.setdefault(rid, {"id": rid, "reference": {}})
            rec["reference"].update({c: finite(rows.y[i, j]) for j, c in enumerate(names)})
            rec[label] = {c: round(float(prob[i, j]), 5) for j, c in enumerate(names)}
    return {
        "data": provenance,
        "split": split,
        "n_records": n_rows,
        "n_boot": n_boot,
        "methods": methods,
        "per_record": list(per_record.values()),
    }


def coherence_counts(prob: np.ndarray, meta: Any) -> dict[str, int]:
    """How often the coherence rules withheld a class above threshold, over the scored records."""
    from ecgviewer.core.statements import coherent_statements

    names = list(meta.class_names)
    records = withheld = norm = rhythm = conduction = 0
    for row in prob:
        d = coherent_statements(names, row.tolist(), list(meta.thresholds))
        w = [x for x in d if x.above_threshold and not x.stated]
        records += bool(w)
        withheld += len(w)
        norm += any("NORM" in x.note for x in w)
        rhythm += any("rhythm" in x.note for x in w)
        conduction += any("conduction" in x.note for x in w)
    return {
        "records": len(prob),
        "records_with_a_withheld_class": records,
        "withheld_classes": withheld,
        "records_with_norm_conflict": norm,
        "records_with_rhythm_conflict": rhythm,
        "records_with_conduction_conflict": conduction,
    }


def _clean(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_clean(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return v


def _scores_json(scores: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": scores["n"],
        "macro_auc": _clean(scores["macro_auc"]),
        "macro_auc_ci": _clean(scores["macro_auc_ci"]),
        "macro_f1": _clean(scores["macro_f1"]),
        "macro_f1_ci": _clean(scores["macro_f1_ci"]),
        "macro_classes": scores["macro_classes"],
        "groups": {g: {k: _clean(v) for k, v in d.items()} for g, d in scores["groups"].items()},
        "classes": {
            c.name: {k: _clean(v) for k, v in c.to_dict().items() if k != "name"} for c in scores["classes"]
        },
    }


def checkpoint_test_metrics(report: dict[str, Any], sha256: str) -> dict[str, Any]:
    """The ``metrics.test`` entry of a checkpoint from a classify-evaluate report (matched by sha256)."""
    for m in report.get("methods", []):
        if m.get("sha256") == sha256:
            data = report.get("data") or {}
            return {
                "split": report["split"],
                "n_records": report["n_records"],
                "data": {
                    k: data.get(k) for k in ("source", "val_folds", "test_folds", "n_records", "labels_csv")
                },
                "bootstrap": report.get("n_boot"),
                "command": report.get("command"),
                **m["scores"],
            }
    raise DataError("the results file has no entry for this checkpoint (sha256 differs: evaluate it first)")


# -- tables -----------------------------------------------------------------------------------


def _with_ci(v: float | None, ci: Sequence[float | None] | None, digits: int = 3) -> str:
    if v is None:
        return "–"
    if not ci or ci[0] is None:
        return fmt(v, digits)
    return f"{fmt(v, digits)} ({fmt(ci[0], digits)}–{fmt(ci[1], digits)})"


def detail_table(report: dict[str, Any]) -> str:
    """Markdown: one row per model and class, then the macro row."""
    lines = [
        "| model | class | n | pos | AUC (95 % CI) | threshold | F1 (95 % CI) | sensitivity (95 % CI) | "
        "specificity (95 % CI) |",
        "|---|---|---:|---:|---|---:|---|---|---|",
    ]
    for m in report["methods"]:
        s = m["scores"]
        for name, c in s["classes"].items():
            lines.append(
                f"| {m['name']} | {name} | {c['n']} | {c['n_pos']} | {_with_ci(c['auc'], c['auc_ci'])} | "
                f"{c['threshold']:.3f} | {_with_ci(c['f1'], c['f1_ci'])} | "
                f"{_with_ci(c['sensitivity'], c['sensitivity_ci'])} | "
                f"{_with_ci(c['specificity'], c['specificity_ci'])} |"
            )
        lines.append(
            f"| {m['name']} | **macro** ({len(s['macro_classes'])} classes) | {s['n']} | | "
            f"**{_with_ci(s['macro_auc'], s['macro_auc_ci'])}** | | "
            f"{_with_ci(s['macro_f1'], s['macro_f1_ci'])} | | |"
        )
    return "\n".join(lines)


def summary_table(report: dict[str, Any]) -> str:
    """Markdown: rows = classes + macro, columns = model (AUC with CI)."""
    methods = report["methods"]
    names: list[str] = []
    for m in methods:
        names += [c for c in m["scores"]["classes"] if c not in names]
    lines = ["| AUC | " + " | ".join(m["name"] for m in methods) + " |", "|---|" + "---|" * len(methods)]
    for c in names:
        cells = []
        for m in methods:
            s = m["scores"]["classes"].get(c)
            cells.append(_with_ci(s["auc"], s["auc_ci"]) if s else "")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    groups: list[str] = []
    for m in methods:
        groups += [g for g in m["scores"].get("groups", {}) if g not in groups]
    for g in groups:
        cells = []
        for m in methods:
            d = m["scores"].get("groups", {}).get(g)
            cells.append(f"{_with_ci(d['macro_auc'], d['macro_auc_ci'])} ({len(d['classes'])})" if d else "")
        lines.append(f"| macro, {g} | " + " | ".join(cells) + " |")
    cells = []
    for m in methods:
        s = m["scores"]
        cells.append(f"{_with_ci(s['macro_auc'], s['macro_auc_ci'])} ({len(s['macro_classes'])})")
    lines.append("| **macro, all classes** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration_table(report: dict[str, Any]) -> str:
    """Markdown: ECE before and after calibration, the temperature, coherence and latency per model."""
    lines = [
        "| model | temperature | ECE uncalibrated | ECE offset only | ECE calibrated | records with a "
        "withheld class (NORM / rhythm / conduction-block conflict) | ms per record (batch 64, CPU) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for m in report["methods"]:
        c = m.get("calibration")
        if not c:
            continue
        k = m.get("coherence", {})
        lat = m.get("latency", {}).get("ms_per_record")
        t = c.get("temperature")
        lines.append(
            f"| {m['name']} | {fmt(t, 2) if t else '–'} | {fmt(c.get('ece_uncalibrated', c['ece']), 3)} | "
            f"{fmt(c.get('ece_offset_only', c['ece']), 3)} | {fmt(c['ece'], 3)} | "
            f"{k.get('records_with_a_withheld_class', '–')} of {k.get('records', '–')} "
            f"({k.get('records_with_norm_conflict', '–')} / {k.get('records_with_rhythm_conflict', '–')} / "
            f"{k.get('records_with_conduction_conflict', '–')}) | "
            f"{fmt(lat, 2) if lat is not None else '–'} |"
        )
    return "\n".join(lines)


def results_csv(report: dict[str, Any]) -> str:
    """One CSV row per model and class, and one ``macro`` row per model."""
    buf = io.StringIO()
    stats = ("auc", "f1", "sensitivity", "specificity")
    fields = ["method", "class", "n", "n_pos", "threshold"]
    fields += [f"{k}{suffix}" for k in stats for suffix in ("", "_ci_low", "_ci_high")]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for m in report["methods"]:
        s = m["scores"]
        for name, c in s["classes"].items():
            row = {
                "method": m["name"],
                "class": name,
                "n": c["n"],
                "n_pos": c["n_pos"],
                "threshold": c["threshold"],
            }
            for key in stats:
                row[key] = c[key]
                row[f"{key}_ci_low"], row[f"{key}_ci_high"] = c[f"{key}_ci"]
            w.writerow(row)
        w.writerow(
            {
                "method": m["name"],
                "class": "macro",
                "n": s["n"],
                "auc": s["macro_auc"],
                "auc_ci_low": s["macro_auc_ci"][0],
                "auc_ci_high": s["macro_auc_ci"][1],
                "f1": s["macro_f1"],
                "f1_ci_low": s["macro_f1_ci"][0],
                "f1_ci_high": s["macro_f1_ci"][1],
            }
        )
    return buf.getvalue()


def write_outputs(report: dict[str, Any], out_dir: Path | None) -> str:
    """Print the tables (and return them); with ``out_dir`` also write results.json/.csv and table.md."""
    data = report.get("data") or {}
    label = f"{data.get('source', 'data')} ({report['split']})"
    text = (
        f"{label}, {report['n_records']} records, bootstrap {report.get('n_boot')} resamples\n\n"
        + detail_table(report)
        + "\n\n"
        + summary_table(report)
        + "\n\n"
        + calibration_table(report)
        + "\n"
    )
    reporting.write_outputs(report, text, out_dir, csv_text=results_csv(report))
    return text


# -- command line: classify, classify-evaluate ----------------------------------------------------


def add_classify_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer classify``."""
    from ecgviewer.models.registry import available_models
    from trainer.options import add_class_data_options, add_common_train_options

    add_class_data_options(p, training=True)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="run folder: best/last checkpoints, state.safetensors (for --resume), log.csv; with --evaluate "
        "also DIR/test/results.json, results.csv, table.md",
    )
    p.add_argument(
        "--model",
        default="resnet18_1d",
        choices=available_models(),
        help="architecture from ecgviewer.models, class head (default resnet18_1d; ignored with --init)",
    )
    p.add_argument(
        "--model-config",
        default="{}",
        metavar="JSON",
        help="architecture overrides as JSON, e.g. '{\"stage_channels\": [32, 64, 96, 128]}' (ignored with "
        "--init)",
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="CHECKPOINT",
        help="start from this checkpoint (an interval model such as resources/checkpoints/resnet1d, or a "
        "classifier): its architecture and backbone weights are kept; the head is new unless the classes "
        "are the same",
    )
    p.add_argument(
        "--freeze-epochs",
        type=int,
        default=0,
        metavar="N",
        help="train only the output head (backbone frozen) for the first N epochs, then everything; "
        "N >= --epochs keeps the backbone frozen throughout (default 0)",
    )
    add_common_train_options(p)
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="after training, score the best checkpoint on the test rows (as classify-evaluate does)",
    )
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for --evaluate's CIs (default 2000)"
    )


def run_classify(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer classify``: train (and with ``--evaluate`` score) a record classifier."""
    import os

    from trainer.data.statements import describe_counts
    from trainer.options import class_loader, command_line
    from trainer.tasks import ClassificationTask
    from trainer.train import TrainConfig, train

    data = class_loader(args, progress=not args.quiet)(args.classes)
    rank0 = os.environ.get("RANK", "0") == "0"
    if rank0 and not args.quiet:
        print(
            f"classes {', '.join(data.classes)}; positives per split:\n{describe_counts(data)}",
            file=sys.stderr,
        )
    config = TrainConfig.from_args(args)
    provenance = {
        "data": data.provenance,
        "command": command_line(argv),
        "seed": args.seed,
        "stage": "classify",
    }
    task = ClassificationTask(
        data.classes, data.descriptions, fs_hz=data.fs_hz, window_samples=int(data.x.shape[-1])
    )
    result = train(config, data, args.out, task=task, resume=args.resume, progress=not args.quiet,
                   provenance=provenance)  # fmt: skip
    if not rank0:
        return 0
    print(
        f"{args.out}: best epoch {result.best_epoch + 1} of {result.epochs_run} "
        f"(validation score 1 - macro AUC = {result.best_score:.4f}"
        f"{', stopped early' if result.stopped_early else ''}); checkpoint {args.out / 'best.json'}"
    )
    if args.evaluate:
        if "test" not in data.splits:
            print("no test rows: nothing to evaluate", file=sys.stderr)
            return 0
        report = evaluate_classifiers(
            [str(args.out / "best.json")],
            lambda classes: data,
            device=args.device,
            n_boot=args.bootstrap,
            progress=not args.quiet,
        )
        report["command"] = command_line(argv)
        write_outputs(report, args.out / "test")
    return 0


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer classify-evaluate``."""
    from trainer.options import add_class_data_options

    p.add_argument("checkpoints", nargs="+", help="classifier checkpoints (NAME.json) or bundled names")
    add_class_data_options(p, training=False)
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "val+test", "all"),
        help="rows to score (default test: never used for training or thresholds; val+test: both, e.g. the "
        "whole PTB-XL fold 9 with --val-holdout)",
    )
    p.add_argument(
        "--reliability",
        type=Path,
        default=None,
        metavar="PNG",
        help="also draw a reliability diagram (calibrated and uncalibrated probabilities) to PNG",
    )
    p.add_argument(
        "--latency", action="store_true", help="also time each checkpoint on a batch of 64 records (CPU)"
    )
    p.add_argument("--device", default="auto", help="device for the checkpoints")
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for the CIs (default 2000)"
    )
    reporting.add_out_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_evaluate(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer classify-evaluate``: :func:`evaluate_classifiers`, then :func:`write_outputs`."""
    from trainer.options import class_loader, command_line

    report = evaluate_classifiers(
        args.checkpoints,
        class_loader(args, progress=not args.quiet),
        split=args.split,
        device=args.device,
        n_boot=args.bootstrap,
        progress=not args.quiet,
        latency=args.latency,
    )
    report["command"] = command_line(argv)
    write_outputs(report, args.out)
    if args.reliability is not None:
        reliability_figure(report, args.reliability)
    return 0


CLASSIFY_COMMAND = Command(
    help="train a record classifier (PTB-XL statements or a labels CSV)",
    description=(
        "Train a multi-label classifier of record statements: one sigmoid output per class, "
        "class-weighted binary cross-entropy (pos_weight = negatives/positives of the training rows), "
        "the best epoch by validation macro AUC, and per class the decision threshold that maximises "
        "F1 on the validation rows (stored in the checkpoint). Same loop as pretrain/finetune: "
        "schedules, early stopping, --resume, torchrun for several processes. Transfer learning: "
        "--init an interval or classifier checkpoint (backbone kept, new head), --freeze-epochs to "
        "train the head alone first. Example (shared PTB-XL subset): python -m trainer classify "
        "--data ptbxl:../shared/data/ptb-xl --val-folds 7 --test-folds 8 --model crnn --out runs/cls "
        "--evaluate"
    ),
    add_arguments=add_classify_arguments,
    run=run_classify,
)
EVALUATE_COMMAND = Command(
    help="score classifier checkpoints on labelled records",
    description=(
        "Per class: n, positives, ROC AUC, and at each checkpoint's stored thresholds F1, sensitivity "
        "and specificity, each with a percentile bootstrap 95%% CI over records; macro AUC and macro F1 "
        "over the classes with both labels. Checkpoints run through the viewer's Classifier; their "
        "classes (superclass names or SCP codes, or --labels CSV columns) pick the labels."
    ),
    add_arguments=add_evaluate_arguments,
    run=run_evaluate,
)


# -- classify-calibrate: thresholds and temperature of a trained checkpoint, again ----------------------


def recalibrate(checkpoint: str | Path, data: ClassDataset, out: str | Path, command: str = "") -> Path:
    """Choose a classifier's thresholds and calibration again on ``data``'s validation rows.

    The weights are kept (same sha256); the class weighting comes from the training
    rows, as in training; ``training.recalibrated`` records the command. Used when the
    threshold rule changes after a run (no retraining needed). Returns the new JSON path.
    """
    from dataclasses import replace

    from ecgviewer.inference.predictor import resolve_checkpoint
    from ecgviewer.models.checkpoint import load_checkpoint, save_checkpoint
    from trainer.tasks import ClassificationTask, positive_weights

    loaded = load_checkpoint(resolve_checkpoint(str(checkpoint)))
    meta = loaded.meta
    if meta.task != "classification" or meta.activation != "sigmoid":
        raise DataError(f"{checkpoint}: not a sigmoid classification checkpoint")
    if tuple(data.classes) != meta.class_names:
        raise DataError(f"{checkpoint}: classes {meta.class_names}, the data {data.classes}")
    task = ClassificationTask(
        data.classes, [c.description for c in meta.classes], meta.fs_hz, meta.window_samples
    )
    task.pos_weight = positive_weights(data.split("train").y, data.classes)
    val = task.validate(loaded.model, data.split("val"), "cpu")
    fields = val.checkpoint
    training = dict(meta.training, recalibrated=command or "classify-calibrate")
    metrics = {**dict(meta.metrics), **val.metrics, "recalibrated": True}
    new = replace(meta, classes=fields["classes"], calibration=fields["calibration"], training=training,
                  metrics=metrics)  # fmt: skip
    out = Path(out)
    save_checkpoint(loaded.model, new, out)
    return out.with_name(out.name + ".json") if out.suffix != ".json" else out


def add_calibrate_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer classify-calibrate``."""
    from trainer.options import add_class_data_options

    p.add_argument("checkpoint", help="classifier checkpoint (NAME.json) to recalibrate")
    add_class_data_options(p, training=False)
    p.add_argument("--out", type=Path, required=True, metavar="NAME", help="new checkpoint NAME(.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_calibrate(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer classify-calibrate``: :func:`recalibrate`."""
    from ecgviewer.inference.predictor import resolve_checkpoint
    from ecgviewer.models.checkpoint import read_meta
    from trainer.options import class_loader, command_line

    names = read_meta(resolve_checkpoint(args.checkpoint)).class_names
    data = class_loader(args, progress=not args.quiet)(names)
    out = args.out.with_suffix("") if args.out.suffix == ".json" else args.out
    path = recalibrate(args.checkpoint, data, out, command_line(argv))
    print(f"recalibrated {args.checkpoint} -> {path}")
    return 0


CALIBRATE_COMMAND = Command(
    help="choose a classifier's thresholds and temperature again on the validation rows",
    description=(
        "Load a trained classifier, fit its temperature and choose its per-class thresholds again on the "
        "validation rows of the data (the rule of the current ClassificationTask), and save it under a new "
        "name with the same weights."
    ),
    add_arguments=add_calibrate_arguments,
    run=run_calibrate,
)
