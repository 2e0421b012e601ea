"""Tiny real training data shared by the trainer tests."""

from __future__ import annotations

import pytest

from trainer.data.arrays import IntervalDataset

#: A small resnet1d that trains in a second or two on the CPU.
TINY_RESNET = {"stem_channels": 8, "stage_channels": [8, 8], "blocks_per_stage": 1, "dropout": 0.0}


@pytest.fixture(scope="session")
def ludb_small(shared_data) -> IntervalDataset:
    """24 real LUDB records with expert labels: 16 train, 4 val, 4 test (roles from the split file)."""
    from trainer.data.ludb import load_ludb, ludb_split

    roles = ludb_split()
    names = []
    for role, n in (("train", 16), ("val", 4), ("test", 4)):
        names += [name for name, r in roles.items() if r == role][:n]
    return load_ludb(shared_data / "ludb", names=names)


@pytest.fixture
def ludb_npz(ludb_small, tmp_path):
    """The small LUDB set saved as a trainer .npz."""
    return ludb_small.save(tmp_path / "ludb_small.npz")
