"""NumPy arrays: ``.npy`` (a bare array) and ``.npz`` (array plus sampling rate and lead names).

An ``.npz`` may hold ``signals`` (or ``signal``/``data``/``ecg``), ``fs_hz`` (or
``fs``/``sampling_rate``), ``lead_names`` (or ``leads``) and ``units``. A bare
``.npy`` has no sampling rate: pass ``fs_hz=`` or 500 Hz is assumed, with a
warning on the record. Either orientation is accepted; the shorter axis is
taken as the leads. Pickled object arrays are refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.readers.common import default_lead_names, to_millivolts, unique_lead_names
from ecgviewer.core.readers.registry import (
    MAX_TOTAL_SAMPLES,
    Reader,
    check_declared_size,
    register_reader,
)
from ecgviewer.core.record import EcgRecord

MAX_LEADS = 64
DEFAULT_FS_HZ = 500.0
_SIGNAL_KEYS = ("signals", "signal", "data", "ecg", "x")
_FS_KEYS = ("fs_hz", "fs", "sampling_rate", "sampling_rate_hz")
_NAME_KEYS = ("lead_names", "leads", "sig_name")


def _orient(path: Path, arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise EcgReadError(path, f"expected a 2-D array (leads x samples), got shape {arr.shape}")
    if arr.shape[0] > arr.shape[1]:
        arr = arr.T
    if arr.shape[0] > MAX_LEADS:
        raise EcgReadError(path, f"array of shape {arr.shape} has more than {MAX_LEADS} leads")
    if arr.shape[1] < 2:
        raise EcgReadError(path, "array holds fewer than two samples per lead")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise EcgReadError(path, f"array of {arr.dtype} is not numeric")
    return arr


def _build(path, arr, fs, names, units, fmt, warnings) -> EcgRecord:
    arr = _orient(path, arr)
    signals = np.array(arr, dtype=np.float32)
    n = signals.shape[0]
    names = unique_lead_names(names) if names is not None else default_lead_names(n)
    if len(names) != n:
        raise EcgReadError(path, f"{len(names)} lead names for {n} leads")
    units = list(units) if units is not None else ["mV"] * n
    if len(units) == 1:
        units = units * n
    if len(units) != n:
        raise EcgReadError(path, f"{len(units)} units for {n} leads")
    signals, units = to_millivolts(signals, units)
    if not (np.isfinite(fs) and fs > 0):
        raise EcgReadError(path, f"invalid sampling rate {fs!r}")
    return EcgRecord(signals, fs, tuple(names), tuple(units), source_path=path,
                     format_name=fmt, warnings=tuple(warnings))  # fmt: skip


def read_npy(path: Path, fs_hz: float | None = None, lead_names=None, units=None, **_o) -> EcgRecord:
    """Read a bare ``.npy`` array."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise EcgReadError(path, f"not a plain numeric .npy array ({exc})") from exc
    check_declared_size(path, int(np.prod(arr.shape, dtype=np.int64)))
    warnings = []
    if fs_hz is None:
        fs_hz = DEFAULT_FS_HZ
        warnings.append(f"sampling rate not stored in .npy files; {DEFAULT_FS_HZ:g} Hz assumed")
    if units is None:
        warnings.append("units not stored in .npy files; mV assumed")
    return _build(path, arr, float(fs_hz), lead_names, units, "NumPy .npy", warnings)


def _first(npz, keys):
    for k in keys:
        if k in npz.files:
            return npz[k]
    return None


def read_npz(path: Path, fs_hz: float | None = None, lead_names=None, units=None, **_o) -> EcgRecord:
    """Read an ``.npz`` archive of signals plus sampling rate, lead names and units."""
    try:
        with zipfile.ZipFile(path) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise EcgReadError(path, f"not a valid .npz archive ({exc})") from exc
    if declared > MAX_TOTAL_SAMPLES * 8:
        raise EcgReadError(path, f"archive unpacks to {declared:,} bytes, too large to be an ECG")
    with np.load(path, allow_pickle=False) as npz:
        arr = _first(npz, _SIGNAL_KEYS)
        if arr is None:
            arrays = [k for k in npz.files if npz[k].ndim == 2]
            if len(arrays) != 1:
                raise EcgReadError(path, f"no signal array found (looked for {', '.join(_SIGNAL_KEYS)})")
            arr = npz[arrays[0]]
        fs_arr = _first(npz, _FS_KEYS)
        names_arr = _first(npz, _NAME_KEYS)
        units_arr = npz["units"] if "units" in npz.files else None
    warnings = []
    if fs_hz is None and fs_arr is not None:
        fs_hz = float(np.asarray(fs_arr).reshape(-1)[0])
    if fs_hz is None:
        fs_hz = DEFAULT_FS_HZ
        warnings.append(f"no sampling rate in the archive; {DEFAULT_FS_HZ:g} Hz assumed")
    if lead_names is None and names_arr is not None:
        lead_names = [str(s) for s in np.asarray(names_arr).reshape(-1)]
    if units is None and units_arr is not None:
        units = [str(s) for s in np.asarray(units_arr).reshape(-1)]
    return _build(path, arr, float(fs_hz), lead_names, units, "NumPy .npz", warnings)


NPY_READER = register_reader(
    Reader("npy", "NumPy array", (".npy",), lambda p, h: h.startswith(b"\x93NUMPY"), read_npy)
)
NPZ_READER = register_reader(
    Reader(
        "npz",
        "NumPy archive",
        (".npz",),
        lambda p, h: h.startswith(b"PK\x03\x04") and p.suffix.lower() == ".npz",
        read_npz,
    )
)
