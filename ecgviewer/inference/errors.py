"""Exceptions of the inference layer."""

from __future__ import annotations


class PredictionError(Exception):
    """A record cannot be analysed (missing leads, too short, bad device, cancelled ...)."""


class PredictionCancelled(PredictionError):
    """``should_stop()`` returned True between batches."""
