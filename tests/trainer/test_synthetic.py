"""Synthetic ECGs from deepfake-ecg: shapes, units, labels, determinism, resumable shards."""

from __future__ import annotations

import json
import math
import shutil
from importlib.metadata import version

import numpy as np
import pytest

import ecgviewer
from ecgviewer.core.record import EcgRecord
from trainer.data.arrays import INPUT_LEADS, DataError, IntervalDataset
from trainer.data.synthetic import (
    FS_HZ,
    LEADS,
    MANIFEST,
    SyntheticManifest,
    generate_ecgs,
    generate_synthetic,
    load_synthetic,
    shard_name,
)
from trainer.teachers import get_teacher

SEED = 7


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    """6 records of seed 7 in shards of 4 (two shards: 4 + 2 records)."""
    out = tmp_path_factory.mktemp("synthetic")
    generate_synthetic(out, n=6, seed=SEED, shard_size=4, progress=False)
    return out


@pytest.fixture
def synth_copy(synth_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(synth_dir, dst)
    return dst


def test_shapes_units_and_ids(synth_dir):
    data = load_synthetic(synth_dir)
    assert LEADS == INPUT_LEADS
    assert data.x.shape == (6, 8, 5000) and data.x.dtype == np.float32
    assert data.y.shape == (6, 4)
    assert data.ids == [f"syn-{SEED}-{i}" for i in range(6)]
    shard = IntervalDataset.load(synth_dir / shard_name(1))
    assert shard.ids == [f"syn-{SEED}-4", f"syn-{SEED}-5"] and shard.groups == [shard_name(1)] * 2
    # mV: the largest deflection (the QRS) of each record spans 0.2-5 mV in its biggest lead
    span = np.ptp(data.x, axis=2).max(axis=1)
    assert np.all((span > 0.2) & (span < 5.0)), span
    # whole microvolts, as the package writes them
    assert np.allclose(data.x * 1000, np.round(data.x * 1000), atol=1e-3)


def test_labels_are_the_teachers_and_mostly_finite(synth_dir):
    data = load_synthetic(synth_dir)
    assert np.isfinite(data.y).all(axis=1).mean() >= 0.5
    rr = data.y[:, 0][np.isfinite(data.y[:, 0])]
    assert np.all((rr > 300) & (rr < 2000))
    teacher = get_teacher("classical")
    for i in (0, 5):
        got = teacher(EcgRecord(data.x[i], FS_HZ, LEADS, ("mV",) * 8))
        np.testing.assert_allclose(
            data.y[i], [got[k] for k in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms")], rtol=1e-6
        )


def test_manifest_content(synth_dir):
    raw = json.loads((synth_dir / MANIFEST).read_text())
    m = SyntheticManifest.load(synth_dir)
    assert raw["generator"] == "deepfake-ecg" and raw["generator_version"] == version("deepfake-ecg")
    assert (raw["seed"], raw["n"], raw["shard_size"]) == (SEED, 6, 4)
    assert raw["teacher"] == "classical" and raw["teacher_version"] == ecgviewer.__version__
    assert raw["complete"] is True and raw["rows"] == 6 and raw["dropped"] == 0
    assert "generate_synthetic(" in raw["command"] and "seed=7" in raw["command"]
    assert [(s["file"], s["first"], s["generated"]) for s in m.shards] == [
        (shard_name(0), 0, 4), (shard_name(1), 4, 2),
    ]  # fmt: skip
    data = load_synthetic(synth_dir)
    for s, part in zip(m.shards, (data.subset(range(4)), data.subset(range(4, 6)))):
        assert s["coverage"] == pytest.approx(part.labelled_share(), abs=1e-4)
    assert data.provenance["seed"] == SEED and data.provenance["teacher"] == "classical"


def test_deterministic_per_seed_and_index(synth_dir):
    data = load_synthetic(synth_dir)
    # same seed again, other batch composition and positions -> identical arrays
    np.testing.assert_array_equal(generate_ecgs(SEED, 4, 2), data.x[4:6])
    np.testing.assert_array_equal(generate_ecgs(SEED, 0, 3), data.x[:3])
    np.testing.assert_array_equal(generate_ecgs(SEED, 1, 2), data.x[1:3])  # other batch positions
    # another seed -> other ECGs
    other = generate_ecgs(SEED + 1, 0, 2)
    assert np.abs(other - data.x[:2]).max() > 0.1


def test_rerun_skips_finished_shards_and_remakes_missing_one(synth_copy):
    before = load_synthetic(synth_copy)
    first = synth_copy / shard_name(0)
    mtime = first.stat().st_mtime_ns
    generate_synthetic(synth_copy, n=6, seed=SEED, shard_size=4, progress=False)  # nothing to do
    assert first.stat().st_mtime_ns == mtime

    (synth_copy / shard_name(1)).unlink()
    with pytest.raises(DataError, match="missing"):
        load_synthetic(synth_copy)
    m = generate_synthetic(synth_copy, n=6, seed=SEED, shard_size=4, progress=False)
    assert first.stat().st_mtime_ns == mtime  # untouched
    assert m.complete and m.rows == 6
    after = load_synthetic(synth_copy)
    np.testing.assert_array_equal(after.x, before.x)
    np.testing.assert_array_equal(after.y, before.y)
    assert after.ids == before.ids


def test_interrupted_run_leaves_whole_shards_only(tmp_path, monkeypatch):
    import trainer.data.synthetic as synthetic

    real = synthetic.make_shard

    def interrupt_at_second(directory, params, k, on_rows=None):
        if k == 1:
            raise KeyboardInterrupt
        return real(directory, params, k, on_rows)

    out = tmp_path / "syn"
    monkeypatch.setattr(synthetic, "make_shard", interrupt_at_second)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic(out, n=5, seed=3, shard_size=4, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, shard_name(0)]  # no temporary files
    m = SyntheticManifest.load(out)
    assert not m.complete and [s["index"] for s in m.shards] == [0]
    with pytest.raises(DataError, match="incomplete synthetic set, 1 of 2 shards missing"):
        load_synthetic(out)

    made = []
    monkeypatch.setattr(synthetic, "make_shard", lambda *a, **kw: made.append(a[2]) or real(*a, **kw))
    generate_synthetic(out, n=5, seed=3, shard_size=4, progress=False)
    assert made == [1]  # only the missing shard
    assert len(load_synthetic(out)) == 5


def test_other_parameters_in_same_folder_are_refused(synth_copy):
    with pytest.raises(DataError, match=r"another synthetic set.*seed"):
        generate_synthetic(synth_copy, n=6, seed=SEED + 1, shard_size=4, progress=False)


def test_bad_folders_and_arguments(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_synthetic(tmp_path / "nothing")
    with pytest.raises(DataError, match=r"no manifest\.json"):
        load_synthetic(tmp_path)
    (tmp_path / MANIFEST).write_text("{broken")
    with pytest.raises(DataError, match="not a synthetic-data manifest"):
        load_synthetic(tmp_path)
    with pytest.raises(ValueError, match="unknown teacher"):
        generate_synthetic(tmp_path / "t", n=2, seed=0, teacher="nope", progress=False)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        generate_synthetic(tmp_path / "s", n=2, seed=-1, progress=False)
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()


def test_checkpoint_is_read_without_unpickling_code(monkeypatch):
    import torch

    import trainer.data.synthetic as synthetic

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    net = synthetic._network.__wrapped__()
    assert calls == [True]
    assert all(p.device.type == "cpu" for p in net.parameters()) and not net.training


@pytest.mark.slow
def test_two_workers_make_the_same_shards(synth_dir, tmp_path):
    m = generate_synthetic(tmp_path / "w2", n=6, seed=SEED, shard_size=4, workers=2, progress=False)
    assert m.complete and len(m.shards) == 2
    a, b = load_synthetic(synth_dir), load_synthetic(tmp_path / "w2")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not math.isnan(float(np.nanmean(b.y)))


def test_records_without_any_label_are_dropped_and_counted(tmp_path, monkeypatch):
    import trainer.data.synthetic as synthetic

    class EveryOtherTeacher:
        """Labels records 0, 2, 4 ... with the real classical teacher and none of the others."""

        name, version = "classical", ecgviewer.__version__

        def __init__(self):
            self.calls, self.real = 0, get_teacher("classical")

        def __call__(self, record):
            self.calls += 1
            return (
                self.real(record)
                if self.calls % 2
                else dict.fromkeys(("rr_ms", "pr_ms", "qrs_ms", "qt_ms"), math.nan)
            )

    stub = EveryOtherTeacher()
    monkeypatch.setattr(synthetic, "_teacher", lambda name: stub)
    m = generate_synthetic(tmp_path / "d", n=3, seed=SEED, shard_size=4, progress=False)
    assert (m.rows, m.dropped) == (2, 1) and m.shards[0]["dropped"] == 1
    data = load_synthetic(tmp_path / "d")
    assert data.ids == [f"syn-{SEED}-0", f"syn-{SEED}-2"] and np.isfinite(data.y).all()
    np.testing.assert_array_equal(data.x, generate_ecgs(SEED, 0, 3)[[0, 2]])
