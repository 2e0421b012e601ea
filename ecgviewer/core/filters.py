"""Zero-phase display filters (scipy.signal); the record's samples are never modified.

scipy is imported on first use, so the GUI can import the filter choices at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord

#: ``(highpass_hz, notch_hz, lowpass_hz)``, None = off.
FiltersHz = tuple[float | None, float | None, float | None]

#: Choices offered in the GUI.
HIGHPASS_CHOICES_HZ: tuple[float, ...] = (0.5,)
NOTCH_CHOICES_HZ: tuple[float, ...] = (50.0, 60.0)
LOWPASS_CHOICES_HZ: tuple[float, ...] = (40.0, 100.0, 150.0)


@dataclass(frozen=True)
class FilterSettings:
    """Which display filters are on. ``None`` switches a filter off.

    Parameters
    ----------
    highpass_hz
        Baseline-wander removal: 2nd-order Butterworth high-pass, run forwards
        and backwards (zero phase, effective 4th order).
    notch_hz
        Powerline notch (50 or 60 Hz), quality factor 30, zero phase.
    lowpass_hz
        Muscle-noise low-pass: 4th-order Butterworth, zero phase. Ignored when
        it is at or above the Nyquist frequency of the record.
    """

    highpass_hz: float | None = None
    notch_hz: float | None = None
    lowpass_hz: float | None = None

    @property
    def active(self) -> bool:
        """True when any filter is on."""
        return any(v is not None for v in (self.highpass_hz, self.notch_hz, self.lowpass_hz))

    def describe(self, fs_hz: float | None = None) -> str:
        """Human-readable summary, e.g. ``"HP 0.5 Hz, notch 50 Hz, LP 40 Hz"``."""
        parts = []
        if self.highpass_hz is not None:
            parts.append(f"HP {self.highpass_hz:g} Hz")
        if self.notch_hz is not None and (fs_hz is None or self.notch_hz < fs_hz / 2):
            parts.append(f"notch {self.notch_hz:g} Hz")
        if self.lowpass_hz is not None and (fs_hz is None or self.lowpass_hz < fs_hz / 2):
            parts.append(f"LP {self.lowpass_hz:g} Hz")
        return ", ".join(parts) if parts else "no filters"


@lru_cache(maxsize=64)
def _butter_sos(kind: str, cutoff_hz: float, fs_hz: float, order: int) -> np.ndarray:
    from scipy import signal  # deferred: scipy.signal takes ~1 s to import

    return signal.butter(order, cutoff_hz, btype=kind, fs=fs_hz, output="sos")


@lru_cache(maxsize=16)
def _notch_sos(freq_hz: float, fs_hz: float) -> np.ndarray:
    from scipy import signal

    b, a = signal.iirnotch(freq_hz, Q=30.0, fs=fs_hz)
    return signal.tf2sos(b, a)


def design_filters(settings: FilterSettings, fs_hz: float) -> np.ndarray | None:
    """Second-order sections for the active filters at ``fs_hz`` (None when none apply)."""
    nyquist = fs_hz / 2
    sections = []
    if settings.highpass_hz is not None and settings.highpass_hz < nyquist:
        sections.append(_butter_sos("highpass", settings.highpass_hz, fs_hz, 2))
    if settings.notch_hz is not None and settings.notch_hz < nyquist:
        sections.append(_notch_sos(settings.notch_hz, fs_hz))
    if settings.lowpass_hz is not None and settings.lowpass_hz < nyquist:
        sections.append(_butter_sos("lowpass", settings.lowpass_hz, fs_hz, 4))
    return np.vstack(sections) if sections else None


def apply_filters(x: np.ndarray, fs_hz: float, settings: FilterSettings) -> np.ndarray:
    """Filter ``x`` (last axis is time) with zero phase and return a new array.

    The input is never modified. Signals too short for the forward-backward
    padding are filtered with the padding they allow.
    """
    sos = design_filters(settings, fs_hz)
    if sos is None:
        return np.array(x, copy=True)
    n = x.shape[-1]
    padlen = min(3 * (2 * len(sos) + 1) * 20, max(n - 1, 0))
    if n < 2:
        return np.array(x, copy=True)
    from scipy import signal

    y = signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen)
    return y.astype(x.dtype, copy=False)


def filtered_record(
    record: EcgRecord, filters_hz: FiltersHz, should_stop: Callable[[], bool] | None = None
) -> EcgRecord:
    """A new record with the display filters applied to its ECG (mV) channels.

    Parameters
    ----------
    record
        The record; it and its samples are never modified.
    filters_hz
        ``(highpass_hz, notch_hz, lowpass_hz)`` of :class:`FilterSettings`, None = off.
    should_stop
        Checked before each lead; when it returns True the filtering stops and
        ``record`` itself is returned (the caller drops the result).

    Returns
    -------
    EcgRecord
        The filtered copy; with every filter off, ``record`` itself.
    """
    if all(f is None for f in filters_hz):
        return record
    settings = FilterSettings(*filters_hz)
    rows = [i for i, unit in enumerate(record.units) if unit == "mV"]
    out = np.array(record.signals, dtype=record.signals.dtype, copy=True)
    # Lead by lead keeps the peak memory low and lets a cancelled caller stop early.
    for i in rows:
        if should_stop is not None and should_stop():
            return record
        out[i] = apply_filters(record.signals[i], record.fs_hz, settings)
    return record.with_signals(out)
