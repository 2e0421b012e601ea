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

from trainer.data.arrays import INPUT_LEADS, SPLITS, DataError, LabelledRows, hashed_split, record_input
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
#: The diagnostic subclasses of PTB-XL (``diagnostic_subclass`` of its scp_statements.csv) with a
#: readable name; a class named so is positive for any diagnostic statement of that subclass. NORM
#: (the same statements as the superclass) and STTC (a catch-all of the STTC superclass) are left out.
SUBCLASSES: dict[str, str] = {
    "IMI": "inferior myocardial infarction",
    "AMI": "anterior myocardial infarction",
    "LMI": "lateral myocardial infarction",
    "PMI": "posterior myocardial infarction",
    "LVH": "left ventricular hypertrophy",
    "RVH": "right ventricular hypertrophy",
    "LAO/LAE": "left atrial overload/enlargement",
    "RAO/RAE": "right atrial overload/enlargement",
    "SEHYP": "septal hypertrophy",
    "CLBBB": "complete left bundle branch block",
    "CRBBB": "complete right bundle branch block",
    "IRBBB": "incomplete right bundle branch block",
    "ILBBB": "incomplete left bundle branch block",
    "_AVB": "AV block (1st-3rd degree)",
    "IVCD": "non-specific intraventricular conduction disturbance",
    "LAFB/LPFB": "left anterior/posterior fascicular block",
    "WPW": "Wolff-Parkinson-White syndrome",
    "NST_": "non-specific ST changes",
    "ISC_": "ischemic ST-T changes (non-specific)",
    "ISCA": "ischemia in anterior leads",
    "ISCI": "ischemia in inferior leads",
}
#: Class-set keywords of ``--classes``.
CLASS_SETS = ("superclasses", "subclasses", "rhythm")
#: Default minimum of positive training records for a rhythm statement to become a class.
MIN_POSITIVES = 10
_CSV_RESERVED = ("file", "group", "split")


@dataclass
class ClassDataset(LabelledRows):
    """Inputs ``x`` (N, leads, samples) in mV and labels ``y`` (N, classes): 1, 0 or nan (unknown)."""

    classes: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    #: Sampling rate of ``x`` (the model input rate); ``x`` holds 10 s windows.
    fs_hz: float = 500.0

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
    if name in SUBCLASSES and not (name in statements and name not in _SUBCLASS_PREFERRED):
        return subclass_def(name, statements)
    if name in statements:
        s = statements[name]
        return ClassDef(name, s.description, frozenset({name}), in_category(s.categories))
    raise DataError(
        f"unknown class {name!r}: use {', '.join(CLASS_SETS)}, a superclass ({', '.join(SUPERCLASSES)}) "
        "or an SCP statement code from scp_statements.csv"
    )


#: Subclass names that are also single statement codes but mean the subclass when named in --classes
#: (their subclass holds more statements than the code, e.g. IMI = IMI, ILMI, IPLMI, IPMI, INJIL, ...).
_SUBCLASS_PREFERRED = frozenset(SUBCLASSES)


def subclass_def(name: str, statements: dict[str, Statement]) -> ClassDef:
    """The diagnostic subclass ``name``: positive for any diagnostic statement of that subclass."""
    codes = frozenset(c for c, s in statements.items() if s.diagnostic and s.diagnostic_subclass == name)
    if not codes:
        raise DataError(f"no diagnostic statement of subclass {name!r} in scp_statements.csv")
    scope = frozenset(c for c, s in statements.items() if s.diagnostic)
    return ClassDef(name, SUBCLASSES.get(name, name), codes, scope)


