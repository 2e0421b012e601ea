"""Typed, frozen results of an interval prediction (torch-free)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

#: What every display must say when ``PredictionResult.trained`` is False.
PLACEHOLDER_WARNING = "UNTRAINED PLACEHOLDER — values are not measurements"
#: Order of intervals in results and CLI output.
INTERVAL_ORDER: tuple[str, ...] = ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms")


@dataclass(frozen=True)
class IntervalEstimate:
    """One interval over all windows of a record.

    Attributes
    ----------
    name, unit
        e.g. ``"qrs_ms"``, ``"ms"``; ``"hr_bpm"``, ``"bpm"``.
    value
        Median over windows.
    q1, q3, iqr, min, max
        Spread of the per-window values.
    n_windows
        Number of windows.
    per_window
        The per-window values, in window order.
    sigma
        Median predicted standard deviation (heteroscedastic models only), else None.
    """

    name: str
    unit: str
    value: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    n_windows: int
    per_window: tuple[float, ...]
    sigma: float | None = None

    @classmethod
    def from_values(
        cls, name: str, unit: str, values: np.ndarray, sigmas: np.ndarray | None = None
    ) -> IntervalEstimate:
        """Summarise per-window ``values`` (and optional per-window sigmas)."""
        v = np.asarray(values, dtype=np.float64)
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        sigma = None if sigmas is None else float(np.median(sigmas))
        return cls(
            name,
            unit,
            float(med),
            float(q1),
            float(q3),
            float(q3 - q1),
            float(v.min()),
            float(v.max()),
            int(v.size),
            tuple(float(a) for a in v),
            sigma,
        )

    def spread_dict(self) -> dict[str, Any]:
        """``{"iqr", "q1", "q3", "min", "max", "n_windows"[, "sigma"]}`` for JSON."""
        d: dict[str, Any] = {
            "iqr": self.iqr,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.min,
            "max": self.max,
            "n_windows": self.n_windows,
        }
        if self.sigma is not None:
            d["sigma"] = self.sigma
        return d


@dataclass(frozen=True)
class PredictionResult:
    """Model intervals for one record.

    Attributes
    ----------
    intervals
        ``name -> IntervalEstimate`` for ``hr_bpm``, ``rr_ms``, ``pr_ms``, ``qrs_ms``, ``qt_ms``.
    qtc_bazett_ms, qtc_fridericia_ms
        QTc from the median QT and RR (:mod:`ecgviewer.core.qtc`): QT / sqrt(RR_s) and QT / RR_s^(1/3).
    model_name, checkpoint_status, checkpoint_sha256, trained
        Which checkpoint produced the values; ``trained`` False means placeholder.
    device
        Torch device used (``"cpu"``, ``"cuda"``, ``"mps"``).
    elapsed_s
        Wall time of the prediction (preparation + network).
    window_starts_s
        Start of each analysed window in the record, seconds.
    warnings
        Preprocessing notes (resampling, non-finite samples).
    """

    intervals: Mapping[str, IntervalEstimate]
    qtc_bazett_ms: float
    qtc_fridericia_ms: float
    model_name: str
    checkpoint_status: str
    checkpoint_sha256: str
    trained: bool
    device: str
    elapsed_s: float
    window_starts_s: tuple[float, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", MappingProxyType(dict(self.intervals)))

    def __getitem__(self, name: str) -> IntervalEstimate:
        return self.intervals[name]

    @property
    def n_windows(self) -> int:
        """Number of analysed windows."""
        return len(self.window_starts_s)

    @property
    def display_warning(self) -> str | None:
        """The banner text every display must show, or None for a trained model."""
        return None if self.trained else PLACEHOLDER_WARNING

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of this result alone (exports write the measurement document instead)."""
        d: dict[str, Any] = {
            "model": self.model_name,
            "status": self.checkpoint_status,
            "trained": self.trained,
        }
        if self.display_warning:
            d["warning"] = self.display_warning
        for name in INTERVAL_ORDER:
            d[name] = self.intervals[name].value
        d["qtc_bazett_ms"] = self.qtc_bazett_ms
        d["qtc_fridericia_ms"] = self.qtc_fridericia_ms
        d["units"] = {name: self.intervals[name].unit for name in INTERVAL_ORDER}
        d["spread"] = {name: self.intervals[name].spread_dict() for name in INTERVAL_ORDER}
        d.update(
            checkpoint_sha256=self.checkpoint_sha256,
            device=self.device,
            elapsed_s=self.elapsed_s,
            window_starts_s=list(self.window_starts_s),
            warnings=list(self.warnings),
        )
        return d
