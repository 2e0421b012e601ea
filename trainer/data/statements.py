"""Record-level classes for classifiers: PTB-XL statements, or a user's own labels CSV.

PTB-XL (``ptbxl_database.csv`` + ``scp_statements.csv``)
    Each record's ``scp_codes`` (SCP-ECG statement -> likelihood in %) is mapped
    with the statement table:

    * **superclasses** -- NORM, MI, STTC, CD, HYP: a record is positive for a
      superclass when it has a statement with ``diagnostic == 1`` whose
      ``diagnostic_class`` is that superclass. As in the PTB-XL benchmark
      (Strodthoff et al. 2021) a statement counts **whatever its likelihood**
      (0 = unknown included); ``min_likelihood`` raises that bar.
    * **rhythm** -- statements with ``rhythm == 1`` (SR, AFIB, STACH, SARRH,
      SBRAD, PACE, SVARR, BIGU, AFLT, SVTAC, PSVT, TRIGU in PTB-XL). Only those
      with at least ``min_positives`` positive *training* records become classes
      (all 12 on the full PTB-XL with folds 1-8 and the default 10; on the shared
      300-record subset with folds 1-6, SR (185) and SARRH (16); AFIB (5),
      SBRAD (4), STACH (4) and PACE (1) have too few to learn or to score).
    * any single SCP code (e.g. ``AFIB``, ``IMI``, ``LVH``) named explicitly.

    A record without any statement of a class's category (no diagnostic
    statement for a superclass, no rhythm statement for a rhythm class) has an
    **unknown** label (``nan``) for it: left out of the loss and of the scores,
    as the benchmark leaves such records out of a task.

    Splits follow ``strat_fold`` (patient-wise): by default folds 1-8 train, 9
    validation, 10 test (the dataset's recommendation; 9 and 10 have
    human-validated labels). The shared subset has folds 1-8 only; it is used as
    1-6 train, 7 validation, 8 test.

A labels CSV (``--labels CSV``)
    Columns: ``file`` (path relative to the CSV's folder, any format ecgviewer
    reads), then **one column per class** holding ``1`` (present), ``0``
    (absent) or nothing (unknown); optional ``group`` (e.g. the patient: rows of
    a group never straddle splits; default the file) and ``split``
    (``train``/``val``/``test``; default a stable hash of the group, with
    ``val_share`` and ``test_share`` of the groups).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.data.arrays import SPLITS, DataError, LabelledRows, hashed_split, record_input
from trainer.data.ptbxl import PtbxlRow, fold_split, read_database

#: The five diagnostic superclasses of PTB-XL, in output order, with their meaning.
SUPERCLASSES: dict[str, str] = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}
#: The rhythm statements of PTB-XL (``rhythm == 1`` in its scp_statements.csv; a test checks the table).
PTBXL_RHYTHM: tuple[str, ...] = (
    "SR", "AFIB", "STACH", "SARRH", "SBRAD", "PACE", "SVARR", "BIGU", "AFLT", "SVTAC", "PSVT", "TRIGU",
)  # fmt: skip
#: Class-set keywords of ``--classes``.
CLASS_SETS = ("superclasses", "rhythm")
#: Default minimum of positive training records for a rhythm statement to become a class.
MIN_POSITIVES = 10
_CSV_RESERVED = ("file", "group", "split")


@dataclass
class ClassDataset(LabelledRows):
    """Inputs ``x`` (N, leads, samples) in mV and labels ``y`` (N, classes): 1, 0 or nan (unknown)."""

    classes: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()

    def _check_labels(self, n: int) -> None:
        if self.y.shape != (n, len(self.classes)):
            raise DataError(
                f"labels must be ({n}, {len(self.classes)}) for classes {self.classes}, got {self.y.shape}"
            )
        if len(self.descriptions) not in (0, len(self.classes)):
            raise DataError("one description per class")
        if not self.descriptions:
            self.descriptions = ("",) * len(self.classes)
        ok = np.isnan(self.y) | (self.y == 0) | (self.y == 1)
        if not ok.all():
            raise DataError("class labels must be 0, 1 or nan")

    def counts(self, split: str | None = None) -> dict[str, dict[str, int]]:
        """Positive, negative and unknown rows per class (of one split, or all rows)."""
        rows = self if split is None else self.split(split)
        return {
            c: {
                "pos": int((rows.y[:, j] == 1).sum()),
                "neg": int((rows.y[:, j] == 0).sum()),
                "unknown": int(np.isnan(rows.y[:, j]).sum()),
            }
            for j, c in enumerate(self.classes)
        }


# -- the statement table ---------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One row of ``scp_statements.csv``."""

    code: str
    description: str
    diagnostic: bool
    form: bool
    rhythm: bool
    diagnostic_class: str
    diagnostic_subclass: str

    @property
    def categories(self) -> frozenset[str]:
        """Which of diagnostic, form, rhythm the statement belongs to."""
        flags = {"diagnostic": self.diagnostic, "form": self.form, "rhythm": self.rhythm}
        return frozenset(k for k, v in flags.items() if v)


