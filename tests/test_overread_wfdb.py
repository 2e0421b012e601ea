"""Over-read beats exported as a WFDB annotation file (ecgviewer.core.wfdb_annotations) and read back
with wfdb.rdann, on a copy of MIT-BIH record 208 (30 min, 2 leads, N/V/F/S/Q beats and artefacts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgviewer.core.beat_pass import SYMBOL_TO_CLASS
from ecgviewer.core.overread import (
    ARTEFACT,
    ArtefactSpan,
    BeatAdded,
    BeatDeleted,
    BeatLabelEdit,
    apply_to_beats,
)
from ecgviewer.core.wfdb_annotations import WFDB_SYMBOL, export_wfdb_annotations, read_wfdb_annotations

ME = "Dr A"


@pytest.fixture(scope="module")
def mit208(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mitdb")
    for suffix in (".hea", ".dat", ".atr"):
        shutil.copy(shared_data / "mitdb" / f"208{suffix}", folder)
    return folder / "208.hea"


def _reference(hea: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """The cardiologists' beats of the record as (samples, over-read labels): AAMI classes and '|'."""
    ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if s in SYMBOL_TO_CLASS or s == ARTEFACT]
    labels = [ARTEFACT if ann.symbol[i] == ARTEFACT else SYMBOL_TO_CLASS[ann.symbol[i]] for i in keep]
    return ann.sample[keep].astype(np.int64), np.array(labels), float(ann.fs)


def test_reference_beats_round_trip(mit208: Path):
    samples, labels, fs = _reference(mit208)
    assert {"N", "S", "V", "F", "Q", ARTEFACT} <= set(labels.tolist())
    out = export_wfdb_annotations(mit208, samples, labels, fs)
    assert out == mit208.with_suffix(".ecgv")
    ann = wfdb.rdann(str(mit208.with_suffix("")), "ecgv")
    assert np.array_equal(ann.sample, samples)
    assert ann.symbol == [WFDB_SYMBOL[c] for c in labels]
    assert ann.fs == fs
    s, lab, spans = read_wfdb_annotations(mit208)
    assert np.array_equal(s, samples) and lab.tolist() == labels.tolist() and spans == []
    # the record itself is untouched and still reads with the new annotator beside it
    assert wfdb.rdrecord(str(mit208.with_suffix(""))).p_signal.shape == (650000, 2)


def test_edited_beats_round_trip(mit208: Path):
    samples, labels, fs = _reference(mit208)
    v = int(samples[np.flatnonzero(labels == "V")[10]])
    n = int(samples[np.flatnonzero(labels == "N")[20]])
    first, last = int(samples[0]), int(samples[-1])
    edits = [
        BeatLabelEdit(v, "F", by=ME),
        BeatLabelEdit(n, ARTEFACT, by=ME),
        BeatDeleted(first, by=ME),
        BeatAdded(last + int(0.8 * fs), "Q", by=ME),
        ArtefactSpan(600.0, 612.5, by=ME),
    ]
    eb = apply_to_beats(samples, labels, edits, fs)
    assert not eb.unapplied and eb.excluded.size > 5
    spans = [e.sample_range(fs) for e in edits if isinstance(e, ArtefactSpan)]
    out = export_wfdb_annotations(
        mit208.parent, eb.samples, eb.labels, fs, record_name="208", extension="ovr", artefact_spans=spans
    )
    ann = wfdb.rdann(str(mit208.with_suffix("")), "ovr")
    beats = [i for i, s in enumerate(ann.symbol) if s != "~"]
    assert np.array_equal(ann.sample[beats], eb.samples)
    assert [ann.symbol[i] for i in beats] == [WFDB_SYMBOL[c] for c in eb.labels]
    noise = [i for i, s in enumerate(ann.symbol) if s == "~"]
    assert ann.sample[noise].tolist() == [216000, 220500]
    assert ann.subtype[noise].tolist() == [-1, 0]
    assert ann.symbol[beats[eb.index_of(v)]] == "F" and ann.symbol[beats[eb.index_of(n)]] == "|"
    s, lab, back_spans = read_wfdb_annotations(out.with_name("208.hea"), extension="ovr")
    assert np.array_equal(s, eb.samples) and lab.tolist() == eb.labels.tolist()
    assert back_spans == spans
    assert not list(mit208.parent.glob(".*.tmp"))


def test_bad_labels_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown labels"):
        export_wfdb_annotations(tmp_path, [10], ["X"], 360.0, record_name="r")
    with pytest.raises(ValueError, match="record_name"):
        export_wfdb_annotations(tmp_path, [10], ["N"], 360.0)
    assert not list(tmp_path.iterdir())
