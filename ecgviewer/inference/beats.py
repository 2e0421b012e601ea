"""Beat classification: a beat checkpoint (``task: "beats"``) labels every detected beat N / S / V / F / Q.

The model input is made here, torch-free, and nowhere else (the trainer cuts its
training windows with :func:`beat_inputs` too):

1. the beat lead (:func:`ecgviewer.core.beat_pass.beat_lead`: II/MLII, else the first
   mV channel) is read chunk by chunk (:data:`CHUNK_S` s plus context), resampled to the
   checkpoint's rate (250 Hz for the bundled ``beatnet``) and filtered (0.5 Hz high-pass,
   40 Hz low-pass, zero phase);
2. a window of ``window_samples`` (640 = 2.56 s) is cut with the R peak at
   ``center_sample`` (320), so the previous and the next beat are visible; the
   window's median is subtracted (``input.scaling``);
3. :func:`~ecgviewer.core.beat_rr.rr_features` per beat -- previous and next RR relative to
   the local and the long-term median RR, the local RR in seconds ... (the checkpoint's
   ``input.rr_features``) -- are appended (see :mod:`ecgviewer.models.beatnet`).

The checkpoint's JSON keeps steps 1-3 in ``input`` (``fs_hz``, ``window_samples``,
``scaling`` and the extra keys ``center_sample``, ``filter`` and ``rr_features``).
Each beat gets the class of highest softmax probability; then, for a model with an S class,
the prematurity rule (:func:`~ecgviewer.core.beat_rr.apply_prematurity_rule`) corrects the
N / S decisions by the beat's timing against the patient's long-term RR.

:func:`run_beat_pass` is the whole pass over a long record: detection
(:func:`~ecgviewer.core.beat_pass.detect_r_peaks_long`), then classification in
batches, never holding more than a chunk of samples and one batch of windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgviewer.core.beat_pass import (
    BEAT_CLASSES,
    CHUNK_S,
    BeatPassResult,
    beat_lead,
    chunk_spans,
    detect_r_peaks_long,
)
from ecgviewer.core.beat_rr import (
    BASIC_RR_FEATURES,
    PREMATURITY_RULE,
    RR_FEATURES,
    PrematurityRule,
    apply_prematurity_rule,
    rr_features,
)
from ecgviewer.core.filters import FilterSettings, apply_filters
from ecgviewer.core.leads import second_beat_lead
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.record import EcgRecord
from ecgviewer.core.resample import resample_signals
from ecgviewer.inference.errors import PredictionCancelled, PredictionError
from ecgviewer.inference.predictor import CheckpointRunner

if TYPE_CHECKING:
    from ecgviewer.inference.delineation import Delineator

#: The bundled beat classifier (``resources/checkpoints/beatnet``).
DEFAULT_BEAT_MODEL = "beatnet"
#: The second lead's rule as the checkpoint states it (``input.lead_rule``).
SECOND_LEAD_RULE = "; second lead V1 when recorded, else the next channel in mV, else zeros"
#: How the RR features enter the model input: one constant row each, or one row holding them
#: in its first samples (zeros after; far less memory for training sets).
RR_LAYOUTS: tuple[str, ...] = ("rows", "packed")
#: Seconds read on each side of a chunk for the filters to settle and the windows to fit.
CONTEXT_S = 4.0

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class BeatInputSpec:
    """How a beat becomes model input (the ``input`` section of a beat checkpoint)."""

    fs_hz: float = 250.0
    window_samples: int = 640
    center_sample: int = 320
    highpass_hz: float | None = 0.5
    lowpass_hz: float | None = 40.0
    rr_features: tuple[str, ...] = BASIC_RR_FEATURES
    center: str = "median"
    rr_layout: str = "rows"
    #: Add the chunk's median beat (the record's dominant beat around this one) as a second row.
    template: bool = False
    #: Add the record's second lead (:func:`~ecgviewer.core.leads.second_beat_lead`) and its
    #: template as rows 3 and 4 (zeros when the record has one lead); needs ``template``.
    second_lead: bool = False

    def __post_init__(self) -> None:
        if self.rr_layout not in RR_LAYOUTS:
            raise ValueError(f"rr_layout must be one of {RR_LAYOUTS}")
        if not 0 <= self.center_sample < self.window_samples:
            raise ValueError("center_sample must lie inside the window")
        if self.second_lead and not self.template:
            raise ValueError("second_lead needs template (rows: beat, template, second-lead beat, template)")
        unknown = set(self.rr_features) - set(RR_FEATURES)
        if unknown:
            raise ValueError(f"unknown RR features {sorted(unknown)} (known: {RR_FEATURES})")

    @property
    def n_rows_extra(self) -> int:
        """Rows after the lead rows (the RR features)."""
        if self.rr_layout == "packed":
            return 1 if self.rr_features else 0
        return len(self.rr_features)

    @property
    def n_leads(self) -> int:
        """Signal rows: the beat window, the template when :attr:`template`, and both again for the
        second lead when :attr:`second_lead`."""
        return (2 if self.template else 1) * (2 if self.second_lead else 1)

    @property
    def row_names(self) -> tuple[str, ...]:
        """Names of the signal rows (the checkpoint's ``input.leads``)."""
        if self.second_lead:
            return ("II", "II template", "V1", "V1 template")
        return ("II", "II template")[: self.n_leads]

    @property
    def filters(self) -> FilterSettings:
        """The filters applied at the model rate."""
        return FilterSettings(highpass_hz=self.highpass_hz, lowpass_hz=self.lowpass_hz)

    @property
    def scaling(self) -> dict[str, Any]:
        """The checkpoint's ``input.scaling``."""
        return {"unit": "mV", "center": self.center, "scale_mv": 1.0}

    def input_extra(self) -> dict[str, Any]:
        """The extra ``input`` keys of the checkpoint JSON."""
        return {
            "center_sample": self.center_sample,
            "filter": {"highpass_hz": self.highpass_hz, "lowpass_hz": self.lowpass_hz},
            "rr_features": list(self.rr_features),
            "rr_layout": self.rr_layout,
            "template": self.template,
            "second_lead": self.second_lead,
            "lead_rule": "II (MLII) when recorded, else the first channel in mV"
            + (SECOND_LEAD_RULE if self.second_lead else ""),
        }

    @classmethod
    def from_meta(cls, meta: Any) -> BeatInputSpec:
        """The spec stored in a beat checkpoint's :class:`~ecgviewer.models.checkpoint.CheckpointMeta`."""
        extra: Mapping[str, Any] = meta.input_extra
        filt = extra.get("filter", {})
        return cls(
            fs_hz=float(meta.fs_hz),
            window_samples=int(meta.window_samples),
            center_sample=int(extra.get("center_sample", meta.window_samples // 2)),
            highpass_hz=filt.get("highpass_hz"),
            lowpass_hz=filt.get("lowpass_hz"),
            rr_features=tuple(extra.get("rr_features", ())),
            center=str(meta.scaling.get("center", "median")),
            rr_layout=str(extra.get("rr_layout", "rows")),
            template=bool(extra.get("template", False)),
            second_lead=bool(extra.get("second_lead", False)),
        )


def beat_waves(
    x: np.ndarray, fs_hz: float, offset: int, r_peaks: np.ndarray, spec: BeatInputSpec
) -> np.ndarray:
    """Beat-centred windows ``(n_beats, n_leads, window_samples)`` float32 from one chunk.

    Parameters
    ----------
    x
        ``(n_leads, n)`` or ``(n,)`` samples in mV at ``fs_hz``, starting at record sample ``offset``.
    r_peaks
        Record samples of the beats (inside the chunk; windows reaching past it are edge-padded).
        With ``spec.second_lead`` the second row of ``x`` is the second lead.
    spec
        Rate, window, filters and centring.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    x = np.where(np.isfinite(x), x, 0.0).astype(np.float32, copy=False)
    if fs_hz != spec.fs_hz:
        x = resample_signals(x, fs_hz, spec.fs_hz)
    x = apply_filters(x, spec.fs_hz, spec.filters).astype(np.float32, copy=False)
    w, c = spec.window_samples, spec.center_sample
    centers = np.round((np.asarray(r_peaks, dtype=np.float64) - offset) * spec.fs_hz / fs_hz).astype(np.int64)
    idx = centers[:, None] + np.arange(-c, w - c)[None, :]
    idx = np.clip(idx, 0, x.shape[1] - 1)
    waves = np.ascontiguousarray(x[:, idx].transpose(1, 0, 2))
    if spec.center == "median" and waves.size:
        waves -= np.median(waves, axis=2, keepdims=True)
    if spec.template:
        # per signal lead, the window and the chunk's median beat, the same for every beat of the
        # chunk (its dominant morphology); a second lead the record lacks gives zero rows
        rows = []
        for i in range(2 if spec.second_lead else 1):
            if i < waves.shape[1]:
                w_i = waves[:, i : i + 1]
                tmpl = np.median(w_i, axis=0, keepdims=True) if len(waves) else w_i
                rows += [w_i, np.broadcast_to(tmpl, w_i.shape)]
            else:
                rows += [np.zeros_like(waves[:, :1])] * 2
        waves = np.concatenate(rows, axis=1)
    return np.ascontiguousarray(waves, dtype=np.float32)


def assemble_inputs(waves: np.ndarray, features: np.ndarray, layout: str = "rows") -> np.ndarray:
    """Model input: the windows, then one constant row per feature (``layout="rows"``,
    ``(n, n_leads + n_features, window)``) or one row with the features in its first samples
    (``"packed"``, ``(n, n_leads + 1, window)``)."""
    n, _, w = waves.shape
    if layout == "packed":
        if not features.shape[1]:
            return waves.astype(np.float32, copy=False)
        row = np.zeros((n, 1, w), dtype=np.float32)
        row[:, 0, : features.shape[1]] = features
        return np.concatenate([waves, row], axis=1).astype(np.float32, copy=False)
    rows = np.broadcast_to(features[:, :, None], (n, features.shape[1], w))
    return np.concatenate([waves, rows], axis=1).astype(np.float32, copy=False)


def iter_beat_waves(
    rec: LongRecord,
    r_peaks: np.ndarray,
    spec: BeatInputSpec,
    *,
    lead: str | None = None,
    chunk_s: float = CHUNK_S,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """``(beat slice, windows)`` chunk by chunk over the record (only a chunk in memory).

    Raises
    ------
    PredictionCancelled
        When ``cancelled()`` turns True (polled before each chunk).
    """
    lead = lead or beat_lead(rec)
    second = second_beat_lead(rec, lead) if spec.second_lead else None
    r = np.asarray(r_peaks, dtype=np.int64)
    fs = rec.fs_hz
    pad = round(CONTEXT_S * fs)
    for start, stop in chunk_spans(rec.n_samples, fs, chunk_s):
        if cancelled is not None and cancelled():
            raise PredictionCancelled("beat classification cancelled")
        i0, i1 = np.searchsorted(r, [start, stop])
        if i1 > i0:
            a, b = max(0, start - pad), min(rec.n_samples, stop + pad)
            x = rec.lead(lead, a, b)
            if second is not None:
                x = np.stack([x, rec.lead(second, a, b)])
            yield slice(int(i0), int(i1)), beat_waves(x, fs, a, r[i0:i1], spec)
        if progress is not None:
            progress(stop, rec.n_samples)


def beat_inputs(
    rec: LongRecord | EcgRecord, r_peaks: np.ndarray, spec: BeatInputSpec, *, lead: str | None = None
) -> np.ndarray:
    """Model inputs of every beat (windows and RR rows) in one array: for training and short records."""
    rec = rec if isinstance(rec, LongRecord) else LongRecord.from_record(rec)
    r = np.asarray(r_peaks, dtype=np.int64)
    parts = [w for _, w in iter_beat_waves(rec, r, spec, lead=lead)]
    waves = np.concatenate(parts) if parts else np.zeros((0, spec.n_leads, spec.window_samples), np.float32)
    return assemble_inputs(waves, rr_features(r, rec.fs_hz, spec.rr_features), spec.rr_layout)


class BeatClassifier(CheckpointRunner):
    """Classify beats with one beat checkpoint (``task: "beats"``, softmax over N / S / V / F / Q,
    or a subset of them: the first ``beatnet`` had N / V / F / Q).

    Parameters
    ----------
    model
        Bundled name (``"beatnet"``) or checkpoint path.
    device
        ``"auto"`` (cuda > mps > cpu), ``"cpu"``, ``"cuda"`` or ``"mps"``.
    batch_size
        Beats per forward pass.
    threads
        CPU threads torch may use while classifying (restored afterwards; None: torch's own
        setting). One by default: the network is small, so more threads gain little on an idle
        machine and cost 2-3x on a busy one (measured on 2 shared cores), and the viewer keeps a
        core for drawing.
    rule
        The prematurity rule applied to the N / S decisions of a model that has an S class
        (:data:`~ecgviewer.core.beat_rr.PREMATURITY_RULE`); None: the network's argmax alone.

    Raises
    ------
    ecgviewer.models.checkpoint.CheckpointError
        At construction, when the checkpoint's JSON is missing or invalid, not a beat
        model, or its classes are not :data:`~ecgviewer.core.beat_pass.BEAT_CLASSES`
        (torch and the weights are loaded on first use).
    """

    task = "beats"

    def __init__(
        self,
        model: str | Path = DEFAULT_BEAT_MODEL,
        device: str = "auto",
        batch_size: int = 128,
        threads: int | None = 1,
        rule: PrematurityRule | None = PREMATURITY_RULE,
    ) -> None:
        super().__init__(model, device, batch_size)
        self.threads = threads
        from ecgviewer.models.checkpoint import CheckpointError, read_meta

        meta = read_meta(self.checkpoint_path)
        if meta.task != self.task:
            raise CheckpointError(
                f"{self.checkpoint_path}: this is a {meta.task} checkpoint, not a beat model"
            )
        names = tuple(meta.class_names)
        if len(set(names)) != len(names) or not set(names) <= set(BEAT_CLASSES) or "N" not in names:
            raise CheckpointError(
                f"{self.checkpoint_path}: beat classes {list(names)} are not among {list(BEAT_CLASSES)}"
            )
        #: column of each checkpoint class in BEAT_CLASSES (a 4-class N/V/F/Q model never says S)
        self._columns = np.asarray([BEAT_CLASSES.index(c) for c in names], dtype=np.int64)
        self.spec = BeatInputSpec.from_meta(meta)
        self._meta = meta
        #: the prematurity rule in use (None for a model without S, which never says S)
        self.rule = rule if "S" in names else None

    @property
    def method(self) -> str:
        """Name shown with the results: the checkpoint name, and the prematurity rule when applied
        (``"beatnet + prematurity rule"``)."""
        return self.model_name + (" + prematurity rule" if self.rule is not None else "")

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Softmax (or sigmoid, normalised) over the classes."""
        if self._meta.activation == "softmax":
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
        else:
            e = 1.0 / (1.0 + np.exp(-logits))
        return e / e.sum(axis=1, keepdims=True)

    @contextmanager
    def _cpu_threads(self) -> Iterator[None]:
        import torch

        if self.threads is None or not str(self.device).startswith("cpu"):
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def classify_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, 5)`` in :data:`BEAT_CLASSES` order of prepared inputs (see
        :func:`beat_inputs`); classes the checkpoint does not have get 0."""
        self.load()
        if len(inputs) == 0:
            return np.zeros((0, len(BEAT_CLASSES)))
        with self._cpu_threads():
            out = self._forward(inputs)
        if not np.all(np.isfinite(out)):
            raise PredictionError("the beat model produced non-finite values")
        probs = np.zeros((len(out), len(BEAT_CLASSES)))
        probs[:, self._columns] = self.probabilities(out)
        return probs

    def classify(
        self,
        rec: LongRecord | EcgRecord,
        r_peaks: np.ndarray,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        *,
        lead: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Labels and probabilities of the beats at ``r_peaks`` (samples of ``rec``).

        Windows are cut chunk by chunk and run in batches of :attr:`batch_size`.

        Returns
        -------
        (labels, probabilities) or None
            ``labels`` one of :data:`~ecgviewer.core.beat_pass.BEAT_CLASSES` per beat (the
            argmax, then :attr:`rule`), ``probabilities`` ``(n_beats, 5)`` (the network's);
            None when cancelled.
        """
        self.load()
        rec = rec if isinstance(rec, LongRecord) else LongRecord.from_record(rec)
        r = np.asarray(r_peaks, dtype=np.int64)
        feats = rr_features(r, rec.fs_hz, self.spec.rr_features)
        probs = np.zeros((r.size, len(BEAT_CLASSES)))
        # windows waiting for the network, from beat `first` on; the network always gets whole batches
        # of batch_size (the last one excepted): every batch the same shape, so torch's kernel caches
        # (oneDNN keeps one per input shape) do not grow with the record's length
        pending: list[np.ndarray] = []
        n_pending = first = 0

        def flush(final: bool = False) -> None:
            nonlocal pending, n_pending, first
            if not pending:
                return
            waves = np.concatenate(pending) if len(pending) > 1 else pending[0]
            n_take = len(waves) if final else len(waves) - len(waves) % self.batch_size
            if n_take:
                sl = slice(first, first + n_take)
                inputs = assemble_inputs(waves[:n_take], feats[sl], self.spec.rr_layout)
                probs[sl] = self.classify_inputs(inputs)
            rest = waves[n_take:]
            pending, n_pending, first = ([rest] if len(rest) else []), len(rest), first + n_take

        try:
            for sl, waves in iter_beat_waves(
                rec, r, self.spec, lead=lead, progress=progress, cancelled=cancelled
            ):
                if sl.start != first + n_pending:
                    raise PredictionError("beat windows out of order")  # never: chunks follow each other
                pending.append(waves)
                n_pending += len(waves)
                if n_pending >= self.batch_size:
                    flush()
            flush(final=True)
        except PredictionCancelled:
            return None
        labels = np.asarray(BEAT_CLASSES, dtype="<U1")[np.argmax(probs, axis=1)]
        if self.rule is not None:
            labels = apply_prematurity_rule(labels, r, rec.fs_hz, self.rule)
        return labels, probs


def run_beat_pass(
    rec: LongRecord | EcgRecord,
    classifier: BeatClassifier | None = None,
    *,
    delineator: Delineator | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BeatPassResult | None:
    """Detect every beat of ``rec``, classify it and, with a ``delineator``, measure its QT, PR and QRS.

    Parameters
    ----------
    rec
        A long record (or an in-memory record, wrapped).
    classifier
        The beat classifier; None = detection and rhythm only (every beat labelled N,
        method ``"detection only"``).
    delineator
        A delineation network: the beats' wave boundaries and the QT/QTc trend
        (:func:`ecgviewer.inference.beat_delineation.delineate_beats`, in
        ``BeatPassResult.intervals``); when it fails the beats stand and
        ``intervals_note`` says why.
    progress
        ``progress(done, total)``: detection counts the first ``n_samples``, classification
        and delineation the next ``n_samples`` each.
    cancelled
        Polled between chunks; the pass then returns None.
    """
    rec = rec if isinstance(rec, LongRecord) else LongRecord.from_record(rec)
    n = rec.n_samples
    total = n * (1 + (classifier is not None) + (delineator is not None))
    lead = beat_lead(rec)

    def step_progress(offset: int) -> Progress:
        def relay(done: int, _total: int) -> None:
            if progress is not None:
                progress(offset + done, total)

        return relay

    r = detect_r_peaks_long(rec, lead=lead, progress=step_progress(0), cancelled=cancelled)
    if r is None:
        return None
    if classifier is None:
        labels, probs, method = np.full(r.size, "N", dtype="<U1"), None, "detection only"
    else:
        out = classifier.classify(rec, r, step_progress(n), cancelled, lead=lead)
        if out is None:
            return None
        (labels, probs), method = out, classifier.method
    trend, note = None, ""
    if delineator is not None:
        from ecgviewer.inference.beat_delineation import delineate_beats

        try:
            trend = delineate_beats(
                rec, r, labels, delineator, progress=step_progress(total - n), cancelled=cancelled
            )
        except PredictionCancelled:
            return None
        except Exception as exc:  # the beats and rhythm stand without the intervals
            note = f"wave delineation failed ({type(exc).__name__}: {exc})"
        else:
            if trend is None:
                return None
    return BeatPassResult(rec.fs_hz, r, labels, probs, method, n, lead, intervals=trend, intervals_note=note)
