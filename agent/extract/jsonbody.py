"""JSON and NDJSON: every string value at any depth, with its JSON path and nearest key, and
every distinct object key that is more than a word (``json:$(keys)``).

Numbers shaped like identifiers are emitted as text too: an SSN or account number can travel
as a JSON number. The walk uses an explicit stack, so nesting depth costs no recursion.
"""

from __future__ import annotations

import json
import re

from agent.extract.blob import Blob, Walker
from agent.extract.budget import Unreadable
from agent.extract.embedded import MIN_LEN
from agent.extract.provenance import MAX_NAME, clean, join

ID_DIGITS = 9          # ints with at least this many digits are emitted as text
MAX_PATH = 240
KEYS_SEGMENT = 64 * 1024
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD_KEY = re.compile(r"[A-Za-z_]{1,64}\Z")


class _Digits(str):
    """An integer literal long enough to be an identifier, kept as its original text."""


def _parse_int(s: str):
    return _Digits(s) if len(s) - (s[0] == "-") >= ID_DIGITS else 0


def _parse_float(s: str):
    return 0.0


def loads(data: bytes):
    """Parse JSON bytes (UTF-8, or Latin-1 round-tripped); raises ValueError when not JSON."""
    # surrogateescape keeps non-UTF-8 bytes as they were when strings are encoded back
    text = data.decode("utf-8", "surrogateescape")
    return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)


def to_bytes(s: str) -> bytes:
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates from \ud800 escapes
        return s.encode("utf-8", "replace")


def _key_path(parent: str, key: str) -> str:
    if len(key) <= MAX_NAME and _IDENT.match(key):
        return f"{parent}.{key}"
    return "{}['{}']".format(parent, clean(key).replace("'", "\\'"))


def _short(path: str) -> str:
    if len(path) <= MAX_PATH:
        return path
    half = MAX_PATH // 2
    return path[:half] + "…" + path[-half:]


def _plain(data: bytes) -> bool:
    """Cheap test for the common value: neither JSON text nor a candidate base64 payload."""
    # `32 in data`, not `b" " in data`: bytes membership of an int skips a failed int parse
    return data[:1] not in (b"{", b"[") and (len(data) < MIN_LEN or 32 in data) \
        and not data[:5].lower() == b"data:"


def walk(doc, path: str, walker: Walker, depth: int, field: str | None = None) -> None:
    """Emit every string (and identifier-like number) of a parsed document.

    ``path`` is the provenance of the document; values get ``<path>/json:$.a.b[2]``.
    """
    budget = walker.budget
    emit = budget.emit
    value = walker.value
    prefix = join(path, "json:")
    keys: dict[str, tuple[str, str]] = {}  # key -> (path suffix, clean name); keys repeat
    # Object keys are text a sender chooses too ({"078-05-1120": "x"}): each distinct key with
    # more than letters in it is emitted once, newline-separated, in segments of about
    # KEYS_SEGMENT bytes. Letters-only keys ("status", "ssn") carry no number or secret.
    names: list[bytes] = []
    names_size = 0
    keys_where = prefix + "$(keys)"
    stack: list[tuple[object, str, str | None]] = [(doc, "$", field)]
    pop, push = stack.pop, stack.append
    n = 0
    while stack:
        v, p, key = pop()
        n += 1
        if not n & 1023:
            budget.tick(path)
        kind = type(v)
        if kind is str:
            if v:
                data = to_bytes(v)
                where = prefix + (p if len(p) <= MAX_PATH else _short(p))
                if _plain(data):
                    emit(data, where, key)
                else:
                    value(data, where, key, depth)
        elif kind is dict:
            for k, x in reversed(list(v.items())):
                known = keys.get(k)
                if known is None:
                    known = (_key_path("", k), clean(k))
                    if len(keys) < 4096:
                        keys[k] = known
                    if k and not _WORD_KEY.match(k):
                        names.append(to_bytes(k).replace(b"\n", b" "))
                        names_size += len(names[-1]) + 1
                        if names_size >= KEYS_SEGMENT:
                            emit(b"\n".join(names), keys_where, None)
                            names, names_size = [], 0
                push((x, p + known[0], known[1]))
        elif kind is list:
            for i in range(len(v) - 1, -1, -1):
                push((v[i], f"{p}[{i}]", key))
        elif kind is _Digits:
            emit(v.encode("ascii"), prefix + _short(p), key)
    if names:
        emit(b"\n".join(names), keys_where, None)


def extract_json(blob: Blob, walker: Walker, declared: bool) -> None:
    """A JSON document, else NDJSON; text that is neither is inspected as plain text."""
    data = blob.data
    try:
        doc = loads(data)
    except (ValueError, RecursionError):
        doc = None
        if _extract_ndjson(blob, walker):
            return
        walker.budget.emit(data, blob.path, blob.field, charged=blob.charged)
        if declared:
            raise Unreadable("parse_error", "body declared as JSON is not JSON") from None
        return
    walk(doc, blob.path, walker, blob.depth, blob.field)


def _extract_ndjson(blob: Blob, walker: Walker) -> bool:
    """Newline-delimited JSON (one document per line); False when the first line is not JSON."""
    lines = blob.data.split(b"\n")
    first = next((ln for ln in lines if ln.strip()), b"")
    if not first.strip().startswith((b"{", b"[")):
        return False
    try:
        loads(first)
    except (ValueError, RecursionError):
        return False
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = join(blob.path, f"ndjson:line={i}")
        try:
            doc = loads(line)
        except (ValueError, RecursionError):
            walker.budget.emit(line, where, blob.field)
            continue
        walk(doc, where, walker, blob.depth, blob.field)
    return True
