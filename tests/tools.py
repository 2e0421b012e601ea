"""External command-line tools some tests use (poppler-utils' pdftoppm and pdftotext).

CI installs them, so there a missing tool fails the test (``CI`` set in the
environment); on a developer machine without them the test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, purpose: str) -> str:
    """The path of the program ``name``; missing: a failure under CI, a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} (poppler-utils) not installed: {purpose} not checked"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install poppler-utils")
        pytest.skip(f"{message} (under CI, where it is installed, this fails instead)")
    return path
