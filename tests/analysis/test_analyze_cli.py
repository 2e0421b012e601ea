"""``ecgviewer analyze``: the measurement document per file, text output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ecgviewer.cli import main
from ecgviewer.report.measurements import ROWS, SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))
#: Values that differ between two runs of the same analysis (the time stamp), left out of comparisons.
TIMING_KEYS = ("created",)


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in TIMING_KEYS}


def test_json_output_is_the_measurement_document(ptbxl_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(ptbxl_dir.glob("*_hr.hea"))[:2]]
    assert main(["analyze", *files, "--json", "--device", "cpu", "--classifier", "none"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["record"]["file"] for e in out] == files
    for doc in out:
        jsonschema.validate(doc, SCHEMA)
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["model"]["name"] == "resnet1d" and doc["model"]["status"] == "trained"
        assert doc["model"]["warning"] is None and doc["model"]["device"] == "cpu"
        assert list(doc["measurements"]) == [key for key, _, _ in ROWS]
        pr = doc["measurements"]["pr_ms"]
        assert 80 < pr["model"] < 300 and pr["unit"] == "ms"
        assert set(pr["model_spread"]) >= {"iqr", "min", "max", "n_windows"}
        assert all(doc["measurements"][k]["classical"] is not None for k in ("hr_bpm", "qrs_ms", "qt_ms"))
        assert doc["classical"]["n_beats"] > 3 and doc["classification"] is None


@pytest.mark.parametrize("name", ["ptb-xl/records500/00000/00001_hr.hea", "wfdb-samples/s0010_re.hea"])
def test_json_equals_the_batch_document(shared_data: Path, name: str, tmp_path: Path, capsys) -> None:
    """``analyze --json`` prints exactly what ``analyze --out`` writes as KEY.json (time stamp aside).

    The second record is 38 s at 1000 Hz: several windows (spread) and resampling notes.
    """
    record = shared_data / name
    common = ["--device", "cpu", "--stride", "2.5"]  # default classifier: the bundled one when installed
    assert main(["analyze", str(record), "--json", *common]) == 0
    [single] = json.loads(capsys.readouterr().out)
    out = tmp_path / "out"
    assert main(["analyze", str(record), "--out", str(out), "--workers", "0", "-q", *common]) == 0
    capsys.readouterr()
    batch = json.loads((out / f"{record.stem}.json").read_text(encoding="utf-8"))
    assert set(single) == set(batch)
    assert _comparable(single) == _comparable(batch)
    assert single["measurements"]["qt_ms"]["model"] is not None
    if name.startswith("wfdb-samples"):
        assert single["model"]["n_windows"] > 1 and single["model"]["warnings"]


def test_bad_file_among_good_ones(
    ptbxl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = sorted(ptbxl_dir.glob("*_hr.hea"))[0]
    bad = tmp_path / "broken.hea"
    bad.write_text("garbage\n")
    rc = main(["analyze", str(bad), str(good), "--json", "--model", "vit1d"])
    captured = capsys.readouterr()
    assert rc != 0
    out = json.loads(captured.out)
    assert "error" in out[0] and out[0]["file"] == str(bad)
    assert out[1]["model"]["name"] == "vit1d" and "error" not in out[1]
    assert "broken.hea" in captured.err


def test_a_record_the_model_cannot_take(sample_path: Path, tmp_path: Path, capsys) -> None:
    """A record too short for the model: an error entry (no document) and exit code 1."""
    from ecgviewer.core.readers import read_record
    from ecgviewer.core.writers import write_record

    rec = read_record(sample_path)
    short = write_record(rec.with_signals(rec.signals[:, : int(4 * rec.fs_hz)]), tmp_path / "short", "wfdb")[
        -1
    ]
    assert main(["analyze", str(short), "--json", "--device", "cpu", "--classifier", "none"]) == 1
    captured = capsys.readouterr()
    [entry] = json.loads(captured.out)
    assert entry["file"] == str(short) and "10 s" in entry["error"]
    assert "short" in captured.err


def test_text_output_and_bad_model(sample_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(sample_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(str(sample_path))
    assert "UNTRAINED" not in out and "trained" in out and "qrs_ms" in out and "classical" in out
    assert "QTc      Bazett" in out and " ms, Fridericia " in out
    assert "intervals: unet_delineation (wave delineation" in out and "interval model: resnet1d" in out
    assert main(["analyze", str(sample_path), "--model", "/nonexistent/model"]) == 2
    assert "cannot load model" in capsys.readouterr().err


def test_delineator_options(sample_path: Path, tiny_classifier: Path, capsys) -> None:
    """``--delineator NAME|PATH|none`` and ``--no-delineation``: the headline intervals and their reason."""
    base = ["analyze", str(sample_path), "--json", "--device", "cpu", "--classifier", "none"]
    assert main([*base, "--delineator", "unet_delineation"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["intervals"]["method"] == doc["delineation"]["model"] == "unet_delineation"
    assert len(doc["delineation"]["beats"]) == doc["delineation"]["n_beats"] > 5
    qt = doc["intervals"]["values"]["qt_ms"]
    assert (qt["value"] is None) == (qt["reason"] is not None)
    for off in (["--no-delineation"], ["--delineator", "none"]):
        assert main([*base, *off]) == 0
        [doc] = json.loads(capsys.readouterr().out)
        jsonschema.validate(doc, SCHEMA)
        assert doc["delineation"] is None and doc["intervals"]["method"] is None
        assert doc["intervals"]["reason"] == "wave delineation not run"
        assert doc["measurements"]["qt_ms"]["model"] is not None  # the interval model still ran
    # a checkpoint of another task, or none at all: refused before any file is analysed
    assert main([*base, "--delineator", str(tiny_classifier)]) == 2
    assert "cannot load delineator" in capsys.readouterr().err
    assert main([*base, "--delineator", "/nonexistent/delineator"]) == 2
    assert "cannot load delineator" in capsys.readouterr().err
