"""The desktop viewer (PySide6 + pyqtgraph). Entry point: :func:`ecgviewer.gui.app.run_gui`."""
