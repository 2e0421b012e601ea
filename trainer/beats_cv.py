"""``python -m trainer cv-beats``: record-level cross-validation of the beat classifier inside MIT-BIH DS1.

The inter-patient protocol of de Chazal et al. (IEEE TBME 51:1196, 2004) trains on the 22 DS1
records of the MIT-BIH Arrhythmia Database and tests on the 22 DS2 records. DS2 is not in the
shared data, so every choice here (RR features, template row, sampling, epochs) is made by
cross-validation **inside DS1**, grouping by record: the folds of
``trainer/splits/beats_ds1.json`` (6 folds of 3-4 records, chosen by hand so that the records
rich in V (106, 119, 203, 208, 223), S (209, 201, 207, 118, 220) and F (208) fall in different
folds). For each fold the model is trained on the other DS1 records plus the extra QTDB records
of the split file (never a QTDB excerpt of a DS2 recording -- sel100, sel103, sel117, sel213,
sel232, sel233 -- nor of a DS1 recording, which would leak a test patient into training), for a
fixed number of epochs: the **last** epoch is scored, the held-out records choose nothing (they
are only logged). Scoring is end to end as in the viewer (:mod:`trainer.evaluate_beats`): the
detector finds the beats, the fold's model labels them, matches within 150 ms; per-fold and
pooled (gross) Se / +P per AAMI class, the confusion matrix, bootstrap CIs over records.

Beat windows are cut at the annotated R peaks with :func:`ecgviewer.inference.beats.beat_inputs`
(the viewer's code) and cached per record and input spec in ``--cache``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.beat_pass import BEAT_CLASSES
from ecgviewer.inference.beats import BeatInputSpec, beat_inputs
from trainer.commands import Command
from trainer.data.arrays import DataError

#: Folds, extra training records and exclusions of the DS1 cross-validation.
DS1_SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "beats_ds1.json"


def read_cv_split(path: str | Path = DS1_SPLIT_FILE) -> dict[str, Any]:
    """The split file: ``folds`` (lists of record names), ``extra_train``, ``excluded``; checked for
    overlaps and for the DS2 excerpts."""
    data = json.loads(Path(path).read_text())
    folds = [list(f) for f in data["folds"]]
    flat = [r for f in folds for r in f]
    if len(set(flat)) != len(flat):
        raise DataError(f"{path}: a record is in two folds")
    extra = list(data.get("extra_train", []))
    excluded = {r for v in data.get("excluded", {}).values() for r in v}
    bad = (set(extra) | set(flat)) & excluded
    if bad:
        raise DataError(f"{path}: excluded records {sorted(bad)} are in the folds or the extra training set")
    if set(extra) & set(flat):
        raise DataError(f"{path}: records in both a fold and the extra training set")
    return {"folds": folds, "extra_train": extra, "excluded": data.get("excluded", {}), "raw": data}


def spec_key(spec: BeatInputSpec) -> str:
    """A short hash of the input spec (the cache folder of its beats)."""
    text = json.dumps({"fs": spec.fs_hz, "w": spec.window_samples, **spec.input_extra()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def record_beats(
    root: Path, name: str, spec: BeatInputSpec, cache: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs float16, class indices, samples)`` of one annotated record (cached)."""
    from ecgviewer.core.readers.registry import open_long_record
    from trainer.data.beats import read_annotated

    file = None
    if cache is not None:
        file = cache / spec_key(spec) / (name.replace("/", "__") + ".npz")
        if file.exists():
            z = np.load(file)
            return z["x"], z["y"], z["s"]
    path = root / f"{name}.hea"
    if not path.exists():
        raise DataError(f"{path}: record not found (is {root} the shared data folder?)")
    samples, classes = read_annotated(path)
    with open_long_record(path) as rec:
        x = beat_inputs(rec, samples, spec).astype(np.float16)
    y = np.asarray([BEAT_CLASSES.index(c) for c in classes], dtype=np.int64)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, x=x, y=y, s=samples)
    return x, y, samples


