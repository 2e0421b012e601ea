"""Sampling-rate conversion for consumers that need a fixed rate (e.g. 500 Hz models)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

from ecgviewer.core.record import EcgRecord


def resample_signals(x: np.ndarray, fs_from: float, fs_to: float) -> np.ndarray:
    """Resample along the last axis with a polyphase anti-aliasing filter."""
    if fs_from <= 0 or fs_to <= 0:
        raise ValueError("sampling rates must be positive")
    if fs_from == fs_to:
        return np.array(x, copy=True)
    ratio = Fraction(fs_to / fs_from).limit_denominator(1000)
    y = signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)
    return y.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32, copy=False)


def resample_record(record: EcgRecord, fs_hz: float) -> EcgRecord:
    """A copy of ``record`` at ``fs_hz`` (the record itself is untouched)."""
    if record.fs_hz == fs_hz:
        return record
    ratio = Fraction(fs_hz / record.fs_hz).limit_denominator(1000)
    fs_exact = record.fs_hz * ratio.numerator / ratio.denominator
    return record.with_signals(resample_signals(record.signals, record.fs_hz, fs_hz), fs_exact)
