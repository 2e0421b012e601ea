"""Core-test hooks: print the reader fuzz case count at the end of the run."""

from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter):
    fuzz = next((m for name, m in sys.modules.items() if name.endswith("test_fuzz_readers")), None)
    line = fuzz.summary_line() if fuzz is not None else None
    if line:
        terminalreporter.write_line(line)
