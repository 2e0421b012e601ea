"""Training data sources, all turned into one :class:`~trainer.data.arrays.IntervalDataset`.

A source is named by a spec ``KIND:PATH``:

============  ===========================================================
``synthetic``  a folder of shards made by ``python -m trainer synth``
``ptbxl``      a PTB-XL folder (``ptbxl_database.csv`` + ``records500/``)
``ludb``       a LUDB folder (expert intervals, the repository's split)
``folder``     a labels CSV naming ECG files (see :mod:`trainer.data.folder`)
``npz``        a dataset file written by ``python -m trainer prepare``
``vendor``     ECG files with vendor measurements (evaluation only)
============  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trainer.data.arrays import DataError, IntervalDataset

KINDS = ("synthetic", "ptbxl", "ludb", "folder", "npz", "vendor")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``KIND:PATH``; raises :class:`DataError` for an unknown kind."""
    kind, sep, path = spec.partition(":")
    if not sep or kind not in KINDS or not path:
        raise DataError(f"data spec must be KIND:PATH with KIND one of {', '.join(KINDS)}, not {spec!r}")
    return kind, path


def load_data(
    spec: str, progress: Callable[[int, int], None] | None = None, **options: Any
) -> IntervalDataset:
    """Load the source ``spec``; ``options`` go to the PTB-XL loader (labels, teacher, folds, ...)."""
    kind, path = parse_spec(spec)
    if kind == "npz":
        return IntervalDataset.load(path)
    if kind == "synthetic":
        from trainer.data.synthetic import load_synthetic

        return load_synthetic(path)
    if kind == "ludb":
        from trainer.data.ludb import load_ludb

        return load_ludb(path, progress=progress)
    if kind == "vendor":
        from trainer.data.vendor import load_vendor

        return load_vendor(path, progress=progress)
    if kind == "folder":
        from trainer.data.folder import load_folder

        return load_folder(path, progress=progress)
    from trainer.data.ptbxl import load_ptbxl

    return load_ptbxl(path, progress=progress, **options)


__all__ = ["KINDS", "DataError", "IntervalDataset", "load_data", "parse_spec"]
