"""Torch-free input preparation: lead selection, resampling, windowing and scaling.

A trainer must feed its network exactly what :func:`prepare_windows` produces, so
this module is the single definition of the model input contract stored in a
checkpoint's ``input`` section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.core.record import EcgRecord
from ecgviewer.core.resample import resample_signals
from ecgviewer.inference.errors import PredictionError

#: Default hop between window starts (half a 10 s window).
DEFAULT_STRIDE_S = 5.0
#: A record this many samples (at the model rate) shorter than a window is edge-padded.
SHORTFALL_TOLERANCE_SAMPLES = 10


def window_starts(n_samples: int, window_samples: int, stride_samples: int) -> list[int]:
    """Start indices of the analysis windows over ``n_samples``.

    Windows start every ``stride_samples``; when the last regular window does not
    reach the end, one more window is aligned to the end, so every sample is
    covered. A 25 s record at 500 Hz with 10 s windows and 5 s stride gives starts
    0, 5, 10, 15 s (4 windows); 12 s gives 0 and 2 s.

    Raises
    ------
    PredictionError
        When ``n_samples < window_samples``.
    """
    if stride_samples < 1:
        raise ValueError("stride must be at least one sample")
    if n_samples < window_samples:
        raise PredictionError(f"record too short: {n_samples} samples, a window needs {window_samples}")
    starts = list(range(0, n_samples - window_samples + 1, stride_samples))
    if starts[-1] + window_samples < n_samples:
        starts.append(n_samples - window_samples)
    return starts


def select_leads(record: EcgRecord, leads: Sequence[str]) -> np.ndarray:
    """The model's leads as ``(len(leads), n_samples)`` float32 mV, deriving limb leads if needed.

    Raises
    ------
    PredictionError
        When a lead is neither recorded nor derivable (the message lists what is
        missing and what the record has), or is not in mV.
    """
    missing = [n for n in leads if not record.has_lead(n)]
    if missing:
        raise PredictionError(
            f"the model needs leads {', '.join(leads)}; missing {', '.join(missing)} "
            f"(record has {', '.join(record.lead_names) or 'no leads'})"
        )
    not_mv = [n for n in leads if record.unit_of(n) != "mV"]
    if not_mv:
        raise PredictionError(f"leads {', '.join(not_mv)} are not in mV")
    return record.leads_array(tuple(leads)).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Windows:
    """Model-ready windows ``(n_windows, n_leads, window_samples)`` and where they start."""

    data: np.ndarray
    starts_s: tuple[float, ...]
    warnings: tuple[str, ...]


def scale_windows(x: np.ndarray, scaling: Mapping[str, Any]) -> np.ndarray:
    """Apply the checkpoint's ``input.scaling`` to ``(..., n_leads, n_samples)`` mV windows."""
    if scaling.get("center") == "median":
        x = x - np.median(x, axis=-1, keepdims=True)
    scale = np.asarray(scaling.get("scale_mv", 1.0), dtype=np.float32)
    if scale.ndim == 1:
        scale = scale[:, None]
    return (x / scale).astype(np.float32, copy=False)


def prepare_windows(
    record: EcgRecord,
    leads: Sequence[str],
    fs_hz: float,
    window_samples: int,
    scaling: Mapping[str, Any],
    stride_s: float = DEFAULT_STRIDE_S,
) -> Windows:
    """Select leads, resample to ``fs_hz``, cut windows and scale them.

    Parameters
    ----------
    record
        The ECG (any sampling rate).
    leads, fs_hz, window_samples, scaling
        The checkpoint's input contract.
    stride_s
        Hop between window starts in seconds.

    Raises
    ------
    PredictionError
        Missing leads, or a record shorter than one window.
    """
    warnings: list[str] = []
    x = select_leads(record, leads)
    window_s = window_samples / fs_hz
    if record.duration_s < window_s - SHORTFALL_TOLERANCE_SAMPLES / fs_hz:
        raise PredictionError(
            f"record is {record.duration_s:.2f} s long; the model needs at least {window_s:g} s"
        )
    if record.fs_hz != fs_hz:
        x = resample_signals(x, record.fs_hz, fs_hz)
        warnings.append(f"resampled from {record.fs_hz:g} Hz to {fs_hz:g} Hz")
    if x.shape[1] < window_samples:  # rounding of the resampler, at most the tolerance
        x = np.pad(x, ((0, 0), (0, window_samples - x.shape[1])), mode="edge")
    bad = ~np.isfinite(x)
    if bad.any():
        warnings.append(f"{int(bad.sum())} non-finite samples set to 0 mV")
        x = np.where(bad, 0.0, x).astype(np.float32)
    stride = max(1, round(stride_s * fs_hz))
    starts = window_starts(x.shape[1], window_samples, stride)
    data = np.stack([x[:, s : s + window_samples] for s in starts])
    return Windows(scale_windows(data, scaling), tuple(s / fs_hz for s in starts), tuple(warnings))
