"""Clock-time formatting and a pyqtgraph axis that labels record seconds with the time of day.

Values on the axis are seconds from the start of the record. With a start time
(``LongRecord.start_time``) the labels are the time of day ``start_time +
offset`` (``hh:mm:ss``); without one they are the elapsed time (``h:mm:ss``).
Ticks fall on round clock times (every 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15,
30 min, 1, 2, 3, 6, 12 h), whichever spacing leaves room for the labels.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyqtgraph as pg

from ecgviewer.gui.longterm.clock import format_clock, seconds_of_day

#: Candidate label spacings in seconds, finest first.
TICK_SPACINGS_S: tuple[float, ...] = (
    0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
)  # fmt: skip
#: Minimum room per label, in pixels.
LABEL_PX = 78.0
#: Finer unlabelled ticks between labels (spacing of the label / this).
MINOR_DIVISIONS = {0.2: 2, 0.5: 5, 1: 5, 2: 4, 5: 5, 10: 5, 15: 3, 30: 3, 60: 4, 120: 4, 300: 5}


def tick_spacing(span_s: float, size_px: float) -> float:
    """The finest spacing of :data:`TICK_SPACINGS_S` that gives each label :data:`LABEL_PX` pixels."""
    if span_s <= 0 or size_px <= 0:
        return TICK_SPACINGS_S[-1]
    max_labels = max(1.0, size_px / LABEL_PX)
    for spacing in TICK_SPACINGS_S:
        if span_s / spacing <= max_labels:
            return float(spacing)
    return float(TICK_SPACINGS_S[-1] * math.ceil(span_s / max_labels / TICK_SPACINGS_S[-1]))


def clock_ticks(start_time: dt.datetime | None, lo_s: float, hi_s: float, spacing_s: float) -> np.ndarray:
    """Record offsets in ``[lo_s, hi_s]`` that fall on multiples of ``spacing_s`` of the clock."""
    origin = seconds_of_day(start_time)
    first = math.ceil((lo_s + origin) / spacing_s - 1e-9) * spacing_s - origin
    n = math.floor((hi_s - first) / spacing_s + 1e-9) + 1
    return first + spacing_s * np.arange(max(0, n))


class TimeOfDayAxis(pg.AxisItem):
    """A time axis over record seconds labelled with the time of day (see the module docstring).

    Parameters
    ----------
    orientation
        ``"bottom"`` or ``"top"``.
    start_time
        Acquisition start (None: elapsed time).
    """

    def __init__(self, orientation: str = "bottom", start_time: dt.datetime | None = None, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self._start_time = start_time
        self._limits: tuple[float, float] | None = None
        self.enableAutoSIPrefix(False)

    @property
    def start_time(self) -> dt.datetime | None:
        """The clock origin (None: elapsed time)."""
        return self._start_time

    def set_start_time(self, start_time: dt.datetime | None) -> None:
        """Label from ``start_time`` (None: elapsed time)."""
        self._start_time = start_time
        self.picture = None
        self.update()

    def set_limits(self, lo_s: float | None, hi_s: float | None = None) -> None:
        """Only put ticks inside ``[lo_s, hi_s]`` (record seconds); ``None`` removes the limits."""
        self._limits = None if lo_s is None or hi_s is None else (float(lo_s), float(hi_s))
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        lo, hi = sorted((float(minVal), float(maxVal)))
        if self._limits is not None:
            lo, hi = max(lo, self._limits[0]), min(hi, self._limits[1])
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return []
        span = float(maxVal - minVal) if maxVal != minVal else hi - lo
        major = tick_spacing(abs(span), size)
        majors = clock_ticks(self._start_time, lo, hi, major)
        levels = [(major, majors.tolist())]
        divisions = MINOR_DIVISIONS.get(major)
        if divisions is None and major >= 600:
            divisions = 2 if major in (900, 1800) else 4 if major >= 3600 else 2
        if divisions:
            minor = major / divisions
            minors = clock_ticks(self._start_time, lo, hi, minor)
            if majors.size:
                minors = minors[np.abs(minors[:, None] - majors[None, :]).min(axis=1) > minor * 0.01]
            levels.append((minor, minors.tolist()))
        return levels

    def tickStrings(self, values, scale, spacing) -> list[str]:
        decimals = 1 if spacing < 1 else 0
        return [format_clock(self._start_time, float(v), decimals) for v in values]
