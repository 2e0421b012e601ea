"""The PDF report: pages, true-scale grid (from the PDF's own drawing coordinates), content, size, speed."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.beats import analyze_beats
from ecgviewer.core.readers import read_record
from ecgviewer.core.record import VendorMeasurements
from ecgviewer.inference.predictor import Predictor
from ecgviewer.layout import paper as ecg_layout
from ecgviewer.report.pdf import GRID_MAJOR, GRID_MINOR, ReportOptions, render_report, render_report_bytes
from tests.tools import require_tool

MM_PER_PT = 25.4 / 72.0


@pytest.fixture(scope="module")
def analysed(ptbxl_dir: Path):
    record = read_record(ptbxl_dir / "00011_hr.hea")
    prediction = Predictor("resnet1d", device="cpu").predict(record)
    return record, prediction, analyze_beats(record)


def _streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def _rgb(hex_color: str) -> tuple[float, float, float]:
    return tuple(int(hex_color[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def stroked_segments(
    pdf: bytes,
) -> list[tuple[tuple[float, float, float], float, float, float, float, float]]:
    """``(stroke_rgb, pt_per_unit, x0, y0, x1, y1)`` of every two-point path in the page content.

    A small interpreter of the operators Qt's PDF engine writes: ``q``/``Q``
    (save/restore), ``cm`` (scale of the current transformation, axis-aligned
    here), ``SCN`` (stroke colour), ``m``/``l`` (path).
    """
    segs = []
    for s in _streams(pdf):
        if b" cm" not in s:
            continue
        stack: list[tuple[float, tuple[float, ...]]] = []
        scale, color = 1.0, (0.0, 0.0, 0.0)
        start = None
        for line in s.decode("latin-1").splitlines():
            tok = line.split()
            if not tok:
                continue
            op = tok[-1]
            if op == "q":
                stack.append((scale, color))
            elif op == "Q" and stack:
                scale, color = stack.pop()
            elif op == "cm" and len(tok) == 7:
                scale *= abs(float(tok[0]))
            elif op == "SCN" and len(tok) == 4:
                color = tuple(round(float(v), 3) for v in tok[:3])
            elif op == "m" and len(tok) == 3:
                start = (float(tok[0]), float(tok[1]))
            elif op == "l" and len(tok) == 3 and start is not None:
                segs.append((color, scale, start[0], start[1], float(tok[0]), float(tok[1])))
                start = None
    return segs


def test_grid_is_one_millimetre_at_actual_size(analysed) -> None:
    record, prediction, classical = analysed
    pdf, info = render_report_bytes(record, prediction, classical, ReportOptions())
    assert pdf.startswith(b"%PDF") and info.n_pages == 1
    media = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert media is not None
    assert float(media.group(1)) * MM_PER_PT == pytest.approx(
        297.0, abs=0.2
    )  # A4 landscape (Qt rounds to whole points)
    assert float(media.group(2)) * MM_PER_PT == pytest.approx(210.0, abs=0.2)
    minor = tuple(round(v, 3) for v in _rgb(GRID_MINOR))
    major = tuple(round(v, 3) for v in _rgb(GRID_MAJOR))
    segs = stroked_segments(pdf)
    for color, step in ((minor, 1.0), (major, 5.0)):
        lines = [s for s in segs if s[0] == color]
        assert len(lines) > 100
        for _c, scale, *_ in lines:  # one drawing unit of the grid is exactly 1 mm of paper
            assert scale * MM_PER_PT == pytest.approx(1.0, rel=1e-6)
        # group the lines of each grid (the ECG and the median-beat panel) by their common extent
        groups: dict[tuple, list[float]] = {}
        for _c, _scale, x0, y0, x1, y1 in lines:
            if x0 == x1:
                groups.setdefault(("v", round(y0, 3), round(y1, 3)), []).append(round(x0, 4))
            elif y0 == y1:
                groups.setdefault(("h", round(x0, 3), round(x1, 3)), []).append(round(y0, 4))
        assert len(groups) == 4  # vertical and horizontal lines of two grids
        for coords in groups.values():
            gaps = np.unique(np.round(np.diff(np.unique(coords)), 4))
            assert gaps.min() == pytest.approx(step)
            # minor lines leave out the major positions: gaps of 1 and 2 mm; major lines: 5 mm
            assert set(gaps) <= ({1.0, 2.0} if step == 1.0 else {5.0})
    # the ECG grid itself spans the whole grid rectangle the renderer reports, in whole mm
    _left, _top, width, height = info.grid_rect_mm
    assert width % 5 == 0 and height % 5 == 0
    assert info.row_pitch_mm >= ecg_layout.row_height_for_gain(10.0)


def test_pages_layouts_and_pdftoppm(analysed, shared_data: Path, tmp_path: Path) -> None:
    record, prediction, classical = analysed
    out = tmp_path / "report.pdf"
    info = render_report(out, record, prediction, classical, ReportOptions(layout="6x2", paper="Letter"))
    assert info.n_pages == 1 and info.page_size_mm == (279.4, 215.9)
    assert sorted(set(info.leads_drawn)) == sorted(record.display_leads)
    long_rec = read_record(shared_data / "wfdb-samples" / "s0010_re.hea")  # 38.4 s
    long_pdf = tmp_path / "long.pdf"
    info_long = render_report(long_pdf, long_rec, None, None, ReportOptions(layout="12x1", max_pages=9))
    assert info_long.n_pages == 4 and info_long.page_starts_s == (0.0, 10.0, 20.0, 30.0)
    assert long_pdf.read_bytes().count(b"/Type /Page\n") + long_pdf.read_bytes().count(b"/Type /Page ") >= 4
    pdftoppm = require_tool("pdftoppm", "rendering")
    for pdf, pages in ((out, 1), (long_pdf, 4)):
        subprocess.run([pdftoppm, "-png", "-r", "30", str(pdf), str(tmp_path / pdf.stem)], check=True)
        assert len(list(tmp_path.glob(f"{pdf.stem}-*.png"))) == pages


def test_text_content_with_device_column(analysed, tmp_path: Path) -> None:
    record, prediction, classical = analysed
    vendor = VendorMeasurements("GE MUSE (12SL)", {"hr_bpm": 61.0, "pr_ms": 152.0, "qtc_ms": 431.0})
    rec = dataclasses.replace(record, vendor_measurements=vendor, metadata={**record.metadata, "age": "63"})
    out = tmp_path / "vendor.pdf"
    render_report(out, rec, prediction, classical, ReportOptions(filters="HP 0.5 Hz, LP 40 Hz"))
    pdftotext = require_tool("pdftotext", "text")
    text = subprocess.run([pdftotext, "-layout", str(out), "-"], capture_output=True, text=True).stdout
    for needle in (
        "Device",
        "GE MUSE (12SL)",
        "152 ms",  # the device's PR
        "QTc 431 ms",
        "QTc Bazett",
        "QTc Fridericia",
        "Classical",
        "Not for diagnostic use",
        "HP 0.5 Hz, LP 40 Hz",
        "25 mm/s",
        "10 mm/mV",
        "Age:",
        "00011_hr",
        f"{prediction['qrs_ms'].value:.0f} ms",
        "resnet1d",
        "Median beat II",
    ):
        assert needle in text, needle
    # the banner of an untrained checkpoint is on the page exactly when it applies
    assert ("UNTRAINED PLACEHOLDER" in text) == (prediction.display_warning is not None)


def test_size_and_speed(analysed) -> None:
    record, prediction, classical = analysed
    for layout in ("3x4", "6x2", "12x1"):
        pdf, info = render_report_bytes(record, prediction, classical, ReportOptions(layout=layout))
        assert len(pdf) < 300_000, (layout, len(pdf))  # a few hundred KB at most per page
    assert info.elapsed_s < 1.0  # a warm render (Qt and fonts loaded) of one page


def test_6x2_layout_shares_the_layout_module() -> None:
    available = {
        n: (False, "mV") for n in ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    }
    lay = ecg_layout.layout_6x2(available, 10.0, 25.0, 10.0)
    assert lay.n_rows == 7
    cells = {(s.row, s.column): s.lead for s in lay.segments}
    assert cells[(0, 0)] == "I" and cells[(5, 0)] == "aVF" and cells[(0, 1)] == "V1" and cells[(6, 0)] == "II"
    v1 = next(s for s in lay.segments if s.lead == "V1")
    assert (v1.t_start_s, v1.t_stop_s) == (5.0, 10.0)
    assert v1.x_start_mm == pytest.approx(lay.x_at(5.0))
    loc = lay.locate(v1.x_start_mm + 25.0, v1.baseline_mm + 10.0)  # 1 s into V1's column, 1 mV up
    assert loc.lead == "V1" and loc.t_s == pytest.approx(6.0) and loc.value == pytest.approx(1.0)


def test_patient_fields_only_when_asked(shared_data: Path) -> None:
    """The report prints the file's patient fields by default and leaves them out when asked."""
    from ecgviewer.core.readers import read_record
    from ecgviewer.report.pdf import header_fields

    record = read_record(shared_data / "formats" / "ge-muse-xml" / "muse-sinus.xml")
    name = record.metadata["patient name"]
    shown = dict(header_fields(record))
    assert shown["Patient name"] == name
    hidden = header_fields(record, include_patient=False)
    assert all(name not in value for _, value in hidden)
    assert not any(label.lower() in ("patient name", "patient id", "birth date") for label, _ in hidden)
    n_hidden = len(shown) - len(hidden) + 1  # the one "Patient" line replaces them
    assert dict(hidden)["Patient"] == f"{n_hidden} field(s) in the file not printed"
    assert dict(hidden)["Device"] == shown["Device"]  # record fields stay


def test_options_offer_the_paper_choices_of_every_surface() -> None:
    from ecgviewer.layout import choices

    default = ReportOptions()
    assert (default.paper, default.layout, default.speed_mm_per_s, default.gain_mm_per_mv) == (
        choices.DEFAULT_PAPER, choices.DEFAULT_LAYOUT, choices.DEFAULT_SPEED_MM_PER_S,
        choices.DEFAULT_GAIN_MM_PER_MV,
    )  # fmt: skip
    for paper in choices.PAPER_NAMES:
        for layout in choices.LAYOUT_NAMES:
            for speed in choices.SPEEDS_MM_PER_S:
                for gain in choices.GAINS_MM_PER_MV:
                    ReportOptions(paper=paper, layout=layout, speed_mm_per_s=speed, gain_mm_per_mv=gain)
    for bad in ({"paper": "A3"}, {"layout": "4x3"}, {"speed_mm_per_s": 12.5}, {"gain_mm_per_mv": 7.0},
                {"max_pages": 0}):  # fmt: skip
        with pytest.raises(ValueError):
            ReportOptions(**bad)