def build_rows(root: Path, roles: dict[str, str], spec: BeatInputSpec, cache: Path | None) -> Any:
    """A :class:`~trainer.data.beats.BeatDataset` of the records in ``roles`` (name -> train/val)."""
    from trainer.data.beats import BeatDataset

    xs, ys, ids, splits, peaks, counts = [], [], [], [], [], {}
    for name, role in roles.items():
        x, y, s = record_beats(root, name, spec, cache)
        xs.append(x)
        ys.append(y.astype(np.float32)[:, None])
        ids += [f"{name}:{k}" for k in s]
        splits += [role] * len(y)
        peaks.append(s)
        counts[name] = {"role": role, **{c: int(np.sum(y == k)) for k, c in enumerate(BEAT_CLASSES)}}
    provenance = {
        "source": "annotated beats (.atr) of MIT-BIH DS1 and QTDB records",
        "root": str(root),
        "split_file": str(DS1_SPLIT_FILE),
        "labels": "MIT-BIH symbols -> AAMI N/S/V/F/Q (ecgviewer.core.beat_pass.SYMBOL_TO_CLASS)",
        "r_positions": "annotated",
        "records": counts,
    }
    groups = [i.rsplit(":", 1)[0] for i in ids]
    return BeatDataset(
        np.concatenate(xs), np.concatenate(ys), ids, groups, provenance, splits, np.concatenate(peaks)
    )


#: Records whose beats are logged as "validation" rows when the final model trains on everything.
FINAL_LOGGED: tuple[str, ...] = ("mitdb/208", "mitdb/209")


