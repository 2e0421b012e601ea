"""``python -m trainer COMMAND ...``: make data, train, evaluate and export interval models.

Commands::

    synth     generate labelled synthetic ECGs (deepfake-ecg + a teacher) into shards
    prepare   read a data source once and save it as one .npz (fast reuse)
    pretrain  train a model from scratch
    finetune  continue from a checkpoint (transfer learning), optionally head-only first
    evaluate  score checkpoints and peer delineators against reference intervals
    classify  train a record classifier (PTB-XL statements or your own labels CSV)
    classify-evaluate  score classifier checkpoints (AUC, F1 with bootstrap CIs)
    export    copy a run's best checkpoint into resources/checkpoints (or elsewhere)
    train-beats  train the beat classifier (N / V / F / Q) on the annotated MIT-BIH/QTDB records
    evaluate-beats  detector + beat classifier (or segmentation) against .atr labels on held-out records
    train-segmentation / evaluate-segmentation  the seed-002 image segmentation of PVC/fusion beats

Data sources are ``KIND:PATH`` specs (``synthetic:``, ``ptbxl:``, ``ludb:``,
``folder:``, ``npz:``, ``vendor:``); see ``python -m trainer pretrain --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

DATA_HELP = (
    "data source KIND:PATH (repeatable; rows of all sources are pooled): synthetic:DIR (shards from "
    "'synth'), ptbxl:DIR (PTB-XL folder; see --labels), ludb:DIR (LUDB expert intervals with the "
    "repository's fixed record split), folder:LABELS.csv (your own files and labels), npz:FILE (from "
    "'prepare'). Each row's train/val/test role comes from its source: PTB-XL folds, the LUDB split "
    "file, a hash of the synthetic shard or CSV group"
)


def _command_line(argv: list[str]) -> str:
    return "python -m trainer " + shlex.join(argv)


def _add_ptbxl_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("PTB-XL sources")
    g.add_argument(
        "--labels",
        default="teacher",
        choices=("teacher", "12sl", "unig", "ecgdeli"),
        help="interval labels of ptbxl: sources: a teacher run on each record (default), or "
        "the PTB-XL+ feature table of that algorithm",
    )
    g.add_argument(
        "--features",
        type=Path,
        metavar="DIR",
        help="folder holding the PTB-XL+ feature tables (default PTBXL/features)",
    )
    g.add_argument(
        "--teacher",
        default=None,
        metavar="NAME",
        help="teacher for --labels teacher (classical, neurokit2; default: the one with the "
        "lowest LUDB error, see docs/accuracy.md)",
    )
    g.add_argument(
        "--normal-only", action="store_true", help="only records whose statements include NORM 100"
    )
    g.add_argument(
        "--val-folds",
        type=int,
        nargs="+",
        default=[9],
        metavar="K",
        help="strat_fold values used for validation (default 9)",
    )
    g.add_argument(
        "--test-folds",
        type=int,
        nargs="+",
        default=[10],
        metavar="K",
        help="strat_fold values held out for testing (default 10)",
    )
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N records (quick runs)")


def _ptbxl_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "labels": args.labels,
        "features_dir": args.features,
        "teacher": args.teacher,
        "normal_only": args.normal_only,
        "val_folds": tuple(args.val_folds),
        "test_folds": tuple(args.test_folds),
        "limit": args.limit,
    }


def _load(specs: list[str], args: argparse.Namespace, progress: bool = True):
    from tqdm import tqdm

    from trainer.data import IntervalDataset, load_data

    parts = []
    for spec in specs:
        bar = tqdm(desc=f"reading {spec}", unit="rec", disable=not progress, file=sys.stderr, leave=False)

        def tick(done: int, total: int, bar=bar) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        parts.append(load_data(spec, progress=tick, **_ptbxl_options(args)))
        bar.close()
    data = parts[0] if len(parts) == 1 else IntervalDataset.concat(parts)
    data.provenance = {"sources": [dict(p.provenance) for p in parts], "specs": specs}
    return data


def _add_common_train_options(p: argparse.ArgumentParser) -> None:
    """Optimisation and run options shared by every training command (interval and classifier)."""
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64)")
    p.add_argument("--lr", type=float, default=2e-3, help="AdamW peak learning rate (default 2e-3)")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)")
    p.add_argument(
        "--schedule",
        default="cosine",
        choices=("cosine", "onecycle", "constant"),
        help="cosine: linear warm-up then cosine decay; onecycle: rise 30%% then anneal (default cosine)",
    )
    p.add_argument("--warmup-epochs", type=float, default=1.0, help="warm-up length for cosine (default 1)")
    p.add_argument(
        "--patience",
        type=int,
        default=8,
        help="early stopping: epochs without a better validation score (0 = off; default 8)",
    )
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="turn off amplitude, baseline-wander, noise, powerline and time-shift augmentation",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, order and augmentation")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda or mps")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--tensorboard", action="store_true", help="also log to OUT/tensorboard")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_train_options(p: argparse.ArgumentParser, finetune: bool) -> None:
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
    _add_common_train_options(p)
    _add_ptbxl_options(p)


def _train(args: argparse.Namespace, argv: list[str], finetune: bool) -> int:
    from trainer.train import TrainConfig, train

    data = _load(args.data, args, progress=not args.quiet)
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
        "command": _command_line(argv),
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


CLASS_DATA_HELP = (
    "ptbxl:DIR, a PTB-XL folder (ptbxl_database.csv, scp_statements.csv, records500/); labels are its "
    "statements aggregated to --classes, roles from strat_fold (--val-folds, --test-folds). Give this "
    "or --labels"
)
LABELS_CSV_HELP = (
    "your own labelled records instead of --data: a CSV with a 'file' column (path relative to the CSV, "
    "any format the viewer reads), then one column per class holding 1, 0 or empty (unknown); optional "
    "'group' (e.g. patient; never split apart) and 'split' (train/val/test; default a stable hash of "
    "the group, see --val-share/--test-share)"
)


def _add_class_data_options(p: argparse.ArgumentParser, training: bool) -> None:
    g = p.add_argument_group("classifier data")
    g.add_argument("--data", metavar="ptbxl:DIR", help=CLASS_DATA_HELP)
    g.add_argument("--labels", type=Path, metavar="CSV", help=LABELS_CSV_HELP)
    if training:
        g.add_argument(
            "--classes",
            default=None,
            metavar="LIST",
            help="comma-separated classes. PTB-XL: 'superclasses' (NORM, MI, STTC, CD, HYP from diagnostic "
            "statements), 'rhythm' (rhythm statements with >= --min-positives training records), "
            "superclass names or SCP codes (e.g. AFIB); default superclasses,rhythm. --labels: the class "
            "columns to use (default all)",
        )
        g.add_argument(
            "--min-positives",
            type=int,
            default=10,
            metavar="N",
            help="a rhythm statement becomes a class with at least N positive training records (default 10)",
        )
        g.add_argument(
            "--val-share",
            type=float,
            default=0.2,
            help="--labels without a split column: share of groups for validation (default 0.2)",
        )
        g.add_argument(
            "--test-share",
            type=float,
            default=0.2,
            help="--labels without a split column: share of groups held out for testing (default 0.2)",
        )
    g.add_argument(
        "--min-likelihood",
        type=float,
        default=0.0,
        metavar="PCT",
        help="ignore PTB-XL statements below this likelihood in %% (default 0: every statement counts, as "
        "in the PTB-XL benchmark)",
    )
    g.add_argument(
        "--val-folds",
        type=int,
        nargs="+",
        default=[9],
        metavar="K",
        help="PTB-XL strat_fold values for validation (default 9; the shared 300-record subset has folds "
        "1-8 only: use 7)",
    )
    g.add_argument(
        "--test-folds",
        type=int,
        nargs="+",
        default=[10],
        metavar="K",
        help="PTB-XL strat_fold values held out for testing (default 10; shared subset: 8)",
    )
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N PTB-XL records (quick runs)")


def _class_loader(args: argparse.Namespace, progress: bool):
    """A function ``classes -> ClassDataset`` for the data options of ``args``."""
    from tqdm import tqdm

    from trainer.classify import load_class_data

    def load(classes):
        bar = tqdm(desc="reading records", unit="rec", disable=not progress, file=sys.stderr, leave=False)

        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            return load_class_data(
                args.data,
                args.labels,
                classes,
                val_folds=tuple(args.val_folds),
                test_folds=tuple(args.test_folds),
                min_positives=getattr(args, "min_positives", 10),
                min_likelihood=args.min_likelihood,
                val_share=getattr(args, "val_share", 0.2),
                test_share=getattr(args, "test_share", 0.2),
                limit=args.limit,
                progress=tick,
            )
        finally:
            bar.close()

    return load


def _classify(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.data.statements import describe_counts
    from trainer.tasks import ClassificationTask
    from trainer.train import TrainConfig, train

    data = _class_loader(args, progress=not args.quiet)(args.classes)
    rank0 = os.environ.get("RANK", "0") == "0"
    if rank0 and not args.quiet:
        print(
            f"classes {', '.join(data.classes)}; positives per split:\n{describe_counts(data)}",
            file=sys.stderr,
        )
    config = TrainConfig.from_args(args)
    provenance = {
        "data": data.provenance,
        "command": _command_line(argv),
        "seed": args.seed,
        "stage": "classify",
    }
    task = ClassificationTask(data.classes, data.descriptions)
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
        from trainer.classify import evaluate_classifiers, write_outputs

        report = evaluate_classifiers(
            [str(args.out / "best.json")],
            lambda classes: data,
            device=args.device,
            n_boot=args.bootstrap,
            progress=not args.quiet,
        )
        report["command"] = _command_line(argv)
        write_outputs(report, args.out / "test")
    return 0


def _classify_evaluate(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.classify import evaluate_classifiers, write_outputs

    report = evaluate_classifiers(
        args.checkpoints,
        _class_loader(args, progress=not args.quiet),
        split=args.split,
        device=args.device,
        n_boot=args.bootstrap,
        progress=not args.quiet,
    )
    report["command"] = _command_line(argv)
    write_outputs(report, args.out)
    return 0


def _synth(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.data.synthetic import generate_synthetic

    m = generate_synthetic(
        args.out,
        args.n,
        args.seed,
        teacher=args.teacher,
        shard_size=args.shard_size,
        workers=args.workers,
        progress=not args.quiet,
        command=_command_line(argv),
    )
    print(f"{args.out}: {m.n if hasattr(m, 'n') else args.n} synthetic ECGs (manifest.json)")
    return 0


def _prepare(args: argparse.Namespace, argv: list[str]) -> int:
    data = _load(args.data, args)
    data.provenance["command"] = _command_line(argv)
    data.save(args.out)
    counts = {s: data.splits.count(s) for s in ("train", "val", "test")}
    print(f"{args.out}: {len(data)} rows {counts}, labelled share {data.labelled_share()}")
    return 0


def _evaluate(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.evaluate import evaluate, write_outputs

    data = _load([args.data], args, progress=not args.quiet)
    report = evaluate(
        args.checkpoints,
        data,
        split=args.split,
        peers=args.peers,
        device=args.device,
        n_boot=args.bootstrap,
        progress=not args.quiet,
    )
    report["command"] = _command_line(argv)
    write_outputs(report, args.out, label=args.label)
    return 0


def _export(args: argparse.Namespace, argv: list[str]) -> int:
    from trainer.export import export_checkpoint

    dest = export_checkpoint(
        args.run_dir,
        args.name,
        args.to,
        which=args.which,
        command=_command_line(argv),
        test_results=args.test_results,
    )
    print(f"exported {dest.with_suffix('.safetensors')} and {dest}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m trainer`` parser (every option explained in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description=__doc__.split("\n")[0] + " Run 'python -m trainer COMMAND --help' for each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "synth",
        help="generate labelled synthetic ECGs",
        description=(
            "Generate N 10 s 8-lead ECGs with deepfake-ecg and label them with a teacher. Shards are "
            "written atomically; rerunning the same command completes an interrupted set."
        ),
    )
    p.add_argument("out", type=Path, help="output folder (shards + manifest.json)")
    p.add_argument("--n", type=int, required=True, help="number of ECGs")
    p.add_argument("--seed", type=int, default=0, help="generator seed (record k depends on seed and k only)")
    p.add_argument("--teacher", default="classical", help="delineator that labels them (default classical)")
    p.add_argument("--shard-size", type=int, default=1000, help="ECGs per shard file (default 1000)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_synth)

    p = sub.add_parser(
        "prepare",
        help="read data sources once into an .npz",
        description=(
            "Read data sources (and run the teacher for PTB-XL teacher labels) once; train and evaluate "
            "on the result with npz:FILE."
        ),
    )
    p.add_argument("--data", action="append", required=True, metavar="KIND:PATH", help=DATA_HELP)
    p.add_argument("--out", type=Path, required=True, help="output .npz")
    _add_ptbxl_options(p)
    p.set_defaults(run=_prepare)

    for name, finetune, text in (
        ("pretrain", False, "Train an interval model from random initialisation."),
        ("finetune", True, "Continue training from a checkpoint (transfer learning)."),
    ):
        p = sub.add_parser(
            name,
            help=text.lower().rstrip("."),
            description=text
            + (
                " Rows in 'train' are fitted, 'val' rows pick the best epoch and stop early, 'test' rows are "
                "never seen. Multi-GPU / multi-node: launch with torchrun --nproc_per_node N -m trainer ..."
            ),
        )
        _add_train_options(p, finetune)
        p.set_defaults(run=lambda a, v, f=finetune: _train(a, v, f))

    p = sub.add_parser(
        "evaluate",
        help="score checkpoints and peers against references",
        description=(
            "Per interval: n, MAE, mean and SD of the difference, share within tolerance (2 bpm HR, 10 ms "
            "PR/QRS, 25 ms QT) and a bootstrap 95%% CI of the MAE, for each checkpoint and each peer "
            "delineator on the same records."
        ),
    )
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
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write results.json, results.csv and table.md here",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_ptbxl_options(p)
    p.set_defaults(run=_evaluate)

    p = sub.add_parser(
        "classify",
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
    )
    _add_class_data_options(p, training=True)
    from ecgviewer.models.registry import available_models

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
    _add_common_train_options(p)
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="after training, score the best checkpoint on the test rows (as classify-evaluate does)",
    )
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for --evaluate's CIs (default 2000)"
    )
    p.set_defaults(run=_classify)

    p = sub.add_parser(
        "classify-evaluate",
        help="score classifier checkpoints on labelled records",
        description=(
            "Per class: n, positives, ROC AUC, and at each checkpoint's stored thresholds F1, sensitivity "
            "and specificity, each with a percentile bootstrap 95%% CI over records; macro AUC and macro F1 "
            "over the classes with both labels. Checkpoints run through the viewer's Classifier; their "
            "classes (superclass names or SCP codes, or --labels CSV columns) pick the labels."
        ),
    )
    p.add_argument("checkpoints", nargs="+", help="classifier checkpoints (NAME.json) or bundled names")
    _add_class_data_options(p, training=False)
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="rows to score (default test: never used for training or thresholds)",
    )
    p.add_argument("--device", default="auto", help="device for the checkpoints")
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for the CIs (default 2000)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write results.json, results.csv and table.md here",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_classify_evaluate)

    p = sub.add_parser(
        "export",
        help="copy a run's checkpoint under a name",
        description=(
            "Copy RUN/best (or last) to TO/NAME.safetensors + NAME.json, adding the export command to its "
            "provenance. The viewer loads bundled models from resources/checkpoints/NAME."
        ),
    )
    p.add_argument(
        "run_dir", type=Path, metavar="RUN", help="run folder (from pretrain/finetune) or a checkpoint .json"
    )
    p.add_argument("--name", required=True, help="checkpoint name (e.g. resnet1d)")
    p.add_argument("--to", type=Path, default=None, help="destination folder (default resources/checkpoints)")
    p.add_argument("--which", default="best", choices=("best", "last"), help="which checkpoint of the run")
    p.add_argument(
        "--test-results",
        type=Path,
        default=None,
        metavar="JSON",
        help="a classify-evaluate results.json that scored this checkpoint: its scores are stored in the "
        "exported JSON as metrics.test",
    )
    p.set_defaults(run=_export)

    from trainer.beats import add_beat_commands

    add_beat_commands(sub, _add_common_train_options)

    from trainer.segmentation import add_segmentation_commands

    add_segmentation_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m trainer``; returns the exit code."""
    from trainer.data.arrays import DataError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, argv)
    except (DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
