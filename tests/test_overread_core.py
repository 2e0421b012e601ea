"""Over-read edits (ecgviewer.core.overread) on hand-built beats: intervals recomputed exactly,
deleted marks absent with their reason, artefact spans, beats addressed by their R peak."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from ecgviewer.core.delineation import Wave, assign_beats, record_intervals
from ecgviewer.core.overread import (
    ARTEFACT,
    MEDIAN,
    ArtefactSpan,
    BeatAdded,
    BeatDeleted,
    BeatLabelEdit,
    BoundaryEdit,
    Interpretation,
    OverRead,
    StatementEdit,
    apply_to_beats,
    apply_to_delineation,
    apply_to_statements,
    edit_from_dict,
    median_beat_points,
)

FS = 500.0  # 2 ms per sample
R = [1000, 1500, 2000, 2500, 3000]  # RR 1000 ms
LEADS = ("I", "II", "V1")
DELTA = {"I": 0, "II": 2, "V1": 4}  # per lead: QRS onset later, T end earlier by this many samples
ME = "Dr A"


def _delineation():
    """Per lead PR 120/124/128 ms, QRS 160/156/152 ms, QT 580/572/564 ms -> record 124, 156, 572."""
    waves = []
    for lead in LEADS:
        k = DELTA[lead]
        w = []
        for r in R:
            w += [
                Wave("P", r - 100, r - 60),
                Wave("QRS", r - 40 + k, r + 40),
                Wave("T", r + 100, r + 250 - k),
            ]
        waves.append(w)
    return assign_beats(waves, np.array(R), FS, LEADS, method="hand")


def _values(ed) -> dict[str, float | None]:
    return {k: v.value for k, v in ed.intervals.items()}


def test_no_edits_is_the_computed_delineation():
    d = _delineation()
    ed = apply_to_delineation(d, [])
    assert _values(ed) == {k: v.value for k, v in record_intervals(d).items()}
    assert _values(ed) == {"rr_ms": 1000.0, "hr_bpm": 60.0, "pr_ms": 124.0, "qrs_ms": 156.0, "qt_ms": 572.0}
    assert all(p["source"] == "computed" for p in ed.provenance.values())
    assert ed.provenance["pr_ms"]["method"] == "hand"
    assert ed.point_provenance(1500, "p_on") == {"source": "computed", "method": "hand"}


def test_moved_p_onsets_recompute_pr_exactly():
    # P onset 10 samples earlier, on every lead, in 3 of 5 beats: per lead the median PR is +20 ms
    edits = [BoundaryEdit(r, "p_on", r - 110, by=ME) for r in R[:3]]
    ed = apply_to_delineation(_delineation(), edits)
    assert _values(ed)["pr_ms"] == 144.0
    assert _values(ed)["qrs_ms"] == 156.0 and _values(ed)["qt_ms"] == 572.0
    prov = ed.provenance["pr_ms"]
    assert prov["source"] == "edited" and prov["by"] == ME and prov["edits"] == 3
    assert ed.provenance["qrs_ms"]["source"] == "computed"
    assert ed.point_provenance(1500, "p_on")["source"] == "edited"
    assert ed.point_provenance(1500, "p_on", lead="V1")["by"] == ME
    assert ed.point_provenance(2500, "p_on")["source"] == "computed"
    assert np.all(ed.delineation.point("p_on")[:, :3] == np.array(R[:3]) - 110)


def test_one_lead_edit_moves_that_lead_only():
    # QRS offset of V1 10 samples later on every beat: V1 QRS 152 -> 172 ms; leads 160, 156, 172 -> 160
    edits = [BoundaryEdit(r, "qrs_off", r + 50, lead="V1", by=ME) for r in R]
    ed = apply_to_delineation(_delineation(), edits)
    assert _values(ed)["qrs_ms"] == 160.0
    assert np.all(ed.delineation.point("qrs_off")[0] == np.array(R) + 40)
    assert ed.point_provenance(R[0], "qrs_off", lead="V1")["source"] == "edited"
    assert ed.point_provenance(R[0], "qrs_off", lead="I")["source"] == "computed"
    assert ed.point_provenance(R[0], "qrs_off")["source"] == "edited"  # the consensus moved with it


def test_later_edit_of_the_same_mark_wins():
    edits = [
        BoundaryEdit(1500, "qrs_off", 1600, lead="I", by=ME),
        BoundaryEdit(1500, "qrs_off", 1560, by="Dr B"),  # consensus: every lead, replaces the lead edit
    ]
    ed = apply_to_delineation(_delineation(), edits)
    assert np.all(ed.delineation.point("qrs_off")[:, 1] == 1560)
    assert ed.point_provenance(1500, "qrs_off", lead="I")["by"] == "Dr B"


def test_median_beat_edit_sets_the_record_value():
    d = _delineation()
    med = median_beat_points(d)
    # consensus QRS onset is the median over leads (R-40, R-38, R-36) = R - 38
    assert med.tolist() == [-100.0, -60.0, -38.0, 40.0, 100.0, 248.0]
    ed = apply_to_delineation(d, [BoundaryEdit(MEDIAN, "qrs_off", 45, by=ME)])
    assert _values(ed)["qrs_ms"] == (45 + 38) * 2.0
    assert _values(ed)["pr_ms"] == 124.0 and _values(ed)["qt_ms"] == 572.0  # not resting on QRS offset
    assert ed.provenance["qrs_ms"]["source"] == "edited"
    assert "median beat" in ed.provenance["qrs_ms"]["method"]
    assert ed.provenance["qt_ms"]["source"] == "computed"
    assert ed.median_points[3] == 45.0
    assert ed.point_provenance(MEDIAN, "qrs_off")["by"] == ME
    # moving the median QRS onset moves PR, QRS and QT together
    ed = apply_to_delineation(d, [BoundaryEdit(MEDIAN, "qrs_on", -45, by=ME)])
    assert (_values(ed)["pr_ms"], _values(ed)["qrs_ms"], _values(ed)["qt_ms"]) == (110.0, 170.0, 586.0)


def test_median_p_onset_deleted_makes_pr_absent_with_reason():
    ed = apply_to_delineation(_delineation(), [BoundaryEdit(MEDIAN, "p_on", None, by=ME)])
    pr = ed.intervals["pr_ms"]
    assert pr.value is None and "deleted" in pr.reason and "reader" in pr.reason and "no P wave" in pr.reason
    assert ed.provenance["pr_ms"]["source"] == "edited"
    assert _values(ed)["qrs_ms"] == 156.0


def test_p_onsets_deleted_on_the_beats():
    d = _delineation()
    one = apply_to_delineation(d, [BoundaryEdit(2000, "p_on", None, by=ME)])
    assert _values(one)["pr_ms"] == 124.0  # 4 beats left with a P wave
    assert np.all(np.isnan(one.delineation.point("p_on")[:, 2]))
    every = apply_to_delineation(d, [BoundaryEdit(r, "p_on", None, by=ME) for r in R])
    pr = every.intervals["pr_ms"]
    assert pr.value is None
    assert pr.reason.startswith("P onset deleted by the reader in 5 beats")
    assert every.provenance["pr_ms"]["source"] == "edited"


def test_artefact_span_drops_its_beats_and_the_rr_across_it():
    # 3.9-5.1 s = samples 1950-2550: beats 2000 and 2500 are left out
    span = ArtefactSpan(3.9, 5.1, by=ME)
    ed = apply_to_delineation(_delineation(), [span])
    assert ed.delineation.r_peaks.tolist() == [1000, 1500, 3000]
    assert _values(ed)["rr_ms"] == 1000.0  # 1500 -> 3000 crosses the span: no RR interval
    assert _values(ed)["hr_bpm"] == 60.0
    assert _values(ed)["pr_ms"] == 124.0
    assert ed.provenance["rr_ms"]["source"] == "edited" and ed.beat_edits == (span,)
    assert ed.provenance["qt_ms"]["source"] == "edited"


def test_beats_added_deleted_relabelled_by_sample():
    d = _delineation()
    edits = [
        BeatAdded(3500, "N", by=ME),
        BoundaryEdit(3500, "qrs_on", 3460, by=ME),  # the added beat gets its QRS
        BoundaryEdit(3500, "qrs_off", 3540, by=ME),
        BeatDeleted(1502, by=ME),  # the beat at 1500 (within 50 ms)
        BoundaryEdit(2001, "t_off", 2300, by=ME),  # beat 2000, index 2 before and 1 after the deletion
        BeatLabelEdit(2500, ARTEFACT, by=ME),  # not a beat: out of the delineation
        BeatDeleted(1700, by=ME),  # no beat there
    ]
    ed = apply_to_delineation(d, edits)
    assert ed.delineation.r_peaks.tolist() == [1000, 2000, 3000, 3500]
    assert np.all(ed.delineation.point("t_off")[:, 1] == 2300)
    assert np.all(ed.delineation.point("qrs_on")[:, 3] == 3460)
    assert np.all(np.isnan(ed.delineation.point("p_on")[:, 3]))
    assert [e for e, _ in ed.unapplied] == [edits[-1]]
    assert "no beat within" in ed.unapplied[0][1]
    # RR: 2000, 2000, 1000 ms -> 2000
    assert _values(ed)["rr_ms"] == 2000.0
    # the added beat is measured (160 ms in every lead); per lead [160 x3, 160] [156 x3, 160] [152 x3, 160]
    assert ed.delineation.lead_beat_intervals()["qrs_ms"][:, 3].tolist() == [160.0] * 3
    assert _values(ed)["qrs_ms"] == 156.0
    assert ed.provenance["rr_ms"]["edits"] == 3  # added, deleted, relabelled as artefact


def test_deleted_and_re_added_beat_starts_without_marks():
    edits = [
        BoundaryEdit(1500, "t_off", 1700, by=ME),
        BeatDeleted(1500, by=ME),
        BeatAdded(1500, "N", by=ME),
    ]
    ed = apply_to_delineation(_delineation(), edits)
    assert ed.delineation.r_peaks.tolist() == R
    assert np.all(np.isnan(ed.delineation.points[:, 1, :]))
    assert ed.point_provenance(1500, "t_off")["source"] == "computed"


def test_apply_to_beats():
    samples = np.array(R)
    labels = np.array(["N", "N", "V", "N", "N"])
    edits = [
        BeatLabelEdit(2000, "N", by=ME),
        BeatAdded(1250, "S", by=ME),
        BeatLabelEdit(2503, ARTEFACT, by=ME),
        BeatDeleted(3001, by=ME),
        ArtefactSpan(2.9, 3.1, by=ME),  # samples 1450-1550: beat 1500
        BeatLabelEdit(9000, "V", by=ME),
    ]
    eb = apply_to_beats(samples, labels, edits, FS, method="beatnet")
    assert eb.samples.tolist() == [1000, 1250, 2000, 2500]
    assert eb.labels.tolist() == ["N", "S", "N", ARTEFACT]
    assert eb.excluded.tolist() == [1500]
    assert eb.counts() == {"N": 2, "S": 1, "V": 0, "F": 0, "Q": 0, ARTEFACT: 1}
    s, lab = eb.beats_only()
    assert s.tolist() == [1000, 1250, 2000] and lab.tolist() == ["N", "S", "N"]
    assert np.isnan(eb.rr_ms()[1])  # 1250 -> 2000 crosses the span
    assert eb.rr_ms()[0] == 500.0
    assert eb.provenance(0) == {"source": "computed", "method": "beatnet"}
    assert eb.provenance(eb.index_of(1250))["change"] == "added"
    assert eb.provenance(eb.index_of(2002))["source"] == "edited"
    assert eb.index_of(1800) is None
    assert [e for e, _ in eb.unapplied] == [edits[-1]]
    # the computed beats are untouched
    assert labels.tolist() == ["N", "N", "V", "N", "N"]


def test_added_beat_next_to_an_existing_one_is_unapplied():
    eb = apply_to_beats([1000, 1500], ["N", "N"], [BeatAdded(1010, "V", by=ME)], FS)
    assert eb.samples.tolist() == [1000, 1500] and len(eb.unapplied) == 1


def test_statements_and_interpretation():
    edits = [
        StatementEdit("AFIB", False, by=ME),
        StatementEdit("SR", True, by=ME),
        StatementEdit("AFIB", True, by="Dr B"),  # changed mind: the last one wins
        StatementEdit("LVH", False, by=ME),
        Interpretation("sinus rhythm", by=ME),
        Interpretation("atrial fibrillation, rate controlled", by=ME),
    ]
    st = apply_to_statements({"AFIB": True, "NORM": False, "LVH": True}, edits, method="crnn")
    assert list(st) == ["AFIB", "NORM", "LVH", "SR"]
    assert st["AFIB"].stated and st["AFIB"].provenance["by"] == "Dr B"
    assert not st["NORM"].stated and st["NORM"].provenance == {"source": "computed", "method": "crnn"}
    assert not st["LVH"].stated and st["LVH"].computed is True
    assert st["SR"].stated and st["SR"].computed is None
    o = OverRead(ME, tuple(edits))
    assert o.interpretation == "atrial fibrillation, rate controlled"
    assert o.authors == (ME, "Dr B")
    assert o.without(edits[-1]).interpretation == "sinus rhythm"


def test_edits_round_trip_through_json():
    t = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    edits = (
        BoundaryEdit(1500, "p_on", 1390, lead="II", by=ME, at=t),
        BoundaryEdit(MEDIAN, "t_off", None, by=ME, at=t),
        BeatLabelEdit(2000, "V", by=ME, at=t),
        BeatAdded(3500, "F", by=ME, at=t),
        BeatDeleted(1000, by=ME, at=t),
        ArtefactSpan(1.5, 2.25, by=ME, at=t),
        StatementEdit("LVH", True, by=ME, at=t),
        Interpretation("sinus rhythm\nnormal ECG", by=ME, at=t),
    )
    o = OverRead(ME, edits, models={"delineation": "unet_delineation"}, created=t, modified=t)
    back = OverRead.from_dict(json.loads(json.dumps(o.to_dict())))
    assert back == o
    assert o.to_dict()["edits"][0] == {
        "kind": "boundary",
        "beat": 1500,
        "point": "p_on",
        "sample": 1390,
        "lead": "II",
        "by": ME,
        "at": "2024-05-01T12:30:00+00:00",
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: BoundaryEdit(1500, "p_peak", 1390, by=ME),  # unknown point
        lambda: BoundaryEdit(MEDIAN, "p_on", 3, lead="II", by=ME),  # median marks are consensus
        lambda: BeatLabelEdit(1500, "X", by=ME),
        lambda: ArtefactSpan(2.0, 1.0, by=ME),
        lambda: BeatAdded(100, by=""),  # an edit names its author
        lambda: BeatAdded(100, by=ME, at=dt.datetime(2024, 1, 1)),  # naive time
        lambda: edit_from_dict({"kind": "teleport", "at": "2024-01-01T00:00:00+00:00", "by": ME}),
    ],
)
def test_bad_edits_are_refused(make):
    with pytest.raises((ValueError, TypeError)):
        make()
