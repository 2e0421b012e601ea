"""Options and data loading that several ``python -m trainer`` commands share.

The commands themselves live in the modules that implement them (see :mod:`trainer.commands`);
this module holds what more than one of them adds to its parser: the ``KIND:PATH`` interval data
sources with their PTB-XL options, the optimisation options of every training command, and the
classifier data options.
"""

from __future__ import annotations

import argparse
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


def command_line(argv: list[str]) -> str:
    """The command as a shell line (stored in checkpoints and reports)."""
    return "python -m trainer " + shlex.join(argv)


def _add_fold_options(g: argparse._ActionsContainer, val_help: str, test_help: str) -> None:
    """``--val-folds`` (default 9) and ``--test-folds`` (default 10): PTB-XL strat_fold roles."""
    g.add_argument("--val-folds", type=int, nargs="+", default=[9], metavar="K", help=val_help)
    g.add_argument("--test-folds", type=int, nargs="*", default=[10], metavar="K", help=test_help)


def add_ptbxl_options(p: argparse.ArgumentParser) -> None:
    """The options of ``ptbxl:`` interval sources (labels, folds, limit)."""
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
    _add_fold_options(
        g,
        "strat_fold values used for validation (default 9)",
        "strat_fold values held out for testing (default 10)",
    )
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N records (quick runs)")


def ptbxl_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`trainer.data.load_data` from :func:`add_ptbxl_options`' options."""
    return {
        "labels": args.labels,
        "features_dir": args.features,
        "teacher": args.teacher,
        "normal_only": args.normal_only,
        "val_folds": tuple(args.val_folds),
        "test_folds": tuple(args.test_folds),
        "limit": args.limit,
    }


def load_sources(specs: list[str], args: argparse.Namespace, progress: bool = True):
    """Read the ``KIND:PATH`` sources into one :class:`~trainer.data.arrays.IntervalDataset` (rows pooled)."""
    from tqdm import tqdm

    from trainer.data import IntervalDataset, load_data

    parts = []
    for spec in specs:
        bar = tqdm(desc=f"reading {spec}", unit="rec", disable=not progress, file=sys.stderr, leave=False)

        def tick(done: int, total: int, bar=bar) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        parts.append(load_data(spec, progress=tick, **ptbxl_options(args)))
        bar.close()
    data = parts[0] if len(parts) == 1 else IntervalDataset.concat(parts)
    data.provenance = {"sources": [dict(p.provenance) for p in parts], "specs": specs}
    return data


def add_common_train_options(p: argparse.ArgumentParser) -> None:
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


CLASS_DATA_HELP = (
    "ptbxl:DIR, a PTB-XL folder (ptbxl_database.csv, scp_statements.csv, records500/), or ptbxl100:DIR "
    "for its 100 Hz files (records100/, the PTB-XL benchmark's input); labels are its "
    "statements aggregated to --classes, roles from strat_fold (--val-folds, --test-folds). Give this "
    "or --labels"
)
LABELS_CSV_HELP = (
    "your own labelled records instead of --data: a CSV with a 'file' column (path relative to the CSV, "
    "any format the viewer reads), then one column per class holding 1, 0 or empty (unknown); optional "
    "'group' (e.g. patient; never split apart) and 'split' (train/val/test; default a stable hash of "
    "the group, see --val-share/--test-share)"
)


def add_class_data_options(p: argparse.ArgumentParser, training: bool) -> None:
    """The data options of ``classify`` (``training``) and ``classify-evaluate``."""
    g = p.add_argument_group("classifier data")
    g.add_argument("--data", metavar="ptbxl:DIR | ptbxl100:DIR", help=CLASS_DATA_HELP)
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
    _add_fold_options(
        g,
        "PTB-XL strat_fold values for validation (default 9; the shared 300-record subset has folds 1-8 "
        "only: use 7)",
        "PTB-XL strat_fold values held out for testing (default 10; shared subset: 8; none: "
        "'--test-folds' alone)",
    )
    g.add_argument(
        "--val-holdout",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="move this share of the validation folds' patients (a stable hash of the patient id) to the "
        "test rows: e.g. --val-folds 9 --test-folds --val-holdout 0.5 selects epochs, thresholds and the "
        "temperature on one half of fold 9 and reports on the other (default 0)",
    )
    g.add_argument(
        "--input-fs",
        type=float,
        default=None,
        metavar="HZ",
        help="model input rate for PTB-XL (default: the files' rate, 500 for ptbxl:, 100 for ptbxl100:); "
        "records are resampled to it",
    )
    g.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the PTB-XL model inputs as .npz in DIR and reuse them (never inside the repository)",
    )
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N PTB-XL records (quick runs)")


def class_loader(args: argparse.Namespace, progress: bool):
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
                val_holdout=getattr(args, "val_holdout", 0.0),
                input_fs=getattr(args, "input_fs", None),
                cache_dir=getattr(args, "cache", None),
            )
        finally:
            bar.close()

    return load
