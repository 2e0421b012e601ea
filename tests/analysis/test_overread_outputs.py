"""The reader's over-read in every output (issue #16): ``analyze --json``, the CSV row, the PDF, the batch.

Real record copies in ``tmp_path`` and a sidecar saved with :func:`ecgviewer.core.sidecar.save_sidecar`
beside them. The expected edited values are worked out from the computed delineation of the same
run (its marks in the document), never hard-coded: the bundled delineator may change.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.cli import main
from ecgviewer.core.delineation import POINTS, Delineation
from ecgviewer.core.overread import (
    BoundaryEdit,
    Interpretation,
    OverRead,
    StatementEdit,
    median_beat_points,
)
from ecgviewer.core.qtc import qtc_bazett_ms
from ecgviewer.core.readers import read_record
from ecgviewer.core.sidecar import beside_path, record_identity, save_sidecar
from ecgviewer.report.measurements import csv_text
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))
READER = "Dr A"
#: Samples (at 500 Hz) the reader moves the median beat's T offset by: 40 ms later.
T_SHIFT = 20


def _copy(hea: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(hea, folder)
    shutil.copy(hea.with_suffix(".dat"), folder)
    return folder / hea.name


def _delineation_of(doc: dict) -> Delineation:
    """The computed delineation back from a document's ``delineation`` section (per-lead marks)."""
    sec = doc["delineation"]
    leads, beats = tuple(sec["leads"]), sec["beats"]
    pts = np.full((len(leads), len(beats), len(POINTS)), np.nan)
    for b, beat in enumerate(beats):
        for li, lead in enumerate(leads):
            for k, name in enumerate(POINTS):
                v = beat["leads"][lead][name]
                pts[li, b, k] = np.nan if v is None else v
    r = np.array([beat["r_sample"] for beat in beats], dtype=np.int64)
    conf = np.full((len(leads), len(beats), 3), np.nan)
    return Delineation(sec["fs_hz"], leads, r, pts, conf, sec["model"])


def _overread(t_off: int) -> OverRead:
    return OverRead(
        READER,
        (
            BoundaryEdit("median", "t_off", t_off, by=READER),
            StatementEdit("CD", True, by=READER),  # never stated by the tiny classifier (threshold 1)
            StatementEdit("MI", False, by=READER),  # always stated by it (threshold 0)
            Interpretation("Sinus rhythm; QT read by hand.", by=READER),
        ),
    )


def _save(overread: OverRead, hea: Path) -> Path:
    path, _ = save_sidecar(overread, record_identity(read_record(hea), hea), hea)
    assert path == beside_path(hea)
    return path


def _csv_rows(docs: list[dict]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(docs))))


