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

import threading
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
from ecgviewer.models.checkpoint import read_meta
from ecgviewer.resources import default_checkpoint

#: Overlap of consecutive windows (s); half of it at each window edge is discarded when stitching.
OVERLAP_S = 2.0
#: Shortest record delineated (s): two beats at 40 bpm.
MIN_RECORD_S = 2.0
#: On the CPU, at most this many lead-windows per forward pass (one 12-lead window): the network's
#: activations then stay in the cache, and larger batches are slower per record there (a 10 s 12-lead
#: record: 21 ms alone, 33 ms in a batch of 32, one thread); other devices take ``batch_size`` windows.
CPU_LEAD_WINDOWS = 16
#: Architectures run on the CPU as a frozen TorchScript trace (batch norm folded into the convolutions:
#: about 20 % faster), after checking that it gives the network's probabilities.
TRACED_ARCHITECTURES: tuple[str, ...] = ("unet1d",)


def delineation_leads(record: EcgRecord) -> tuple[str, ...]:
    """The leads to delineate: the 12 standard leads when derivable, else every stored lead in mV."""
    if all(record.has_lead(n) for n in STANDARD_LEADS):
        leads = tuple(STANDARD_LEADS)
    else:
        leads = tuple(record.lead_names)
    return tuple(n for n in leads if record.unit_of(n) == "mV")


@dataclass(frozen=True)
class DelineationResult:
    """Boundaries of every beat in every lead, and the record intervals derived from them.

    ``checkpoint_sha256``, ``checkpoint_status``, ``trained`` and ``device`` identify the checkpoint
    and where it ran (empty for a result made by hand).
    """

    delineation: Delineation
    intervals: dict[str, Interval]
    model_name: str
    elapsed_s: float
    withheld: tuple[str, ...] = ()
    checkpoint_sha256: str = ""
    checkpoint_status: str = ""
    trained: bool = True
    device: str = ""

    def to_dict(self) -> dict[str, Any]:
        from ecgviewer.core.delineation import CONVENTION

        return {
            "model": self.model_name,
            "convention": CONVENTION,
            "leads": list(self.delineation.leads),
            "withheld_leads": list(self.withheld),
            "intervals": {k: v.as_dict() for k, v in self.intervals.items()},
        }


@dataclass(frozen=True)
class DelineationInput:
    """What the network needs of one record (torch-free and picklable: made in worker processes).

    Made by :func:`prepare_delineation`; :meth:`Delineator.delineate_inputs` runs many together.
    """

    leads: tuple[str, ...]
    withheld: tuple[str, ...]
    #: The record's rate and length: the boundaries are given at this rate.
    fs_hz: float
    n_samples: int
    #: ``(n_leads, n)`` mV at the network's rate, non-finite samples 0.
    signals: np.ndarray
    #: Beats: R-peak samples at ``fs_hz``.
    r_peaks: np.ndarray


def delineation_spec(meta: Any) -> dict[str, Any]:
    """What :func:`prepare_delineation` needs of a checkpoint (its ``fs_hz``); picklable."""
    return {"fs_hz": float(meta.fs_hz)}


def prepare_delineation(
    record: EcgRecord,
    spec: dict[str, Any],
    leads: Sequence[str] | None = None,
    r_peaks: np.ndarray | None = None,
    withheld: Sequence[str] = (),
) -> DelineationInput:
    """The network input of ``record`` (default leads :func:`delineation_leads`, minus ``withheld``).

    ``spec``: :func:`delineation_spec` (:meth:`Delineator.spec`). Beats: ``r_peaks``, else
    :func:`ecgviewer.core.beats.detect_r_peaks` on those leads.

    Raises
    ------
    PredictionError
        A record shorter than :data:`MIN_RECORD_S`.
    """
    names = tuple(leads) if leads is not None else delineation_leads(record)
    names = tuple(n for n in names if n not in set(withheld))
    if record.duration_s < MIN_RECORD_S:
        raise PredictionError(f"record too short to delineate: {record.duration_s:.2f} s < {MIN_RECORD_S} s")
    fs, fs_net = float(record.fs_hz), float(spec["fs_hz"])
    if not names:
        empty = np.zeros((0, 0), np.float32)
        return DelineationInput((), tuple(withheld), fs, record.n_samples, empty, np.zeros(0, np.int64))
    x = record.leads_array(names).astype(np.float32, copy=False)
    y = resample_signals(x, fs, fs_net) if fs != fs_net else x
    y = np.nan_to_num(np.asarray(y, dtype=np.float32))
    if r_peaks is None:
        r_peaks = detect_r_peaks(x, fs)
    return DelineationInput(
        names, tuple(withheld), fs, int(x.shape[1]), y, np.asarray(r_peaks, dtype=np.int64)
    )


