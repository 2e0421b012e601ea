"""File readers, one module per format, all behind one registry.

Use :func:`read_record`; it picks the reader by content, then by extension.
Adding a format is one new module that calls :func:`register_reader`, imported
here, plus its golden test.
"""

# Built-in readers register themselves on import; order = sniffing order (binary magic first,
# then XML root elements, then the text formats, whose sniffers are the loosest).
from ecgviewer.core.readers import (  # noqa: F401, I001
    numpy_reader,
    dicom_reader,
    scp_reader,
    ishne_reader,
    edf_reader,
    muse_reader,
    philips_reader,
    hl7_aecg_reader,
    wfdb_reader,
    csv_reader,
)
from ecgviewer.core.readers.registry import (
    Reader,
    detect_format,
    get_reader,
    read_record,
    readers,
    register_reader,
)

__all__ = ["Reader", "detect_format", "get_reader", "read_record", "readers", "register_reader"]
