"""Reports and exports: the PDF report, measurements as JSON/CSV, and the images of a page.

* :mod:`ecgviewer.report.measurements` (Qt-free, torch-free): the measurement
  rows, the JSON document (``schema_version``, schema in
  ``docs/measurements.schema.json``) and the CSV columns.
* :mod:`ecgviewer.report.pdf`: the printable report drawn with ``QPainter``
  (PDF through ``QPdfWriter``; the same drawing code makes SVG and PNG pages).
* :mod:`ecgviewer.report.formatting`: measurement values as text, shared by the
  measurements panel, the PDF report and ``ecgviewer analyze``.

Nothing here is imported by ``import ecgviewer.report``; Qt is imported only by
:mod:`ecgviewer.report.pdf`.
"""
