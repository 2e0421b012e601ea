"""Pixel checks of rendered ECG paper, in the manner of pyqtgraph's ``tests/image_testing.py``.

- :func:`image_to_rgb` turns a ``QImage`` (a widget's ``grab()``, a saved PNG) into an
  ``(height, width, 3)`` array;
- :func:`paper_area` crops a grab to the ECG paper (the box of the paper's own colour: no
  menus, docks, status bar or the grey around the paper);
- :func:`trace_stats` / :func:`traces_drawn` tell whether black traces run across the
  paper (the pink grid, the paper colour and the grey surround are not dark);
- :func:`assert_image_matches` compares a rendering with a stored reference PNG in
  ``tests/gui/images/``, tolerating antialiasing: both images are blurred with a 3x3 box
  filter, a pixel differs where a channel differs by more than ``pixel_tolerance`` (48 of 255),
  and at most ``max_differing_share`` (0.5 %) of the pixels may differ. On the 800 x 500 paper
  test a second rendering differs in no pixel, the whole drawing moved by 1 px in 0.8 %,
  10 mm/mV drawn at 11 mm/mV in 7 % and at 20 mm/mV in 10 %. A missing or different
  reference leaves the new rendering (and a difference image) in
  ``tests/gui/images/failed/``; to accept it as the new reference, look at it, then rerun
  the test with ``ECGVIEWER_UPDATE_IMAGES=1`` (or copy the file over the reference).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

IMAGES = Path(__file__).resolve().parent / "images"
FAILED = IMAGES / "failed"
UPDATE_ENV = "ECGVIEWER_UPDATE_IMAGES"

#: The paper's background (``ecgviewer.gui.paper.PAPER_BACKGROUND``, #fff8f5).
PAPER_RGB = (0xFF, 0xF8, 0xF5)
#: A pixel is part of a trace where every channel is below this (the traces are black,
#: antialiased 1 px lines; the grid's darkest pink, #e88a8a, has a red channel of 232).
DARK_LEVEL = 110


def image_to_rgb(image: QImage) -> np.ndarray:
    """``(height, width, 3)`` uint8 RGB copy of ``image``."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    h, w = image.height(), image.width()
    arr = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes()).reshape(h, -1, 4)
    return arr[:, :w, [2, 1, 0]].copy()  # RGB32 is B, G, R, A in memory on little-endian machines


