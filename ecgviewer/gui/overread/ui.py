"""The over-read in the main window: editors, undo/redo, the sidecar, what is shown after the edits.

:class:`OverReadUi` (``window.overread``) connects

* the :class:`~ecgviewer.gui.overread.controller.OverReadController` (the edits, the undo stack,
  the sidecar) to the record opened;
* the analysis: :attr:`AnalysisController.transform <ecgviewer.gui.analysis.AnalysisController.transform>`
  applies the over-read to every analysis published, so the measurements, the median beat, the
  boundary marks, the beat table and the exports show the edited values;
* the long-term view: the beat pass's beats with the reader's labels, deletions, additions and
  artefact stretches (:func:`~ecgviewer.gui.overread.apply.edited_beat_pass`): the events, counts,
  overview and tachogram follow;
* the editors: :class:`~.median_editor.MedianMarkEditor` (median beat),
  :class:`~.paper_editor.PaperMarkEditor` (single beats' ticks, clicks on beats),
  :class:`~.beats.BeatEditor` (beat labels, ranges, artefact), :class:`~.statements.StatementReview`;
* the Over-read menu (:func:`~ecgviewer.gui.action_spec.overread_specs`) and a status-bar line.

:mod:`ecgviewer.core.overread`, :mod:`ecgviewer.core.sidecar` and :mod:`.apply` are imported where
they are used (they pull scipy; the window starts without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QMessageBox

from ecgviewer.gui.action_spec import overread_specs
from ecgviewer.gui.overread import dialogs
from ecgviewer.gui.overread.beats import BeatEditor, label_name
from ecgviewer.gui.overread.controller import APPLIED, NONE, RECORD_CHANGED, UNREADABLE, OverReadController
from ecgviewer.gui.overread.median_editor import MedianMarkEditor, offsets_from
from ecgviewer.gui.overread.paper_editor import PaperMarkEditor
from ecgviewer.gui.overread.statements import StatementReview

if TYPE_CHECKING:
    from ecgviewer.analysis import RecordAnalysis
    from ecgviewer.core.delineation import Delineation
    from ecgviewer.core.overread import EditedBeats, EditedDelineation
    from ecgviewer.gui.main_window import MainWindow


class OverReadUi(QObject):
    """The over-read parts of one main window (see the module)."""

    def __init__(self, window: MainWindow, user_dir=None) -> None:
        super().__init__(window)
        self.window = window
        settings = window.settings
        self.controller = OverReadController(self, reader=lambda: settings.reader_name, user_dir=user_dir)
        #: ``ask_export_path(window, default) -> str | None`` and ``ask_reader_name(window, name)``:
        #: replaced in tests.
        self.ask_export_path = dialogs.ask_export_path
        self.ask_name = dialogs.ask_reader_name
        self.ask_relabel = dialogs.ask_relabel_class
        self.edited: EditedDelineation | None = None
        self.computed_beats = None  # the long record's BeatPassResult as computed
        self.edited_beats: EditedBeats | None = None
        self.warning_box: QMessageBox | None = None
        #: ``(edit, reason)`` of the edits that found no beat.
        self.unapplied: tuple = ()
        a = window.analysis
        a.controller.transform = self._transform
        self.median = MedianMarkEditor(a.panel.median_view)
        self.paper = PaperMarkEditor(window.view, self.delineation)
        self.beats = BeatEditor(window, self)
        self.review = StatementReview()
        body = a.class_panel.scroll.widget().layout()
        body.insertWidget(body.indexOf(a.class_panel.coherence_label) + 1, self.review)
        self.status_label = QLabel("")
        window.statusBar().addPermanentWidget(self.status_label)
        self._connect()

    def _connect(self) -> None:
        c, w, a = self.controller, self.window, self.window.analysis
        c.changed.connect(self._on_changed)
        c.message.connect(self._on_message)
        c.undo_stack.indexChanged.connect(lambda _i: self._sync_actions())
        a.controller.analysisChanged.connect(self._after_analysis)
        self.median.edited.connect(self._median_edited)
        self.median.resetRequested.connect(self._median_reset)
        self.paper.edited.connect(self._beat_mark_edited)
        self.paper.clicked.connect(self._on_click)
        self.review.statementToggled.connect(self._statement)
        self.review.interpretationEdited.connect(self._interpretation)
        w.displayChanged.connect(self._on_display_changed)
        w.longterm.beatsReady.connect(self._on_beats)
        table = a.waves.table.table
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.itemSelectionChanged.connect(self._on_table_selection)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for spec in overread_specs():
            if spec.view_only:
                table.addAction(w.actions_by_name[spec.name])
        self._sync_actions()

    # -- the record -------------------------------------------------------------------------------
    def record_opened(self, path: Path | None, record) -> None:
        """A record was opened (``record``: as read; a long record's :class:`LongRecord`)."""
        self.computed_beats = self.edited_beats = None
        self.beats.clear()
        self.paper.clear_selection()
        if self.warning_box is not None:
            self.warning_box.close()
        self.controller.open(path, record)

    def shutdown(self) -> None:
        """The window closes: write a pending save."""
        self.review.commit_text()
        self.controller.close()

    @property
    def long(self) -> bool:
        return self.window.mode is self.window.longterm

    def delineation(self) -> Delineation | None:
        """The delineation shown (after the edits), None without one."""
        return None if self.edited is None else self.edited.delineation

    def short_beats(self) -> EditedBeats | None:
        """A short record's beats after the beat edits (unclassified beats labelled Q)."""
        from ecgviewer.core.overread import apply_to_beats
        from ecgviewer.gui.overread.apply import short_beats

        computed = self.window.analysis.controller.computed
        base = short_beats(computed)
        if base is None:
            return None
        return apply_to_beats(*base[:2], self.controller.edits, base[2], "delineation")

    # -- applying ----------------------------------------------------------------------------------
    def _transform(self, analysis: RecordAnalysis) -> RecordAnalysis:
        """The analysis with the over-read (short records; a long record's page: as computed).

        The reader's edits apply; a changed record's old over-read is carried for display only
        (the exports say it was not applied).
        """
        from ecgviewer.gui.overread.apply import edited_analysis

        self.edited = None
        if self.long or analysis.record is not self.window.record:
            return analysis
        c = self.controller
        overread, status, message = None, NONE, ""
        if c.edits or c.status == APPLIED:
            overread, status = c.overread, APPLIED
        elif c.status in (RECORD_CHANGED, UNREADABLE):
            overread, status, message = c.previous, c.status, c.status_message
        out, self.edited = edited_analysis(analysis, overread, status, message)
        return out

    def _after_analysis(self, analysis) -> None:
        """After the views took the published analysis: median marks, provenance, labels, statements."""
        from ecgviewer.core.overread import median_beat_points

        ed = self.edited if analysis is not None else None
        panel = self.window.analysis.panel
        if ed is None:
            self.median.set_points(None, None)
            panel.median_view.set_marks_ms(None)
            panel.table.set_provenance(None)
        else:
            computed = self.window.analysis.controller.computed
            base = computed.delineation.delineation if computed and computed.delineation else ed.delineation
            self.median.set_points(
                offsets_from(ed.median_points), ed.delineation.fs_hz, set(ed.median_edits),
                offsets_from(median_beat_points(base)),
            )  # fmt: skip
            panel.table.set_provenance(ed.provenance)
        self.unapplied = () if ed is None else ed.unapplied
        self._sync_actions()
        self.paper.marks_enabled = not self.long and self.window.analysis.waves.marks.visible
        self.paper.refresh()
        self._label_table()
        self._show_statements(analysis)
        self.beats.refresh()

    def _label_table(self) -> None:
        table = self.window.analysis.waves.table
        d, eb = self.delineation(), self.short_beats()
        if d is None or eb is None or self.long:
            table.set_labels(None)
            return
        labels, edited = [], []
        for s in d.r_peaks:
            i = eb.index_of(int(s))
            changed = i is not None and eb.provenance(i)["source"] == "edited"
            labels.append(str(eb.labels[i]) if changed else "")
            edited.append(changed)
        table.set_labels(labels, edited)
        spans = [s.sample_range(d.fs_hz) for s in self.controller.overread.artefact_spans]
        r = d.r_peaks
        across = [i for i in range(1, r.size) if any(r[i - 1] < b and r[i] > a for a, b in spans)]
        table.blank_rr(across, "No RR interval: the beats between were left out as artefact")

    def _show_statements(self, analysis) -> None:
        from ecgviewer.core.overread import apply_to_statements

        result = None if analysis is None else analysis.classification_result
        o = self.controller.overread
        if o is None:
            self.review.set_states(None, {}, "")
            return
        states = {}
        if result is not None:
            stated = {c.name: c.stated for c in result.classes}
            states = apply_to_statements(stated, o.edits, result.model_name)
        self.review.set_states(result, states, o.interpretation)

    def _on_beats(self, result) -> None:
        self.computed_beats = result
        self._apply_beats()

    def _apply_beats(self) -> None:
        from ecgviewer.gui.overread.apply import edited_beat_pass

        lt = self.window.longterm
        if self.computed_beats is None or not self.long or lt.record is None:
            return
        shown, self.edited_beats = edited_beat_pass(self.computed_beats, self.controller.edits)
        self.unapplied = self.edited_beats.unapplied
        lt.set_beats(shown)
        self.beats.refresh()

    def _on_changed(self) -> None:
        if self.long:
            self._apply_beats()
        else:
            self.window.analysis.controller.republish()
        if self.controller.edits or not self.long:
            self._show_statements(self.window.analysis.controller.analysis)
        self._sync_actions()

    def _on_display_changed(self) -> None:
        self.paper.clear_selection()
        self.beats.refresh()

    def _sync_actions(self) -> None:
        c, a = self.controller, self.window.actions_by_name
        stack = c.undo_stack
        if not shiboken6.isValid(stack) or not shiboken6.isValid(self.status_label):
            return  # the window is being destroyed
        a["undo"].setEnabled(stack.canUndo())
        a["redo"].setEnabled(stack.canRedo())
        a["undo"].setText(f"&Undo {stack.undoText()}" if stack.canUndo() else "&Undo")
        a["redo"].setText(f"&Redo {stack.redoText()}" if stack.canRedo() else "&Redo")
        a["reset_overread"].setEnabled(bool(c.edits))
        text, tips = c.status_text(), [] if c.saved_path is None else [f"Sidecar: {c.saved_path}"]
        if self.unapplied and c.edits:  # edits whose beat is gone (e.g. deleted since)
            text += f"; {len(self.unapplied)} not applied"
            tips += [f"Not applied: {e.kind} ({why})" for e, why in self.unapplied]
        self.status_label.setText(text)
        self.status_label.setToolTip("\n".join(tips))

    def _on_message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)
        if self.controller.status in (RECORD_CHANGED, UNREADABLE):
            self.warning_box = dialogs.show_changed_warning(self.window, text, self.controller.start_new)
        self._sync_actions()

    # -- edits from the editors ------------------------------------------------------------------------
    def _median_edited(self, point: str, sample, nudge: bool) -> None:
        from ecgviewer.core.overread import MEDIAN, POINT_NAMES, BoundaryEdit

        c = self.controller
        e = BoundaryEdit(MEDIAN, point, sample, by=c.by())
        what = "Delete" if sample is None else "Nudge" if nudge else "Move"

        c.push(e, f"{what} {POINT_NAMES[point]} on the median beat", ("median", point) if nudge else None)

    def _median_reset(self, point: str) -> None:
        from ecgviewer.core.overread import MEDIAN, BoundaryEdit

        keep = lambda e: not (isinstance(e, BoundaryEdit) and e.beat == MEDIAN and e.point == point)  # noqa: E731
        self.controller.reset(keep, f"Reset the median beat's {point}")

    def _beat_mark_edited(self, beat: int, point: str, sample, lead, nudge: bool) -> None:
        from ecgviewer.core.overread import POINT_NAMES, BoundaryEdit

        c = self.controller
        e = BoundaryEdit(int(beat), point, sample, lead, by=c.by())
        what = "Delete" if sample is None else "Nudge" if nudge else "Move"
        where = f" in {lead}" if lead else ""
        c.push(e, f"{what} {POINT_NAMES[point]} of a beat{where}", (beat, point, lead) if nudge else None)

    def _on_click(self, loc, shift: bool) -> None:
        if not self.window.caliper.enabled:
            self.beats.on_click(loc, shift)

    def _on_table_selection(self) -> None:
        d = self.delineation()
        if d is None or self.long:
            return
        rows = sorted({i.row() for i in self.window.analysis.waves.table.table.selectedIndexes()})
        samples = [int(d.r_peaks[r]) for r in rows if 0 <= r < d.n_beats]
        if len(samples) > 1:
            self.beats.choose(samples, (samples[0], samples[-1] + 1))
        elif samples:  # the table's own band shows it
            self.beats.chosen, self.beats.range, self.beats.anchor = samples, None, samples[0]

    def _statement(self, code: str, confirmed: bool) -> None:
        from ecgviewer.core.overread import StatementEdit

        c = self.controller
        c.push(StatementEdit(code, confirmed, by=c.by()), f"{'Confirm' if confirmed else 'Reject'} {code}")

    def _interpretation(self, text: str) -> None:
        from ecgviewer.core.overread import Interpretation

        c = self.controller
        c.push(Interpretation(text, by=c.by()), "Edit the interpretation")

    # -- menu slots ------------------------------------------------------------------------------------
    def undo(self) -> None:
        """Over-read > Undo (Ctrl+Z)."""
        self.controller.undo()

    def redo(self) -> None:
        """Over-read > Redo (Ctrl+Shift+Z)."""
        self.controller.redo()

    def reset(self) -> None:
        """Over-read > Reset to computed: every edit dropped (one undoable step)."""
        self.controller.reset()

    def relabel_class_dialog(self) -> None:
        """Over-read > Relabel a class in the range…"""
        choice = self.ask_relabel(self.window)
        if choice:
            n = self.beats.relabel_class(*choice)
            old, new = (label_name(x) for x in choice)
            self.window.statusBar().showMessage(f"{n} {old} beat(s) relabelled as {new}", 6000)

    def ask_reader_name(self) -> None:
        """Over-read > Reader name…"""
        name = self.ask_name(self.window, self.window.settings.reader_name)
        if name:
            self.window.settings.reader_name = name
            self._sync_actions()

    def export_beats_dialog(self) -> None:
        """Over-read > Export beat annotations (WFDB)…"""
        path = self.controller.record_path
        default = str(path.with_suffix(".ecgv")) if path is not None else "beats.ecgv"
        target = self.ask_export_path(self.window, default)
        if target:
            self.export_beats(target)

    def export_beats(self, target: str | Path) -> Path | None:
        """Write the beats after the over-read to ``target`` (``<folder>/<record>.<annotator>``)."""
        from ecgviewer.core.overread import apply_to_beats
        from ecgviewer.core.wfdb_annotations import export_wfdb_annotations

        target = Path(target)
        if self.long and self.computed_beats is not None:
            b = self.computed_beats
            eb = apply_to_beats(b.r_peaks, b.labels, self.controller.edits, b.fs_hz, b.method)
        else:
            eb = self.short_beats()
        if eb is None:
            self.window.statusBar().showMessage("No beats to export: analyse the record first", 6000)
            return None
        ext = target.suffix.lstrip(".") or "ecgv"
        try:
            out = export_wfdb_annotations(
                target.parent, eb.samples, eb.labels, eb.fs_hz, record_name=target.stem, extension=ext,
                artefact_spans=eb.spans,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            self.window.statusBar().showMessage(f"Could not export the beats: {exc}", 8000)
            return None
        self.window.statusBar().showMessage(f"{eb.n_beats} beats written to {out}", 6000)
        return out


def install_overread(window: MainWindow) -> OverReadUi:
    """Add the over-read (editors, undo, sidecar, Over-read menu slots) to ``window``."""
    return OverReadUi(window)
