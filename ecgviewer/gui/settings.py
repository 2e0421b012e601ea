"""Persistent viewer settings (QSettings, organisation "ecgviewer").

Set the environment variable ``ECGVIEWER_SETTINGS`` to an ``.ini`` path to
keep the settings there instead of the user's configuration folder; the tests
do this so they never touch real settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from ecgviewer.layout.choices import (
    DEFAULT_GAIN_MM_PER_MV,
    DEFAULT_LAYOUT,
    DEFAULT_PAPER,
    DEFAULT_SPEED_MM_PER_S,
    GAINS_MM_PER_MV,
    LAYOUT_NAMES,
    PAPER_NAMES,
    SPEEDS_MM_PER_S,
)
from ecgviewer.resources import bundled_checkpoints, default_checkpoint, installed_checkpoints

ORGANISATION = "ecgviewer"
APPLICATION = "ecgviewer"
#: Environment variable naming an ``.ini`` file that replaces the user's settings.
SETTINGS_ENV = "ECGVIEWER_SETTINGS"
MAX_RECENT_FILES = 10


def make_qsettings() -> QSettings:
    """The QSettings store: ``$ECGVIEWER_SETTINGS`` when set, else the user's INI file."""
    override = os.environ.get(SETTINGS_ENV)
    if override:
        return QSettings(override, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def _float_or_none(value: object) -> float | None:
    if value in (None, "", "none", "None"):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class ViewerSettings:
    """Typed access to the stored settings; invalid stored values fall back to defaults.

    Parameters
    ----------
    qsettings
        The store (default: :func:`make_qsettings`).
    persist
        When False nothing is written (``--screenshot`` runs).
    """

    def __init__(self, qsettings: QSettings | None = None, persist: bool = True) -> None:
        self._q = qsettings if qsettings is not None else make_qsettings()
        self.persist = persist

    def _set(self, key: str, value: object) -> None:
        if self.persist:
            self._q.setValue(key, value)

    def sync(self) -> None:
        """Write pending changes to disk."""
        if self.persist:
            self._q.sync()

    # -- display ------------------------------------------------------------
    @property
    def layout(self) -> str:
        """A lead layout of :data:`~ecgviewer.layout.choices.LAYOUT_NAMES` (3x4, 6x2, 12x1)."""
        value = str(self._q.value("view/layout", DEFAULT_LAYOUT))
        return value if value in LAYOUT_NAMES else DEFAULT_LAYOUT

    @layout.setter
    def layout(self, value: str) -> None:
        self._set("view/layout", value)

    @property
    def speed_mm_per_s(self) -> float:
        """Paper speed (25 or 50 mm/s)."""
        value = _float_or_none(self._q.value("view/speed_mm_per_s", DEFAULT_SPEED_MM_PER_S))
        return value if value in SPEEDS_MM_PER_S else DEFAULT_SPEED_MM_PER_S

    @speed_mm_per_s.setter
    def speed_mm_per_s(self, value: float) -> None:
        self._set("view/speed_mm_per_s", float(value))

    @property
    def gain_mm_per_mv(self) -> float:
        """Gain (5, 10 or 20 mm/mV)."""
        value = _float_or_none(self._q.value("view/gain_mm_per_mv", DEFAULT_GAIN_MM_PER_MV))
        return value if value in GAINS_MM_PER_MV else DEFAULT_GAIN_MM_PER_MV

    @gain_mm_per_mv.setter
    def gain_mm_per_mv(self, value: float) -> None:
        self._set("view/gain_mm_per_mv", float(value))

    @property
    def filters_hz(self) -> tuple[float | None, float | None, float | None]:
        """``(highpass_hz, notch_hz, lowpass_hz)``; None = off."""
        return tuple(  # type: ignore[return-value]
            _float_or_none(self._q.value(f"filters/{k}", None))
            for k in ("highpass_hz", "notch_hz", "lowpass_hz")
        )

    @filters_hz.setter
    def filters_hz(self, value: tuple[float | None, float | None, float | None]) -> None:
        for key, hz in zip(("highpass_hz", "notch_hz", "lowpass_hz"), value):
            self._set(f"filters/{key}", "none" if hz is None else float(hz))

    def _flag(self, key: str, default: bool) -> bool:
        return str(self._q.value(key, "true" if default else "false")).lower() == "true"

    def _set_flag(self, key: str, value: bool) -> None:
        self._set(key, "true" if value else "false")

    @property
    def info_panel_visible(self) -> bool:
        """Whether the record-info dock is shown."""
        return self._flag("view/info_panel", True)

    @info_panel_visible.setter
    def info_panel_visible(self, value: bool) -> None:
        self._set_flag("view/info_panel", value)

    # -- analysis -------------------------------------------------------------
    @property
    def auto_analyze(self) -> bool:
        """Predict the intervals as soon as a record is opened."""
        return self._flag("analysis/auto", True)

    @auto_analyze.setter
    def auto_analyze(self, value: bool) -> None:
        self._set_flag("analysis/auto", value)

    @property
    def show_intervals(self) -> bool:
        """Draw PR/QRS/QT spans over the signal."""
        return self._flag("analysis/show_intervals", True)

    @show_intervals.setter
    def show_intervals(self, value: bool) -> None:
        self._set_flag("analysis/show_intervals", value)

    @property
    def measurements_visible(self) -> bool:
        """Whether the measurements dock is shown."""
        return self._flag("view/measurements_panel", True)

    @measurements_visible.setter
    def measurements_visible(self, value: bool) -> None:
        self._set_flag("view/measurements_panel", value)

    @property
    def model(self) -> str:
        """Bundled model name or checkpoint path (an unusable stored path falls back to the default)."""
        default = default_checkpoint("intervals") or "resnet1d"
        value = str(self._q.value("analysis/model", default) or default)
        bundled = {c.name for c in bundled_checkpoints("intervals")}
        if value in bundled or Path(value).with_suffix(".json").exists():
            return value
        return default

    @model.setter
    def model(self, value: str) -> None:
        self._set("analysis/model", str(value))

    @property
    def classifier(self) -> str | None:
        """Bundled classifier name, classification checkpoint path, or None (off).

        Default (nothing stored, or a stored choice whose files are gone): the first
        installed bundled classifier, or None when none is installed.
        """
        from ecgviewer.gui.actions import CLASSIFIER_CHOICES

        installed = installed_checkpoints(name for _, name in CLASSIFIER_CHOICES)
        default = installed[0] if installed else None
        value = str(self._q.value("analysis/classifier", "") or "")
        if value == "none":
            return None
        if value in installed or (value and Path(value).with_suffix(".json").is_file()):
            return value
        return default

    @classifier.setter
    def classifier(self, value: str | None) -> None:
        self._set("analysis/classifier", "none" if value is None else str(value))

    @property
    def delineator(self) -> str:
        """Wave delineation network: bundled name or ``delineation`` checkpoint path (an unusable stored
        choice falls back to the default bundled one)."""
        default = default_checkpoint("delineation") or "unet_delineation"
        value = str(self._q.value("analysis/delineator", default) or default)
        bundled = {c.name for c in bundled_checkpoints("delineation")}
        if value in bundled or Path(value).with_suffix(".json").is_file():
            return value
        return default

    @delineator.setter
    def delineator(self, value: str) -> None:
        self._set("analysis/delineator", str(value))

    @property
    def show_boundaries(self) -> bool:
        """Mark the wave boundaries of every beat on every lead."""
        return self._flag("view/show_boundaries", True)

    @show_boundaries.setter
    def show_boundaries(self, value: bool) -> None:
        self._set_flag("view/show_boundaries", value)

    @property
    def beat_table_visible(self) -> bool:
        """Whether the per-beat table dock is shown."""
        return self._flag("view/beat_table", True)

    @beat_table_visible.setter
    def beat_table_visible(self, value: bool) -> None:
        self._set_flag("view/beat_table", value)

    @property
    def classification_visible(self) -> bool:
        """Whether the classification dock is shown."""
        return self._flag("view/classification_panel", True)

    @classification_visible.setter
    def classification_visible(self, value: bool) -> None:
        self._set_flag("view/classification_panel", value)

    @property
    def device(self) -> str:
        """``auto``, ``cpu``, ``cuda`` or ``mps``."""
        value = str(self._q.value("analysis/device", "auto") or "auto")
        return value if value in ("auto", "cpu", "cuda", "mps") else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self._set("analysis/device", str(value))

    # -- report -------------------------------------------------------------
    @property
    def report_paper(self) -> str:
        """Paper of the PDF report: ``"A4"`` or ``"Letter"`` (landscape)."""
        value = str(self._q.value("report/paper", DEFAULT_PAPER))
        return value if value in PAPER_NAMES else DEFAULT_PAPER

    @report_paper.setter
    def report_paper(self, value: str) -> None:
        self._set("report/paper", str(value))

    @property
    def report_layout(self) -> str:
        """Lead layout of the PDF report: ``"3x4"``, ``"6x2"`` or ``"12x1"``."""
        value = str(self._q.value("report/layout", DEFAULT_LAYOUT))
        return value if value in LAYOUT_NAMES else DEFAULT_LAYOUT

    @report_layout.setter
    def report_layout(self, value: str) -> None:
        self._set("report/layout", str(value))

    # -- over-read ------------------------------------------------------------
    @property
    def reader_name(self) -> str:
        """Who over-reads: the author of every edit and the sidecar's reader (default: the OS user)."""
        from ecgviewer.core.sidecar import default_reader

        return str(self._q.value("overread/reader", "") or "").strip() or default_reader()

    @reader_name.setter
    def reader_name(self, value: str) -> None:
        self._set("overread/reader", str(value).strip())

    # -- files --------------------------------------------------------------
    @property
    def last_directory(self) -> str:
        """Folder of the Open dialog (empty: the current folder)."""
        return str(self._q.value("files/last_directory", "") or "")

    @last_directory.setter
    def last_directory(self, value: str) -> None:
        self._set("files/last_directory", value)

    def recent_files(self) -> list[Path]:
        """Recently opened files, newest first; files that no longer exist are pruned."""
        raw = self._q.value("files/recent", [])
        if isinstance(raw, str):
            raw = [raw] if raw else []
        paths = [Path(str(p)) for p in (raw or [])]
        kept = [p for p in paths if p.exists()][:MAX_RECENT_FILES]
        if len(kept) != len(paths):
            self._store_recent(kept)
        return kept

    def add_recent_file(self, path: str | Path) -> list[Path]:
        """Put ``path`` first in the recent files (at most :data:`MAX_RECENT_FILES`)."""
        path = Path(path).resolve()
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT_FILES]
        self._store_recent(files)
        return files

    def remove_recent_file(self, path: str | Path) -> None:
        """Forget ``path`` (e.g. after it failed to open because it is gone)."""
        path = Path(path).resolve()
        self._store_recent([p for p in self.recent_files() if p != path])

    def _store_recent(self, files: list[Path]) -> None:
        self._set("files/recent", [str(p) for p in files])
