"""Payloads hidden in text values: base64 strings and data: URLs.

Apps upload files inside JSON as base64 (`{"file": "UEsDBBQ..."}`) or as data: URLs; a DLP
that only scans the string sees noise. A value counts as a payload when it is long enough,
uses one base64 alphabet throughout, and decodes to a known file type or to text; random
tokens and hashes decode to binary noise and are left alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from agent.extract import sniff
from agent.extract.charset import nul_pattern_codec

MIN_LEN = 24
MIN_TEXT = 16

_STD = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_URLSAFE = re.compile(rb"[A-Za-z0-9_-]+={0,2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_WS = re.compile(rb"[\r\n]+")
_DATA_URL = re.compile(rb"data:([a-z0-9.+-]+/[a-z0-9.+-]+)?((?:;[a-z0-9.+-]+=[^;,]*)*)(;base64)?,",
                       re.I)


def looks_encoded(s: bytes) -> bool:
    """Cheap pre-check before the regexes: most values are short or contain spaces."""
    if s[:5].lower() == b"data:":
        return True
    return len(s) >= MIN_LEN and b" " not in s and s[:1] != b"{"


def decode(s: bytes) -> tuple[bytes, str | None] | None:
    """``(payload, declared mime)`` when ``s`` is a base64 or data: URL payload worth reading."""
    s = s.strip()
    mime = None
    m = _DATA_URL.match(s)
    if m:
        mime = m.group(1).decode("ascii").lower() if m.group(1) else None
        rest = s[m.end():]
        if not m.group(3):
            payload = unquote_to_bytes(rest)
            return (payload, mime) if payload else None
        s = rest
    elif len(s) < MIN_LEN:
        return None
    if b"\n" in s:
        s = _WS.sub(b"", s)  # MIME-style base64 wraps lines
    if len(s) % 4 == 1:
        return None
    padded = s + b"=" * (-len(s) % 4)
    try:
        if _STD.fullmatch(s):
            payload = base64.b64decode(padded, validate=True)
        elif _URLSAFE.fullmatch(s):
            payload = base64.urlsafe_b64decode(padded)
        else:
            return None
    except (binascii.Error, ValueError):
        return None
    if m or worth_reading(payload):
        return payload, mime
    return None


def worth_reading(payload: bytes) -> bool:
    """A known file type, or text (not the binary noise random tokens decode to)."""
    if sniff.magic(payload) is not None:
        return True
    if len(payload) < MIN_TEXT:
        return False
    if nul_pattern_codec(payload):
        return True
    head = payload[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # a multi-byte character cut by the sample is fine
            return False
        text = head[:e.start].decode("utf-8")
    return len(_CONTROL.findall(text)) <= len(text) * 0.05
