"""Training tools for the ecgviewer models (``python -m trainer``).

Imports from :mod:`ecgviewer`; :mod:`ecgviewer` never imports from here.
"""