def concat_rows(a: Any, b: Any) -> Any:
    """Two :class:`~trainer.data.beats.BeatDataset` s as one (provenance: the first's, records merged)."""
    from trainer.data.beats import BeatDataset

    prov = dict(a.provenance)
    prov["records"] = {
        **a.provenance["records"],
        **{f"{k} (logged)": v for k, v in b.provenance["records"].items()},
    }
    return BeatDataset(
        np.concatenate([a.x, b.x]),
        np.concatenate([a.y, b.y]),
        list(a.ids) + [f"{i}#logged" for i in b.ids],
        list(a.groups) + [f"{g}#logged" for g in b.groups],
        prov,
        list(a.splits) + list(b.splits),
        np.concatenate([a.r_peaks, b.r_peaks]),
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer cv-beats``."""
    from trainer.beats import add_spec_arguments
    from trainer.options import add_common_train_options

    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the shared data folder")
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="run folder (one sub-folder per fold)"
    )
    p.add_argument("--split-file", type=Path, default=DS1_SPLIT_FILE, metavar="JSON", help="folds")
    p.add_argument(
        "--folds", type=int, nargs="+", default=None, metavar="K", help="only these folds (1-based)"
    )
    p.add_argument(
        "--final",
        action="store_true",
        help="no cross-validation: train one model on every fold and the extra records (the bundled model); "
        "the DS1 records are logged as validation rows, the last epoch is the model",
    )
    p.add_argument(
        "--evaluate-only",
        action="store_true",
        help="do not train: score each fold's existing last.json in --out again (e.g. with or "
        "without the prematurity rule)",
    )
    p.add_argument(
        "--segmentation-run",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --evaluate-only: score the image-segmentation method's fold models DIR/foldK/last.json "
        "(train-segmentation runs) on the same folds instead of the beat classifier",
    )
    p.add_argument(
        "--no-prematurity-rule",
        action="store_true",
        help="score the network's argmax alone, without the prematurity rule the viewer applies",
    )
    p.add_argument("--cache", type=Path, default=Path("/tmp/beats_cache"), help="beat cache folder")
    p.add_argument("--model", default="beatnet", help="architecture (default beatnet)")
    p.add_argument("--model-config", default="{}", metavar="JSON", help="architecture overrides as JSON")
    p.add_argument("--init", default=None, help=argparse.SUPPRESS)
    p.add_argument("--epoch-size", type=int, default=16384, help="beats drawn per epoch (default 16384)")
    p.add_argument("--class-power", type=float, default=0.5, help="draw shares ~ count**POWER (default 0.5)")
    p.add_argument("--weight-power", type=float, default=0.0, help="loss weights ~ count**-POWER (default 0)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: on shared cores 2 threads were 8x slower)",
    )
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for the CIs (default 2000)"
    )
    add_spec_arguments(p)
    add_common_train_options(p)
    p.set_defaults(batch_size=128, patience=0)


def _merge(per_fold: Sequence[dict[str, Any]], n_boot: int) -> dict[str, Any]:
    from trainer.evaluate_beats import _jsonable, _pooled, bootstrap

    per_record = [r for f in per_fold for r in f["methods"][0]["per_record"]]
    for r in per_record:
        r["confusion"] = np.asarray(r["confusion"])
    pooled = _pooled(per_record)
    return _jsonable({"pooled": pooled, "ci95": bootstrap(per_record, n_boot), "per_record": per_record})


def cv_table(results: dict[str, Any]) -> str:
    """Per-fold and pooled Se / +P per AAMI class, the confusion matrix and per record (markdown)."""
    from trainer.evaluate_beats import PRED_COLS, REF_ROWS, _ci, _pct

    pooled, ci = results["pooled"], results["ci95"]
    lines = [
        f"Cross-validation inside MIT-BIH DS1 ({len(results['folds'])} folds by record; "
        f"{results['config']}). Detected beats matched within 150 ms; gross Se / +P (%) over the "
        "records, 95 % bootstrap CIs over records.",
        "",
        "| class | reference beats | Se % | +P % | F1 % |",
        "|---|---:|---|---|---|",
    ]
    for c in (*BEAT_CLASSES, "VF"):
        s = pooled["classes"][c]
        lines.append(
            f"| {'V+F' if c == 'VF' else c} | {s['n_ref']} | "
            f"{_pct(s['sensitivity'])}{_ci(ci.get(f'{c}.sensitivity'))}"
            f" | {_pct(s['ppv'])}{_ci(ci.get(f'{c}.ppv'))} | {_pct(s['f1'])}{_ci(ci.get(f'{c}.f1'))} |"
        )
    det = pooled["detection"]
    lines += [
        "",
        f"QRS detection: Se {_pct(det['sensitivity'])} %, +P {_pct(det['ppv'])} % ({det['n_ref']} reference "
        f"beats, {det['n_detected']} detected).",
        "",
        "Confusion matrix, pooled (rows: reference, columns: assigned):",
        "",
        "| | " + " | ".join(PRED_COLS) + " |",
        "|---|" + "---:|" * len(PRED_COLS),
    ]
    for name, row in zip(REF_ROWS, pooled["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "Per fold (Se / +P %):",
        "",
        "| fold | records | N | S | V | F |",
        "|---|---|---|---|---|---|",
    ]
    for k, f in enumerate(results["folds"], 1):
        cl = f["pooled"]["classes"]
        cells = [
            f"{_pct(cl[c]['sensitivity'])} / {_pct(cl[c]['ppv'])} ({cl[c]['n_ref']})"
            for c in ("N", "S", "V", "F")
        ]
        lines.append(f"| {k} | {', '.join(f['records'])} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per record (reference beats; Se / +P %):",
        "",
        "| record | beats | S | V | F |",
        "|---|---:|---|---|---|",
    ]
    for r in results["per_record"]:
        cl = r["classes"]
        cells = [
            f"{cl[c]['n_ref']}: {_pct(cl[c]['sensitivity'])} / {_pct(cl[c]['ppv'])}"
            if cl[c]["n_ref"] or cl[c]["n_pred"]
            else "–"
            for c in ("S", "V", "F")
        ]
        lines.append(f"| {r['record']} | {r['detection']['n_ref']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _train_fold(
    args: argparse.Namespace,
    argv: list[str],
    config: Any,
    spec: Any,
    split: dict[str, Any],
    k: int,
    out: Path,
) -> float:
    """Train fold ``k``'s model (0-based; with ``--final`` the model of every record) into ``out``;
    the training seconds."""
    from trainer.beats import BeatTask
    from trainer.options import command_line
    from trainer.train import train

    root, cache, folds = Path(args.data), args.cache, split["folds"]
    held = [] if args.final else folds[k]
    train_names = [r for i, f in enumerate(folds) if args.final or i != k for r in f] + split["extra_train"]
    roles = {r: "train" for r in train_names}
    t0 = time.perf_counter()
    if args.final:
        # every record trains; the train loop wants validation rows: the beats of two DS1 records
        # again, only logged (the last epoch is the model)
        data = concat_rows(
            build_rows(root, roles, spec, cache),
            build_rows(root, dict.fromkeys(FINAL_LOGGED, "val"), spec, cache),
        )
    else:
        data = build_rows(root, {**roles, **dict.fromkeys(held, "val")}, spec, cache)
    t_load = time.perf_counter() - t0
    task = BeatTask(spec, args.epoch_size, args.class_power, args.weight_power)
    provenance = {
        "data": data.provenance,
        "command": command_line(argv),
        "seed": args.seed,
        "stage": "cv-beats final" if args.final else f"cv-beats fold {k + 1} of {len(folds)}",
        "protocol": "validation rows are only logged; the last epoch is the model (patience 0)",
        "held_out": held,
        "sampling": {"epoch_size": args.epoch_size, "class_power": args.class_power,
                     "weight_power": args.weight_power},
    }  # fmt: skip
    t0 = time.perf_counter()
    train(config, data, out, task=task, progress=not args.quiet, provenance=provenance)
    t_train = time.perf_counter() - t0
    del data
    print(f"{out}: loaded in {t_load:.0f} s, trained in {t_train:.0f} s", file=sys.stderr, flush=True)
    return t_train


def run_cv_beats(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer cv-beats``."""
    import torch

    from ecgviewer.core.beat_rr import PREMATURITY_RULE
    from trainer.beats import BEAT_AUGMENT, spec_from_args
    from trainer.evaluate_beats import classifier_method, evaluate_beats, segmentation_method
    from trainer.options import command_line
    from trainer.train import TrainConfig

    torch.set_num_threads(max(1, args.threads))
    split = read_cv_split(args.split_file)
    spec = spec_from_args(args)
    root = Path(args.data)
    folds = split["folds"]
    todo = [0] if args.final else [k - 1 for k in (args.folds or range(1, len(folds) + 1))]
    config = TrainConfig.from_args(args, augment=None if args.no_augment else BEAT_AUGMENT)
    args.out.mkdir(parents=True, exist_ok=True)
    per_fold = []
    for k in todo:
        held = [] if args.final else folds[k]
        out = args.out / ("final" if args.final else f"fold{k + 1}")
        if args.evaluate_only:
            if args.final or not (out / "last.json").exists():
                raise DataError(f"--evaluate-only: no {out / 'last.json'} to score (and no --final)")
            done = out / "evaluation.json"
            t_train = json.loads(done.read_text()).get("train_seconds", 0.0) if done.exists() else 0.0
        else:
            t_train = _train_fold(args, argv, config, spec, split, k, out)
        if args.final:
            return 0
        recs = [(r, root / f"{r}.hea") for r in held]
        rule = not args.no_prematurity_rule
        if args.segmentation_run is not None:
            seg = args.segmentation_run / f"fold{k + 1}" / "last.json"
            if not seg.exists():
                raise DataError(f"--segmentation-run: no {seg}")
            methods = {"segmentation": segmentation_method(str(seg))}
        else:
            method = "classifier" if rule else "classifier-no-rule"
            methods = {method: classifier_method(out / "last.json", "cpu", rule=rule)}
        res = evaluate_beats(recs, methods, n_boot=0, progress=False)
        res["records"] = held
        res["train_seconds"] = round(t_train, 1)
        res["pooled"] = res["methods"][0]["pooled"]
        name = "evaluation.json" if rule else "evaluation-no-rule.json"
        if args.segmentation_run is not None:
            name = "evaluation-segmentation.json"
        (out / name).write_text(json.dumps(res, indent=1) + "\n")
        per_fold.append(res)
        cl = res["pooled"]["classes"]
        print(
            f"fold {k + 1}: "
            + ", ".join(f"{c} Se {cl[c]['sensitivity']} +P {cl[c]['ppv']}" for c in ("S", "V", "F")),
            file=sys.stderr,
            flush=True,
        )
    merged = _merge(per_fold, args.bootstrap)
    results = {
        "command": command_line(argv),
        "config": " ".join(argv[1:]) if argv else "",
        "prematurity_rule": None
        if args.no_prematurity_rule or args.segmentation_run
        else PREMATURITY_RULE.to_dict(),
        "segmentation_run": str(args.segmentation_run) if args.segmentation_run else None,
        "spec": {
            "rr_features": list(spec.rr_features),
            "template": spec.template,
            "rr_layout": spec.rr_layout,
        },
        "folds": [
            {"records": f["records"], "pooled": f["pooled"], "train_seconds": f["train_seconds"]}
            for f in per_fold
        ],
        **merged,
    }
    suffix = "-segmentation" if args.segmentation_run else "-no-rule" if args.no_prematurity_rule else ""
    (args.out / f"results{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = cv_table(results)
    (args.out / f"table{suffix}.md").write_text(table)
    print(table)
    return 0


COMMAND = Command(
    help="cross-validate the beat classifier by record inside MIT-BIH DS1 (AAMI N/S/V/F/Q)",
    description=__doc__.split("\n\n")[1] if __doc__ else None,
    add_arguments=add_arguments,
    run=run_cv_beats,
)
