"""Wave delineation in the viewer: boundary marks, the per-beat table, the headline, the delineator choice.

The window tests run the bundled delineation network on real PTB-XL records and check
what is drawn against the delineation it produced (never against fixed predictions);
the panel tests use a delineation built by hand with :func:`assign_beats`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgviewer.core.delineation import POINTS, Wave, assign_beats, record_intervals
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.gui.actions import DELINEATOR_CHOICES
from ecgviewer.gui.beat_table import COLUMNS, BeatTable
from ecgviewer.gui.measurements_panel import HIGHLIGHT_BG, MeasurementsPanel
from ecgviewer.gui.median_beat_view import MedianBeatView, ms_to_mm
from ecgviewer.gui.settings import ViewerSettings
from ecgviewer.inference.delineation import DelineationResult
from ecgviewer.layout.boundaries import lead_boundaries, median_boundaries_ms
from ecgviewer.resources import checkpoints_dir, default_checkpoint
from tests.gui.test_analysis_panel import make_classical, make_result

TIMEOUT_MS = 120_000
FS = 500.0

pytestmark = pytest.mark.gui


# -- a delineation by hand ------------------------------------------------------------------------
def hand_delineation(with_p: bool = False, n_beats: int = 8) -> DelineationResult:
    """Two leads, one beat every 400 samples (75 bpm at 500 Hz): QRS 40 samples (80 ms), QT 220
    samples (440 ms); P waves (PR 160 ms) only ``with_p``. Lead V1 misses the T wave of beat 3."""
    r = np.arange(1, n_beats + 1) * 400
    leads = []
    for lead in ("II", "V1"):
        waves = []
        for k, rp in enumerate(r):
            if with_p:
                waves.append(Wave("P", int(rp - 120), int(rp - 70), 0.9))
            waves.append(Wave("QRS", int(rp - 40), int(rp), 0.95))
            if not (lead == "V1" and k == 3):
                waves.append(Wave("T", int(rp + 60), int(rp + 180), 0.8))
        leads.append(sorted(waves, key=lambda w: w.onset))
    d = assign_beats(leads, r, FS, ("II", "V1"), method="hand")
    return DelineationResult(d, record_intervals(d), "hand", 0.01)


def test_lead_boundaries_own_and_consensus():
    d = hand_delineation().delineation
    pts, own = lead_boundaries(d, "V1")
    t_off = POINTS.index("t_off")
    assert not own[3, t_off] and pts[3, t_off] == d.consensus[3, t_off]  # V1's T wave missing: consensus
    assert own[0].sum() == 4  # QRS on/off, T on/off of its own; no P anywhere
    pts, own = lead_boundaries(d, "aVR")  # not delineated: consensus everywhere
    assert not own.any() and np.array_equal(np.isfinite(pts), np.isfinite(d.consensus))
    med = median_boundaries_ms(d)
    assert med["qrs_on"] == pytest.approx(-80.0) and med["t_off"] == pytest.approx(360.0)
    assert "p_on" not in med


# -- the measurements panel -------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot):
    p = MeasurementsPanel()
    qtbot.addWidget(p)
    p.resize(420, 760)
    return p


def test_headline_from_the_delineation_with_spread_confidence_and_absent_reason(panel):
    result = hand_delineation(with_p=False)
    panel.set_classical(make_classical(hr=60.0, pr=150.0, qrs=90.0, qt=400.0))
    panel.set_prediction(make_result(hr=75.0, pr=150.0, qrs=120.0, qt=436.0, trained=True))
    panel.set_delineation(result)
    iv = result.intervals
    hr, qrs, qt, pr = (panel.row_texts(k) for k in ("hr_bpm", "qrs_ms", "qt_ms", "pr_ms"))
    assert hr["waves"] == f"{iv['hr_bpm'].value:.0f} bpm" == "75 bpm"
    assert qrs["waves"] == "80 ms" and qt["waves"] == f"{iv['qt_ms'].value:.0f} ms"
    assert qrs["confidence"] == f"{100 * iv['qrs_ms'].confidence:.0f}%"
    assert qt["spread"] == f"±{iv['qt_ms'].spread:.0f}"
    # no P waves: no PR, and the reason is said (tooltip and the note under the table)
    assert pr["waves"] == "—" and pr["confidence"] == ""
    assert "no P wave" in panel.table.item(2, 1).toolTip()
    assert not panel.absent_label.isHidden() and "PR —" in panel.absent_label.text()
    assert "no P wave found before most QRS complexes" in panel.absent_label.text()
    # flagged against the headline: classical HR 60 (vs 75), QRS model 120 (vs 80), QT classical 400
    assert panel.table.disagreements("hr_bpm") == [("classical", pytest.approx(-15.0))]
    assert [s for s, _ in panel.table.disagreements("qrs_ms")] == ["model"]
    assert [s for s, _ in panel.table.disagreements("qt_ms")] == ["classical"]  # model 436: within 20 ms
    assert panel.table.item(3, 5).background().color().name() == HIGHLIGHT_BG  # model QRS cell
    assert "delineation's headline by +40 ms" in panel.table.item(3, 5).toolTip()
    assert not panel.is_highlighted("pr_ms")  # no headline: model and classical agree (150 / 150)
    assert "Waves <b>hand</b>" in panel.info_label.text()
    panel.set_delineation(None, "record too short to delineate")
    assert panel.row_texts("qrs_ms")["waves"] == "—" and "Waves: failed" in panel.info_label.text()
    assert panel.is_highlighted("qrs_ms")  # model vs classical again: 120 vs 90


def test_median_beat_shows_the_delineation_boundaries(qtbot, ptbxl_dir):
    from ecgviewer.core.beats import analyze_beats

    view = MedianBeatView()
    qtbot.addWidget(view)
    view.set_analysis(analyze_beats(read_record(ptbxl_dir / "00001_hr.hea")))
    view.set_prediction(make_result())
    assert view.span_source == "model"
    view.set_delineation(hand_delineation(with_p=True))
    assert view.span_source == "delineation"
    spans = view.spans()
    assert spans["QRS"][1] - spans["QRS"][0] == pytest.approx(ms_to_mm(80.0))
    assert spans["PR"][1] - spans["PR"][0] == pytest.approx(ms_to_mm(160.0))
    assert spans["QT"][1] - spans["QT"][0] == pytest.approx(ms_to_mm(440.0))
    assert view.boundaries()["qrs_on"] == pytest.approx(ms_to_mm(-80.0))
    assert set(view.boundaries()) == set(POINTS)
    view.set_delineation(None)
    assert view.span_source == "model"


def test_beat_table_lists_beats_blank_where_absent(qtbot):
    table = BeatTable()
    qtbot.addWidget(table)
    d = hand_delineation().delineation
    table.set_delineation(d)
    assert table.row_count() == d.n_beats
    first, fourth = table.row_texts(0), table.row_texts(3)
    assert first["time_s"] == "0.800" and first["rr_ms"] == "" and first["pr_ms"] == ""
    assert fourth["rr_ms"] == "800" and fourth["qrs_ms"] == "80" and fourth["qt_ms"] == "440"
    assert fourth["qtc_ms"] == f"{440 / math.sqrt(0.8):.0f}"
    with qtbot.waitSignal(table.beatActivated) as got:
        table.select_row(5)
    assert got.args == [5, pytest.approx(4.8)]  # R peaks every 0.8 s from 0.8 s
    table.set_delineation(None, "Beats: withheld (no measurable ECG)")
    assert table.row_count() == 0 and "withheld" in table.info_label.text()


# -- in the window, with the bundled network --------------------------------------------------------
def _analysed(window, qtbot, open_action):
    """Run ``open_action`` and wait until the analysis with its delineation is published."""
    c = window.analysis.controller

    def done():
        a = c.analysis
        return not c.is_busy and a is not None and a.delineation is not None and a.record is window.record

    open_action()
    qtbot.waitUntil(done, timeout=TIMEOUT_MS)
    return c.analysis.delineation.delineation


def _expected_marks(d, seg):
    pts, own = lead_boundaries(d, seg.lead)
    t = pts / d.fs_hz
    inside = np.isfinite(t) & (t >= seg.t_start_s) & (t < seg.t_stop_s)
    return int(inside.sum()), int((inside & own).sum())


def _check_marks(window, d):
    items = window.analysis.waves.marks.items()
    layout = window.view.layout
    drawn = {(s.row, s.column) for s, _ in items}
    for seg in layout.segments:
        n, n_own = _expected_marks(d, seg)
        assert ((seg.row, seg.column) in drawn) == (n > 0), seg.lead
    for seg, item in items:
        n, n_own = _expected_marks(d, seg)
        assert item.count() == n and item.count(own=True) == n_own, seg.lead
        xs = item.marks()["qrs_on"][0]
        t = (xs - seg.x_start_mm) / layout.speed_mm_per_s + seg.t_start_s
        assert np.all((t >= seg.t_start_s - 1e-9) & (t < seg.t_stop_s))
    return items


def test_marks_on_every_lead_follow_layout_page_and_toggle(window, qtbot, ptbxl_dir):
    window.analysis.set_classifier(None)
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    long = EcgRecord(np.concatenate([rec.signals, rec.signals, rec.signals[:, :2500]], axis=1), rec.fs_hz,
                     rec.lead_names, rec.units)  # fmt: skip
    d = _analysed(window, qtbot, lambda: window.show_record(long))
    assert d.n_beats > 20 and len(d.leads) == 12
    items = _check_marks(window, d)
    assert len(items) == 13  # 12 leads and the rhythm strip of the 3x4 page
    assert sum(item.count() for _, item in items) > 13 * 6 * 3
    window.page(1)
    assert window.view.page_start_s == 10.0
    items = _check_marks(window, d)
    assert min(s.t_start_s for s, _ in items) >= 10.0
    window.set_layout("12x1")
    assert len(_check_marks(window, d)) == 12
    # the median beat shows the delineation's boundaries
    median = window.analysis.panel.median_view
    assert median.span_source == "delineation"
    expected = median_boundaries_ms(d)
    assert median.boundaries() == pytest.approx({k: ms_to_mm(v) for k, v in expected.items()})
    # View > Show wave boundaries hides them (and is remembered)
    window.action("show_boundaries").trigger()
    assert not window.settings.show_boundaries
    assert all(not item.isVisible() for _, item in window.analysis.waves.marks.items())
    window.set_layout("3x4")  # rebuilt while hidden: still hidden
    assert all(not item.isVisible() for _, item in window.analysis.waves.marks.items())
    window.action("show_boundaries").trigger()
    assert all(item.isVisible() for _, item in window.analysis.waves.marks.items())
    assert ViewerSettings().show_boundaries


def test_beat_table_row_click_goes_to_the_beat(window, qtbot, ptbxl_dir):
    from PySide6.QtCore import Qt

    window.analysis.set_classifier(None)
    rec = read_record(ptbxl_dir / "00004_hr.hea")
    long = EcgRecord(np.concatenate([rec.signals, rec.signals], axis=1), rec.fs_hz, rec.lead_names, rec.units)
    d = _analysed(window, qtbot, lambda: window.show_record(long))
    waves = window.analysis.waves
    table = waves.table
    assert table.row_count() == d.n_beats
    iv = d.beat_intervals()
    for r in range(d.n_beats):
        texts = table.row_texts(r)
        for key in ("pr_ms", "qrs_ms", "qt_ms"):
            v = iv[key][r]
            assert texts[key] == ("" if not np.isfinite(v) else f"{v:.0f}")
    waves.dock.raise_()
    window.zoom(3.0)
    k = d.n_beats - 2  # on the second page
    t = d.r_peaks[k] / d.fs_hz
    assert t > 10.0
    table.table.scrollToItem(table.table.item(k, 0))
    cell = table.table.visualItemRect(table.table.item(k, 0)).center()
    qtbot.mouseClick(table.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert waves.selected == k
    assert window.view.page_start_s == 10.0
    (x0, x1), _ = window.view.vb.viewRange()
    assert (x0 + x1) / 2 == pytest.approx(window.view.layout.x_at(t), abs=0.5)
    assert waves.band.isVisible()
    band = waves.band.rect()
    assert band.left() < window.view.layout.x_at(t) < band.right()
    assert [h for h, _ in COLUMNS][:3] == ["#", "Time (s)", "RR"]


def test_delineator_choice_is_listed_kept_and_reruns_only_the_delineation(window, qtbot, sample_path):
    bundled = default_checkpoint("delineation")
    assert bundled in [name for _, name in DELINEATOR_CHOICES]
    assert window.action(f"delineator_{bundled}").isChecked()
    window.analysis.set_classifier(None)
    _analysed(window, qtbot, lambda: window.open_file(sample_path))
    c = window.analysis.controller
    before = c.analysis
    path = str(checkpoints_dir() / f"{bundled}.safetensors")
    window.analysis.waves.file_dialog = lambda parent: path
    stages = []
    c._channel.progress.connect(lambda e: stages.append(getattr(e, "stage", None)))
    window.action("load_delineator").trigger()
    assert c.delineator == path and ViewerSettings().delineator == path
    assert not window.action(f"delineator_{bundled}").isChecked()  # a file: no bundled one checked
    qtbot.waitUntil(lambda: not c.is_busy and c.analysis.delineation is not None, timeout=TIMEOUT_MS)
    after = c.analysis
    assert set(stages) - {None} == {"delineation"}
    assert after.prediction is before.prediction and after.classical is before.classical
    assert after.delineation is not before.delineation
    assert after.delineation.model_name == before.delineation.model_name == bundled
    window.action(f"delineator_{bundled}").trigger()
    assert ViewerSettings().delineator == bundled and c.delineator == bundled


def test_a_flat_lead_gets_no_marks(window, qtbot, ptbxl_dir):
    window.analysis.set_classifier(None)
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    signals = rec.signals.copy()
    signals[rec.lead_names.index("V3")] = 0.0
    flat = EcgRecord(signals, rec.fs_hz, rec.lead_names, rec.units)
    d = _analysed(window, qtbot, lambda: window.show_record(flat))
    assert "V3" not in d.leads and window.analysis.controller.analysis.delineation.withheld == ("V3",)
    leads = {seg.lead for seg, _ in window.analysis.waves.marks.items()}
    assert "V3" not in leads and {"V2", "V4", "II"} <= leads