class Delineator(CheckpointRunner):
    """Per-beat P/QRS/T boundaries of a record with one ``delineation`` checkpoint (ResNet U-Net or ViT)."""

    task = "delineation"
    default_model = default_checkpoint("delineation") or "unet_delineation"

    _trace_lock = threading.Lock()

    def network(self) -> Any:
        """The module to run: the checkpoint's network, or on the CPU its frozen trace
        (:data:`TRACED_ARCHITECTURES`) when that gives the same probabilities (within 1e-4)."""
        self.load()
        model = self._loaded.model
        if not str(self._device).startswith("cpu") or self.meta.architecture not in TRACED_ARCHITECTURES:
            return model
        with self._trace_lock:
            fast = self.__dict__.get("_fast")
            if fast is None:
                fast = self.__dict__["_fast"] = _frozen_trace(model, int(self.meta.window_samples)) or model
        return fast

    def spec(self) -> dict[str, Any]:
        """:func:`delineation_spec` of this checkpoint, from its JSON when not loaded (torch-free)."""
        meta = self._loaded.meta if self._loaded is not None else read_meta(self.checkpoint_path)
        return delineation_spec(meta)

    def probabilities(
        self,
        x: np.ndarray,
        fs_hz: float,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """``(n_leads, 4, n_samples)`` class probabilities of mV signals ``(n_leads, n_samples)``."""
        x = np.asarray(x, dtype=np.float32)
        fs_net = float(self.meta.fs_hz)
        y = resample_signals(x, fs_hz, fs_net) if fs_hz != fs_net else x
        y = np.nan_to_num(np.asarray(y, dtype=np.float32))
        item = DelineationInput(("",) * len(x), (), float(fs_hz), int(x.shape[1]), y, np.zeros(0, np.int64))
        return self.probabilities_many([item], progress, should_stop)[0]

    def probabilities_many(
        self,
        inputs: Sequence[DelineationInput],
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[np.ndarray]:
        """Per input its ``(n_leads, 4, n_samples)`` probabilities at the record's rate.

        The windows of all inputs go through the network together, ``batch_size`` windows
        per forward pass (those of records with as many leads share a batch; on the CPU at most
        :data:`CPU_LEAD_WINDOWS` lead-windows), so many short records fill a GPU batch; each
        record is stitched as if it were alone.
        """
        import torch

        meta = self.load().meta
        net = self.network()
        cpu = str(self._device).startswith("cpu")
        fs_net = float(meta.fs_hz)
        win = int(meta.window_samples)
        margin = round(OVERLAP_S * fs_net / 2)
        step = win - 2 * margin
        outs: list[np.ndarray] = []
        filled: list[np.ndarray] = []
        jobs: dict[int, list[tuple[int, int]]] = {}  # n_leads -> (input, window start), in order
        for i, item in enumerate(inputs):
            n_leads, n = item.signals.shape if item.signals.size else (0, 0)
            outs.append(np.zeros((n_leads, 4, n), np.float32))
            filled.append(np.zeros(n, bool))
            if n_leads == 0 or n == 0:
                continue
            starts = [0] if n <= win else [*range(0, n - win, step), n - win]
            jobs.setdefault(n_leads, []).extend((i, s) for s in starts)
        total = sum(len(v) for v in jobs.values())
        done = 0
        for n_leads, group in jobs.items():
            size = max(1, min(self.batch_size, CPU_LEAD_WINDOWS // n_leads)) if cpu else self.batch_size
            for b in range(0, len(group), size):
                if should_stop is not None and should_stop():
                    raise PredictionCancelled("delineation cancelled")
                batch = group[b : b + size]
                data = np.stack([_window(inputs[i].signals, s, win) for i, s in batch])
                data = scale_windows(data, meta.scaling)
                with torch.inference_mode():
                    logits = net(torch.from_numpy(np.ascontiguousarray(data)).to(self._device))
                    prob = torch.softmax(logits.float(), dim=2).cpu().numpy()
                for (i, s), p in zip(batch, prob, strict=True):
                    out, got = outs[i], filled[i]
                    n = got.size
                    a = 0 if s == 0 else s + margin  # keep the centre; the record's ends keep their edge
                    e = min(n, s + win if s + win >= n else s + win - margin)
                    lo = np.flatnonzero(~got[a:e])
                    if lo.size:
                        sel = slice(a + lo[0], e)
                        out[:, :, sel] = p[:, :, sel.start - s : sel.stop - s]
                        got[sel] = True
                done += len(batch)
                if progress is not None:
                    progress(done, total)
        return [
            _to_record_rate(o, it.fs_hz, fs_net, it.n_samples) for o, it in zip(outs, inputs, strict=True)
        ]

    def finish(self, item: DelineationInput, prob: np.ndarray, elapsed_s: float = 0.0) -> DelineationResult:
        """The :class:`DelineationResult` of one input from its :meth:`probabilities_many`."""
        meta = self.meta
        if item.leads:
            labels, conf = labels_from_probabilities(prob)
            d = delineation_from_labels(
                labels, item.fs_hz, item.leads, item.r_peaks, conf, method=self.model_name
            )
        else:
            d = Delineation(item.fs_hz, (), np.zeros(0, np.int64), np.zeros((0, 0, 6)), np.zeros((0, 0, 3)))
        return DelineationResult(
            d,
            record_intervals(d, item.withheld),
            self.model_name,
            elapsed_s,
            item.withheld,
            checkpoint_sha256=meta.weights_sha256,
            checkpoint_status=meta.status,
            trained=bool(meta.trained),
            device=str(self._device),
        )

    def delineate_inputs(
        self,
        inputs: Sequence[DelineationInput],
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[DelineationResult]:
        """:meth:`delineate` of many prepared records (:func:`prepare_delineation`), batched together."""
        t0 = time.perf_counter()
        probs = self.probabilities_many(inputs, progress, should_stop)
        each = (time.perf_counter() - t0) / max(1, len(inputs))
        return [self.finish(item, p, each) for item, p in zip(inputs, probs, strict=True)]

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
            A record shorter than :data:`MIN_RECORD_S`.
        """
        self.load()
        t0 = time.perf_counter()
        item = prepare_delineation(record, self.spec(), leads, r_peaks, withheld)
        [prob] = self.probabilities_many([item], progress, should_stop)
        return self.finish(item, prob, time.perf_counter() - t0)


def _frozen_trace(model: Any, window: int) -> Any:
    """``model`` traced and frozen for the CPU, or None when tracing fails or changes its outputs."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            gen = torch.Generator().manual_seed(0)
            probe = torch.randn(1, 12, window, generator=gen)
            fast = torch.jit.freeze(torch.jit.trace(model.eval(), probe))
            for shape in ((1, 12, window), (2, 3, window), (1, 1, 2 * window)):  # batch, leads, length vary
                x = torch.randn(*shape, generator=gen)
                got, want = torch.softmax(fast(x), dim=2), torch.softmax(model(x), dim=2)
                if got.shape != want.shape or float((got - want).abs().max()) > 1e-4:
                    return None
        return fast
    except Exception:  # tracing is an optimisation: the network itself always works
        return None


def _window(y: np.ndarray, start: int, win: int) -> np.ndarray:
    """``win`` samples of ``y`` from ``start``, the last sample repeated past its end."""
    part = y[:, start : start + win]
    if part.shape[1] < win:
        part = np.pad(part, ((0, 0), (0, win - part.shape[1])), mode="edge")
    return part


def _to_record_rate(out: np.ndarray, fs_hz: float, fs_net: float, n_out: int) -> np.ndarray:
    """Probabilities at the network's rate -> at the record's (linear), so boundaries have its resolution."""
    if fs_hz == fs_net or out.shape[-1] == 0:
        return out
    n = out.shape[-1]
    pos = np.arange(n_out) * (fs_net / fs_hz)
    idx = np.clip(pos.astype(np.int64), 0, n - 1)
    nxt = np.minimum(idx + 1, n - 1)
    frac = (pos - idx).astype(np.float32)
    return out[:, :, idx] * (1 - frac) + out[:, :, nxt] * frac


def check_delineation_input(record: EcgRecord) -> None:
    """Raise :class:`PredictionError` when ``record`` has nothing a delineator can use."""
    if not delineation_leads(record):
        raise PredictionError(
            f"no lead in mV to delineate (record has {', '.join(record.lead_names) or 'none'})"
        )