def read_statements(root: str | Path) -> dict[str, Statement]:
    """``ROOT/scp_statements.csv`` as ``code -> Statement``; raises :class:`DataError` for a bad file."""
    path = Path(root) / "scp_statements.csv"
    if not path.is_file():
        raise DataError(f"{path}: not found (PTB-XL's statement table is needed for the classes)")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        need = {"description", "diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"}
        if not cols or need - set(cols):
            raise DataError(f"{path}: missing columns {sorted(need - set(cols))}")
        code_col = cols[0]  # the unnamed index column
        out = {}
        for line in reader:

            def flag(name: str, line=line) -> bool:
                return (line[name] or "").strip() not in ("", "0", "0.0")

            code = line[code_col].strip()
            out[code] = Statement(
                code,
                line["description"],
                flag("diagnostic"),
                flag("form"),
                flag("rhythm"),
                (line["diagnostic_class"] or "").strip(),
                (line["diagnostic_subclass"] or "").strip(),
            )
    return out


@dataclass(frozen=True)
class ClassDef:
    """A record-level class: positive when any of ``codes`` is stated; known when any ``scope`` code is."""

    name: str
    description: str
    codes: frozenset[str]
    scope: frozenset[str]


def class_def(name: str, statements: dict[str, Statement]) -> ClassDef:
    """The class ``name``: a superclass (NORM, MI, STTC, CD, HYP) or a single SCP statement code."""

    def in_category(cats: frozenset[str]) -> frozenset[str]:
        return frozenset(c for c, s in statements.items() if s.categories & cats)

    if name in SUPERCLASSES:
        codes = frozenset(c for c, s in statements.items() if s.diagnostic and s.diagnostic_class == name)
        return ClassDef(name, SUPERCLASSES[name], codes, in_category(frozenset({"diagnostic"})))
    if name in statements:
        s = statements[name]
        return ClassDef(name, s.description, frozenset({name}), in_category(s.categories))
    raise DataError(
        f"unknown class {name!r}: use {', '.join(CLASS_SETS)}, a superclass ({', '.join(SUPERCLASSES)}) "
        "or an SCP statement code from scp_statements.csv"
    )


def labels_of(codes: dict[str, float], defs: Sequence[ClassDef], min_likelihood: float = 0.0) -> np.ndarray:
    """One record's label row: 1 (a class code is stated), 0 (another statement of its scope), nan."""
    stated = {c for c, lik in codes.items() if lik >= min_likelihood}
    row = np.full(len(defs), np.nan, dtype=np.float32)
    for j, d in enumerate(defs):
        if stated & d.codes:
            row[j] = 1.0
        elif stated & d.scope:
            row[j] = 0.0
    return row


def resolve_classes(
    spec: str | Sequence[str],
    statements: dict[str, Statement],
    rows: Sequence[PtbxlRow],
    train_mask: Sequence[bool],
    min_positives: int = MIN_POSITIVES,
    min_likelihood: float = 0.0,
) -> tuple[list[ClassDef], dict[str, Any]]:
    """The classes of a ``--classes`` spec and a note of the rhythm statements left out.

    ``spec`` is comma-separated (or a list) of ``superclasses``, ``rhythm``,
    superclass names and SCP codes. ``rhythm`` keeps the rhythm statements with at
    least ``min_positives`` positive training rows (``train_mask``), most frequent
    first; explicitly named classes are kept whatever their count.
    """
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise DataError("no classes given (e.g. --classes superclasses,rhythm)")
    defs: list[ClassDef] = []
    note: dict[str, Any] = {}

    def add(d: ClassDef) -> None:
        if d.name not in {x.name for x in defs}:
            defs.append(d)

    for item in items:
        if item == "superclasses":
            for name in SUPERCLASSES:
                add(class_def(name, statements))
        elif item == "rhythm":
            rhythm = [class_def(c, statements) for c, s in statements.items() if s.rhythm]
            counts = {}
            for d in rhythm:
                counts[d.name] = int(
                    sum(
                        1
                        for r, t in zip(rows, train_mask, strict=True)
                        if t and labels_of(r.scp_codes, [d], min_likelihood)[0] == 1
                    )
                )
            kept = sorted(
                (d for d in rhythm if counts[d.name] >= min_positives), key=lambda d: -counts[d.name]
            )
            for d in kept:
                add(d)
            note = {
                "rule": f"rhythm statements with >= {min_positives} positive training records",
                "train_positives": counts,
                "kept": [d.name for d in kept],
            }
        else:
            add(class_def(item, statements))
    return defs, note


