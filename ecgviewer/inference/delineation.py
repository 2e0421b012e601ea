"""The :class:`Delineator`: a ``delineation`` checkpoint -> per-sample wave labels -> per-beat boundaries.

Any lead set, any sampling rate, any length:

* the leads are the record's (12 standard leads when they can be derived, otherwise
  whatever it stores: one lead of an EDF, the two of a Holter), each lead through the
  same network, fused across leads inside it;
* the signal is resampled to the checkpoint's rate (250 Hz), cut into windows of
  ``window_samples`` overlapping by :data:`OVERLAP_S`, each window minus its per-lead
  median (the checkpoint's ``scaling``); the window probabilities are stitched with
  the overlap's edges dropped, interpolated back to the record's own rate and the
  per-sample class taken there, so boundaries have the record's resolution;
* beats are R peaks (:func:`ecgviewer.core.beats.detect_r_peaks`) and the wave runs
  become boundaries and intervals in :mod:`ecgviewer.core.delineation` (torch-free).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.core.beats import detect_r_peaks
from ecgviewer.core.delineation import (
    Delineation,
    Interval,
    delineation_from_labels,
    labels_from_probabilities,
    record_intervals,
)
from ecgviewer.core.leads import STANDARD_LEADS
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.resample import resample_signals
from ecgviewer.inference.errors import PredictionCancelled, PredictionError
from ecgviewer.inference.predictor import CheckpointRunner
from ecgviewer.inference.preprocess import scale_windows
from ecgviewer.resources import default_checkpoint

#: Overlap of consecutive windows (s); half of it at each window edge is discarded when stitching.
OVERLAP_S = 2.0
#: Shortest record delineated (s): two beats at 40 bpm.
MIN_RECORD_S = 2.0


def delineation_leads(record: EcgRecord) -> tuple[str, ...]:
    """The leads to delineate: the 12 standard leads when derivable, else every stored lead in mV."""
    if all(record.has_lead(n) for n in STANDARD_LEADS):
        leads = tuple(STANDARD_LEADS)
    else:
        leads = tuple(record.lead_names)
    return tuple(n for n in leads if record.unit_of(n) == "mV")


@dataclass(frozen=True)
class DelineationResult:
    """Boundaries of every beat in every lead, and the record intervals derived from them."""

    delineation: Delineation
    intervals: dict[str, Interval]
    model_name: str
    elapsed_s: float
    withheld: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        from ecgviewer.core.delineation import CONVENTION

        return {
            "model": self.model_name,
            "convention": CONVENTION,
            "leads": list(self.delineation.leads),
            "withheld_leads": list(self.withheld),
            "intervals": {k: v.as_dict() for k, v in self.intervals.items()},
        }


class Delineator(CheckpointRunner):
    """Per-beat P/QRS/T boundaries of a record with one ``delineation`` checkpoint (ResNet U-Net or ViT)."""

    task = "delineation"
    default_model = default_checkpoint("delineation") or "unet_delineation"

    def probabilities(
        self,
        x: np.ndarray,
        fs_hz: float,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """``(n_leads, 4, n_samples)`` class probabilities of mV signals ``(n_leads, n_samples)``."""
        meta = self.meta
        fs_net = float(meta.fs_hz)
        y = resample_signals(np.asarray(x, dtype=np.float32), fs_hz, fs_net) if fs_hz != fs_net else x
        y = np.nan_to_num(np.asarray(y, dtype=np.float32))
        n_leads, n = y.shape
        win = int(meta.window_samples)
        margin = round(OVERLAP_S * fs_net / 2)
        step = win - 2 * margin
        starts = [0] if n <= win else [*range(0, n - win, step), n - win]
        padded = np.pad(y, ((0, 0), (0, max(0, win - n))), mode="edge") if n < win else y
        out = np.zeros((n_leads, 4, n), np.float32)
        filled = np.zeros(n, bool)
        batch: list[int] = []

        def flush() -> None:
            import torch

            data = np.stack([padded[:, s : s + win] for s in batch])
            data = scale_windows(data, meta.scaling)
            with torch.inference_mode():
                logits = self._loaded.model(torch.from_numpy(np.ascontiguousarray(data)).to(self._device))
                prob = torch.softmax(logits.float(), dim=2).cpu().numpy()
            for s, p in zip(batch, prob, strict=True):
                a = 0 if s == 0 else s + margin  # keep the centre; the record's ends keep their edge
                b = min(n, s + win if s + win >= n else s + win - margin)
                lo = np.flatnonzero(~filled[a:b])
                if lo.size:
                    sel = slice(a + lo[0], b)
                    out[:, :, sel] = p[:, :, sel.start - s : sel.stop - s]
                    filled[sel] = True
            batch.clear()

        for k, s in enumerate(starts):
            if should_stop is not None and should_stop():
                raise PredictionCancelled("delineation cancelled")
            batch.append(s)
            if len(batch) >= self.batch_size or k == len(starts) - 1:
                flush()
                if progress is not None:
                    progress(k + 1, len(starts))
        if fs_hz != fs_net:  # back to the record's rate, so boundaries have its resolution
            n_out = x.shape[1]
            pos = np.arange(n_out) * (fs_net / fs_hz)
            idx = np.clip(pos.astype(np.int64), 0, n - 1)
            nxt = np.minimum(idx + 1, n - 1)
            frac = (pos - idx).astype(np.float32)
            out = out[:, :, idx] * (1 - frac) + out[:, :, nxt] * frac
        return out

    def delineate(
        self,
        record: EcgRecord,
        leads: Sequence[str] | None = None,
        r_peaks: np.ndarray | None = None,
        withheld: Sequence[str] = (),
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DelineationResult:
        """Delineate ``record`` (default leads :func:`delineation_leads`, minus ``withheld``).

        Raises
        ------
        PredictionError
            No lead in mV, or a record shorter than :data:`MIN_RECORD_S`.
        """
        self.load()
        t0 = time.perf_counter()
        names = tuple(leads) if leads is not None else delineation_leads(record)
        names = tuple(n for n in names if n not in set(withheld))
        if record.duration_s < MIN_RECORD_S:
            raise PredictionError(
                f"record too short to delineate: {record.duration_s:.2f} s < {MIN_RECORD_S} s"
            )
        if not names:
            d = Delineation(record.fs_hz, (), np.zeros(0, np.int64), np.zeros((0, 0, 6)), np.zeros((0, 0, 3)))
            return DelineationResult(d, record_intervals(d, withheld), self.model_name, 0.0, tuple(withheld))
        x = record.leads_array(names).astype(np.float32, copy=False)
        prob = self.probabilities(x, record.fs_hz, progress, should_stop)
        labels, conf = labels_from_probabilities(prob)
        if r_peaks is None:
            r_peaks = detect_r_peaks(x, record.fs_hz)
        d = delineation_from_labels(labels, record.fs_hz, names, r_peaks, conf, method=self.model_name)
        return DelineationResult(
            d, record_intervals(d, withheld), self.model_name, time.perf_counter() - t0, tuple(withheld)
        )


def check_delineation_input(record: EcgRecord) -> None:
    """Raise :class:`PredictionError` when ``record`` has nothing a delineator can use."""
    if not delineation_leads(record):
        raise PredictionError(
            f"no lead in mV to delineate (record has {', '.join(record.lead_names) or 'none'})"
        )