def test_analyze_applies_the_sidecar_and_says_so(
    sample_path: Path, tiny_classifier: Path, tmp_path: Path, capsys
) -> None:
    """A moved median T offset changes QT (and QTc) by what the marks say, marked edited by the reader;
    ``--ignore-overread`` gives the computed values; a sidecar of other content is not applied."""
    good, changed = _copy(sample_path, tmp_path / "a"), _copy(sample_path, tmp_path / "b")
    base = [
        "analyze",
        str(good),
        str(changed),
        "--json",
        "--device",
        "cpu",
        "--classifier",
        str(tiny_classifier),
    ]
    assert main([*base, "--ignore-overread"]) == 0
    computed, computed_b = json.loads(capsys.readouterr().out)
    for doc in (computed, computed_b):
        jsonschema.validate(doc, SCHEMA)
        assert doc["over_read"]["status"] == "ignored" and doc["over_read"]["applied"] is False
        assert all(v["provenance"]["source"] == "computed" for v in doc["intervals"]["values"].values())
    med = median_beat_points(_delineation_of(computed))
    qrs_on, t_off = med[POINTS.index("qrs_on")], med[POINTS.index("t_off")]
    assert np.isfinite(qrs_on) and np.isfinite(t_off)
    moved = round(t_off) + T_SHIFT
    _save(_overread(moved), good)
    _save(_overread(moved), changed)
    dat = changed.with_suffix(".dat")  # one sample changes after the over-read: another content
    raw = bytearray(dat.read_bytes())
    raw[2000] ^= 0x01
    dat.write_bytes(bytes(raw))

    assert main(base) == 0
    captured = capsys.readouterr()
    doc, doc_b = json.loads(captured.out)
    for d in (doc, doc_b):
        jsonschema.validate(d, SCHEMA)
    # the edited record: QT is the difference of the median beat's marks, the T offset the reader's
    iv, fs = doc["intervals"]["values"], doc["delineation"]["fs_hz"]
    assert iv["qt_ms"]["value"] == pytest.approx((moved - qrs_on) * 1000.0 / fs, abs=0.051)
    assert iv["qt_ms"]["value"] != computed["intervals"]["values"]["qt_ms"]["value"]
    qt_prov = iv["qt_ms"]["provenance"]
    assert qt_prov["source"] == "edited" and qt_prov["by"] == READER and qt_prov["edits"] == 1
    assert iv["qtc_bazett_ms"]["provenance"]["source"] == "edited"
    rr = iv["rr_ms"]["value"]  # QTc follows the edited QT
    assert iv["qtc_bazett_ms"]["value"] == pytest.approx(qtc_bazett_ms(iv["qt_ms"]["value"], rr), abs=0.2)
    for key in ("pr_ms", "qrs_ms", "rr_ms", "hr_bpm"):  # what the edit does not touch stays as computed
        assert iv[key]["provenance"]["source"] == "computed"
        assert iv[key]["value"] == computed["intervals"]["values"][key]["value"]
    assert doc["intervals"]["edited"] is True and computed["intervals"]["edited"] is False
    o = doc["over_read"]
    assert o["status"] == "applied" and o["applied"] and o["reader"] == READER and o["n_edits"] == 4
    assert o["counts"]["boundary"] == 1 and o["counts"]["statement"] == 2 and o["modified"]
    assert o["statements"]["confirmed"] == ["CD"] and o["statements"]["rejected"] == ["MI"]
    assert "MI" not in o["statements"]["proposed_unreviewed"]
    assert set(o["statements"]["proposed_unreviewed"]) == set(doc["classification"]["statements"]) - {"MI"}
    assert (
        o["interpretation"]["text"] == "Sinus rhythm; QT read by hand."
        and o["interpretation"]["by"] == READER
    )
    assert doc["classification"]["statements"] == computed["classification"]["statements"]  # the model's
    # the changed record: not applied, with the reason, in the document and on stderr
    ob = doc_b["over_read"]
    assert ob["status"] == "record changed" and ob["applied"] is False and ob["statements"] is None
    assert "not applied" in ob["message"] and ob["reader"] == READER
    assert all(v["provenance"]["source"] == "computed" for v in doc_b["intervals"]["values"].values())
    assert f"warning: {changed}:" in captured.err and "not applied" in captured.err
    assert f"warning: {good}" not in captured.err

    # the CSV rows: who, when, how many edits, and per headline value computed/edited
    ignored_row, row, row_b = _csv_rows([computed, doc, doc_b])
    assert row["over_read_status"] == "applied" and row["over_read_by"] == READER
    assert (
        row["over_read_at"] == o["modified"] and row["n_edits"] == "4" and row["confirmed_statements"] == "CD"
    )
    assert row["qt_ms_source"] == "edited" and row["qtc_fridericia_ms_source"] == "edited"
    assert row["pr_ms_source"] == "computed" and float(row["qt_ms"]) == pytest.approx(iv["qt_ms"]["value"])
    assert row_b["over_read_status"] == "record changed" and row_b["n_edits"] == "0"
    assert row_b["qt_ms_source"] == "computed" and row_b["confirmed_statements"] == ""
    assert ignored_row["over_read_status"] == "ignored" and ignored_row["over_read_by"] == ""

    # the text output says whose over-read the values carry
    assert main(["analyze", str(good), "--device", "cpu", "--classifier", str(tiny_classifier)]) == 0
    text = capsys.readouterr().out
    assert f"over-read by {READER}" in text and f"edited by {READER}" in text
    assert "confirmed by the reader: CD" in text and "interpretation: Sinus rhythm" in text


