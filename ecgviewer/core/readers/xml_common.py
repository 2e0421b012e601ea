"""Helpers shared by the XML readers (GE MUSE, Philips, HL7 aECG): safe parsing and element look-up.

Parsing goes through ``defusedxml`` (no entity expansion, no external entities or
DTD retrieval); files larger than :data:`MAX_XML_BYTES` are refused before parsing.
Tags are matched by their local name, so namespaced and plain documents read alike.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from ecgviewer.core.errors import EcgReadError

#: Largest XML file a reader will parse (a 24 h Holter in base64 is far smaller).
MAX_XML_BYTES = 512 * 1024 * 1024

_ENCODING_DECL = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


def head_text(head: bytes) -> str:
    """Decode the first bytes of an XML file for sniffing (BOM, NUL pattern or declaration)."""
    if head.startswith(codecs.BOM_UTF16_LE) or (head[1:4:2] == b"\x00\x00" and head[:1] == b"<"):
        return head.decode("utf-16-le", errors="ignore")
    if head.startswith(codecs.BOM_UTF16_BE) or (head[0:3:2] == b"\x00\x00" and head[1:2] == b"<"):
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")


def local(tag: object) -> str:
    """Local name of an element tag (``{ns}name`` -> ``name``)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def parse_xml(path: Path) -> Element:
    """Parse ``path`` safely and return the root element; raises :class:`EcgReadError`."""
    import defusedxml.ElementTree as SafeET  # deferred: only needed when reading XML
    from defusedxml import DefusedXmlException

    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise EcgReadError(path, f"XML file of {size:,} bytes is larger than the {MAX_XML_BYTES:,} allowed")
    try:
        return SafeET.parse(str(path), forbid_dtd=False).getroot()
    except DefusedXmlException as exc:
        raise EcgReadError(path, f"XML refused: {type(exc).__name__} (entities are not allowed)") from exc
    except SafeET.ParseError as exc:
        raise EcgReadError(path, f"not well-formed XML ({exc})") from exc


def children(elem: Element | None, name: str) -> list[Element]:
    """Direct children of ``elem`` with local name ``name``."""
    if elem is None:
        return []
    return [c for c in elem if local(c.tag) == name]


def child(elem: Element | None, *names: str) -> Element | None:
    """Follow a path of direct children by local name; None when any step is missing."""
    for name in names:
        if elem is None:
            return None
        elem = next((c for c in elem if local(c.tag) == name), None)
    return elem


def descendants(elem: Element | None, name: str) -> Iterator[Element]:
    """All descendants (and ``elem`` itself) with local name ``name``, in document order."""
    if elem is None:
        return iter(())
    return (e for e in elem.iter() if local(e.tag) == name)


def first(elem: Element | None, name: str) -> Element | None:
    """The first descendant with local name ``name``."""
    return next(descendants(elem, name), None)


def text(elem: Element | None, *names: str) -> str:
    """Stripped text of the element at ``names`` below ``elem`` ('' when absent)."""
    found = child(elem, *names) if names else elem
    return (found.text or "").strip() if found is not None else ""


def number(value: str | None) -> float | None:
    """A float from text, or None for empty or non-numeric text."""
    if value is None:
        return None
    try:
        x = float(value.strip())
    except ValueError:
        return None
    return x if np.isfinite(x) else None


def b64_int16(path: Path, payload: str, what: str = "waveform") -> np.ndarray:
    """Little-endian int16 samples from base64 text (line breaks allowed)."""
    try:
        raw = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EcgReadError(path, f"{what} data is not valid base64 ({exc})") from exc
    if len(raw) % 2:
        raw = raw[:-1]
    return np.frombuffer(raw, dtype="<i2")
