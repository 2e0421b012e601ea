"""The viewer and the commands open files through one path: they refuse the same files, with one message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecgviewer.cli import main
from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers import read_record
from ecgviewer.core.writers import write_record
from ecgviewer.gui.jobs import open_job
from ecgviewer.gui.longterm.paging import LONG_TERM_MIN_S
from ecgviewer.gui.workers import Job

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def damaged_edf(shared_data, tmp_path) -> Path:
    """An EDF+ whose first annotation (time-keeping TAL) is garbage: edflib refuses it."""
    good = tmp_path / "good.edf"
    write_record(read_record(shared_data / "formats" / "edf" / "kardiamobile-6l-ecg.edf"), good)
    raw = bytearray(good.read_bytes())
    ns = int(raw[252:256])
    spr = [int(raw[256 + 216 * ns + 8 * i : 256 + 216 * ns + 8 * i + 8]) for i in range(ns)]
    first_annotation = 256 * (ns + 1) + 2 * sum(spr[:-1])  # the annotation channel is the last
    raw[first_annotation : first_annotation + 10] = b"XXXXXXXXXX"
    bad = tmp_path / "damaged.edf"
    bad.write_bytes(bytes(raw))
    return bad


def test_viewer_info_convert_and_analyze_refuse_alike(damaged_edf, tmp_path, capsys):
    assert main(["info", str(damaged_edf)]) == 1
    info_line = capsys.readouterr().err.strip()
    assert info_line.startswith("error: ") and "not EDF(+) or BDF(+) compliant" in info_line
    message = info_line.removeprefix("error: ")
    with pytest.raises(EcgReadError) as viewer:
        open_job(damaged_edf, (None, None, None), LONG_TERM_MIN_S, 10.0, Job(0))
    assert str(viewer.value) == message
    assert main(["convert", str(damaged_edf), str(tmp_path / "out.hea")]) == 1
    assert capsys.readouterr().err.strip() == info_line
    assert main(["analyze", str(damaged_edf), "--json", "--classifier", "none", "--device", "cpu"]) == 1
    assert message in capsys.readouterr().err


def test_screenshot_refuses_it_too(damaged_edf, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ecgviewer", str(damaged_edf), "--screenshot", str(tmp_path / "x.png")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 1
    assert "not EDF(+) or BDF(+) compliant" in done.stderr and not (tmp_path / "x.png").exists()
