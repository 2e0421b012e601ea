"""The one record type every reader returns and every consumer takes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ecgviewer.core.leads import DERIVED_LIMB_LEADS, STANDARD_LEADS, derive_limb_lead

#: Factors that turn a voltage in the given unit into millivolts.
_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "nv": 1e-6, "v": 1e3}


def millivolt_factor(unit: str) -> float | None:
    """Return the factor from ``unit`` to mV, or None when ``unit`` is not a voltage."""
    return _TO_MV.get(unit.strip().lower())


#: Keys of :attr:`VendorMeasurements.values` (floats; a key is absent when the file lacks it).
VENDOR_MEASUREMENT_KEYS: tuple[str, ...] = (
    "hr_bpm",
    "rr_ms",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
    "p_axis_deg",
    "qrs_axis_deg",
    "t_axis_deg",
)


@dataclass(frozen=True)
class VendorMeasurements:
    """Global measurements a cart or its software stored in the file (e.g. GE 12SL in MUSE XML).

    Parameters
    ----------
    source
        Who measured, as the file says (``"GE MUSE (12SL)"``, ``"Philips"``).
    values
        Subset of :data:`VENDOR_MEASUREMENT_KEYS` mapped to floats.
    """

    source: str
    values: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(VENDOR_MEASUREMENT_KEYS))
        if unknown:
            raise ValueError(f"unknown vendor measurement keys {unknown}")
        object.__setattr__(self, "values", MappingProxyType({k: float(v) for k, v in self.values.items()}))


@dataclass(frozen=True, eq=False)
class EcgRecord:
    """A multi-lead ECG in physical units.

    Parameters
    ----------
    signals
        Array of shape ``(n_leads, n_samples)``; voltages are in mV (readers
        convert), other channels (e.g. a plethysmogram) keep their own unit.
        It may be a read-only view or a memory map: consumers never write to it.
    fs_hz
        Sampling rate in Hz.
    lead_names
        One name per row of ``signals``, normalised (``I``, ``aVR``, ``V1`` ...)
        where the channel is a standard lead.
    units
        One physical unit per row (``"mV"`` for every ECG lead).
    start_time
        Acquisition start, when the file says it.
    metadata
        Patient and record fields present in the file (free text values).
    source_path, format_name
        Where the record came from and which reader read it.
    warnings
        Assumptions a reader had to make (e.g. a sampling rate not in the file).
    vendor_measurements
        Measurements stored in the file by the acquiring device, when present.
    """

    signals: np.ndarray
    fs_hz: float
    lead_names: tuple[str, ...]
    units: tuple[str, ...]
    start_time: dt.datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    source_path: Path | None = None
    format_name: str = ""
    warnings: tuple[str, ...] = ()
    vendor_measurements: VendorMeasurements | None = None

    def __post_init__(self) -> None:
        sig = self.signals
        if not isinstance(sig, np.ndarray) or sig.ndim != 2:
            raise ValueError("signals must be a 2-D array of shape (n_leads, n_samples)")
        if not np.issubdtype(sig.dtype, np.floating):
            raise ValueError(f"signals must be floating point, not {sig.dtype}")
        if not (np.isfinite(self.fs_hz) and self.fs_hz > 0):
            raise ValueError(f"sampling rate must be positive, not {self.fs_hz!r}")
        names = tuple(self.lead_names)
        if len(names) != sig.shape[0]:
            raise ValueError(f"{len(names)} lead names for {sig.shape[0]} signal rows")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate lead names: {names}")
        if len(tuple(self.units)) != len(names):
            raise ValueError(f"{len(tuple(self.units))} units for {len(names)} leads")
        object.__setattr__(self, "lead_names", names)
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "fs_hz", float(self.fs_hz))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    # -- shape ---------------------------------------------------------------
    @property
    def n_leads(self) -> int:
        """Number of recorded channels."""
        return int(self.signals.shape[0])

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return self.n_samples / self.fs_hz

    # -- leads ---------------------------------------------------------------
    def is_recorded(self, name: str) -> bool:
        """True when ``name`` is one of the stored channels."""
        return name in self.lead_names

    def is_derivable(self, name: str) -> bool:
        """True when ``name`` is not stored but can be computed from I and II."""
        return (
            name in DERIVED_LIMB_LEADS
            and not self.is_recorded(name)
            and self.is_recorded("I")
            and self.is_recorded("II")
        )

    def has_lead(self, name: str) -> bool:
        """True when ``name`` is recorded or derivable."""
        return self.is_recorded(name) or self.is_derivable(name)

    def unit_of(self, name: str) -> str:
        """Physical unit of a recorded or derived lead."""
        if self.is_recorded(name):
            return self.units[self.lead_names.index(name)]
        if self.is_derivable(name):
            return "mV"
        raise KeyError(name)

    def lead(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` of one lead, recorded or derived on the fly.

        A recorded lead is returned as a read-only view (no copy); a derived one
        is computed for the requested span only, so long records can be drawn
        chunk by chunk.
        """
        if self.is_recorded(name):
            view = self.signals[self.lead_names.index(name), start:stop]
            if view.flags.writeable:
                view = view.view()
                view.flags.writeable = False
            return view
        if self.is_derivable(name):
            return derive_limb_lead(name, self.lead("I", start, stop), self.lead("II", start, stop)).astype(
                self.signals.dtype, copy=False
            )
        raise KeyError(f"lead {name!r} is neither recorded nor derivable in this record")

    @property
    def display_leads(self) -> tuple[str, ...]:
        """Leads to show: the standard 12 present (recorded or derived), then the rest."""
        standard = [n for n in STANDARD_LEADS if self.has_lead(n)]
        others = [n for n in self.lead_names if n not in STANDARD_LEADS]
        return tuple(standard + others)

    @property
    def derived_leads(self) -> tuple[str, ...]:
        """Leads shown that are computed rather than recorded."""
        return tuple(n for n in STANDARD_LEADS if self.is_derivable(n))

    def leads_array(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """Stack the given leads (recorded or derived) into ``(len(names), n_samples)``."""
        return np.stack([self.lead(n) for n in names])

    def with_signals(self, signals: np.ndarray, fs_hz: float | None = None) -> EcgRecord:
        """A copy with new samples (same leads), e.g. after resampling."""
        return replace(self, signals=signals, fs_hz=self.fs_hz if fs_hz is None else fs_hz)

    def time_s(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Time axis in seconds for samples ``start:stop``."""
        stop = self.n_samples if stop is None else stop
        return np.arange(start, stop, dtype=np.float64) / self.fs_hz
