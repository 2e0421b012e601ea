"""``python -m trainer evaluate``: checkpoints and peer delineators against reference intervals.

Every method sees the same records (a data source's ``test`` rows by default).
A checkpoint runs through the viewer's own :class:`~ecgviewer.inference.Predictor`
(the exact inference path of the GUI and ``ecgviewer analyze``); a peer is a
teacher from :mod:`trainer.teachers` (the classical delineator, NeuroKit2).
The report has, per method and interval, the statistics of :mod:`trainer.metrics`,
and a table in the shape of Table V of Alahakoon, Perera and Srimal, "Comprehensive ECG
analysis with Deep Learning" (interval x method, MAE).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.record import EcgRecord
from ecgviewer.models.checkpoint import TARGET_NAMES
from trainer import reporting
from trainer.commands import Command
from trainer.data.arrays import INPUT_FS_HZ, INPUT_LEADS, DataError, IntervalDataset
from trainer.metrics import INTERVALS, TITLES, score
from trainer.reporting import finite, fmt


def row_record(data: IntervalDataset, i: int) -> EcgRecord:
    """Row ``i`` as an :class:`EcgRecord` (8 leads in mV, at the data's ``fs_hz``, 500 Hz by default)."""
    fs = float(getattr(data, "fs_hz", INPUT_FS_HZ))
    return EcgRecord(data.x[i], fs, INPUT_LEADS, ("mV",) * len(INPUT_LEADS), format_name="row")


def _values_row(values: dict[str, float]) -> list[float]:
    return [float(values.get(t, math.nan)) for t in TARGET_NAMES]


def predict_with_checkpoint(checkpoint: str, data: IntervalDataset, device: str, progress: bool):
    """``(N, 4)`` predictions of a checkpoint and a description of it."""
    from tqdm import tqdm

    from ecgviewer.inference.predictor import Predictor

    predictor = Predictor(checkpoint, device=device).load()
    out = []
    for i in tqdm(range(len(data)), desc=Path(checkpoint).stem, disable=not progress, file=sys.stderr):
        r = predictor.predict(row_record(data, i))
        out.append([r[t].value for t in TARGET_NAMES])
    meta = predictor.meta
    info = {
        "kind": "model",
        "checkpoint": str(checkpoint),
        "architecture": meta.architecture,
        "status": meta.status,
        "sha256": meta.weights_sha256,
        "training_command": meta.training.get("command"),
    }
    return np.array(out, dtype=np.float64), info


def predict_with_teacher(name: str, data: IntervalDataset, progress: bool):
    """``(N, 4)`` values of a peer delineator and a description of it."""
    from tqdm import tqdm

    from trainer.teachers import get_teacher

    teacher = get_teacher(name)
    out = [
        _values_row(teacher(row_record(data, i)))
        for i in tqdm(range(len(data)), desc=name, disable=not progress, file=sys.stderr)
    ]
    return np.array(out, dtype=np.float64), {"kind": "peer", "teacher": name, "version": teacher.version}


def _method_name(checkpoint: str) -> str:
    p = Path(checkpoint)
    if p.suffix in (".json", ".safetensors"):
        # a run's best.json is named after its run folder
        return p.parent.name if p.stem in ("best", "last") else p.stem
    return str(checkpoint)


def evaluate(
    checkpoints: Sequence[str],
    data: IntervalDataset,
    *,
    split: str = "test",
    peers: Sequence[str] = ("classical", "neurokit2"),
    device: str = "auto",
    n_boot: int = 2000,
    progress: bool = True,
) -> dict[str, Any]:
    """Score each checkpoint and peer on ``data``'s ``split`` rows (``"all"``: every row)."""
    rows = data if split == "all" else data.split(split)
    if not len(rows):
        raise DataError(f"no rows in split {split!r} ({len(data)} rows in all)")
    ref = rows.y.astype(np.float64)
    methods = []
    per_record: dict[str, dict[str, Any]] = {
        rid: {"id": rid, "reference": dict(zip(TARGET_NAMES, map(finite, ref[i])))}
        for i, rid in enumerate(rows.ids)
    }
    jobs = [(c, "model") for c in checkpoints] + [(p, "peer") for p in peers]
    for name, kind in jobs:
        if kind == "model":
            pred, info = predict_with_checkpoint(name, rows, device, progress)
            label = _method_name(name)
        else:
            try:
                pred, info = predict_with_teacher(name, rows, progress)
            except ImportError as exc:
                print(f"skipping peer {name}: {exc}", file=sys.stderr)
                continue
            label = name
        agreement = score(pred, ref, n_boot=n_boot)
        methods.append({"name": label, **info, "scores": {k: a.to_dict() for k, a in agreement.items()}})
        for i, rid in enumerate(rows.ids):
            per_record[rid][label] = dict(zip(TARGET_NAMES, map(finite, pred[i])))
    return {
        "data": rows.provenance,
        "split": split,
        "n_records": len(rows),
        "methods": methods,
        "per_record": list(per_record.values()),
    }


def detail_table(report: dict[str, Any]) -> str:
    """Markdown: one row per method and interval with every statistic."""
    lines = [
        "| method | interval | n | MAE (95 % CI) | mean diff | SD diff | within tol. |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for m in report["methods"]:
        for key, unit, tol in INTERVALS:
            s = m["scores"][key]
            ci = ""
            if s["mae_ci_low"] is not None:
                ci = f" ({fmt(s['mae_ci_low'], 1)}–{fmt(s['mae_ci_high'], 1)})"
            within = "–" if s["within"] is None else f"{100 * s['within']:.0f} % (±{tol:g} {unit})"
            lines.append(
                f"| {m['name']} | {TITLES[key]} ({unit}) | {s['n']} | {fmt(s['mae'], 1)}{ci} | "
                f"{fmt(s['mean_diff'], 1)} | {fmt(s['sd_diff'], 1)} | {within} |"
            )
    return "\n".join(lines)


def table_v(report: dict[str, Any], label: str) -> str:
    """Markdown in the shape of Alahakoon et al.'s Table V: rows = intervals, columns = method on data."""
    head = "| interval | " + " | ".join(f"{m['name']} on {label}" for m in report["methods"]) + " |"
    lines = [head, "|---|" + "---:|" * len(report["methods"])]
    for key, unit, _ in INTERVALS:
        cells = [fmt(m["scores"][key]["mae"], 1) for m in report["methods"]]
        lines.append(f"| {TITLES[key]} MAE ({unit}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_csv(report: dict[str, Any]) -> str:
    """One CSV row per method and interval."""
    buf = io.StringIO()
    fields = ["method", "interval", "unit", "n", "mae", "mae_ci_low", "mae_ci_high", "mean_diff", "sd_diff",
              "within", "tolerance"]  # fmt: skip
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for m in report["methods"]:
        for key, _, _ in INTERVALS:
            s = m["scores"][key]
            w.writerow({"method": m["name"], "interval": key, **{f: s[f] for f in fields[2:]}})
    return buf.getvalue()


def write_outputs(report: dict[str, Any], out_dir: Path | None, label: str | None = None) -> None:
    """Print the tables; with ``out_dir`` also write results.json, results.csv and table.md."""
    label = label or _data_label(report)
    text = (
        f"{label}, split {report['split']}, {report['n_records']} records\n\n"
        + detail_table(report)
        + "\n\n"
        + table_v(report, label)
        + "\n"
    )
    reporting.write_outputs(report, text, out_dir, csv_text=results_csv(report))


def _data_label(report: dict[str, Any]) -> str:
    data = report.get("data") or {}
    sources = data.get("sources") or [data]
    return " + ".join(str(s.get("source", "data")) for s in sources) + f" ({report['split']})"


# -- command line: evaluate -----------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer evaluate``."""
    from trainer.options import add_ptbxl_options

    p.add_argument("checkpoints", nargs="+", help="checkpoint files (NAME.json) or bundled names")
    p.add_argument(
        "--data",
        required=True,
        metavar="KIND:PATH",
        help="reference data (ludb:DIR, vendor:DIR for the XML fixtures' vendor measurements, "
        "ptbxl:DIR, folder:CSV, npz:FILE)",
    )
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="rows to score (default test: never used for training)",
    )
    p.add_argument(
        "--peers",
        nargs="*",
        default=["classical", "neurokit2"],
        metavar="TEACHER",
        help="delineators scored on the same records (default classical neurokit2)",
    )
    p.add_argument("--device", default="auto", help="device for the checkpoints")
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for the CI (default 2000)"
    )
    p.add_argument("--label", default=None, help="data name in the tables (default: from the spec)")
    reporting.add_out_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_ptbxl_options(p)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer evaluate``: :func:`evaluate`, then :func:`write_outputs`."""
    from trainer.options import command_line, load_sources

    data = load_sources([args.data], args, progress=not args.quiet)
    report = evaluate(
        args.checkpoints,
        data,
        split=args.split,
        peers=args.peers,
        device=args.device,
        n_boot=args.bootstrap,
        progress=not args.quiet,
    )
    report["command"] = command_line(argv)
    write_outputs(report, args.out, label=args.label)
    return 0


COMMAND = Command(
    help="score checkpoints and peers against references",
    description=(
        "Per interval: n, MAE, mean and SD of the difference, share within tolerance (2 bpm HR, 10 ms "
        "PR/QRS, 25 ms QT) and a bootstrap 95%% CI of the MAE, for each checkpoint and each peer "
        "delineator on the same records."
    ),
    add_arguments=add_arguments,
    run=run,
)
