"""ECG-to-image conversion, masks, patches and metrics of the image segmentation (numpy only; no torch).

Hernández-Fernández, Gómez-Moreno, Holgado-Cuadrado and Blanco-Velasco ("Long-term ECG
Analysis Through Image Conversion and Deep Learning", CinC 2023) turn a long ECG into an
image and segment the premature ventricular contractions (PVC) and fusion beats in it (the
network is in :mod:`ecgviewer.models.beat_segmentation`, inference in
:mod:`ecgviewer.inference.beat_segmentation`). The conversion, as in the paper:

1. the signal (one lead, at the paper's 128 Hz; other rates are resampled) is cut into
   **rows** of ``row_samples`` samples (1000 = 7.8 s) stacked into a matrix; ``image_rows``
   rows (1000, i.e. 10^6 samples) make one image;
2. upper and lower **thresholds** at ``clip_fraction`` (25 %) of the image's largest and
   smallest value (after removing the median) clip the noise peaks that would otherwise
   squeeze the genuine signal into a few colours;
3. a **heat map** colours each value (viridis, as the paper's published patches show);
4. the image is **rescaled** by ``scale`` (2.56: 1000 x 1000 -> 2560 x 2560 pixels; here by
   nearest neighbour, so every pixel belongs to exactly one sample; ``scale_x`` allows another
   horizontal factor);
5. the image is cut into square **patches** (256 x 256 in the paper) for the network, and
   the predicted patches are reassembled.

Every matrix cell is one sample (``sample = row * row_samples + column``), so masks and
metrics are computed on cells: :func:`anomaly_mask` marks ``±half_width_s`` around each
annotated V/F beat (the paper marks a range of about 25 samples per anomaly),
:func:`refine_rectangles` turns each predicted blob into its bounding rectangle (the
paper's refinement), :func:`mask_ranges` maps cells back to sample ranges, and
:func:`pixel_scores` / :func:`episode_scores` are the paper's pixel-level precision,
recall, F1 and IoU and its anomaly-level detection figure.

One deviation from the paper, stored with every checkpoint: a 0.5 Hz high-pass removes
baseline wander before the conversion (``highpass_hz``; None = as the paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ecgviewer.core.filters import FilterSettings, apply_filters
from ecgviewer.core.resample import resample_signals

#: Value of cells and pixels that hold no sample (after the end of the signal) in masks.
IGNORE = 255

#: viridis at 9 evenly spaced stops (matplotlib's table), interpolated linearly.
_VIRIDIS_STOPS = np.array(
    [
        [0.2670, 0.0049, 0.3294],
        [0.2788, 0.1755, 0.4834],
        [0.2297, 0.3224, 0.5457],
        [0.1727, 0.4488, 0.5579],
        [0.1276, 0.5669, 0.5506],
        [0.1579, 0.6838, 0.5017],
        [0.3692, 0.7889, 0.3829],
        [0.6785, 0.8637, 0.1895],
        [0.9932, 0.9062, 0.1439],
    ]
)


def _viridis_lut() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 256)
    s = np.linspace(0.0, 1.0, len(_VIRIDIS_STOPS))
    lut = np.stack([np.interp(t, s, _VIRIDIS_STOPS[:, c]) for c in range(3)], axis=1)
    return np.round(lut * 255).astype(np.uint8)


VIRIDIS_LUT: np.ndarray = _viridis_lut()


@dataclass(frozen=True)
class ImageSpec:
    """How a signal becomes images (stored in a checkpoint's ``input.image``).

    Parameters
    ----------
    fs_hz
        Rate the signal is resampled to (the paper's MIT-BIH Long-Term records: 128 Hz).
    row_samples
        Samples per image row (paper: 1000).
    image_rows
        Rows per image (paper: 1000, one image per 10^6 samples); the last image is shorter.
    scale
        Pixels per row, and per sample unless ``scale_x`` is given (paper: 2.56; at least 1).
    scale_x
        Pixels per sample when they differ from ``scale`` (None: ``scale``, as the paper).
    clip_fraction
        The thresholds, as a fraction of the image's largest and smallest (median-removed) value.
    highpass_hz
        Baseline-wander high-pass before the conversion (None: none, as the paper).
    patch_px
        Side of the square patches the network sees (paper: 256).
    half_width_s
        Mask range marked on each side of an annotated V/F beat.
    """

    fs_hz: float = 128.0
    row_samples: int = 1000
    image_rows: int = 1000
    scale: float = 2.56
    scale_x: float | None = None
    clip_fraction: float = 0.25
    highpass_hz: float | None = 0.5
    patch_px: int = 256
    half_width_s: float = 0.1

    def __post_init__(self) -> None:
        if self.fs_hz <= 0 or self.row_samples <= 0 or self.image_rows <= 0 or self.patch_px <= 0:
            raise ValueError("fs_hz, row_samples, image_rows and patch_px must be positive")
        if self.scale < 1.0 or (self.scale_x is not None and self.scale_x < 1.0):
            raise ValueError("scale and scale_x must be >= 1 (every sample needs at least one pixel)")
        if not 0.0 < self.clip_fraction <= 1.0:
            raise ValueError("clip_fraction must lie in (0, 1]")
        if self.half_width_s < 0:
            raise ValueError("half_width_s must be >= 0")

    @property
    def samples_per_image(self) -> int:
        """Samples in one full image."""
        return self.row_samples * self.image_rows

    @property
    def half_width(self) -> int:
        """``half_width_s`` in samples at :attr:`fs_hz`."""
        return round(self.half_width_s * self.fs_hz)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageSpec:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown image settings {unknown}")
        return cls(**d)


# -- signal -> matrix -> image -----------------------------------------------------------------
def prepare_signal(x: np.ndarray, fs_hz: float, spec: ImageSpec) -> np.ndarray:
    """One lead (mV) as float32 at ``spec.fs_hz``: high-passed (``spec.highpass_hz``) and resampled."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected one lead (n_samples,), got shape {x.shape}")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if spec.highpass_hz is not None and x.size > 1:
        x = apply_filters(x, fs_hz, FilterSettings(highpass_hz=spec.highpass_hz))
    return resample_signals(x, fs_hz, spec.fs_hz).astype(np.float32, copy=False)


def to_spec_samples(samples: np.ndarray, fs_hz: float, spec: ImageSpec) -> np.ndarray:
    """Sample indices at ``fs_hz`` -> the nearest sample at ``spec.fs_hz`` (int64)."""
    return np.round(np.asarray(samples, dtype=np.float64) * spec.fs_hz / fs_hz).astype(np.int64)


def image_spans(n_samples: int, spec: ImageSpec) -> list[tuple[int, int]]:
    """``[start, stop)`` samples (at ``spec.fs_hz``) of each image."""
    step = spec.samples_per_image
    return [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]


def to_matrix(x: np.ndarray, row_samples: int, fill: float | int = 0) -> np.ndarray:
    """Rows of ``row_samples`` samples stacked into a matrix; the last row is padded with ``fill``."""
    x = np.asarray(x)
    n_rows = max(1, -(-x.size // row_samples))
    m = np.full(n_rows * row_samples, fill, dtype=x.dtype)
    m[: x.size] = x
    return m.reshape(n_rows, row_samples)


def threshold_scale(x: np.ndarray, clip_fraction: float) -> np.ndarray:
    """The paper's thresholds: median removed, clipped at ``clip_fraction`` of the largest and
    smallest value, mapped to [0, 1] (0.5 = the median when the thresholds are symmetric)."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    x = x - np.median(x)
    hi = float(x.max()) * clip_fraction
    lo = float(x.min()) * clip_fraction
    if hi - lo <= 1e-12:
        return np.full_like(x, 0.5)
    return (np.clip(x, lo, hi) - lo) / (hi - lo)


def heatmap(u: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB (viridis), shape ``u.shape + (3,)``."""
    idx = np.clip(np.round(np.asarray(u) * 255), 0, 255).astype(np.uint8)
    return VIRIDIS_LUT[idx]


def pixel_size(n_rows: int, n_cols: int, scale: float, scale_x: float | None = None) -> tuple[int, int]:
    """``(height, width)`` in pixels of an ``n_rows x n_cols`` matrix rescaled by ``scale``
    (vertically, and horizontally unless ``scale_x`` is given)."""
    sx = scale if scale_x is None else scale_x
    return max(n_rows, round(n_rows * scale)), max(n_cols, round(n_cols * sx))


def _cell_of_pixel(n_cells: int, n_px: int) -> np.ndarray:
    """Nearest-neighbour map: the cell index of each pixel (pixel centres), int64 (n_px,)."""
    return np.minimum(((np.arange(n_px) + 0.5) * n_cells / n_px).astype(np.int64), n_cells - 1)


def rescale(matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour rescale of a ``(rows, cols, ...)`` matrix to ``(height, width, ...)``."""
    r = _cell_of_pixel(matrix.shape[0], height)
    c = _cell_of_pixel(matrix.shape[1], width)
    return matrix[r][:, c]


def signal_image(x: np.ndarray, spec: ImageSpec) -> tuple[np.ndarray, np.ndarray]:
    """One image of a prepared signal span (at most ``spec.samples_per_image`` samples).

    Returns
    -------
    image, valid
        uint8 RGB ``(H, W, 3)`` (black where no sample) and the ``(rows, row_samples)``
        bool matrix of cells that hold a sample.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.size > spec.samples_per_image:
        raise ValueError(f"{x.size} samples do not fit one image of {spec.samples_per_image}")
    u = to_matrix(threshold_scale(x, spec.clip_fraction), spec.row_samples)
    valid = to_matrix(np.ones(x.size, dtype=bool), spec.row_samples, fill=False)
    rgb = heatmap(u)
    rgb[~valid] = 0
    h, w = pixel_size(*u.shape, spec.scale, spec.scale_x)
    return rescale(rgb, h, w), valid


# -- pixel <-> cell <-> sample -----------------------------------------------------------------
def pixel_to_sample(
    py: np.ndarray, px: np.ndarray, shape_cells: tuple[int, int], spec: ImageSpec
) -> np.ndarray:
    """Sample (within the image, at ``spec.fs_hz``) shown by pixel ``(py, px)``."""
    n_rows, n_cols = shape_cells
    h, w = pixel_size(n_rows, n_cols, spec.scale, spec.scale_x)
    row = _cell_of_pixel(n_rows, h)[np.asarray(py)]
    col = _cell_of_pixel(n_cols, w)[np.asarray(px)]
    return row * n_cols + col


def sample_to_pixel(
    sample: np.ndarray, shape_cells: tuple[int, int], spec: ImageSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The first pixel ``(py, px)`` (top left of its block) that shows ``sample`` of the image."""
    n_rows, n_cols = shape_cells
    h, w = pixel_size(n_rows, n_cols, spec.scale, spec.scale_x)
    s = np.asarray(sample, dtype=np.int64)
    if np.any((s < 0) | (s >= n_rows * n_cols)):
        raise ValueError("sample outside the image")
    first_py = np.searchsorted(_cell_of_pixel(n_rows, h), np.arange(n_rows))
    first_px = np.searchsorted(_cell_of_pixel(n_cols, w), np.arange(n_cols))
    return first_py[s // n_cols], first_px[s % n_cols]


def cell_means(pixels: np.ndarray, shape_cells: tuple[int, int]) -> np.ndarray:
    """Mean of each cell's block of pixels: ``(H, W, ...)`` -> ``(rows, cols, ...)`` (float64)."""
    n_rows, n_cols = shape_cells
    h, w = pixels.shape[:2]
    r0 = np.searchsorted(_cell_of_pixel(n_rows, h), np.arange(n_rows))
    c0 = np.searchsorted(_cell_of_pixel(n_cols, w), np.arange(n_cols))
    sums = np.add.reduceat(np.add.reduceat(pixels.astype(np.float64), r0, axis=0), c0, axis=1)
    counts = np.diff(np.r_[r0, h])[:, None] * np.diff(np.r_[c0, w])[None, :]
    return sums / counts.reshape(counts.shape + (1,) * (pixels.ndim - 2))


# -- masks ------------------------------------------------------------------------------------
def anomaly_mask(
    n_samples: int,
    beat_samples: np.ndarray,
    beat_classes: Sequence[str],
    spec: ImageSpec,
    classes: Sequence[str] = ("background", "anomaly"),
) -> np.ndarray:
    """Per-sample class index (uint8, length ``n_samples`` at ``spec.fs_hz``) from beat labels.

    Each beat labelled V or F marks ``[s - half_width, s + half_width]``: with ``classes``
    ``("background", "anomaly")`` as 1 (the paper's binary mask), with
    ``("background", "V", "F")`` as its own class. Everything else is 0.
    """
    index = _class_index(classes)
    mask = np.zeros(n_samples, dtype=np.uint8)
    hw = spec.half_width
    for s, c in zip(np.asarray(beat_samples, dtype=np.int64), beat_classes):
        k = index.get(str(c), 0)
        if k:
            mask[max(0, s - hw) : max(0, min(n_samples, s + hw + 1))] = k
    return mask


def _class_index(classes: Sequence[str]) -> dict[str, int]:
    classes = tuple(classes)
    if len(classes) < 2 or classes[0] != "background":
        raise ValueError(f"classes must start with 'background', got {classes}")
    if classes[1:] == ("anomaly",):
        return {"V": 1, "F": 1}
    known = {"V", "F"}
    if not set(classes[1:]) <= known:
        raise ValueError(f"classes must be (background, anomaly) or a subset of background, V, F: {classes}")
    return {c: i for i, c in enumerate(classes) if i}


def mask_image(mask: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """Per-sample mask of one image span -> ``(H, W)`` uint8 pixel mask (:data:`IGNORE` past the end)."""
    m = to_matrix(np.asarray(mask, dtype=np.uint8), spec.row_samples, fill=IGNORE)
    return rescale(m, *pixel_size(*m.shape, spec.scale, spec.scale_x))


# -- patches ----------------------------------------------------------------------------------
def split_patches(image: np.ndarray, patch: int, fill: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Cut ``(H, W, ...)`` into ``patch x patch`` tiles (row-major), padding with ``fill``.

    Returns
    -------
    patches, grid
        ``(n, patch, patch, ...)`` and the ``(tiles down, tiles across)`` grid.
    """
    h, w = image.shape[:2]
    gy, gx = -(-h // patch), -(-w // patch)
    padded = np.full((gy * patch, gx * patch, *image.shape[2:]), fill, dtype=image.dtype)
    padded[:h, :w] = image
    tiles = padded.reshape(gy, patch, gx, patch, *image.shape[2:]).swapaxes(1, 2)
    return tiles.reshape(gy * gx, patch, patch, *image.shape[2:]), (gy, gx)


def merge_patches(patches: np.ndarray, grid: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`split_patches`: tiles back into one ``size = (H, W)`` array."""
    gy, gx = grid
    p = patches.shape[1]
    full = patches.reshape(gy, gx, p, p, *patches.shape[3:]).swapaxes(1, 2)
    full = full.reshape(gy * p, gx * p, *patches.shape[3:])
    return full[: size[0], : size[1]]


# -- refinement and ranges ----------------------------------------------------------------------
def refine_rectangles(mask: np.ndarray, min_cells: int = 1) -> np.ndarray:
    """The paper's refinement: each connected blob of non-zero cells becomes its bounding rectangle.

    Blobs (8-connected) smaller than ``min_cells`` are dropped; the rectangle takes the blob's
    most frequent class. Rectangles are drawn largest first, so a small blob inside a large
    one's rectangle keeps its class. :data:`IGNORE` cells stay as they are.
    """
    from scipy import ndimage

    mask = np.asarray(mask)
    ignore = mask == IGNORE
    fg = (mask > 0) & ~ignore
    labels, n = ndimage.label(fg, structure=np.ones((3, 3), dtype=bool))
    out = np.zeros_like(mask)
    boxes = ndimage.find_objects(labels)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    for k in np.argsort(-sizes[1:], kind="stable") + 1:
        if sizes[k] < min_cells or boxes[k - 1] is None:
            continue
        box = boxes[k - 1]
        values = mask[box][labels[box] == k]
        out[box] = np.bincount(values).argmax()
    out[ignore] = IGNORE
    return out


def runs(flags: np.ndarray) -> np.ndarray:
    """``(n, 2)`` int64 ``[start, stop)`` of the maximal runs of True in a 1-D array."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]])
    d = np.diff(f.astype(np.int8))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1).astype(np.int64)


def mask_ranges(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """Sample ranges ``(start, stop, class)`` of a per-sample (or cell-matrix, flattened row-major)
    mask: the maximal runs of one non-zero class (:data:`IGNORE` is background)."""
    m = np.asarray(mask).ravel()
    out = []
    for k in np.unique(m):
        if k == 0 or k == IGNORE:
            continue
        out += [(int(a), int(b), int(k)) for a, b in runs(m == k)]
    return sorted(out)


# -- the paper's metrics -----------------------------------------------------------------------
def pixel_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pixel (= sample) level scores of the anomaly (any non-zero class) against the truth.

    Cells that are :data:`IGNORE` in ``truth`` are left out. Returns precision, recall,
    F1, the IoU of the anomaly and of the background, and their mean (``mean_iou``, the
    figure the paper reports during training), plus the pixel counts.
    """
    truth = np.asarray(truth).ravel()
    pred = np.asarray(pred).ravel()
    keep = truth != IGNORE
    t = truth[keep] > 0
    p = (pred[keep] > 0) & (pred[keep] != IGNORE)
    tp = int(np.count_nonzero(t & p))
    fp = int(np.count_nonzero(~t & p))
    fn = int(np.count_nonzero(t & ~p))
    tn = int(np.count_nonzero(~t & ~p))
    nan = float("nan")
    precision = tp / (tp + fp) if tp + fp else nan
    recall = tp / (tp + fn) if tp + fn else nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan
    iou_a = tp / (tp + fp + fn) if tp + fp + fn else nan
    iou_b = tn / (tn + fp + fn) if tn + fp + fn else nan
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "iou_anomaly": iou_a,
        "iou_background": iou_b,
        "mean_iou": float(np.nanmean([iou_a, iou_b])) if tp + fp + fn + tn else nan,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def episode_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """The paper's anomaly-level figure on per-sample masks.

    A true anomaly is a maximal run of non-zero samples of ``truth`` (one marked V/F beat, or
    overlapping neighbours); it is detected when any of its samples is non-zero in ``pred``.
    Also the predicted runs that touch no true anomaly (false detections). Samples that are
    :data:`IGNORE` in ``truth`` are left out.
    """
    truth = np.asarray(truth).ravel()
    pred = np.asarray(pred).ravel()
    t = (truth > 0) & (truth != IGNORE)
    p = (pred > 0) & (pred != IGNORE) & (truth != IGNORE)
    cp = np.concatenate([[0], np.cumsum(p)])
    ct = np.concatenate([[0], np.cumsum(t)])
    true_runs = runs(t)
    pred_runs = runs(p)
    detected = int(np.count_nonzero(cp[true_runs[:, 1]] - cp[true_runs[:, 0]] > 0)) if len(true_runs) else 0
    false = int(np.count_nonzero(ct[pred_runs[:, 1]] - ct[pred_runs[:, 0]] == 0)) if len(pred_runs) else 0
    return {
        "n_true": len(true_runs),
        "n_detected": detected,
        "detection": detected / len(true_runs) if len(true_runs) else float("nan"),
        "n_pred": len(pred_runs),
        "n_false": false,
    }
