"""The loaded networks, shared by the viewer, ``analyze`` and the batch engine (Qt-free).

:class:`ModelSet` creates one :class:`~ecgviewer.inference.predictor.Predictor`
per interval model and one :class:`~ecgviewer.inference.classifier.Classifier`
per statement classifier (per name, device, window stride and batch size), and
loads each on first use, so a network is read (and torch imported) only when
something needs it. It is thread-safe: two threads asking for the same model
get the same object, loaded once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgviewer.models.checkpoint import CheckpointError, read_meta

if TYPE_CHECKING:
    from ecgviewer.inference.classifier import Classifier
    from ecgviewer.inference.delineation import Delineator
    from ecgviewer.inference.predictor import Predictor

#: The kinds of network a :class:`ModelSet` holds (the checkpoint tasks).
KINDS: tuple[str, ...] = ("intervals", "classification", "delineation")


class ModelSet:
    """A thread-safe cache of interval predictors and statement classifiers, loaded lazily.

    Examples
    --------
    >>> models = ModelSet()
    >>> predictor = models.predictor("resnet1d", "cpu", load=False)  # nothing read yet
    >>> models.predictor("resnet1d", "cpu", load=False) is predictor
    True
    >>> models.is_loaded("intervals", "resnet1d", "cpu")
    False
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._items: dict[tuple[Any, ...], Any] = {}

    def predictor(
        self,
        model: str | Path,
        device: str = "auto",
        *,
        stride_s: float | None = None,
        batch_size: int = 32,
        load: bool = True,
    ) -> Predictor:
        """The cached interval predictor for these settings, created (and with ``load``, loaded) if needed.

        ``stride_s`` None: the predictor's default window hop.

        Raises
        ------
        CheckpointError, PredictionError
            ``load`` and the checkpoint cannot be read, is of another task, or the device is unavailable.
        """
        return self._get("intervals", str(model), device, stride_s, batch_size, load)

    def classifier(
        self,
        name: str | Path,
        device: str = "auto",
        *,
        stride_s: float | None = None,
        batch_size: int = 32,
        load: bool = True,
    ) -> Classifier:
        """The cached statement classifier for these settings (as :meth:`predictor`)."""
        return self._get("classification", str(name), device, stride_s, batch_size, load)

    def delineator(
        self,
        name: str | Path,
        device: str = "auto",
        *,
        batch_size: int = 32,
        load: bool = True,
    ) -> Delineator:
        """The cached wave delineator for these settings (as :meth:`predictor`)."""
        return self._get("delineation", str(name), device, None, batch_size, load)

    def is_loaded(self, kind: str, name: str | Path, device: str) -> bool:
        """True when a network of ``kind`` for ``(name, device)`` is cached and loaded."""
        with self._lock:
            return any(k[:3] == (kind, str(name), device) and item.loaded for k, item in self._items.items())

    def discard(self, kind: str | None = None, keep: tuple[str, str] | None = None) -> None:
        """Forget the cached networks of ``kind`` (None: all) except those for ``keep``: ``(name, device)``.

        A thread still using a forgotten network keeps its reference; memory is freed after it.
        """
        with self._lock:
            for key in list(self._items):
                if (kind is None or key[0] == kind) and (keep is None or key[1:3] != keep):
                    del self._items[key]

    def _get(
        self, kind: str, name: str, device: str, stride_s: float | None, batch_size: int, load: bool
    ) -> Any:
        key = (kind, name, device, stride_s, int(batch_size))
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = self._make(key)
        if load:
            self._load(item)
        return item

    def _make(self, key: tuple[Any, ...]) -> Any:
        """A new, unloaded network for ``key``: ``(kind, name, device, stride_s, batch_size)``."""
        kind, name, device, stride_s, batch_size = key
        stride = {} if stride_s is None else {"stride_s": stride_s}
        if kind == "intervals":
            from ecgviewer.inference.predictor import Predictor  # scipy and numpy: on first use

            return Predictor(name, device=device, batch_size=batch_size, **stride)
        if kind == "delineation":
            from ecgviewer.inference.delineation import Delineator

            return Delineator(name, device=device, batch_size=batch_size)
        from ecgviewer.inference.classifier import Classifier

        return Classifier(name, device=device, batch_size=batch_size, **stride)

    def _load(self, item: Any) -> None:
        with self._load_lock:  # one load at a time; a second caller waits, then reuses it
            item.load()  # idempotent: torch import + checkpoint read the first time


def check_classifier(classifier: Any) -> None:
    """Raise :class:`CheckpointError` unless ``classifier``'s checkpoint is a classification one.

    Reads only the checkpoint's JSON (torch is not imported): for command lines that
    want to refuse a wrong ``--classifier`` before any work starts.
    """
    task = read_meta(classifier.checkpoint_path).task
    if task != "classification":
        raise CheckpointError(f"{classifier.checkpoint_path}: task {task!r}, not a classification checkpoint")


def check_delineator(delineator: Any) -> None:
    """Raise :class:`CheckpointError` unless ``delineator``'s checkpoint is a delineation one (JSON only)."""
    task = read_meta(delineator.checkpoint_path).task
    if task != "delineation":
        raise CheckpointError(f"{delineator.checkpoint_path}: task {task!r}, not a delineation checkpoint")
