"""The :class:`Predictor`: checkpoint -> per-record interval predictions.

Torch and the model modules are imported on first use (:meth:`Predictor.load`),
never when :mod:`ecgviewer.inference` is imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms
from ecgviewer.core.record import EcgRecord
from ecgviewer.inference.errors import PredictionCancelled, PredictionError
from ecgviewer.inference.preprocess import DEFAULT_STRIDE_S, Windows, prepare_windows
from ecgviewer.inference.result import IntervalEstimate, PredictionResult
from ecgviewer.models.checkpoint import CheckpointError, load_checkpoint, read_meta
from ecgviewer.resources import bundled_checkpoints, checkpoints_dir, default_checkpoint

#: Interval checkpoints in ``resources/checkpoints`` when this module was imported, the default first
#: (:func:`ecgviewer.resources.bundled_checkpoints`; $ECGVIEWER_CHECKPOINT_DIR overrides the folder).
BUNDLED_MODELS: tuple[str, ...] = tuple(c.name for c in bundled_checkpoints("intervals"))
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def checkpoint_dir() -> Path:
    """Folder of the bundled checkpoints."""
    return checkpoints_dir()


def resolve_checkpoint(model: str | Path) -> Path:
    """A bundled checkpoint name (``"resnet1d"``, ``"ptbxl_resnet18"``) or a checkpoint path -> path."""
    if isinstance(model, str) and not Path(model).exists() and "/" not in model and "\\" not in model:
        bundled = checkpoint_dir() / model
        if bundled.with_name(model + ".json").is_file():
            return bundled
    return Path(model)


def select_device(requested: str = "auto") -> str:
    """Resolve ``"auto"`` to ``cuda`` > ``mps`` > ``cpu``; check an explicit request is available.

    Raises
    ------
    PredictionError
        Unknown device name, or an explicit ``cuda``/``mps`` that this torch cannot use.
    """
    import torch

    kind = requested.split(":")[0]
    if kind not in DEVICES:
        raise PredictionError(f"unknown device {requested!r} (choose from {', '.join(DEVICES)})")
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if kind == "auto":
        return "cuda" if cuda_ok else "mps" if mps_ok else "cpu"
    if kind == "cuda" and not cuda_ok:
        raise PredictionError(f"device {requested!r} requested but CUDA is not available to this torch build")
    if kind == "mps" and not mps_ok:
        raise PredictionError(f"device {requested!r} requested but MPS is not available")
    return requested


class CheckpointRunner:
    """Load one checkpoint of a given task on a device and run windows through it.

    The shared part of :class:`Predictor` (intervals) and
    :class:`~ecgviewer.inference.classifier.Classifier` (record statements):
    lazy loading (torch is imported by :meth:`load`), the task check, the input
    contract (:meth:`input_spec`) and batched forward passes.
    """

    #: The checkpoint ``task`` this runner accepts.
    task = "intervals"
    #: Bundled checkpoint used when no model is given.
    default_model = default_checkpoint("intervals") or "resnet1d"

    def __init__(
        self,
        model: str | Path | None = None,
        device: str = "auto",
        batch_size: int = 32,
        stride_s: float = DEFAULT_STRIDE_S,
    ) -> None:
        if batch_size < 1 or stride_s <= 0:
            raise ValueError("batch_size must be >= 1 and stride_s > 0")
        self.checkpoint_path = resolve_checkpoint(self.default_model if model is None else model)
        self.requested_device = device
        self.batch_size = batch_size
        self.stride_s = stride_s
        self._loaded: Any = None
        self._device: str | None = None

    # -- loading ---------------------------------------------------------------
    def load(self):
        """Import torch, pick the device and load the checkpoint (idempotent).

        Raises
        ------
        PredictionError
            Device not available.
        ecgviewer.models.checkpoint.CheckpointError
            Invalid or missing checkpoint, or one made for another task.
        """
        if self._loaded is None:
            task = read_meta(self.checkpoint_path).task
            if task != self.task:
                kind = "an interval model" if self.task == "intervals" else f"a {self.task} model"
                raise CheckpointError(f"{self.checkpoint_path}: this is a {task} checkpoint, not {kind}")
            device = select_device(self.requested_device)
            self._loaded = load_checkpoint(self.checkpoint_path, device=device)
            self._device = device
        return self

    @property
    def loaded(self) -> bool:
        """True once the checkpoint is in memory."""
        return self._loaded is not None

    @property
    def meta(self) -> Any:
        """The checkpoint's :class:`~ecgviewer.models.checkpoint.CheckpointMeta` (loads it)."""
        return self.load()._loaded.meta

    @property
    def device(self) -> str:
        """Device the model runs on (loads it)."""
        self.load()
        assert self._device is not None
        return self._device

    @property
    def model_name(self) -> str:
        """Checkpoint file name without extension (e.g. ``resnet1d``)."""
        return self.checkpoint_path.name.removesuffix(".safetensors").removesuffix(".json")

    def input_spec(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~ecgviewer.inference.preprocess.prepare_windows` for this model.

        Torch-free and picklable, so other processes can prepare windows (``ecgviewer analyze --out``);
        read from the checkpoint's JSON when the network is not loaded yet (nothing is loaded).
        """
        meta = self._loaded.meta if self._loaded is not None else read_meta(self.checkpoint_path)
        return {
            "leads": tuple(meta.input_leads),
            "fs_hz": meta.fs_hz,
            "window_samples": meta.window_samples,
            "scaling": dict(meta.scaling),
            "stride_s": self.stride_s,
        }

    def _run_items(self, items: list[Windows]) -> list[Any]:
        """Run the windows of several records through the network together; one result per record.

        The windows are batched across records (so many short records fill a GPU batch); each
        record's slice of the outputs goes to :meth:`_result`, and a :class:`PredictionError` it
        raises is returned in that record's place without affecting the others.
        """
        self.load()
        if not items:
            return []
        t0 = time.perf_counter()
        out = self._forward(np.concatenate([w.data for w in items]))
        per_record_s = (time.perf_counter() - t0) / len(items)
        results: list[Any] = []
        start = 0
        for w in items:
            n = len(w.data)
            try:
                results.append(self._result(out[start : start + n], w, per_record_s))
            except PredictionError as exc:
                results.append(exc)
            start += n
        return results

    def _run_record(
        self,
        record: EcgRecord,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Any:
        """One record: windows by :meth:`input_spec`, the network, then :meth:`_result`."""
        self.load()
        t0 = time.perf_counter()
        windows = prepare_windows(record, **self.input_spec())
        out = self._forward(windows.data, progress, should_stop)
        return self._result(out, windows, time.perf_counter() - t0)

    def _result(self, out: np.ndarray, windows: Windows, elapsed_s: float) -> Any:
        raise NotImplementedError

    def _forward(
        self,
        data: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Network outputs ``(n_windows, n_outputs)`` for ``(n_windows, n_leads, n_samples)`` windows."""
        import torch

        model = self._loaded.model
        n = len(data)
        outputs = []
        with torch.inference_mode():
            for i in range(0, n, self.batch_size):
                if should_stop is not None and should_stop():
                    raise PredictionCancelled("prediction cancelled")
                batch = torch.from_numpy(np.ascontiguousarray(data[i : i + self.batch_size]))
                outputs.append(model(batch.to(self._device)).float().cpu().numpy())
                if progress is not None:
                    progress(min(i + self.batch_size, n), n)
        return np.concatenate(outputs).astype(np.float64)


class Predictor(CheckpointRunner):
    """Predict RR/HR, PR, QRS, QT (and QTc) for ECG records with one checkpoint.

    Parameters
    ----------
    model
        Bundled name (``"resnet1d"``, ``"vit1d"``) or checkpoint path
        (``NAME``, ``NAME.safetensors`` or ``NAME.json``).
    device
        ``"auto"`` (cuda > mps > cpu), ``"cpu"``, ``"cuda"`` (``"cuda:1"``) or ``"mps"``.
    batch_size
        Windows per forward pass.
    stride_s
        Hop between 10 s windows of longer records.

    Notes
    -----
    The checkpoint is loaded (and torch imported) by :meth:`load`, which
    :meth:`predict` calls on first use. Model inputs are the checkpoint's leads
    (I, II, V1-V6 for the bundled models); III/aVR/aVL/aVF are never needed, and a
    record lacking I, II or any chest lead is refused with :class:`PredictionError`.
    """

    task = "intervals"

    # -- prediction ------------------------------------------------------------
    def predict(
        self,
        record: EcgRecord,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> PredictionResult:
        """Predict the intervals of one record.

        Parameters
        ----------
        record
            Any sampling rate, at least one window long (10 s for the bundled models).
        progress
            Called as ``progress(windows_done, n_windows)`` after each batch.
        should_stop
            Checked before each batch; when it returns True,
            :class:`PredictionCancelled` is raised.

        Returns
        -------
        PredictionResult
            Median over windows per interval with its spread, QTc, and provenance.

        Raises
        ------
        PredictionError
            Missing leads, a record shorter than one window, or cancellation.
        """
        return self._run_record(record, progress, should_stop)

    def predict_windows(self, items: list[Windows]) -> list[PredictionResult | PredictionError]:
        """Predict several records at once from their prepared windows.

        The windows of all ``items`` are run through the network together, in
        batches of :attr:`batch_size` (so many short records fill a GPU batch).

        Parameters
        ----------
        items
            One :class:`~ecgviewer.inference.preprocess.Windows` per record, made
            with :meth:`input_spec`.

        Returns
        -------
        list
            Per item, its :class:`PredictionResult`, or the :class:`PredictionError`
            that item caused (e.g. non-finite output); the others are unaffected.
        """
        return self._run_items(items)

    def _result(self, out: np.ndarray, windows: Windows, elapsed_s: float) -> PredictionResult:
        meta = self._loaded.meta
        intervals = self._denormalise(out, meta)
        rr, qt = intervals["rr_ms"].value, intervals["qt_ms"].value
        if not np.all(np.isfinite([e.value for e in intervals.values()])):
            raise PredictionError("the model produced non-finite values")
        return PredictionResult(
            intervals=intervals,
            qtc_bazett_ms=qtc_bazett_ms(qt, rr),
            qtc_fridericia_ms=qtc_fridericia_ms(qt, rr),
            model_name=self.model_name,
            checkpoint_status=meta.status,
            checkpoint_sha256=meta.weights_sha256,
            trained=meta.trained,
            device=str(self._device),
            elapsed_s=elapsed_s,
            window_starts_s=windows.starts_s,
            warnings=windows.warnings,
        )

    @staticmethod
    def _denormalise(out: np.ndarray, meta: Any) -> dict[str, IntervalEstimate]:
        k = len(meta.targets)
        hetero = out.shape[1] == 2 * k
        result: dict[str, IntervalEstimate] = {}
        values = {}
        for j, t in enumerate(meta.targets):
            v = out[:, j] * t.std + t.mean
            sig = np.exp(0.5 * out[:, k + j]) * t.std if hetero else None
            values[t.name] = v
            result[t.name] = IntervalEstimate.from_values(t.name, t.unit, v, sig)
        rr = np.clip(values["rr_ms"], 1.0, None)  # an untrained net may give nonsense; avoid /0
        hr_sig = None
        if hetero:
            hr_sig = 60000.0 * np.exp(0.5 * out[:, k]) * meta.targets[0].std / rr**2  # delta method
        result = {"hr_bpm": IntervalEstimate.from_values("hr_bpm", "bpm", 60000.0 / rr, hr_sig), **result}
        return result
