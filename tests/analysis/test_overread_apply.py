"""``analysis.overread.apply_overread``: the over-read in a ``RecordAnalysis`` and its document (no network).

The record is the bundled sample; its delineation is made by hand from wave lists (QRS 40 ms either
side of each R peak, T offset 360 ms after it), so the edited values can be worked out exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.analysis.overread import (
    apply_overread,
    report_arguments,
    sidecar_changed,
    sidecar_possible,
    sidecar_stamp,
)
from ecgviewer.analysis.pipeline import RecordAnalysis
from ecgviewer.core.beat_pass import BeatPassResult
from ecgviewer.core.delineation import Wave, assign_beats, record_intervals
from ecgviewer.core.overread import (
    ArtefactSpan,
    BeatDeleted,
    BeatLabelEdit,
    BoundaryEdit,
    OverRead,
)
from ecgviewer.core.readers import read_record
from ecgviewer.core.sidecar import record_identity, save_sidecar
from ecgviewer.inference.delineation import DelineationResult
from ecgviewer.report.measurements import csv_text

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))
READER = "Dr B"


@pytest.fixture(scope="module")
def analysis(sample_path: Path) -> RecordAnalysis:
    record = read_record(sample_path)
    fs = record.fs_hz
    r_peaks = np.arange(round(0.5 * fs), record.n_samples - round(0.6 * fs), round(0.8 * fs))
    waves = [
        [
            w
            for r in r_peaks
            for w in (Wave("QRS", int(r) - 20, int(r) + 20, 0.9), Wave("T", int(r) + 60, int(r) + 180, 0.8))
        ]
        for _ in range(3)
    ]
    d = assign_beats(waves, r_peaks, fs, tuple(record.lead_names[:3]), method="hand_made")
    return RecordAnalysis(record, delineation=DelineationResult(d, record_intervals(d), "hand_made", 0.0))


def _doc(a: RecordAnalysis) -> dict:
    doc = json.loads(json.dumps(a.document()))
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_beat_edits_change_the_beats_and_say_so(analysis: RecordAnalysis) -> None:
    d = analysis.delineation.delineation
    r = d.r_peaks
    fs = d.fs_hz
    beats = BeatPassResult(fs, r.copy(), np.array(["N"] * r.size), method="beatnet")
    edits = (
        BoundaryEdit(int(r[2]), "t_off", int(r[2]) + 200, by=READER),  # one beat's T offset, every lead
        BeatDeleted(int(r[4]) + 3, by=READER),
        BeatLabelEdit(int(r[5]), "V", by=READER),
        BeatLabelEdit(int(r[6]), "|", by=READER),  # not a beat
        ArtefactSpan(r[8] / fs - 0.1, r[8] / fs + 0.1, by=READER),
        BeatLabelEdit(int(r[4]), "S", by=READER),  # the beat is gone: unapplied, listed
    )
    edited = apply_overread(analysis, OverRead(READER, edits), beats=beats)
    assert edited.overread_applied and edited.delineation is analysis.delineation  # computed: untouched
    doc, plain = _doc(edited), _doc(analysis)
    assert plain["over_read"] is None and plain["delineation"]["n_edited"] == 0
    sec = doc["delineation"]
    kept = [b["r_sample"] for b in sec["beats"]]
    assert kept == [int(x) for x in r if x not in (r[4], r[6], r[8])]
    assert [b["r_sample"] for b in sec["beats"] if b.get("edited")] == [int(r[2])] and sec["n_edited"] == 1
    beat2 = next(b for b in sec["beats"] if b["r_sample"] == r[2])
    assert beat2["consensus"]["t_off"]["sample"] == int(r[2]) + 200
    assert beat2["qt_ms"] == pytest.approx(220 * 1000 / fs)
    values = doc["intervals"]["values"]
    for key in ("rr_ms", "hr_bpm", "qt_ms", "qrs_ms"):  # the beat set changed: every value rests on edits
        assert values[key]["provenance"]["source"] == "edited" and values[key]["provenance"]["by"] == READER
    assert (
        values["qt_ms"]["value"] == plain["intervals"]["values"]["qt_ms"]["value"]
    )  # one beat: median holds
    o = doc["over_read"]
    assert o["counts"] == {
        "boundary": 1,
        "beat_label": 3,
        "beat_added": 0,
        "beat_deleted": 1,
        "artefact": 1,
        "statement": 0,
        "interpretation": 0,
    }
    assert len(o["unapplied"]) == 1 and o["unapplied"][0]["edit"]["label"] == "S"
    assert o["beats"]["counts"]["V"] == 1 and o["beats"]["counts"]["|"] == 1
    assert o["beats"]["excluded_in_artefact"] == 1 and o["beats"]["relabelled"] == 2
    assert o["beats"]["n_beats"] == r.size - 3 and o["statements"] == {
        "confirmed": [],
        "rejected": [],
        "proposed_unreviewed": [],
    }
    # the PDF's arguments carry the edited delineation and the section
    args = report_arguments(edited)
    assert args["delineation"].delineation.n_beats == len(kept) and args["over_read"]["applied"]
    # CSV: the edited values' sources
    assert "edited,edited" in csv_text([doc]).splitlines()[1]


def test_not_applied_and_removed(analysis: RecordAnalysis) -> None:
    r = analysis.delineation.delineation.r_peaks
    o = OverRead(READER, (BoundaryEdit("median", "t_off", 300, by=READER),))
    changed = apply_overread(analysis, o, status="record changed")
    doc = _doc(changed)
    assert doc["over_read"]["applied"] is False and "not applied" in doc["over_read"]["message"]
    assert doc["intervals"] == _doc(analysis)["intervals"]
    assert changed.effective_delineation is analysis.delineation
    applied = apply_overread(analysis, o)
    assert applied.effective_delineation.intervals["qt_ms"].value == pytest.approx((300 + 20) * 2.0)
    removed = apply_overread(applied, None)  # no over-read any more: the computed analysis again
    assert removed.effective_delineation is analysis.delineation and _doc(removed)["over_read"] is None
    assert _doc(removed)["intervals"] == _doc(analysis)["intervals"]
    assert r.size > 5
    with pytest.raises(ValueError):
        apply_overread(analysis, o, status="maybe")


def test_sidecar_stamp_sees_a_new_or_changed_sidecar(sample_path: Path, tmp_path: Path) -> None:
    hea = tmp_path / sample_path.name
    hea.write_bytes(sample_path.read_bytes())
    hea.with_suffix(".dat").write_bytes(sample_path.with_suffix(".dat").read_bytes())
    ident = record_identity(read_record(hea), hea)
    user = tmp_path / "user"
    stamp = sidecar_stamp(hea, ident.sha256, user)
    assert stamp["beside"] is None and stamp["user"] is None and not sidecar_changed(stamp, hea, user)
    save_sidecar(OverRead(READER, (BeatDeleted(500, by=READER),)), ident, hea, user_dir=user)
    assert sidecar_changed(stamp, hea, user)
    stamp = sidecar_stamp(hea, ident.sha256, user)
    assert not sidecar_changed(stamp, hea, user)
    assert sidecar_changed(None, hea, user) and sidecar_changed("ignored", hea, user)
    # not hashed because none could exist: changed as soon as one can
    other, empty = tmp_path / "other" / hea.name, tmp_path / "empty"  # a copy with no sidecar beside it
    other.parent.mkdir()
    other.write_bytes(hea.read_bytes())
    unhashed = sidecar_stamp(other, None, empty)
    assert not sidecar_possible(other, empty) and not sidecar_changed(unhashed, other, empty)
    empty.mkdir()
    (empty / f"{'0' * 64}.json").write_text("{}", encoding="utf-8")  # some over-read in the user folder
    assert sidecar_possible(other, empty) and sidecar_changed(unhashed, other, empty)
