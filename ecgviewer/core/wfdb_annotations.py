"""Beat labels as a WFDB annotation file (``wfdb.wrann``), readable by ``wfdb.rdann`` and PhysioNet tools.

An over-read beat list (:func:`ecgviewer.core.overread.apply_to_beats`) is exported as
``<record name>.<extension>`` (default ``.ecgv``) beside the record, so other WFDB software
can read the reader's corrections next to the cardiologists' ``.atr``. Symbols
(:data:`WFDB_SYMBOL`, all in ``wfdb``'s ``ann_label_table``):

========  ======  ===============================================
label     symbol  WFDB meaning
========  ======  ===============================================
N         ``N``   normal beat
S         ``S``   premature or ectopic supraventricular beat
V         ``V``   premature ventricular contraction
F         ``F``   fusion of ventricular and normal beat
Q         ``Q``   unclassifiable beat
``|``     ``|``   isolated QRS-like artefact
========  ======  ===============================================

Artefact spans become the MIT-BIH noise convention: a signal-quality annotation ``~`` at the
span's start with ``subtype = -1`` (all signals unreadable) and one at its end with
``subtype = 0`` (clean again), ``aux_note`` ``"artefact"`` / ``"clean"``.

The file is written atomically (a hidden temporary folder beside it, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ecgviewer.core.beat_pass import SYMBOL_TO_CLASS
from ecgviewer.core.overread import ARTEFACT, LABELS

#: Extension of the exported annotation file (``100.ecgv`` beside ``100.hea``).
DEFAULT_EXTENSION = "ecgv"
#: Over-read label -> WFDB annotation symbol.
WFDB_SYMBOL: Mapping[str, str] = MappingProxyType(
    {"N": "N", "S": "S", "V": "V", "F": "F", "Q": "Q", ARTEFACT: "|"}
)
#: The signal-quality ("noise") symbol, and its subtypes: all signals unreadable, clean.
NOISE_SYMBOL = "~"
NOISE_UNREADABLE, NOISE_CLEAN = -1, 0


def _target(target: str | Path, record_name: str | None) -> tuple[Path, str]:
    t = Path(target)
    if t.is_dir():
        if not record_name:
            raise ValueError("record_name is needed when target is a folder")
        return t, record_name
    return t.parent, record_name or t.stem


def export_wfdb_annotations(
    target: str | Path,
    samples: Sequence[int] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    fs_hz: float,
    *,
    record_name: str | None = None,
    extension: str = DEFAULT_EXTENSION,
    artefact_spans: Sequence[tuple[int, int]] = (),
) -> Path:
    """Write beats (and artefact spans) as a WFDB annotation file; returns its path.

    Parameters
    ----------
    target
        The record's file (``.../100.hea``: the folder and record name are taken from it) or a
        folder (then ``record_name`` is needed).
    samples, labels
        R-peak samples and one of :data:`ecgviewer.core.overread.LABELS` each.
    fs_hz
        The record's sampling rate (stored in the file).
    record_name
        WFDB record name (default the stem of ``target``).
    extension
        Annotator name (file extension), default :data:`DEFAULT_EXTENSION`.
    artefact_spans
        ``[start, stop)`` sample spans, written as noise annotations (module docstring).
    """
    import wfdb

    folder, name = _target(target, record_name)
    s = np.asarray(samples, dtype=np.int64).ravel()
    lab = [str(x) for x in np.asarray(labels).ravel()]
    if s.size != len(lab):
        raise ValueError(f"{s.size} samples but {len(lab)} labels")
    bad = sorted(set(lab) - set(LABELS))
    if bad:
        raise ValueError(f"unknown labels {bad} (known: {', '.join(LABELS)})")
    if not extension.isalnum():
        raise ValueError(f"annotation extension must be letters and digits, not {extension!r}")
    rows = [(int(x), 1, WFDB_SYMBOL[c], 0, "") for x, c in zip(s, lab, strict=True)]
    for a, b in artefact_spans:
        rows.append((int(a), 0, NOISE_SYMBOL, NOISE_UNREADABLE, "artefact"))
        rows.append((int(b), 0, NOISE_SYMBOL, NOISE_CLEAN, "clean"))
    rows.sort(key=lambda r: (r[0], r[1]))  # a noise mark before a beat at the same sample
    if not rows:
        raise ValueError("nothing to write: no beats and no artefact spans")
    if rows[0][0] < 0:
        raise ValueError("negative annotation sample")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=folder))
    try:
        wfdb.wrann(
            name,
            extension,
            np.array([r[0] for r in rows], dtype=np.int64),
            symbol=[r[2] for r in rows],
            subtype=np.array([r[3] for r in rows], dtype=np.int64),
            aux_note=[r[4] for r in rows],
            fs=fs_hz,
            write_dir=str(tmp),
        )
        out = folder / f"{name}.{extension}"
        os.replace(tmp / f"{name}.{extension}", out)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return out


def read_wfdb_annotations(
    target: str | Path, *, record_name: str | None = None, extension: str = DEFAULT_EXTENSION
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Beats and artefact spans of a WFDB annotation file: ``(samples, labels, spans)``.

    Beat symbols map to the AAMI classes (:data:`ecgviewer.core.beat_pass.SYMBOL_TO_CLASS`),
    ``|`` to :data:`ARTEFACT`; other symbols are skipped. Spans pair each ``~`` with a non-zero
    subtype with the next ``~`` of subtype 0 (or the last annotation).
    """
    import wfdb

    folder, name = _target(target, record_name)
    ann = wfdb.rdann(str(folder / name), extension)
    samples, labels, spans = [], [], []
    open_at = None
    sub = ann.subtype if ann.subtype is not None else np.zeros(len(ann.sample), int)
    for x, sym, st in zip(ann.sample, ann.symbol, sub, strict=True):
        if sym == NOISE_SYMBOL:
            if st != NOISE_CLEAN and open_at is None:
                open_at = int(x)
            elif st == NOISE_CLEAN and open_at is not None:
                spans.append((open_at, int(x)))
                open_at = None
        elif sym == ARTEFACT:
            samples.append(int(x))
            labels.append(ARTEFACT)
        elif sym in SYMBOL_TO_CLASS:
            samples.append(int(x))
            labels.append(SYMBOL_TO_CLASS[sym])
    if open_at is not None:
        spans.append((open_at, int(ann.sample[-1]) + 1))
    return np.array(samples, dtype=np.int64), np.array(labels, dtype="<U1"), spans
