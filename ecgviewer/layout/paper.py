"""Where each lead goes on the paper, in millimetres (no Qt, no drawing).

Plot coordinates are millimetres of paper: ``x_mm = x0_mm + (t_s - t0_s) *
speed_mm_per_s`` and ``y_mm = baseline_mm + v_mv * gain_mm_per_mv``. Row ``r``
has its baseline at ``y = -r * row_height_mm`` (row 0 on top). Each row starts
with a 1 mV calibration pulse left of ``x0_mm``.

In the 3x4 layout the four columns are consecutive in time, as on a printed
ECG: column ``k`` shows seconds ``t0 + 2.5 k .. t0 + 2.5 (k + 1)`` of leads
(I, II, III), (aVR, aVL, aVF), (V1, V2, V3), (V4, V5, V6); row 3 is a 10 s
rhythm strip (lead II). The 6x2 layout has two 5 s columns, limb leads then
chest leads, and the same rhythm strip (row 6). So in every layout ``t_s = t0_s
+ (x_mm - x0_mm) / speed_mm_per_s``.

The viewer (:mod:`ecgviewer.gui.ecg_view`) and the PDF report
(:mod:`ecgviewer.report.pdf`) both draw these layouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecgviewer.layout.choices import LAYOUT_NAMES  # noqa: F401  (re-exported)

#: 3x4 grid: columns of leads, top to bottom.
GRID_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("I", "II", "III"),
    ("aVR", "aVL", "aVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
#: 6x2 grid: limb leads in the first 5 s column, chest leads in the second.
GRID_COLUMNS_6X2: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III", "aVR", "aVL", "aVF"),
    ("V1", "V2", "V3", "V4", "V5", "V6"),
)
COLUMN_S = 2.5
PAGE_S = 10.0
#: Width of the calibration pulse in seconds of paper (5 mm at 25 mm/s).
PULSE_S = 0.2
#: Left edge of the pulse and blank paper after it, in mm.
PULSE_LEAD_IN_MM = 3.0
PULSE_LEAD_OUT_MM = 2.0
RIGHT_MARGIN_MM = 5.0
#: Row pitch of the stacked layout, in mV of paper.
STACKED_MV_PER_ROW = 2.0


@dataclass(frozen=True)
class Segment:
    """One drawn piece of a lead.

    ``t_start_s``/``t_stop_s`` are record times; ``x_start_mm`` is where
    ``t_start_s`` is drawn; ``scale_mm_per_unit`` is the gain (mm/mV for ECG
    leads, a fitted scale for channels in other units).
    """

    lead: str
    row: int
    column: int
    t_start_s: float
    t_stop_s: float
    x_start_mm: float
    baseline_mm: float
    derived: bool = False
    unit: str = "mV"
    scale_mm_per_unit: float = 10.0
    offset: float = 0.0  # value drawn on the baseline (0 for ECG leads)


@dataclass(frozen=True)
class Location:
    """What is under a point of the paper."""

    lead: str
    row: int
    t_s: float
    value: float
    unit: str


@dataclass(frozen=True)
class PaperLayout:
    """The complete geometry of one layout (all lengths in mm)."""

    name: str
    speed_mm_per_s: float
    gain_mm_per_mv: float
    t0_s: float
    x0_mm: float
    row_height_mm: float
    n_rows: int
    segments: tuple[Segment, ...]
    paper_rect: tuple[float, float, float, float]  # left, bottom, width, height
    column_bounds_mm: tuple[float, ...] = ()

    def baseline_mm(self, row: int) -> float:
        """y of row ``row``'s baseline."""
        return -row * self.row_height_mm

    def time_at(self, x_mm: float) -> float:
        """Record time (s) drawn at ``x_mm``."""
        return self.t0_s + (x_mm - self.x0_mm) / self.speed_mm_per_s

    def x_at(self, t_s: float) -> float:
        """Paper x (mm) where record time ``t_s`` is drawn (3x4: the column that shows it)."""
        return self.x0_mm + (t_s - self.t0_s) * self.speed_mm_per_s

    def row_at(self, y_mm: float) -> int | None:
        """Row whose band contains ``y_mm`` (None outside the rows)."""
        row = math.floor(-y_mm / self.row_height_mm + 0.5)
        return row if 0 <= row < self.n_rows else None

    def segment_at(self, x_mm: float, y_mm: float) -> Segment | None:
        """The segment drawn around ``(x_mm, y_mm)``."""
        row = self.row_at(y_mm)
        if row is None:
            return None
        t = self.time_at(x_mm)
        for seg in self.segments:
            if seg.row == row and seg.t_start_s <= t <= seg.t_stop_s:
                return seg
        return None

    def locate(self, x_mm: float, y_mm: float) -> Location | None:
        """Lead, record time (s) and amplitude (relative to the row baseline) at a point."""
        seg = self.segment_at(x_mm, y_mm)
        if seg is None:
            return None
        value = (y_mm - seg.baseline_mm) / seg.scale_mm_per_unit + seg.offset
        return Location(seg.lead, seg.row, self.time_at(x_mm), value, seg.unit)


