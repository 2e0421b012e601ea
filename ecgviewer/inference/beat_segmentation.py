"""ECG-image segmentation of beats: image -> DeepLabv3 masks -> PVC / fusion ranges -> beat labels.

The method of Hernández-Fernández et al., "Long-term ECG Analysis Through Image Conversion
and Deep Learning" (CinC 2023), as the second beat-classification method beside the 1-D classifier
(:mod:`ecgviewer.inference.beats`): the beat lead is converted to heat-map images
(:mod:`ecgviewer.core.beat_image`), each image is segmented patch by patch with a
``deeplabv3`` checkpoint (:mod:`ecgviewer.models.beat_segmentation`), the patches are
reassembled, pixel probabilities are averaged per sample, blobs are refined to rectangles,
and each detected beat is labelled V (or F) when its R peak lies in an anomaly range,
otherwise N.

Checkpoints use the project's format with ``task: "beats"``, ``architecture: "deeplabv3"``,
the per-pixel classes ``["background", "anomaly"]`` (the paper's binary mask; anomalous
beats are then reported as ``"V"``) or ``["background", "V", "F"]``, ``activation:
"softmax"``, and the image settings (:class:`~ecgviewer.core.beat_image.ImageSpec`) in
``input.image``. None is bundled (the smallest network is 44 MB); train one with
``python -m trainer train-segmentation``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.beat_image import (
    IGNORE,
    ImageSpec,
    cell_means,
    image_spans,
    prepare_signal,
    refine_rectangles,
    signal_image,
    split_patches,
    to_spec_samples,
)
from ecgviewer.inference.errors import PredictionCancelled
from ecgviewer.inference.predictor import CheckpointRunner

#: Name of a bundled segmentation checkpoint, used when it is present in resources/checkpoints.
DEFAULT_SEGMENTATION_MODEL = "beatseg"
#: Architecture name of the segmentation networks in the model registry.
ARCHITECTURE = "deeplabv3"
#: Predicted blobs smaller than this many samples are dropped by the refinement.
MIN_BLOB_SAMPLES = 4
#: Accepted per-pixel class lists (background first).
SEGMENTATION_CLASSES: tuple[tuple[str, ...], ...] = (("background", "anomaly"), ("background", "V", "F"))


@dataclass(frozen=True)
class SegmentationResult:
    """Per-sample output of the segmentation of one signal (at ``spec.fs_hz``).

    Attributes
    ----------
    spec
        The image settings of the checkpoint.
    classes
        Per-pixel class names, background first.
    probabilities
        ``(n_samples, n_classes)`` float32: class probabilities averaged over each sample's pixels.
    raw
        uint8 per-sample class (argmax of ``probabilities``), before the refinement.
    refined
        uint8 per-sample class after the rectangle refinement (what the beat labels use).
    """

    spec: ImageSpec
    classes: tuple[str, ...]
    probabilities: np.ndarray
    raw: np.ndarray
    refined: np.ndarray

    def beat_labels(self, r_peaks: np.ndarray, fs_hz: float, refined: bool = True) -> np.ndarray:
        """One of N / V / F per R peak (samples at ``fs_hz``): V or F when the peak lies in an
        anomaly range (binary masks report every anomaly as V), otherwise N."""
        mask = self.refined if refined else self.raw
        s = to_spec_samples(np.asarray(r_peaks, dtype=np.int64), fs_hz, self.spec)
        k = np.zeros(s.size, dtype=np.int64)
        inside = (s >= 0) & (s < mask.size)
        k[inside] = mask[s[inside]]
        names = ["N", *("V" if c == "anomaly" else c for c in self.classes[1:])]
        return np.asarray(names, dtype="<U1")[np.where(k == IGNORE, 0, k)]


class BeatSegmenter(CheckpointRunner):
    """Load a ``deeplabv3`` beat-segmentation checkpoint and segment signals with it.

    Parameters
    ----------
    model
        Checkpoint path (``NAME``, ``NAME.json``) or a bundled name.
    device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
    batch_size
        Patches per forward pass.

    Raises
    ------
    ecgviewer.models.checkpoint.CheckpointError
        The JSON is missing or invalid, or it is not a segmentation checkpoint.
    """

    task = "beats"

    def __init__(self, model: str | Path, device: str = "auto", batch_size: int = 16) -> None:
        super().__init__(model, device, batch_size)
        from ecgviewer.models.checkpoint import CheckpointError, read_meta

        meta = read_meta(self.checkpoint_path)
        if meta.architecture != ARCHITECTURE or "image" not in meta.input_extra:
            raise CheckpointError(
                f"{self.checkpoint_path}: not a beat-segmentation checkpoint (architecture "
                f"{meta.architecture!r}, needs {ARCHITECTURE!r} with 'input.image')"
            )
        if meta.class_names not in SEGMENTATION_CLASSES:
            raise CheckpointError(
                f"{self.checkpoint_path}: classes {list(meta.class_names)} are not one of "
                f"{[list(c) for c in SEGMENTATION_CLASSES]}"
            )
        try:
            self.spec = ImageSpec.from_dict(dict(meta.input_extra["image"]))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{self.checkpoint_path}: bad 'input.image' ({exc})") from None
        if self.spec.fs_hz != meta.fs_hz or self.spec.row_samples != meta.window_samples:
            raise CheckpointError(
                f"{self.checkpoint_path}: 'input.image' disagrees with fs_hz/window_samples"
            )
        self.classes: tuple[str, ...] = meta.class_names

    def load(self):
        """Register the segmentation architecture, then load as every checkpoint runner does."""
        import ecgviewer.models.beat_segmentation  # noqa: F401  (registers "deeplabv3")

        return super().load()

    def predict_patches(
        self, patches: np.ndarray, should_stop: Callable[[], bool] | None = None
    ) -> np.ndarray:
        """Class probabilities ``(n, p, p, n_classes)`` float32 of uint8 RGB patches ``(n, p, p, 3)``."""
        import torch

        self.load()
        model = self._loaded.model
        out = []
        with torch.inference_mode():
            for i in range(0, len(patches), self.batch_size):
                if should_stop is not None and should_stop():
                    raise PredictionCancelled("segmentation cancelled")
                x = torch.from_numpy(np.ascontiguousarray(patches[i : i + self.batch_size]))
                x = x.permute(0, 3, 1, 2).float().div_(255.0).to(self._device)
                p = torch.softmax(model(x).float(), dim=1).permute(0, 2, 3, 1)
                out.append(p.cpu().numpy())
        return (
            np.concatenate(out) if out else np.zeros((0, *patches.shape[1:3], len(self.classes)), np.float32)
        )

    def segment_image(
        self, image: np.ndarray, valid: np.ndarray, should_stop: Callable[[], bool] | None = None
    ) -> np.ndarray:
        """Per-cell probabilities ``(rows, row_samples, n_classes)`` of one image (patches, reassembled)."""
        from ecgviewer.core.beat_image import merge_patches

        patches, grid = split_patches(image, self.spec.patch_px)
        probs = merge_patches(self.predict_patches(patches, should_stop), grid, image.shape[:2])
        return cell_means(probs, valid.shape).astype(np.float32)

    def segment(
        self,
        signal_mv: np.ndarray,
        fs_hz: float,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> SegmentationResult | None:
        """Segment one lead (mV at ``fs_hz``); None when ``cancelled()`` turned True."""
        spec = self.spec
        x = prepare_signal(signal_mv, fs_hz, spec)
        n = x.size
        probs = np.zeros((n, len(self.classes)), dtype=np.float32)
        raw = np.zeros(n, dtype=np.uint8)
        refined = np.zeros(n, dtype=np.uint8)
        try:
            for start, stop in image_spans(n, spec):
                image, valid = signal_image(x[start:stop], spec)
                cells = self.segment_image(image, valid, cancelled)
                k = cells.argmax(axis=-1).astype(np.uint8)
                k[~valid] = IGNORE
                ref = refine_rectangles(k, min_cells=MIN_BLOB_SAMPLES)
                m = stop - start
                probs[start:stop] = cells.reshape(-1, cells.shape[-1])[:m]
                raw[start:stop] = k.ravel()[:m]
                refined[start:stop] = ref.ravel()[:m]
                if progress is not None:
                    progress(stop, n)
        except PredictionCancelled:
            return None
        return SegmentationResult(spec, self.classes, probs, raw, refined)


def resolve_segmentation_checkpoint(checkpoint: str | Path | None) -> str | Path:
    """The checkpoint to use: the given one, else the bundled :data:`DEFAULT_SEGMENTATION_MODEL`.

    Raises
    ------
    FileNotFoundError
        ``checkpoint`` is None and no segmentation checkpoint is bundled.
    """
    if checkpoint is not None:
        return checkpoint
    from ecgviewer.resources import checkpoints_dir

    if (checkpoints_dir() / f"{DEFAULT_SEGMENTATION_MODEL}.json").is_file():
        return DEFAULT_SEGMENTATION_MODEL
    raise FileNotFoundError(
        "no beat-segmentation checkpoint is bundled (the network is too large to ship); train one with "
        "'python -m trainer train-segmentation' and pass its best.json"
    )


def segment_beats(
    signal_mv: np.ndarray,
    fs_hz: float,
    r_peaks: np.ndarray,
    checkpoint: str | Path | BeatSegmenter | None = None,
    *,
    device: str = "auto",
    refined: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray | None:
    """Label each beat N, V or F with the ECG-image segmentation (Hernández-Fernández et al.).

    Parameters
    ----------
    signal_mv
        The beat lead of the whole record (float, mV), as in
        :func:`ecgviewer.core.beat_pass.beat_lead`.
    fs_hz
        Its sampling rate.
    r_peaks
        R-peak samples (int) of the beats to label.
    checkpoint
        Checkpoint path, a loaded :class:`BeatSegmenter`, or None for the bundled one.
    device
        Torch device for a checkpoint given by path.
    refined
        Use the rectangle-refined masks (the paper's); False uses the raw argmax.
    progress, cancelled
        ``progress(done_samples, n_samples)`` after each image; ``cancelled()`` polled per batch.

    Returns
    -------
    numpy.ndarray or None
        One label per R peak (``<U1``; N, V or F -- a binary "anomaly" checkpoint gives V for
        every anomalous beat); None when cancelled.
    """
    if isinstance(checkpoint, BeatSegmenter):
        seg = checkpoint
    else:
        seg = BeatSegmenter(resolve_segmentation_checkpoint(checkpoint), device=device)
    result = seg.segment(np.asarray(signal_mv), fs_hz, progress=progress, cancelled=cancelled)
    if result is None:
        return None
    return result.beat_labels(np.asarray(r_peaks), fs_hz, refined=refined)


def checkpoint_meta_fields(spec: ImageSpec, classes: tuple[str, ...], lead: str = "II") -> dict[str, Any]:
    """The ``CheckpointMeta`` keyword arguments that describe a segmentation model's input and classes."""
    from ecgviewer.models.checkpoint import ClassSpec

    descriptions = {
        "background": "no PVC or fusion beat",
        "anomaly": "PVC or fusion beat (MIT-BIH V/E/r or F), the binary mask of Hernández-Fernández et al.",
        "V": "premature ventricular contraction",
        "F": "fusion of ventricular and normal beat",
    }
    if classes not in SEGMENTATION_CLASSES:
        raise ValueError(f"classes must be one of {SEGMENTATION_CLASSES}")
    return {
        "input_leads": (lead,),
        "fs_hz": spec.fs_hz,
        "window_samples": spec.row_samples,
        "scaling": {"unit": "mV", "center": "median", "scale_mv": 1.0},
        "targets": (),
        "task": "beats",
        "classes": tuple(ClassSpec(c, descriptions[c], 0.5) for c in classes),
        "activation": "softmax",
        "input_extra": {"image": spec.to_dict()},
    }