def rgb_to_image(rgb: np.ndarray) -> QImage:
    """A ``QImage`` (RGB888) holding a copy of ``rgb``."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_rgb(path: str | Path) -> np.ndarray:
    image = QImage(str(path))
    if image.isNull():
        raise OSError(f"cannot read image {path}")
    return image_to_rgb(image)


def save_rgb(rgb: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not rgb_to_image(rgb).save(str(path), "PNG"):
        raise OSError(f"cannot write image {path}")
    return path


def paper_area(rgb: np.ndarray) -> np.ndarray:
    """The part of a view's grab that is paper: the bounding box of the paper-coloured pixels.

    Only the paper has its colour (#fff8f5; the lead labels' boxes are on the paper); rows and
    columns with fewer than 5 such pixels are left out, so a stray pixel does not widen the box.
    """
    paper = np.all(np.abs(rgb.astype(int) - PAPER_RGB) <= 3, axis=2)
    rows = np.flatnonzero(paper.sum(axis=1) >= 5)
    cols = np.flatnonzero(paper.sum(axis=0) >= 5)
    if rows.size == 0 or cols.size == 0:
        return rgb[:0, :0]
    return rgb[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def dark_mask(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel is trace-dark."""
    return np.all(rgb < DARK_LEVEL, axis=2)


@dataclass(frozen=True)
class TraceStats:
    #: paper size in pixels (height, width)
    shape: tuple[int, int]
    #: trace-dark pixels on the paper
    dark_pixels: int
    #: share of the paper's columns holding at least one trace-dark pixel
    column_share: float


def trace_stats(paper: np.ndarray) -> TraceStats:
    """How much of a paper crop (:func:`paper_area`) is covered by traces."""
    h, w = paper.shape[:2]
    if h == 0 or w == 0:
        return TraceStats((h, w), 0, 0.0)
    dark = dark_mask(paper)
    return TraceStats((h, w), int(dark.sum()), float(dark.any(axis=0).mean()))


def traces_drawn(paper: np.ndarray, min_column_share: float = 0.8, min_dark_share: float = 0.002) -> bool:
    """True where black traces run across the paper: dark pixels in at least ``min_column_share`` of
    its columns (lead labels and calibration pulses cover only a few) and at least ``min_dark_share``
    of its pixels. A paper of at least 200 x 100 pixels is required."""
    s = trace_stats(paper)
    h, w = s.shape
    return (
        h >= 100
        and w >= 200
        and s.column_share >= min_column_share
        and s.dark_pixels >= min_dark_share * h * w
    )


def _blur(rgb: np.ndarray) -> np.ndarray:
    """3x3 box blur (edges repeated), float."""
    a = np.pad(rgb.astype(np.float32), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = rgb.shape[:2]
    return sum(a[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0


@dataclass(frozen=True)
class Difference:
    #: pixels whose blurred colour differs by more than the tolerance in some channel
    differing: int
    #: their share of all pixels
    share: float
    #: the largest blurred channel difference (0..255)
    max_diff: float
    #: the differing pixels (for the difference image)
    mask: np.ndarray


def image_difference(actual: np.ndarray, reference: np.ndarray, pixel_tolerance: float = 48.0) -> Difference:
    """Compare two equally sized images after a 3x3 blur (antialiasing and 1 px shifts mostly vanish)."""
    if actual.shape != reference.shape:
        raise ValueError(f"image sizes differ: {actual.shape[1::-1]} vs reference {reference.shape[1::-1]}")
    diff = np.abs(_blur(actual) - _blur(reference)).max(axis=2)
    mask = diff > pixel_tolerance
    return Difference(int(mask.sum()), float(mask.mean()), float(diff.max()), mask)


def images_match(
    actual: np.ndarray,
    reference: np.ndarray,
    pixel_tolerance: float = 48.0,
    max_differing_share: float = 0.005,
) -> bool:
    """True where at most ``max_differing_share`` of the pixels differ (see :func:`image_difference`)."""
    if actual.shape != reference.shape:
        return False
    return image_difference(actual, reference, pixel_tolerance).share <= max_differing_share


def assert_image_matches(
    name: str,
    actual: np.ndarray,
    pixel_tolerance: float = 48.0,
    max_differing_share: float = 0.005,
) -> None:
    """``actual`` matches ``tests/gui/images/NAME.png``; otherwise fail, leaving the new image in ``failed/``.

    With ``ECGVIEWER_UPDATE_IMAGES=1`` the reference is (re)written instead and the test passes.
    """
    reference_path = IMAGES / f"{name}.png"
    failed_path = FAILED / f"{name}.png"
    how = (
        f"look at {failed_path}; if it is right, rerun with {UPDATE_ENV}=1 (or copy it to "
        f"{reference_path}) and commit the new reference"
    )
    if os.environ.get(UPDATE_ENV):
        save_rgb(actual, reference_path)
        return
    if not reference_path.exists():
        save_rgb(actual, failed_path)
        raise AssertionError(f"no reference image {reference_path}: {how}")
    reference = load_rgb(reference_path)
    if actual.shape != reference.shape:
        save_rgb(actual, failed_path)
        raise AssertionError(
            f"{name}: size {actual.shape[1]}x{actual.shape[0]} differs from the reference "
            f"{reference.shape[1]}x{reference.shape[0]}: {how}"
        )
    d = image_difference(actual, reference, pixel_tolerance)
    if d.share > max_differing_share:
        save_rgb(actual, failed_path)
        marked = reference.copy()
        marked[d.mask] = (255, 0, 255)
        save_rgb(marked, FAILED / f"{name}-diff.png")
        raise AssertionError(
            f"{name}: {d.differing} pixels ({100 * d.share:.2f} %, allowed "
            f"{100 * max_differing_share:.2f} %) differ by more than {pixel_tolerance:g} "
            f"(largest {d.max_diff:.0f}) from the reference; the "
            f"differing pixels are magenta in {FAILED / (name + '-diff.png')}: {how}"
        )
