"""Shared fixtures: where the real data lives, and small records built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECGVIEWER_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE = REPO / "resources" / "samples" / "ptbxl_00001_hr.hea"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (CI has ../shared beside the clone)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real PTB-XL, LUDB, MIT-BIH, QTDB records and format fixtures)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def ptbxl_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ptb-xl" / "records500" / "00000")


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """The bundled sample record (``resources/samples``)."""
    return _require(SAMPLE)