def row_height_for_gain(gain_mm_per_mv: float, mv_per_row: float = 3.0, min_mm: float = 20.0) -> float:
    """Row pitch: ``mv_per_row`` mV of paper (3 in 3x4, 2 stacked), >= ``min_mm``, a multiple of 5 mm."""
    return max(min_mm, 5.0 * math.ceil(mv_per_row * gain_mm_per_mv / 5.0))


def pulse_width_mm(speed_mm_per_s: float) -> float:
    """Width of the 1 mV calibration pulse (0.2 s of paper)."""
    return PULSE_S * speed_mm_per_s


def signal_origin_mm(speed_mm_per_s: float) -> float:
    """x where the signal starts: after the pulse, rounded up to 5 mm."""
    end = PULSE_LEAD_IN_MM + pulse_width_mm(speed_mm_per_s) + PULSE_LEAD_OUT_MM
    return 5.0 * math.ceil(end / 5.0)


def calibration_pulse_xy(
    baseline_mm: float, speed_mm_per_s: float, gain_mm_per_mv: float, x_start_mm: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Polyline of the standard 1 mV square calibration pulse.

    The pulse is 0.2 s wide (5 mm at 25 mm/s) and 1 mV tall (10 mm at
    10 mm/mV), between short stretches of baseline.

    Returns
    -------
    x_mm, y_mm : ndarray
        Vertices of the polyline.
    """
    w = pulse_width_mm(speed_mm_per_s)
    a = x_start_mm + PULSE_LEAD_IN_MM
    xs = [a - 2.0, a, a, a + w, a + w, a + w + PULSE_LEAD_OUT_MM]
    ys = [0.0, 0.0, gain_mm_per_mv, gain_mm_per_mv, 0.0, 0.0]
    return np.asarray(xs, dtype=np.float64), baseline_mm + np.asarray(ys, dtype=np.float64)


def _paper_rect(x_right: float, n_rows: int, row_h: float) -> tuple[float, float, float, float]:
    right = 5.0 * math.ceil((x_right + RIGHT_MARGIN_MM) / 5.0)
    top = 0.6 * row_h
    bottom = -(n_rows - 1) * row_h - 0.8 * row_h  # room for deep S waves of the last row
    top, bottom = 5.0 * math.ceil(top / 5.0), 5.0 * math.floor(bottom / 5.0)
    return (0.0, bottom, right, top - bottom)


def layout_3x4(
    available: dict[str, tuple[bool, str]],
    duration_s: float,
    speed_mm_per_s: float,
    gain_mm_per_mv: float,
    t0_s: float = 0.0,
    rhythm_lead: str | None = "II",
    row_height_mm: float | None = None,
) -> PaperLayout:
    """Standard 3x4 layout plus a 10 s rhythm strip.

    Parameters
    ----------
    available
        Lead name -> ``(derived, unit)`` for the leads the record has (recorded
        or derivable); missing grid cells stay empty.
    duration_s
        Record length; the page shows ``t0_s .. t0_s + 10`` (clipped to it).
    rhythm_lead
        Lead of the rhythm strip (II, else the first available ECG lead).
    row_height_mm
        Row pitch (default :func:`row_height_for_gain`: 3 mV of paper).
    """
    row_h = row_height_mm or row_height_for_gain(gain_mm_per_mv)
    x0 = signal_origin_mm(speed_mm_per_s)
    t_end = min(duration_s, t0_s + PAGE_S)
    segs: list[Segment] = []
    for col, leads in enumerate(GRID_COLUMNS):
        a = t0_s + col * COLUMN_S
        b = min(a + COLUMN_S, t_end)
        if b <= a:
            continue
        for row, lead in enumerate(leads):
            if lead in available and available[lead][1] == "mV":
                segs.append(
                    Segment(
                        lead,
                        row,
                        col,
                        a,
                        b,
                        x0 + (a - t0_s) * speed_mm_per_s,
                        -row * row_h,
                        available[lead][0],
                        "mV",
                        gain_mm_per_mv,
                    )
                )
    ecg_leads = [n for n, (_, unit) in available.items() if unit == "mV"]
    if rhythm_lead not in ecg_leads:
        rhythm_lead = ecg_leads[0] if ecg_leads else None
    n_rows = 3
    if rhythm_lead is not None:
        n_rows = 4
        segs.append(
            Segment(
                rhythm_lead,
                3,
                0,
                t0_s,
                t_end,
                x0,
                -3 * row_h,
                available[rhythm_lead][0],
                "mV",
                gain_mm_per_mv,
            )
        )
    bounds = tuple(x0 + k * COLUMN_S * speed_mm_per_s for k in range(5) if t0_s + k * COLUMN_S <= t_end)
    rect = _paper_rect(x0 + PAGE_S * speed_mm_per_s, n_rows, row_h)
    return PaperLayout(
        "3x4", speed_mm_per_s, gain_mm_per_mv, t0_s, x0, row_h, n_rows, tuple(segs), rect, bounds
    )


def layout_stacked(
    leads: list[tuple[str, bool, str, float, float]],
    duration_s: float,
    speed_mm_per_s: float,
    gain_mm_per_mv: float,
    t0_s: float = 0.0,
    page_s: float | None = None,
    row_height_mm: float | None = None,
) -> PaperLayout:
    """All leads stacked over the full duration ("12x1").

    Parameters
    ----------
    leads
        ``(name, derived, unit, scale_mm_per_unit, offset)`` in display order;
        ECG leads use the gain (offset 0), other channels a scale and offset
        fitted to the row.
    t0_s, page_s
        Show ``t0_s .. t0_s + page_s`` only (a printed page); default the whole record.
    row_height_mm
        Row pitch (default :func:`row_height_for_gain` with 2 mV of paper, at least 15 mm).
    """
    row_h = row_height_mm or row_height_for_gain(gain_mm_per_mv, STACKED_MV_PER_ROW, 15.0)
    x0 = signal_origin_mm(speed_mm_per_s)
    t_end = duration_s if page_s is None else min(duration_s, t0_s + page_s)
    segs = tuple(
        Segment(
            name,
            row,
            0,
            t0_s,
            t_end,
            x0,
            -row * row_h,
            derived,
            unit,
            gain_mm_per_mv if unit == "mV" else scale,
            0.0 if unit == "mV" else offset,
        )
        for row, (name, derived, unit, scale, offset) in enumerate(leads)
    )
    n_rows = max(1, len(segs))
    rect = _paper_rect(x0 + (t_end - t0_s) * speed_mm_per_s, n_rows, row_h)
    return PaperLayout("12x1", speed_mm_per_s, gain_mm_per_mv, t0_s, x0, row_h, n_rows, segs, rect)


def layout_6x2(
    available: dict[str, tuple[bool, str]],
    duration_s: float,
    speed_mm_per_s: float,
    gain_mm_per_mv: float,
    t0_s: float = 0.0,
    rhythm_lead: str | None = "II",
    row_height_mm: float | None = None,
) -> PaperLayout:
    """6x2 layout: limb leads for ``t0 .. t0 + 5 s``, chest leads for the next 5 s, a rhythm strip.

    Parameters
    ----------
    available, duration_s, rhythm_lead
        As for :func:`layout_3x4`.
    row_height_mm
        Row pitch (default :func:`row_height_for_gain` with 2 mV of paper, at least 15 mm).
    """
    row_h = row_height_mm or row_height_for_gain(gain_mm_per_mv, STACKED_MV_PER_ROW, 15.0)
    x0 = signal_origin_mm(speed_mm_per_s)
    t_end = min(duration_s, t0_s + PAGE_S)
    col_s = PAGE_S / len(GRID_COLUMNS_6X2)
    segs: list[Segment] = []
    for col, leads in enumerate(GRID_COLUMNS_6X2):
        a = t0_s + col * col_s
        b = min(a + col_s, t_end)
        if b <= a:
            continue
        for row, lead in enumerate(leads):
            if lead in available and available[lead][1] == "mV":
                x = x0 + (a - t0_s) * speed_mm_per_s
                segs.append(
                    Segment(lead, row, col, a, b, x, -row * row_h, available[lead][0], "mV", gain_mm_per_mv)
                )
    n_rows = len(GRID_COLUMNS_6X2[0])
    ecg_leads = [n for n, (_, unit) in available.items() if unit == "mV"]
    if rhythm_lead not in ecg_leads:
        rhythm_lead = ecg_leads[0] if ecg_leads else None
    if rhythm_lead is not None:
        segs.append(
            Segment(
                rhythm_lead,
                n_rows,
                0,
                t0_s,
                t_end,
                x0,
                -n_rows * row_h,
                available[rhythm_lead][0],
                "mV",
                gain_mm_per_mv,
            )
        )
        n_rows += 1
    bounds = tuple(x0 + k * col_s * speed_mm_per_s for k in range(3) if t0_s + k * col_s <= t_end)
    rect = _paper_rect(x0 + PAGE_S * speed_mm_per_s, n_rows, row_h)
    return PaperLayout(
        "6x2", speed_mm_per_s, gain_mm_per_mv, t0_s, x0, row_h, n_rows, tuple(segs), rect, bounds
    )
