"""Qt-free drawing geometry shared by the viewer and the PDF report.

* :mod:`ecgviewer.layout.choices`: the paper choices every surface offers
  (lead layouts, paper speeds, gains, report paper sizes), defined once;
* :mod:`ecgviewer.layout.paper`: where each lead goes on the paper, in mm, and
  the calibration pulse;
* :mod:`ecgviewer.layout.spans`: where the PR, QRS and QT spans sit on a median beat.

This package imports numpy only (no Qt, no torch, no scipy); an import-linter
contract in ``pyproject.toml`` keeps it so.
"""
