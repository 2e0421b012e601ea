"""Checkpoint files: ``NAME.safetensors`` (weights) + ``NAME.json`` (everything else).

The JSON (format version 1) holds::

    format_version   1
    architecture     registry name ("resnet1d", "vit1d", "fcn", "resnet18_1d", "crnn", "beatnet",
                     "deeplabv3", ...)
    label            optional display label of menus ("PTB-XL CRNN"); the file name when absent
                     (read by :func:`ecgviewer.resources.bundled_checkpoints`)
    config           the architecture's config dataclass as a dict
    input            {"leads": ["I", "II", "V1", ..., "V6"], "fs_hz": 500,
                      "window_samples": 5000,
                      "scaling": {"unit": "mV", "center": "median" | "none",
                                  "scale_mv": 1.0 | [8 per-lead scales]}}
                     the model sees (x_mV - per-lead median of the window) / scale_mv
    task             "intervals" (the default when absent), "classification"
                     (multi-label record statements), "beats" (per-beat classes) or
                     "delineation" (per-sample P/QRS/T classes of any lead; input.leads
                     is ["any"], classes none/P/QRS/T, softmax)
    targets          intervals: [{"name": "rr_ms", "unit": "ms", "mean": ..., "std": ...}, ...]
                     network output i is (value - mean) / std of target i; the
                     targets are rr_ms, pr_ms, qrs_ms, qt_ms (HR = 60000 / RR,
                     QTc from QT and RR are derived, not predicted); [] otherwise
    classes          classification and beats: [{"name": "NORM", "description": ...,
                     "threshold": 0.5}, ...], one per network output (logit) in order;
                     a class is stated when its probability >= its threshold
    activation       classification and beats: "sigmoid" (independent labels) or
                     "softmax" (exactly one class)
    calibration      optional, sigmoid classifiers: {"method": "temperature", "temperature": T,
                     "logit_offset": [one per class]}; the probability of class j is
                     sigmoid((logit_j - logit_offset_j) / T) (the offset undoes the class
                     weighting of the loss, T is fitted on validation records); thresholds
                     are on that calibrated scale
    training         {"data": ..., "command": ..., ...} free-form provenance
    metrics          {"pr_ms": {"mae": ...}, ...} free-form validation metrics
    trained          bool
    status           "trained" or "untrained placeholder" (shown by every display)
    weights_sha256   sha256 of the .safetensors file

Loading never unpickles: weights are read with ``safetensors`` only, ``.pt``/``.pth``
files and anything starting with pickle or zip magic are refused with
:class:`CheckpointError`, as is every mismatch between JSON, registry and tensors.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecgviewer.core.io_utils import atomic_write

FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
META_SUFFIX = ".json"
#: Target names in network output order, and their unit.
TARGET_NAMES: tuple[str, ...] = ("rr_ms", "pr_ms", "qrs_ms", "qt_ms")
#: What a checkpoint predicts (the JSON's ``task``); "intervals" when the key is absent.
TASKS: tuple[str, ...] = ("intervals", "classification", "beats", "delineation")
#: ``input.leads`` of a delineation checkpoint: every lead runs through the same network.
ANY_LEAD = "any"
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "softmax")
REQUIRED_KEYS: tuple[str, ...] = (
    "format_version",
    "architecture",
    "config",
    "input",
    "targets",
    "training",
    "metrics",
    "trained",
    "status",
    "weights_sha256",
)
_PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar", ".zip"}
_MAX_HEADER = 100_000_000


class CheckpointError(Exception):
    """A checkpoint could not be saved or loaded; the message names the file and the reason."""


@dataclass(frozen=True)
class TargetSpec:
    """One predicted quantity: name, unit and the label normalisation of its output."""

    name: str
    unit: str
    mean: float
    std: float


@dataclass(frozen=True)
class ClassSpec:
    """One output class of a classifier: its name, a readable description and its decision threshold."""

    name: str
    description: str = ""
    threshold: float = 0.5


@dataclass(frozen=True)
class CheckpointMeta:
    """The validated content of a checkpoint's JSON file."""

    architecture: str
    config: Mapping[str, Any]
    input_leads: tuple[str, ...]
    fs_hz: float
    window_samples: int
    scaling: Mapping[str, Any]
    targets: tuple[TargetSpec, ...]
    training: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    trained: bool = False
    status: str = "untrained placeholder"
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    task: str = "intervals"
    classes: tuple[ClassSpec, ...] = ()
    activation: str = ""
    #: Further ``input`` keys a task needs (e.g. the beat classifier's RR features).
    input_extra: Mapping[str, Any] = field(default_factory=dict)
    #: Probability calibration of a sigmoid classifier (empty: plain sigmoid of the logits).
    calibration: Mapping[str, Any] = field(default_factory=dict)

    @property
    def temperature(self) -> float:
        """The calibration temperature (1 when uncalibrated)."""
        return float(self.calibration.get("temperature", 1.0))

    @property
    def logit_offset(self) -> tuple[float, ...]:
        """Per-class logit offsets subtracted before the temperature (zeros when uncalibrated)."""
        return tuple(float(v) for v in self.calibration.get("logit_offset", [0.0] * len(self.classes)))

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the classes in output order (empty for interval models)."""
        return tuple(c.name for c in self.classes)

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Decision thresholds in output order (empty for interval models)."""
        return tuple(c.threshold for c in self.classes)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object written next to the weights."""
        obj: dict[str, Any] = {
            "format_version": self.format_version,
            "architecture": self.architecture,
            "task": self.task,
            "config": dict(self.config),
            "input": {
                **dict(self.input_extra),
                "leads": list(self.input_leads),
                "fs_hz": self.fs_hz,
                "window_samples": self.window_samples,
                "scaling": dict(self.scaling),
            },
            "targets": [vars(t).copy() for t in self.targets],
            "training": dict(self.training),
            "metrics": dict(self.metrics),
            "trained": self.trained,
            "status": self.status,
            "weights_sha256": self.weights_sha256,
        }
        if self.task != "intervals":
            obj["classes"] = [vars(c).copy() for c in self.classes]
            obj["activation"] = self.activation
            if self.calibration:
                obj["calibration"] = dict(self.calibration)
        return obj


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A model in eval mode with its metadata and file locations."""

    model: Any
    meta: CheckpointMeta
    weights_path: Path
    meta_path: Path

    @property
    def sha256(self) -> str:
        """sha256 of the weights file (verified on load)."""
        return self.meta.weights_sha256


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, json)`` paths for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path}: pickle-based checkpoints ({path.suffix}) are not loaded, because unpickling "
            "can run arbitrary code; convert it to .safetensors + .json with save_checkpoint"
        )
    if path.suffix in (WEIGHTS_SUFFIX, META_SUFFIX):
        path = path.with_suffix("")
    return path.with_name(path.name + WEIGHTS_SUFFIX), path.with_name(path.name + META_SUFFIX)


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def save_checkpoint(model: Any, meta: CheckpointMeta, path: str | Path) -> CheckpointMeta:
    """Write ``model``'s weights and ``meta`` as ``NAME.safetensors`` + ``NAME.json``, atomically.

    Parameters
    ----------
    model
        The ``torch.nn.Module`` (its ``state_dict`` is saved, on CPU, contiguous).
    meta
        Metadata; ``weights_sha256`` is filled in here.
    path
        ``NAME``, ``NAME.safetensors`` or ``NAME.json``.

    Returns
    -------
    CheckpointMeta
        ``meta`` with the sha256 of the written weights.
    """
    from dataclasses import replace

    from safetensors.torch import save

    weights_path, meta_path = checkpoint_paths(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # One metadata key only: safetensors writes a map's keys in hash order (not reproducible).
    data = save(state, metadata={"format": "pt"})
    meta = replace(meta, weights_sha256=sha256_of(data), format_version=FORMAT_VERSION)
    _validate_json(meta.to_json_dict(), meta_path)  # never write a file load_checkpoint refuses
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(weights_path, data)
    _atomic_write(meta_path, (json.dumps(meta.to_json_dict(), indent=2) + "\n").encode())
    return meta


def _validate_json(obj: Any, where: Path) -> CheckpointMeta:
    def fail(reason: str) -> CheckpointError:
        return CheckpointError(f"{where}: {reason}")

    if not isinstance(obj, dict):
        raise fail("the JSON must be an object")
    missing = [k for k in REQUIRED_KEYS if k not in obj]
    if missing:
        raise fail(f"missing keys {missing}")
    if obj["format_version"] != FORMAT_VERSION:
        raise fail(
            f"unsupported format_version {obj['format_version']!r} (this version reads {FORMAT_VERSION})"
        )
    inp = obj["input"]
    if not isinstance(inp, dict) or not {"leads", "fs_hz", "window_samples", "scaling"} <= set(inp):
        raise fail("'input' needs leads, fs_hz, window_samples and scaling")
    leads = inp["leads"]
    if not isinstance(leads, list) or not leads or not all(isinstance(n, str) for n in leads):
        raise fail("'input.leads' must be a list of lead names")
    if not isinstance(inp["fs_hz"], (int, float)) or inp["fs_hz"] <= 0:
        raise fail("'input.fs_hz' must be positive")
    if not isinstance(inp["window_samples"], int) or inp["window_samples"] <= 0:
        raise fail("'input.window_samples' must be a positive integer")
    sc = inp["scaling"]
    if not isinstance(sc, dict) or sc.get("unit") != "mV" or sc.get("center") not in ("median", "none"):
        raise fail("'input.scaling' must have unit 'mV' and center 'median' or 'none'")
    scale = sc.get("scale_mv")
    scales = scale if isinstance(scale, list) else [scale]
    if len(scales) not in (1, len(leads)) or not all(isinstance(s, (int, float)) and s > 0 for s in scales):
        raise fail("'input.scaling.scale_mv' must be a positive number or one per lead")
    task = obj.get("task", "intervals")
    if task not in TASKS:
        raise fail(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    targets = obj["targets"]
    try:
        specs = tuple(
            TargetSpec(str(t["name"]), str(t["unit"]), float(t["mean"]), float(t["std"])) for t in targets
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"'targets' entries need name, unit, mean, std ({exc})") from None
    if task == "intervals":
        if tuple(t.name for t in specs) != TARGET_NAMES:
            raise fail(f"targets must be {list(TARGET_NAMES)} in that order")
        if any(t.std <= 0 for t in specs):
            raise fail("target std must be positive")
        classes: tuple[ClassSpec, ...] = ()
        activation = ""
        calibration: dict[str, Any] = {}
    else:
        if specs:
            raise fail(f"a {task} checkpoint has no interval 'targets' (must be [])")
        classes = _validate_classes(obj.get("classes"), fail)
        activation = obj.get("activation")
        if activation not in ACTIVATIONS:
            raise fail(f"'activation' must be one of {list(ACTIVATIONS)}")
        calibration = _validate_calibration(obj.get("calibration"), len(classes), activation, fail)
        if task == "delineation":
            from ecgviewer.core.delineation import WAVE_CLASSES

            if tuple(c.name for c in classes) != WAVE_CLASSES or activation != "softmax":
                raise fail(f"a delineation checkpoint has softmax classes {list(WAVE_CLASSES)}")
            if leads != [ANY_LEAD]:
                raise fail(f"a delineation checkpoint takes any lead: 'input.leads' must be [{ANY_LEAD!r}]")
    if not isinstance(obj["trained"], bool) or not isinstance(obj["status"], str) or not obj["status"]:
        raise fail("'trained' must be a bool and 'status' a non-empty string")
    if not isinstance(obj["config"], dict):
        raise fail("'config' must be an object")
    for key in ("training", "metrics"):
        if not isinstance(obj[key], dict):
            raise fail(f"'{key}' must be an object")
    return CheckpointMeta(
        architecture=str(obj["architecture"]),
        config=obj["config"],
        input_leads=tuple(leads),
        fs_hz=float(inp["fs_hz"]),
        window_samples=int(inp["window_samples"]),
        scaling=sc,
        targets=specs,
        training=obj["training"],
        metrics=obj["metrics"],
        trained=obj["trained"],
        status=obj["status"],
        weights_sha256=str(obj["weights_sha256"]),
        format_version=FORMAT_VERSION,
        task=task,
        classes=classes,
        activation=activation,
        input_extra={k: v for k, v in inp.items() if k not in _INPUT_KEYS},
        calibration=calibration,
    )


def _validate_calibration(
    raw: Any, n_classes: int, activation: str, fail: Callable[[str], CheckpointError]
) -> dict[str, Any]:
    if raw is None or raw == {}:
        return {}
    if activation != "sigmoid":
        raise fail("'calibration' applies to sigmoid classifiers only")
    if not isinstance(raw, dict) or raw.get("method") != "temperature":
        raise fail("'calibration' must be an object with method 'temperature', temperature, logit_offset")
    t = raw.get("temperature")
    if not isinstance(t, (int, float)) or not t > 0:
        raise fail("'calibration.temperature' must be a positive number")
    off = raw.get("logit_offset", [0.0] * n_classes)
    if (
        not isinstance(off, list)
        or len(off) != n_classes
        or not all(isinstance(v, (int, float)) and v == v for v in off)
    ):
        raise fail(f"'calibration.logit_offset' must be {n_classes} numbers, one per class")
    return dict(raw)


_INPUT_KEYS = ("leads", "fs_hz", "window_samples", "scaling")


def _validate_classes(raw: Any, fail: Callable[[str], CheckpointError]) -> tuple[ClassSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail("'classes' must be a non-empty list of {name, description, threshold}")
    try:
        classes = tuple(
            ClassSpec(str(c["name"]), str(c.get("description", "")), float(c["threshold"])) for c in raw
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise fail(f"'classes' entries need name and threshold ({exc})") from None
    names = [c.name for c in classes]
    if len(set(names)) != len(names) or not all(names):
        raise fail(f"class names must be unique and non-empty: {names}")
    if not all(0.0 <= c.threshold <= 1.0 for c in classes):
        raise fail("class thresholds must lie in [0, 1]")
    return classes


def read_meta(path: str | Path) -> CheckpointMeta:
    """Read and validate only the JSON of a checkpoint (no torch needed)."""
    _, meta_path = checkpoint_paths(path)
    if not meta_path.is_file():
        raise CheckpointError(f"{meta_path}: checkpoint metadata file not found")
    try:
        obj = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta_path}: not a readable JSON file ({exc})") from None
    return _validate_json(obj, meta_path)


def _check_weights_bytes(data: bytes, where: Path) -> None:
    if data[:1] == b"\x80" or data[:4] == b"PK\x03\x04":
        raise CheckpointError(
            f"{where}: this is a pickle/zip (torch.save) file, not safetensors; it is not loaded "
            "because unpickling can run arbitrary code"
        )
    if len(data) < 10:
        raise CheckpointError(f"{where}: file too short to be safetensors")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8) or data[8:9] != b"{":
        raise CheckpointError(f"{where}: not a safetensors file")


def load_checkpoint(path: str | Path, device: str = "cpu") -> LoadedCheckpoint:
    """Load and validate a checkpoint; the model is returned in eval mode on ``device``.

    Parameters
    ----------
    path
        ``NAME``, ``NAME.safetensors`` or ``NAME.json``.
    device
        Torch device string for the model.

    Raises
    ------
    CheckpointError
        Missing files, pickle files, bad JSON or format version, unknown
        architecture or config, sha256 mismatch, missing/unexpected tensors or
        wrong shapes.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    from ecgviewer.models.registry import ModelConfigError, build_model

    weights_path, meta_path = checkpoint_paths(path)
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: checkpoint weights file not found")
    data = weights_path.read_bytes()
    _check_weights_bytes(data, weights_path)
    meta = read_meta(meta_path)
    if sha256_of(data) != meta.weights_sha256:
        raise CheckpointError(f"{weights_path}: sha256 does not match 'weights_sha256' in {meta_path.name}")
    try:
        model = build_model(meta.architecture, meta.config)
    except ModelConfigError as exc:
        raise CheckpointError(f"{meta_path}: {exc}") from None
    cfg = model.config
    if meta.task == "delineation":
        stride = int(model.stride)
        if meta.window_samples % stride:
            raise CheckpointError(
                f"{meta_path}: window_samples is not a multiple of the network's stride {stride}"
            )
    elif (cfg.n_leads, cfg.n_samples) != (len(meta.input_leads), meta.window_samples):
        raise CheckpointError(f"{meta_path}: config input shape does not match 'input' leads/window_samples")
    n_classes = getattr(cfg, "n_classes", 0)
    if n_classes != len(meta.classes):
        raise CheckpointError(
            f"{meta_path}: the config has n_classes={n_classes}, the JSON lists {len(meta.classes)} classes"
        )
    try:
        state = load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{weights_path}: unreadable safetensors ({exc})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights_path}: tensors do not match {meta.architecture}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    bad = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if state[k].shape != v.shape
    ]
    if bad:
        raise CheckpointError(f"{weights_path}: wrong tensor shapes: {'; '.join(bad[:5])}")
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    return LoadedCheckpoint(model=model, meta=meta, weights_path=weights_path, meta_path=meta_path)
