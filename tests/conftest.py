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


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory):
    """Pyramid caches, over-read sidecars and other per-user files go to a temporary folder, never
    the tester's own."""
    names = ("XDG_CACHE_HOME", "XDG_DATA_HOME")
    old = {k: os.environ.get(k) for k in names}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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


#: Classes of :func:`tiny_classifier`: thresholds 0 and 1 make MI always and CD never stated.
TINY_CLASSES = (
    ("NORM", "normal ECG", 0.5),
    ("MI", "myocardial infarction", 0.0),
    ("STTC", "ST/T change", 0.5),
    ("CD", "conduction disturbance", 1.0),
    ("HYP", "hypertrophy", 0.5),
)
EIGHT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def save_tiny_classifier(
    path: Path, leads: tuple[str, ...] = EIGHT_LEADS, fs_hz: float = 500.0, window_s: float = 10.0
) -> Path:
    """Write a tiny untrained CRNN classification checkpoint with :data:`TINY_CLASSES` at ``path``."""
    import torch

    from ecgviewer.models import build_model
    from ecgviewer.models.checkpoint import CheckpointMeta, ClassSpec, save_checkpoint

    n_samples = round(fs_hz * window_s)
    config = {
        "n_classes": len(TINY_CLASSES),
        "n_leads": len(leads),
        "n_samples": n_samples,
        "conv_channels": [8, 8, 8, 8],
        "rnn_hidden": 8,
    }
    torch.manual_seed(0)
    model = build_model("crnn", config)
    meta = CheckpointMeta(
        architecture="crnn",
        config=config,
        input_leads=tuple(leads),
        fs_hz=fs_hz,
        window_samples=n_samples,
        scaling={"unit": "mV", "center": "median", "scale_mv": 1.0},
        targets=(),
        training={"n_train": 12, "n_val": 4, "data": {"sources": [{"source": "PTB-XL", "n_records": 16}]}},
        metrics={"val": {"macro_auc": 0.5}},
        task="classification",
        classes=tuple(ClassSpec(*c) for c in TINY_CLASSES),
        activation="sigmoid",
    )
    save_checkpoint(model.eval(), meta, path)
    return path


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained CRNN classification checkpoint (8 leads, 10 s at 500 Hz); returns its path stem."""
    return save_tiny_classifier(tmp_path_factory.mktemp("classifier") / "tiny_cls")


@pytest.fixture(scope="session")
def make_tiny_classifier():
    """:func:`save_tiny_classifier`, for tests that need another input (leads, rate) than the default."""
    return save_tiny_classifier
