"""The over-read of the open record: its edits, their undo stack and its sidecar file.

:class:`OverReadController` is the Qt adapter of :mod:`ecgviewer.core.overread` and
:mod:`ecgviewer.core.sidecar`. For each record opened from a file it

* finds the record's sidecar on a worker thread (:func:`~ecgviewer.core.sidecar.load_sidecar`
  hashes the samples: a long Holter is read chunk by chunk, never whole) and restores the
  over-read when the sidecar is this record's (``"applied"``); a sidecar of *other content*
  (``"record changed"``) or a damaged one (``"unreadable"``) is never applied: the controller
  says so (:attr:`OverReadController.message`) and keeps the old file until the reader chooses
  to start a new over-read (:meth:`OverReadController.start_new`);
* keeps every correction as one :class:`~PySide6.QtGui.QUndoCommand` on
  :attr:`OverReadController.undo_stack` (the command holds the edits; redo adds them to the
  :class:`~ecgviewer.core.overread.OverRead`, undo removes them with ``OverRead.without``);
* saves the sidecar (atomically, :func:`~ecgviewer.core.sidecar.save_sidecar`) shortly after
  each change and when the record is closed; the record file itself is never written.

Edits made while the sidecar is still being looked for are kept and added after the restored
ones. A record shown without a file (:meth:`MainWindow.show_record`) can be over-read, but
nothing is saved.

Signals
-------
changed()
    The edits changed (an edit, undo, redo, reset, a restored over-read, a new record).
message(str)
    Something the reader should know (restored, record changed, unreadable, save failed).
saved(object)
    The sidecar's path after a save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from ecgviewer.core.overread import Edit, OverRead
    from ecgviewer.core.sidecar import LoadedOverRead, RecordIdentity

log = logging.getLogger(__name__)

#: Delay between the last change and the save (ms): a burst of nudges is written once.
SAVE_DELAY_MS = 400
#: Status while the sidecar is looked for.
LOADING = "loading"
#: The statuses of :func:`ecgviewer.core.sidecar.load_sidecar` (that module, like
#: :mod:`ecgviewer.core.overread`, is imported when a record is opened: it pulls scipy, and the
#: window starts without it).
APPLIED, NONE, RECORD_CHANGED, UNREADABLE = "applied", "none", "record changed", "unreadable"


class EditCommand(QUndoCommand):
    """One reader action: ``edits`` added on redo, removed on undo.

    Commands with the same ``merge_key`` pushed one after the other (the arrow-key nudges of
    one mark) merge into one (:meth:`mergeWith`): Ctrl+Z undoes the whole series of steps.
    """

    def __init__(self, controller: OverReadController, edits: Sequence[Edit], text: str, merge_key=None):
        super().__init__(text)
        self.controller = controller
        self.edits = list(edits)
        self.merge_key = merge_key

    def redo(self) -> None:
        self.controller._set(self.controller.overread.add(*self.edits))

    def undo(self) -> None:
        o = self.controller.overread
        for e in reversed(self.edits):
            o = o.without(e)
        self.controller._set(o)

    def id(self) -> int:
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key:
            return False
        self.edits.extend(other.edits)
        return True


class ResetCommand(QUndoCommand):
    """Reset to computed: every edit of ``kinds`` (all when empty) removed; undo puts them back."""

    def __init__(self, controller: OverReadController, text: str, keep: Callable[[Edit], bool]) -> None:
        super().__init__(text)
        self.controller = controller
        self.before = controller.overread
        self.keep = keep

    def redo(self) -> None:
        from ecgviewer.core.overread import OverRead

        o = self.controller.overread
        self.before = o
        self.controller._set(OverRead(o.reader, tuple(e for e in o.edits if self.keep(e)), o.models,
                                      o.software, o.created, o.modified))  # fmt: skip

    def undo(self) -> None:
        self.controller._set(self.before)


class OverReadController(QObject):
    """The over-read of one record at a time (see the module notes).

    Parameters
    ----------
    reader
        Returns the reader's name (the setting, read when an edit is made).
    user_dir
        Folder of sidecars for read-only record folders (default the user data folder).
    """

    changed = Signal()
    message = Signal(str)
    saved = Signal(object)

    def __init__(self, parent: QObject | None = None, *, reader: Callable[[], str], user_dir=None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.user_dir = user_dir
        self.undo_stack = QUndoStack(self)
        #: The over-read of the open record (None before the first record).
        self.overread: OverRead | None = None
        self.record_path: Path | None = None
        self.record = None
        self.identity: RecordIdentity | None = None
        #: ``"none"``, ``"applied"``, ``"record changed"``, ``"unreadable"``, ``"loading"``, ``""`` (no file).
        self.status = ""
        self.status_message = ""
        #: The old over-read of a changed record (shown, never applied).
        self.previous: OverRead | None = None
        self.saved_path: Path | None = None
        self.save_error: str | None = None
        self._overwrite = False
        self._dirty = False
        self._loader = WorkerChannel(self)
        self._loader.finished.connect(self._on_loaded)
        self._loader.errored.connect(self._on_load_error)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_now)

    # -- the record --------------------------------------------------------------------------
    def open(self, path: str | Path | None, record) -> None:
        """A record was opened (``record``: the :class:`EcgRecord` or :class:`LongRecord` as read).

        The previous record's pending save is written first; the sidecar of the new one is looked
        for on a worker.
        """
        from ecgviewer.core.overread import OverRead

        self.close()
        self.record = record
        self.record_path = None if path is None else Path(path)
        self.overread = OverRead(self.reader())
        self.undo_stack.clear()
        if self.record_path is None:
            self.status, self.status_message = "", "Over-read: not saved (the record has no file)"
        else:
            self.status, self.status_message = LOADING, "Over-read: looking for a sidecar…"
            self._loader.submit(_load_job, record, self.record_path, self.user_dir)
        self.changed.emit()

    def close(self) -> None:
        """Write a pending save and forget the record."""
        self._loader.cancel()
        if self._dirty:
            self.save_now()
        self._timer.stop()
        self.record = self.record_path = self.identity = self.previous = None
        self.saved_path = self.save_error = None
        self._overwrite = self._dirty = False
        self.status, self.status_message = "", ""

    @property
    def is_loading(self) -> bool:
        return self.status == LOADING

    def _on_loaded(self, loaded: LoadedOverRead | None) -> None:
        if loaded is None:
            return
        self.identity = loaded.identity
        self.status = loaded.status
        pending = self.overread.edits
        if loaded.status == APPLIED and loaded.overread is not None:
            self.overread = loaded.overread.add(*pending)
            self.saved_path = loaded.path
            n = len(loaded.overread.edits)
            self.status_message = f"{loaded.message} ({n} edit{'s' if n != 1 else ''})"
        elif loaded.status in (RECORD_CHANGED, UNREADABLE):
            self.previous = loaded.overread
            self.status_message = loaded.message
        else:
            self.status_message = ""
        if loaded.status != NONE:
            self.message.emit(loaded.message)
        self.changed.emit()
        if pending:
            self._schedule_save()

    def _on_load_error(self, exc: BaseException) -> None:
        self.status = UNREADABLE
        self.status_message = f"Over-read: the record could not be hashed ({type(exc).__name__}: {exc})"
        self.message.emit(self.status_message)
        self.changed.emit()

    def start_new(self) -> None:
        """The reader starts a new over-read of a changed record (or over an unreadable sidecar):
        the old file is replaced at the next save."""
        self._overwrite = True
        self.previous = None
        self.status = NONE
        self.status_message = "Over-read: a new over-read replaces the old file at the next edit"
        self.changed.emit()
        if self.overread.edits:
            self._schedule_save()

    # -- edits --------------------------------------------------------------------------------
    @property
    def edits(self) -> tuple[Edit, ...]:
        return () if self.overread is None else self.overread.edits

    def by(self) -> str:
        """The author of a new edit: the reader's name from the settings."""
        return self.reader() or "unknown reader"

    def push(self, edits: Edit | Sequence[Edit], text: str, merge_key=None) -> None:
        """Make ``edits`` one undoable command (``merge_key``: merge with the previous one of that key)."""
        edits = [edits] if not isinstance(edits, (list, tuple)) else list(edits)
        if edits and self.overread is not None:
            self.undo_stack.push(EditCommand(self, edits, text, merge_key))

    def reset(self, keep: Callable[[Edit], bool] | None = None, text: str = "Reset to computed") -> None:
        """Drop every edit (or those ``keep`` rejects) in one undoable command."""
        keep = keep or (lambda _e: False)
        if any(not keep(e) for e in self.edits):
            self.undo_stack.push(ResetCommand(self, text, keep))

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def _set(self, overread: OverRead) -> None:
        self.overread = overread
        self.changed.emit()
        self._schedule_save()

    # -- saving -------------------------------------------------------------------------------
    def _schedule_save(self) -> None:
        self._dirty = True
        self._timer.start()

    def save_now(self) -> Path | None:
        """Write the sidecar now (when there is a file, its content hash is known and nothing blocks)."""
        from ecgviewer.core.overread import OverRead
        from ecgviewer.core.sidecar import SidecarConflict, save_sidecar

        self._timer.stop()
        if self.record_path is None or self.identity is None or not self._dirty or self.overread is None:
            return None
        if self.status in (RECORD_CHANGED, UNREADABLE) and not self._overwrite:
            self.save_error = "not saved: an over-read of other content is in the sidecar (see the message)"
            self.changed.emit()
            return None
        o = self.overread
        if o.reader != self.by():
            o = OverRead(self.by(), o.edits, o.models, o.software, o.created, o.modified)
        try:
            path, saved = save_sidecar(
                o, self.identity, self.record_path, user_dir=self.user_dir, overwrite=self._overwrite
            )
        except (SidecarConflict, OSError) as exc:
            self.save_error = f"not saved: {exc}"
            self.message.emit(f"The over-read could not be saved ({exc})")
            self.changed.emit()
            return None
        self._dirty = False
        self.save_error = None
        self.saved_path = path
        self.overread = saved
        self.saved.emit(path)
        self.changed.emit()
        return path

    def status_text(self) -> str:
        """One line for the status bar: reader, number of edits, where it is kept."""
        if self.record is None:
            return ""
        if self.is_loading:
            return "Over-read: looking for a sidecar…"
        n = len(self.overread.edits)
        text = f"Over-read ({self.by()}): {n} edit{'s' if n != 1 else ''}"
        if self.save_error:
            return f"{text}, {self.save_error}"
        if self.record_path is None:
            return f"{text}, not saved (no file)"
        if self.status in (RECORD_CHANGED, UNREADABLE) and not self._overwrite:
            return f"{text}; old over-read not applied ({self.status})"
        if self.saved_path is not None and not self._dirty:
            return f"{text}, saved in {self.saved_path.name}"
        return f"{text}, unsaved" if self._dirty else text


def _load_job(record, path: Path, user_dir, job=None) -> LoadedOverRead | None:
    """Find the sidecar of ``record`` (hashes its samples: long records chunk by chunk)."""
    from ecgviewer.core.sidecar import RecordIdentity, load_sidecar, record_content_hash

    digest = record_content_hash(record, should_stop=None if job is None else (lambda: job.cancelled))
    if digest is None:
        return None  # cancelled: another record was opened
    identity = RecordIdentity(
        digest, path.name, float(record.fs_hz), int(record.n_samples), tuple(record.lead_names)
    )
    return load_sidecar(record, path, identity=identity, user_dir=user_dir)
