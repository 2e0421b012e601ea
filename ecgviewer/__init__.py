"""ecgviewer: an open-source desktop ECG viewer and analyzer."""

__version__ = "0.1.0"