def _count_positives(
    d: ClassDef, rows: Sequence[PtbxlRow], train_mask: Sequence[bool], min_likelihood: float
) -> int:
    return int(
        sum(
            1
            for r, t in zip(rows, train_mask, strict=True)
            if t and labels_of(r.scp_codes, [d], min_likelihood)[0] == 1
        )
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
        elif item in ("rhythm", "subclasses"):
            if item == "rhythm":
                cands = [class_def(c, statements) for c, s in statements.items() if s.rhythm]
            else:
                present = {s.diagnostic_subclass for s in statements.values() if s.diagnostic}
                cands = [subclass_def(c, statements) for c in SUBCLASSES if c in present]
            counts = {d.name: _count_positives(d, rows, train_mask, min_likelihood) for d in cands}
            kept = sorted(
                (d for d in cands if counts[d.name] >= min_positives), key=lambda d: -counts[d.name]
            )
            for d in kept:
                add(d)
            note[item] = {
                "rule": f"{item} with >= {min_positives} positive training records",
                "train_positives": counts,
                "kept": [d.name for d in kept],
            }
        else:
            add(class_def(item, statements))
    return defs, note


# -- PTB-XL -----------------------------------------------------------------------------


#: Record files of PTB-XL: the 500 Hz ``filename_hr`` or the 100 Hz ``filename_lr`` (the benchmark's input).
PTBXL_RATES = {"hr": 500.0, "lr": 100.0}


def holdout_role(group: str, share: float) -> str:
    """``"test"`` for a stable ``share`` of the groups (patients), else ``"val"``.

    See ``val_holdout`` of :func:`load_ptbxl_classes`.
    """
    return hashed_split(group, 0.0, share, salt="ptbxl-val-holdout").replace("train", "val")


def _cached_inputs(
    root: Path,
    rows: Sequence[PtbxlRow],
    rate: str,
    leads: Sequence[str],
    fs_hz: float,
    n_samples: int,
    cache_dir: Path | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Model inputs ``(N, leads, n_samples)`` float32 mV of the readable ``rows``, their mask, skip notes.

    With ``cache_dir`` the arrays are stored there as ``.npz`` keyed by a hash of the
    folder, the record list and the input contract, and read back on the next call.
    """
    import hashlib
    import json

    from ecgviewer.core.errors import EcgReadError
    from ecgviewer.core.readers import read_record

    key = json.dumps(
        [str(root.resolve()), rate, list(leads), fs_hz, n_samples, [r.ecg_id for r in rows]]
    ).encode()
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"ptbxl-{rate}-{int(fs_hz)}hz-{hashlib.sha256(key).hexdigest()[:16]}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                return z["x"].astype(np.float32), z["ok"], [str(s) for s in z["skipped"]]
    x = np.zeros((len(rows), len(leads), n_samples), dtype=np.float32)
    ok = np.zeros(len(rows), dtype=bool)
    skipped = []
    for k, row in enumerate(rows):
        name = row.filename_hr if rate == "hr" else row.filename_lr
        try:
            x[k] = record_input(read_record(root / (name + ".hea")), leads, fs_hz, n_samples)
            ok[k] = True
        except (EcgReadError, DataError) as exc:
            skipped.append(f"{row.ecg_id}: {exc}")
        if progress is not None:
            progress(k + 1, len(rows))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, x=x, ok=ok, skipped=np.array(skipped, dtype=str))
        tmp.replace(path)
    return x, ok, skipped


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
    rate: str = "hr",
    fs_hz: float | None = None,
    val_holdout: float = 0.0,
    cache_dir: str | Path | None = None,
) -> ClassDataset:
    """PTB-XL records with class labels from their statements (see the module docstring).

    Parameters
    ----------
    root
        Folder with ``ptbxl_database.csv``, ``scp_statements.csv`` and ``records500/``
        (``rate="hr"``) or ``records100/`` (``rate="lr"``).
    classes
        ``--classes`` spec: ``superclasses``, ``subclasses``, ``rhythm``, superclass names, SCP codes.
    val_folds, test_folds
        ``strat_fold`` values for validation and test (the other folds train; ``test_folds``
        may be empty).
    min_positives
        Minimum positive training records for a ``rhythm`` statement or a ``subclasses``
        subclass to become a class.
    min_likelihood
        Statements below this likelihood (%) are ignored (0: all count, as in the benchmark).
    limit
        Use at most this many records (in database order), for quick runs.
    progress
        Called with ``(done, total)`` after each record.
    rate
        ``"hr"`` (the 500 Hz files) or ``"lr"`` (the 100 Hz files).
    fs_hz
        Model input rate (default: the files' rate); the records are resampled to it and
        cut to 10 s (``10 * fs_hz`` samples) by the viewer's own preprocessing.
    val_holdout
        Share of the **patients** of the validation folds whose records become ``test``
        rows (a stable hash of the patient id): with ``--val-folds 9 --val-holdout 0.5``
        half of fold 9 selects the epoch, thresholds and temperature, the other half is
        never used for anything but the report.
    cache_dir
        Folder for a ``.npz`` cache of the model inputs (read once, reused).
    """
    if rate not in PTBXL_RATES:
        raise DataError(f"rate must be one of {sorted(PTBXL_RATES)}, not {rate!r}")
    if not 0.0 <= val_holdout < 1.0:
        raise DataError("--val-holdout must be in [0, 1)")
    fs = float(fs_hz or PTBXL_RATES[rate])
    n_samples = round(10.0 * fs)
    root = Path(root)
    statements = read_statements(root)
    rows = read_database(root)
    if limit is not None:
        rows = rows[:limit]
    present = [
        r
        for r in rows
        if (rate == "hr" or r.filename_lr)
        and (root / ((r.filename_hr if rate == "hr" else r.filename_lr) + ".hea")).is_file()
    ]
    if not present:
        raise DataError(f"{root}: none of the {len(rows)} records listed in ptbxl_database.csv is present")
    folds = sorted({r.strat_fold for r in present})
    roles = [fold_split(r.strat_fold, val_folds, test_folds) for r in present]
    if val_holdout > 0:
        roles = [
            holdout_role(f"ptbxl-patient-{r.patient_id}", val_holdout) if role == "val" else role
            for r, role in zip(present, roles, strict=True)
        ]
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
        rules = "; ".join(v.get("rule", "") for v in note.values())
        raise DataError(f"no class has enough training records (rule: {rules})")
    x, ok, skipped = _cached_inputs(
        root, present, rate, INPUT_LEADS, fs, n_samples, Path(cache_dir) if cache_dir else None, progress
    )
    keep = np.flatnonzero(ok)
    if not len(keep):
        raise DataError(f"{root}: no usable records ({'; '.join(skipped[:3])})")
    kept = [present[i] for i in keep]
    splits = [roles[i] for i in keep]
    data = ClassDataset(
        x[keep] if len(keep) < len(x) else x,
        np.stack([labels_of(r.scp_codes, defs, min_likelihood) for r in kept]),
        [f"ptbxl-{r.ecg_id:05d}" for r in kept],
        [f"ptbxl-patient-{r.patient_id}" for r in kept],
        {},
        splits,
        classes=tuple(d.name for d in defs),
        descriptions=tuple(d.description for d in defs),
        fs_hz=fs,
    )
    data.provenance = {
        "source": "PTB-XL",
        "root": str(root),
        "files": f"{'records500 (filename_hr)' if rate == 'hr' else 'records100 (filename_lr)'}, "
        f"model input {fs:g} Hz x {n_samples} samples",
        "labels": "scp_codes aggregated with scp_statements.csv (superclasses: diagnostic == 1 by "
        "diagnostic_class; subclasses: diagnostic == 1 by diagnostic_subclass; rhythm == 1); "
        f"statements count at likelihood >= {min_likelihood:g} %",
        "classes": list(data.classes),
        "rhythm_selection": note.get("rhythm"),
        "subclass_selection": note.get("subclasses"),
        "val_folds": list(val_folds),
        "test_folds": list(test_folds),
        "val_holdout": val_holdout or None,
        "folds_present": folds,
        "n_records": len(kept),
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
    "PTBXL_RATES",
    "PTBXL_RHYTHM",
    "SUBCLASSES",
    "SUPERCLASSES",
    "ClassDataset",
    "ClassDef",
    "Statement",
    "class_def",
    "describe_counts",
    "holdout_role",
    "labels_of",
    "load_labels_csv",
    "load_ptbxl_classes",
    "read_statements",
    "resolve_classes",
    "subclass_def",
]
