"""The wave delineation in the measurement document (version 4), the CSV row and the PDF report.

A real record through the bundled delineator (its numbers are compared with what the delineator
returned, never with hard-coded values), and a delineation built by hand from wave lists with no P
waves (atrial fibrillation), whose PR must be absent with its reason everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.core.beats import analyze_beats
from ecgviewer.core.delineation import CONVENTION, POINTS, Wave, assign_beats, record_intervals
from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms
from ecgviewer.core.readers import read_record
from ecgviewer.inference.delineation import DelineationResult, Delineator
from ecgviewer.layout.spans import MARKED_POINTS
from ecgviewer.report.measurements import (
    ROWS,
    SCHEMA_VERSION,
    csv_columns,
    csv_text,
    measurement_document,
)
from ecgviewer.report.pdf import WAVE_COLORS, ReportOptions, render_report, render_report_bytes
from tests.report.test_report_pdf import stroked_segments
from tests.tools import require_tool

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "measurements.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def delineated(sample_path: Path):
    """The bundled sample (PTB-XL 00001, 500 Hz, 12 leads) through the bundled delineator, beats the
    classical R peaks (as the pipeline does)."""
    record = read_record(sample_path)
    classical = analyze_beats(record)
    result = Delineator(device="cpu").delineate(record, r_peaks=classical.beats.r_peaks)
    return record, classical, result


def _json(doc: dict) -> dict:
    return json.loads(json.dumps(doc))


def _hand_made_af(record, n_leads: int = 3) -> DelineationResult:
    """Beats every 800 ms with QRS (40 ms either side of R) and T waves, and no P wave anywhere."""
    fs = record.fs_hz
    r_peaks = np.arange(round(0.5 * fs), record.n_samples - round(0.6 * fs), round(0.8 * fs))
    half_qrs, t_on, t_off = round(0.04 * fs), round(0.12 * fs), round(0.36 * fs)
    waves = []
    for lead in range(n_leads):
        w = []
        for r in r_peaks:
            w.append(Wave("QRS", int(r - half_qrs), int(r + half_qrs), 0.9))
            w.append(Wave("T", int(r + t_on), int(r + t_off + lead), 0.8))  # T ends differ per lead
        waves.append(w)
    leads = tuple(record.lead_names[:n_leads])
    d = assign_beats(waves, r_peaks, fs, leads, method="hand_made")
    return DelineationResult(d, record_intervals(d), "hand_made", 0.0)


def test_document_carries_a_real_delineation(delineated, validator) -> None:
    record, classical, result = delineated
    doc = _json(measurement_document(record, None, classical, delineation=result))
    validator.validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION == 5
    head = doc["intervals"]
    assert head["source"] == "delineation" and head["method"] == result.model_name == "unet_delineation"
    assert head["convention"] == CONVENTION and head["reason"] is None
    assert list(head["values"]) == [k for k, _, _ in ROWS]
    for key in ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
        want, got = result.intervals[key], head["values"][key]
        if want.value is None:
            assert got["value"] is None and got["reason"] == want.reason
            continue
        assert got["value"] == pytest.approx(want.value, abs=0.05) and got["reason"] is None
        assert got["n_beats"] == want.n_beats and got["n_leads"] == want.n_leads
        assert (got["spread"] is None) == (want.spread is None)
    qt, rr = result.intervals["qt_ms"].value, result.intervals["rr_ms"].value
    if qt is not None and rr is not None:
        assert head["values"]["qtc_bazett_ms"]["value"] == pytest.approx(qtc_bazett_ms(qt, rr), abs=0.05)
        assert head["values"]["qtc_fridericia_ms"]["value"] == pytest.approx(
            qtc_fridericia_ms(qt, rr), abs=0.05
        )
    # every beat: its R peak, per-beat intervals, consensus and per-lead boundaries as ints
    d = result.delineation
    sec = doc["delineation"]
    assert sec["model"] == "unet_delineation" and sec["fs_hz"] == record.fs_hz
    assert sec["leads"] == list(d.leads) and len(sec["leads"]) == 12 and sec["withheld_leads"] == []
    assert sec["version"] == result.checkpoint_sha256[:12] and sec["trained"] is result.trained
    assert len(sec["beats"]) == sec["n_beats"] == d.n_beats >= 8
    consensus, per_beat = d.consensus, d.beat_intervals()
    for b, beat in enumerate(sec["beats"]):
        assert beat["r_sample"] == int(d.r_peaks[b])
        assert beat["r_time_s"] == pytest.approx(d.r_peaks[b] / record.fs_hz, abs=1e-4)
        for key in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms"):
            want = per_beat[key][b]
            assert (
                (beat[key] is None) if not math.isfinite(want) else beat[key] == pytest.approx(want, abs=0.05)
            )
        for i, name in enumerate(POINTS):
            c = consensus[b, i]
            got = beat["consensus"][name]
            assert (got is None) if not math.isfinite(c) else got["sample"] == round(float(c))
            for li, lead in enumerate(d.leads):
                p = d.points[li, b, i]
                assert beat["leads"][lead][name] == (None if not math.isfinite(p) else round(float(p)))
    # the schema can fail: a boundary that is not a sample index is refused
    doc["delineation"]["beats"][0]["leads"]["II"]["qrs_on"] = 12.5
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_absent_pr_has_its_reason_in_json_and_csv(delineated, validator) -> None:
    record, classical, _ = delineated
    af = _hand_made_af(record)
    doc = _json(measurement_document(record, None, classical, delineation=af))
    validator.validate(doc)
    v = doc["intervals"]["values"]
    assert v["pr_ms"]["value"] is None
    assert v["pr_ms"]["reason"].startswith("no P wave found before most QRS complexes")
    assert v["pr_ms"]["reason"] == af.intervals["pr_ms"].reason  # the core's reason, word for word
    ms = 1000.0 / record.fs_hz
    assert v["qrs_ms"]["value"] == pytest.approx(2 * round(0.04 * record.fs_hz) * ms)
    assert v["qt_ms"]["value"] == pytest.approx(
        (round(0.36 * record.fs_hz) + 1 + round(0.04 * record.fs_hz)) * ms
    )
    assert v["rr_ms"]["value"] == pytest.approx(800.0) and v["hr_bpm"]["value"] == pytest.approx(75.0)
    assert v["qtc_bazett_ms"]["value"] == pytest.approx(qtc_bazett_ms(v["qt_ms"]["value"], 800.0), abs=0.05)
    assert doc["intervals"]["method"] == "hand_made"
    beats = doc["delineation"]["beats"]
    assert beats and all(b["pr_ms"] is None and b["consensus"]["p_on"] is None for b in beats)
    assert all(
        pts["p_on"] is None and pts["qrs_on"] is not None for b in beats for pts in b["leads"].values()
    )
    # the CSV row: headline columns from the delineation, the reason in intervals_note
    [row] = list(csv.DictReader(io.StringIO(csv_text([doc]))))
    assert list(row) == csv_columns()
    assert row["method"] == "hand_made" and row["pr_ms"] == "" and row["pr_ms_spread"] == ""
    assert float(row["qrs_ms"]) == pytest.approx(v["qrs_ms"]["value"])
    assert float(row["qtc_fridericia_ms"]) == pytest.approx(v["qtc_fridericia_ms"]["value"], rel=1e-5)
    assert row["n_beats_delineated"] == str(len(beats))
    assert row["intervals_note"].startswith("pr_ms: no P wave found")
    assert float(row["qrs_ms_classical"]) == pytest.approx(classical.intervals.qrs_ms)  # still there


def test_csv_row_of_a_real_delineation(delineated) -> None:
    record, classical, result = delineated
    doc = _json(measurement_document(record, None, classical, delineation=result))
    [row] = list(csv.DictReader(io.StringIO(csv_text([doc]))))
    assert row["method"] == "unet_delineation" and row["schema_version"] == "5"
    for key, _, _ in ROWS:
        want = doc["intervals"]["values"][key]["value"]
        assert (row[key] == "") if want is None else float(row[key]) == pytest.approx(want, rel=1e-5)
    assert int(row["n_beats_delineated"]) == doc["delineation"]["n_delineated"] > 0
    assert row["model"] == "" and row["qrs_ms_model"] == ""  # no interval model: its columns stay empty


def test_no_delineation_failed_or_withheld(delineated, validator) -> None:
    record, classical, result = delineated
    none = _json(measurement_document(record, None, classical))
    validator.validate(none)
    assert none["delineation"] is None and none["intervals"]["reason"] == "wave delineation not run"
    assert all(v["value"] is None and v["reason"] for v in none["intervals"]["values"].values())
    failed = _json(
        measurement_document(record, delineation_error="record too short", delineator_name="unet_delineation")
    )
    validator.validate(failed)
    assert failed["delineation"] == {
        "model": "unet_delineation",
        "error": "record too short",
        "withheld": False,
    }
    assert failed["intervals"]["reason"] == "delineation failed: record too short"
    why = "no measurable ECG: all 12 leads flat"
    held = _json(
        measurement_document(
            record, delineation=result, withheld={"delineation": why}, delineator_name="unet_delineation"
        )
    )  # a withheld result is dropped whatever was passed for it
    assert held["delineation"] == {"model": "unet_delineation", "error": why, "withheld": True}
    assert held["intervals"]["values"]["qt_ms"] == {
        "label": "QT",
        "unit": "ms",
        "value": None,
        "spread": None,
        "confidence": None,
        "n_beats": 0,
        "n_leads": 0,
        "reason": f"delineation withheld: {why}",
        "provenance": None,  # no delineation: nothing computed, nothing edited
    }
    [row] = list(csv.DictReader(io.StringIO(csv_text([held]))))
    assert row["method"] == "" and row["intervals_note"] == f"delineation withheld: {why}"


def _pdftotext(path: Path) -> str:
    pdftotext = require_tool("pdftotext", "text")
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True).stdout


def test_pdf_prints_the_headline_and_ticks_the_boundaries(delineated, tmp_path: Path) -> None:
    record, classical, result = delineated
    out = tmp_path / "delineated.pdf"
    render_report(out, record, None, classical, ReportOptions(), delineation=result)
    text = _pdftotext(out)
    compact = "".join(text.split())  # pdftotext may drop or add spaces in the table
    assert "Delineation" in text and "unet_delineation" in text and result.checkpoint_sha256[:12] in text
    assert "spans: delineation" in text
    for key in ("pr_ms", "qrs_ms", "qt_ms"):
        iv = result.intervals[key]
        if iv.value is not None:
            assert f"{iv.value:.0f}±{iv.spread:.0f}ms" in compact, key
    # a tick across the trace at each marked consensus boundary of the rhythm strip (lead II, 0-10 s),
    # plus one per marked boundary on the median beat
    pdf, _ = render_report_bytes(record, None, classical, ReportOptions(), delineation=result)
    colors = {
        wave: tuple(round(int(h[i : i + 2], 16) / 255.0, 3) for i in (1, 3, 5))
        for wave, h in WAVE_COLORS.items()
    }
    segs = stroked_segments(pdf)
    consensus = result.delineation.consensus
    for wave in ("P", "QRS", "T"):
        names = [n for n, w in MARKED_POINTS if w == wave]
        on_strip = sum(int(np.isfinite(consensus[:, POINTS.index(n)]).sum()) for n in names)
        ticks = [s for s in segs if s[0] == colors[wave] and s[2] == s[4]]  # vertical lines of that colour
        assert on_strip <= len(ticks) <= on_strip + len(names), wave
    # without a delineation there are no ticks
    plain, _ = render_report_bytes(record, None, classical, ReportOptions())
    assert not any(s[0] in colors.values() for s in stroked_segments(plain))


def test_pdf_says_why_pr_is_absent(delineated, tmp_path: Path) -> None:
    record, classical, _ = delineated
    out = tmp_path / "af.pdf"
    render_report(out, record, None, classical, ReportOptions(), delineation=_hand_made_af(record))
    text = _pdftotext(out)
    assert "hand_made" in text and "absent" in text
    assert "PR absent: no P wave found before most QRS" in " ".join(text.split())
    failed = tmp_path / "failed.pdf"
    render_report(failed, record, None, classical, ReportOptions(), delineation_error="record too short")
    assert "Delineation: delineation failed: record too short" in " ".join(_pdftotext(failed).split())
