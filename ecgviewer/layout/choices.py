"""The paper choices every surface offers, defined once (viewer, CLI, settings, reports).

Each tuple is in menu order; the first entry of a choice is not necessarily its
default: the defaults are the ``DEFAULT_*`` constants.
"""

from __future__ import annotations

#: Lead layouts: name -> menu text. Both the viewer and the PDF report draw each one
#: (:mod:`ecgviewer.layout.paper`).
LAYOUTS: dict[str, str] = {
    "3x4": "3×4 + rhythm strip",
    "6x2": "6×2 + rhythm strip",
    "12x1": "12 stacked leads",
}
LAYOUT_NAMES: tuple[str, ...] = tuple(LAYOUTS)
DEFAULT_LAYOUT = "3x4"

#: Paper speeds in mm/s.
SPEEDS_MM_PER_S: tuple[float, ...] = (25.0, 50.0)
DEFAULT_SPEED_MM_PER_S = 25.0

#: Gains in mm/mV.
GAINS_MM_PER_MV: tuple[float, ...] = (5.0, 10.0, 20.0)
DEFAULT_GAIN_MM_PER_MV = 10.0

#: Report paper sizes (landscape), width x height in mm.
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "Letter": (279.4, 215.9)}
PAPER_NAMES: tuple[str, ...] = tuple(PAPER_SIZES_MM)
DEFAULT_PAPER = "A4"
