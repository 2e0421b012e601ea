"""File readers, one module per format, all behind one registry.

Use :func:`read_record`; it picks the reader by content, then by extension.
Adding a format is one new module that calls :func:`register_reader`, imported
here, plus its golden test.
"""

# Built-in readers register themselves on import; order = sniffing order.
from ecgviewer.core.readers import csv_reader, numpy_reader, wfdb_reader  # noqa: F401
from ecgviewer.core.readers.registry import (
    Reader,
    detect_format,
    get_reader,
    read_record,
    readers,
    register_reader,
)

__all__ = ["Reader", "detect_format", "get_reader", "read_record", "readers", "register_reader"]