def _pdftotext(path: Path) -> str:
    import subprocess
    import unicodedata

    out = subprocess.run(
        [require_tool("pdftotext", "text"), "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return unicodedata.normalize("NFKC", out)  # the font's "fi" ligature read back as "fi"


def test_batch_reexports_a_corrected_archive(ptbxl_dir: Path, tiny_classifier: Path, tmp_path: Path) -> None:
    """A second run after a sidecar is added redoes that record only; its JSON, CSV row and PDF carry the
    over-read; ``--ignore-overread`` redoes both with the computed values."""
    src = tmp_path / "in"
    heas = sorted(ptbxl_dir.glob("*_hr.hea"))[:2]
    first, second = (_copy(h, src) for h in heas)
    out = tmp_path / "out"
    cmd = ["analyze", str(src), "--out", str(out), "--workers", "0", "-q", "--device", "cpu"]
    cmd += ["--classifier", str(tiny_classifier), "--report", "json,csv,pdf"]
    assert main(cmd) == 0
    before = json.loads((out / f"{first.stem}.json").read_text(encoding="utf-8"))
    untouched = (out / f"{second.stem}.json").stat().st_mtime_ns
    assert before["over_read"] is None
    med = median_beat_points(_delineation_of(before))
    moved = round(med[POINTS.index("t_off")]) + T_SHIFT
    sidecar = _save(_overread(moved), first)
    assert main(cmd) == 0  # the sidecar is new: that record is redone, the other skipped
    doc = json.loads((out / f"{first.stem}.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert (out / f"{second.stem}.json").stat().st_mtime_ns == untouched
    assert doc["over_read"]["applied"] and doc["intervals"]["values"]["qt_ms"]["provenance"]["by"] == READER
    qrs_on, fs = med[POINTS.index("qrs_on")], doc["delineation"]["fs_hz"]
    assert doc["intervals"]["values"]["qt_ms"]["value"] == pytest.approx(
        (moved - qrs_on) * 1000 / fs, abs=0.051
    )
    with open(out / "measurements.csv", encoding="utf-8", newline="") as fh:
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(fh)}
    assert rows[first.stem]["over_read_by"] == READER and rows[first.stem]["qt_ms_source"] == "edited"
    assert rows[second.stem]["over_read_by"] == "" and rows[second.stem]["qt_ms_source"] == "computed"
    text = _pdftotext(out / f"{first.stem}.pdf")
    assert f"Over-read by {READER}" in text and "(4 edits)" in text
    assert "Confirmed by the reader" in text and "Proposed by the model (not" in text
    assert "* edited by the reader" in text and "Sinus rhythm; QT read by hand." in text
    plain = _pdftotext(out / f"{second.stem}.pdf")
    assert "Over-read" not in plain and "Confirmed by the reader" not in plain
    # nothing changed since: both skipped
    stamp = (out / f"{first.stem}.json").stat().st_mtime_ns
    assert main(cmd) == 0
    assert (out / f"{first.stem}.json").stat().st_mtime_ns == stamp
    # the sidecar changes (the reader edits again): redone
    _save(_overread(moved + 5), first)
    assert sidecar.exists() and main(cmd) == 0
    again = json.loads((out / f"{first.stem}.json").read_text(encoding="utf-8"))
    assert again["intervals"]["values"]["qt_ms"]["value"] == pytest.approx(
        doc["intervals"]["values"]["qt_ms"]["value"] + 5 * 1000 / fs, abs=0.051
    )
    assert (out / f"{second.stem}.json").stat().st_mtime_ns == untouched
    # --ignore-overread: the computed values (every record redone: its outputs had the over-read looked up)
    assert main([*cmd, "--ignore-overread"]) == 0
    ignored = json.loads((out / f"{first.stem}.json").read_text(encoding="utf-8"))
    assert ignored["over_read"]["status"] == "ignored"
    assert ignored["intervals"] == before["intervals"]  # values and their provenance: computed
    assert ignored["intervals"]["values"]["qt_ms"]["provenance"]["source"] == "computed"
