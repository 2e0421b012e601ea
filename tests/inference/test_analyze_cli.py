"""``ecgviewer analyze``: JSON keys, text output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecgviewer.cli import main

KEYS = {
    "file",
    "model",
    "status",
    "hr_bpm",
    "rr_ms",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_bazett_ms",
    "qtc_fridericia_ms",
    "spread",
    "classical",
}


def test_json_output(ptbxl_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(ptbxl_dir.glob("*_hr.hea"))[:2]]
    assert main(["analyze", *files, "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["file"] for e in out] == files
    for e in out:
        assert set(e) >= KEYS
        assert e["status"] == "trained" and not e.get("warning")
        assert set(e["spread"]["pr_ms"]) >= {"iqr", "min", "max", "n_windows"}
        assert set(e["classical"]) >= {"hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms"}


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
    assert out[1]["model"] == "vit1d" and "error" not in out[1]
    assert "broken.hea" in captured.err


def test_text_output_and_bad_model(sample_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(sample_path)]) == 0
    out = capsys.readouterr().out
    assert "UNTRAINED" not in out and "trained" in out and "qrs_ms" in out and "classical" in out
    assert main(["analyze", str(sample_path), "--model", "/nonexistent/model"]) == 2
    assert "cannot load model" in capsys.readouterr().err