# -- PTB-XL -----------------------------------------------------------------------------


def load_ptbxl_classes(
    root: str | Path,
    classes: str | Sequence[str] = "superclasses,rhythm",
    *,
    val_folds: Sequence[int] = (9,),
    test_folds: Sequence[int] = (10,),
    min_positives: int = MIN_POSITIVES,
    min_likelihood: float = 0.0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClassDataset:
    """PTB-XL records with class labels from their statements (see the module docstring).

    Parameters
    ----------
    root
        Folder with ``ptbxl_database.csv``, ``scp_statements.csv`` and ``records500/``.
    classes
        ``--classes`` spec: ``superclasses``, ``rhythm``, superclass names, SCP codes.
    val_folds, test_folds
        ``strat_fold`` values for validation and test (the other folds train).
    min_positives
        Minimum positive training records for a ``rhythm`` statement to become a class.
    min_likelihood
        Statements below this likelihood (%) are ignored (0: all count, as in the benchmark).
    limit
        Use at most this many records (in database order), for quick runs.
    progress
        Called with ``(done, total)`` after each record.
    """
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    root = Path(root)
    statements = read_statements(root)
    rows = read_database(root)
    if limit is not None:
        rows = rows[:limit]
    present = [r for r in rows if (root / (r.filename_hr + ".hea")).is_file()]
    if not present:
        raise DataError(f"{root}: none of the {len(rows)} records listed in ptbxl_database.csv is present")
    folds = sorted({r.strat_fold for r in present})
    roles = [fold_split(r.strat_fold, val_folds, test_folds) for r in present]
    for name, wanted in (("validation", val_folds), ("test", test_folds)):
        if wanted and not set(wanted) & set(folds):
            raise DataError(
                f"{root}: no record in the {name} folds {list(wanted)} (folds present: {folds}); "
                "choose others with --val-folds/--test-folds"
            )
    defs, note = resolve_classes(
        classes, statements, present, [s == "train" for s in roles], min_positives, min_likelihood
    )
    if not defs:
        raise DataError(f"no class has enough training records (rule: {note.get('rule')})")
    xs, ys, ids, groups, splits, skipped = [], [], [], [], [], []
    for k, (row, role) in enumerate(zip(present, roles, strict=True)):
        try:
            x = record_input(read_record(root / (row.filename_hr + ".hea")))
        except (EcgReadError, DataError) as exc:
            skipped.append(f"{row.ecg_id}: {exc}")
            continue
        xs.append(x)
        ys.append(labels_of(row.scp_codes, defs, min_likelihood))
        ids.append(f"ptbxl-{row.ecg_id:05d}")
        groups.append(f"ptbxl-patient-{row.patient_id}")
        splits.append(role)
        if progress is not None:
            progress(k + 1, len(present))
    if not xs:
        raise DataError(f"{root}: no usable records ({'; '.join(skipped[:3])})")
    data = ClassDataset(
        np.stack(xs),
        np.stack(ys),
        ids,
        groups,
        {},
        splits,
        classes=tuple(d.name for d in defs),
        descriptions=tuple(d.description for d in defs),
    )
    data.provenance = {
        "source": "PTB-XL",
        "root": str(root),
        "labels": "scp_codes aggregated with scp_statements.csv (superclasses: diagnostic == 1 by "
        f"diagnostic_class; rhythm == 1); statements count at likelihood >= {min_likelihood:g} %",
        "classes": list(data.classes),
        "rhythm_selection": note or None,
        "val_folds": list(val_folds),
        "test_folds": list(test_folds),
        "folds_present": folds,
        "n_records": len(xs),
        "n_per_split": {s: splits.count(s) for s in SPLITS},
        "counts": {s: data.counts(s) for s in SPLITS},
        "skipped": skipped,
    }
    return data


# -- a user's labels CSV ---------------------------------------------------------------------


def _label_value(text: str | None, where: str) -> float:
    t = (text or "").strip()
    if t == "":
        return float("nan")
    if t in ("0", "1", "0.0", "1.0"):
        return float(t)
    raise DataError(f"{where}: class labels must be 1, 0 or empty (unknown), not {t!r}")


def load_labels_csv(
    labels_csv: str | Path,
    *,
    classes: Sequence[str] | None = None,
    val_share: float = 0.2,
    test_share: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
) -> ClassDataset:
    """Records and class labels from a labels CSV (format in the module docstring).

    Parameters
    ----------
    labels_csv
        The CSV file.
    classes
        Keep only these class columns, in this order (default: every class column).
    val_share, test_share
        Expected shares of groups for validation and test when there is no ``split`` column.

    Raises
    ------
    DataError
        Missing file or ``file`` column, no class column, a label other than 1/0/empty,
        an unknown split, or no readable record; the message names the row and column.
    """
    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    labels_csv = Path(labels_csv)
    if not labels_csv.is_file():
        raise DataError(f"{labels_csv}: labels CSV not found")
    try:
        with open(labels_csv, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = [c.strip() for c in reader.fieldnames or []]
            reader.fieldnames = cols
            lines = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{labels_csv}: not a readable CSV ({exc})") from None
    if "file" not in cols:
        raise DataError(
            f"{labels_csv}: needs a 'file' column, then one 0/1 column per class (has {cols}); "
            "see 'python -m trainer classify --help'"
        )
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise DataError(f"{labels_csv}: duplicate columns {dupes}")
    class_cols = [c for c in cols if c not in _CSV_RESERVED and c]
    if classes is not None:
        missing = [c for c in classes if c not in class_cols]
        if missing:
            raise DataError(f"{labels_csv}: no column for the classes {missing} (has {class_cols})")
        class_cols = list(classes)
    if not class_cols:
        raise DataError(f"{labels_csv}: no class column (after 'file', one 0/1 column per class)")
    if not lines:
        raise DataError(f"{labels_csv}: no rows")
    xs, ys, ids, groups, splits, skipped = [], [], [], [], [], []
    for k, line in enumerate(lines):
        where = f"{labels_csv}: row {k + 2}"
        if not (line.get("file") or "").strip():
            raise DataError(f"{where}: empty 'file'")
        y = np.array(
            [_label_value(line.get(c), f"{where}, column {c!r}") for c in class_cols], dtype=np.float32
        )
        group = (line.get("group") or "").strip() or line["file"]
        role = (line.get("split") or "").strip() or hashed_split(group, val_share, test_share, salt="labels")
        if role not in SPLITS:
            raise DataError(f"{where}: split must be one of {SPLITS}, not {role!r}")
        try:
            x = record_input(read_record(labels_csv.parent / line["file"]))
        except (EcgReadError, DataError) as exc:
            skipped.append(str(exc))
            continue
        xs.append(x)
        ys.append(y)
        ids.append(line["file"])
        groups.append(group)
        splits.append(role)
        if progress is not None:
            progress(k + 1, len(lines))
    if not xs:
        raise DataError(f"{labels_csv}: no readable records ({'; '.join(skipped[:3])})")
    descriptions = tuple(SUPERCLASSES.get(c, "") for c in class_cols)
    data = ClassDataset(
        np.stack(xs),
        np.stack(ys),
        ids,
        groups,
        {},
        splits,
        classes=tuple(class_cols),
        descriptions=descriptions,
    )
    data.provenance = {
        "source": "labels CSV",
        "labels_csv": str(labels_csv),
        "labels": "user labels CSV (1/0/empty per class)",
        "classes": class_cols,
        "split": "split column" if "split" in cols else f"hash of group (val {val_share}, test {test_share})",
        "n_records": len(xs),
        "n_per_split": {s: splits.count(s) for s in SPLITS},
        "counts": {s: data.counts(s) for s in SPLITS},
        "skipped": skipped,
    }
    return data


def describe_counts(data: ClassDataset) -> str:
    """A short text of positives per class and split (for the CLI)."""
    lines = []
    for s in SPLITS:
        c = data.counts(s)
        lines.append(f"{s} ({data.splits.count(s)}): " + ", ".join(f"{k} {v['pos']}" for k, v in c.items()))
    return "\n".join(lines)


__all__ = [
    "CLASS_SETS",
    "MIN_POSITIVES",
    "PTBXL_RHYTHM",
    "SUPERCLASSES",
    "ClassDataset",
    "ClassDef",
    "Statement",
    "class_def",
    "describe_counts",
    "labels_of",
    "load_labels_csv",
    "load_ptbxl_classes",
    "read_statements",
    "resolve_classes",
]
