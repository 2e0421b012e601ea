"""Predictor on real PTB-XL records: units, windows, resampling, devices, lazy torch."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.readers import read_record
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.resample import resample_record
from ecgviewer.inference import PredictionCancelled, PredictionError, Predictor
from ecgviewer.inference.preprocess import window_starts

UNITS = {"hr_bpm": "bpm", "rr_ms": "ms", "pr_ms": "ms", "qrs_ms": "ms", "qt_ms": "ms"}


@pytest.fixture(scope="module")
def predictors() -> dict[str, Predictor]:
    return {name: Predictor(name, device="cpu").load() for name in ("resnet1d", "vit1d")}


@pytest.fixture(scope="module")
def ptbxl_records(ptbxl_dir: Path) -> list[EcgRecord]:
    return [read_record(p) for p in sorted(ptbxl_dir.glob("*_hr.hea"))[:3]]


def _tile(record: EcgRecord, seconds: float) -> EcgRecord:
    """A longer (or shorter) record made by repeating a real one."""
    n = round(seconds * record.fs_hz)
    reps = int(np.ceil(n / record.n_samples))
    return record.with_signals(np.tile(record.signals, (1, reps))[:, :n])


@pytest.mark.parametrize("name", ["resnet1d", "vit1d"])
def test_prediction_on_ptbxl(
    predictors: dict[str, Predictor], ptbxl_records: list[EcgRecord], name: str
) -> None:
    for rec in ptbxl_records:
        res = predictors[name].predict(rec)
        assert set(res.intervals) == set(UNITS)
        for key, unit in UNITS.items():
            est = res[key]
            assert est.unit == unit and est.n_windows == 1 and math.isfinite(est.value)
            assert est.min <= est.value <= est.max and est.iqr >= 0
        assert res["hr_bpm"].value == pytest.approx(60000 / res["rr_ms"].value)
        rr_s = res["rr_ms"].value / 1000
        assert res.qtc_bazett_ms == pytest.approx(res["qt_ms"].value / rr_s**0.5)
        assert res.qtc_fridericia_ms == pytest.approx(res["qt_ms"].value / rr_s ** (1 / 3))
        assert res.model_name == name and res.device == "cpu"
        assert res.checkpoint_status == "trained" and res.trained is True
        assert res.display_warning is None and len(res.checkpoint_sha256) == 64
        assert res.elapsed_s > 0 and res.to_dict()["status"] == "trained"


def test_window_starts() -> None:
    assert window_starts(5000, 5000, 2500) == [0]
    assert window_starts(12500, 5000, 2500) == [0, 2500, 5000, 7500]
    assert window_starts(6000, 5000, 2500) == [0, 1000]
    with pytest.raises(PredictionError, match="too short"):
        window_starts(4999, 5000, 2500)


def test_25_s_record_gives_4_windows(
    predictors: dict[str, Predictor], ptbxl_records: list[EcgRecord]
) -> None:
    res = predictors["resnet1d"].predict(_tile(ptbxl_records[0], 25.0))
    assert res.window_starts_s == (0.0, 5.0, 10.0, 15.0)
    assert res["qrs_ms"].n_windows == 4 and len(res["qrs_ms"].per_window) == 4
    assert res["qrs_ms"].value == pytest.approx(np.median(res["qrs_ms"].per_window))


def test_9_s_record_refused(predictors: dict[str, Predictor], ptbxl_records: list[EcgRecord]) -> None:
    with pytest.raises(PredictionError, match="needs at least 10 s"):
        predictors["resnet1d"].predict(_tile(ptbxl_records[0], 9.0))


@pytest.mark.parametrize("fs_hz", [250.0, 1000.0])
def test_other_sampling_rates_are_resampled(
    predictors: dict[str, Predictor], ptbxl_records: list[EcgRecord], fs_hz: float
) -> None:
    rec = ptbxl_records[0]
    base = predictors["resnet1d"].predict(rec)
    res = predictors["resnet1d"].predict(resample_record(rec, fs_hz))
    assert res.n_windows == 1 and any("resampled" in w for w in res.warnings)
    assert res["qt_ms"].value == pytest.approx(base["qt_ms"].value, abs=5.0)


def test_missing_leads_refused(predictors: dict[str, Predictor], ptbxl_records: list[EcgRecord]) -> None:
    rec = ptbxl_records[0]
    keep = [i for i, n in enumerate(rec.lead_names) if n != "V3"]
    no_v3 = EcgRecord(
        rec.signals[keep],
        rec.fs_hz,
        tuple(rec.lead_names[i] for i in keep),
        tuple(rec.units[i] for i in keep),
    )
    with pytest.raises(PredictionError, match="missing V3"):
        predictors["resnet1d"].predict(no_v3)
    limbs_only = EcgRecord(rec.signals[:2], rec.fs_hz, rec.lead_names[:2], rec.units[:2])
    with pytest.raises(PredictionError, match="missing V1"):
        predictors["vit1d"].predict(limbs_only)


def test_derived_leads_not_needed_eight_lead_record(predictors: dict[str, Predictor], ptbxl_records) -> None:
    rec = ptbxl_records[0]
    names = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    eight = EcgRecord(rec.leads_array(names), rec.fs_hz, names, ("mV",) * 8)
    assert predictors["resnet1d"].predict(eight)["qt_ms"].value == pytest.approx(
        predictors["resnet1d"].predict(rec)["qt_ms"].value
    )


def test_progress_and_cancel(ptbxl_records: list[EcgRecord]) -> None:
    pred = Predictor("resnet1d", device="cpu", batch_size=2)
    rec = _tile(ptbxl_records[0], 30.0)  # 5 windows -> 3 batches
    calls: list[tuple[int, int]] = []
    pred.predict(rec, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    with pytest.raises(PredictionCancelled):
        pred.predict(rec, should_stop=lambda: True)


def test_device_selection() -> None:
    import torch

    from ecgviewer.inference import select_device

    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert select_device("auto") == expected
    assert select_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(PredictionError, match="CUDA is not available"):
            Predictor("resnet1d", device="cuda").load()
    with pytest.raises(PredictionError, match="unknown device"):
        select_device("tpu")


def test_heteroscedastic_checkpoint_gives_sigma(tmp_path: Path, ptbxl_records: list[EcgRecord]) -> None:
    from ecgviewer.models import build_model
    from ecgviewer.models.checkpoint import save_checkpoint
    from ecgviewer.models.placeholders import placeholder_meta

    cfg = {"heteroscedastic": True, "stage_channels": [8, 16]}
    save_checkpoint(build_model("resnet1d", cfg), placeholder_meta("resnet1d", cfg), tmp_path / "het")
    res = Predictor(tmp_path / "het.json", device="cpu").predict(ptbxl_records[0])
    assert all(e.sigma is not None and e.sigma > 0 for e in res.intervals.values())
    assert res.model_name == "het"


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, ecgviewer.inference, ecgviewer.analysis.cli, ecgviewer.core;"
        "from ecgviewer.inference import Predictor; Predictor('resnet1d');"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
