"""RTF text with a small bounded tokenizer (RTF 1.9.1 spec, ch. "Conventions of an RTF Reader").

Written here rather than calling striprtf so the deadline is checked while reading and so
``\\binN`` data, pictures and embedded objects are skipped in O(1) instead of being tokenized.
Font/colour/style tables, pictures, objects and unknown ``\\*`` destinations are skipped;
body, headers, footers, footnotes, annotations and document info are kept.
"""

from __future__ import annotations

import re

from agent.extract.blob import Blob, Walker
from agent.extract.xmltext import BufferFull, TextBuffer

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"   # control word with optional parameter
    rb"|\\'([0-9a-fA-F]{2})"                # hex-escaped byte in the document code page
    rb"|\\(.)"                              # control symbol
    rb"|([{}])"
    rb"|[\r\n]+"
    rb"|([^\\{}\r\n]+)",
    re.S,
)

_SKIP = frozenset({
    b"fonttbl", b"colortbl", b"stylesheet", b"listtable", b"listoverridetable", b"pict",
    b"object", b"objdata", b"themedata", b"colorschememapping", b"datastore", b"latentstyles",
    b"rsidtbl", b"generator", b"xmlnstbl", b"mmathPr", b"fldinst", b"filetbl", b"revtbl",
    b"pgdsctbl", b"shppict", b"nonshppict", b"blipuid", b"panose", b"falt", b"bkmkstart",
    b"bkmkend", b"datafield", b"xe", b"tc",
})
_KEEP_STARRED = frozenset({b"annotation", b"atnauthor", b"footnote"})
_WORDS = {b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\n", b"row": "\n",
          b"cell": "\t", b"tab": "\t", b"emdash": "-", b"endash": "-", b"lquote": "'",
          b"rquote": "'", b"ldblquote": '"', b"rdblquote": '"', b"bullet": "*"}
_SYMBOLS = {b"~": " ", b"_": "-", b"-": "", b"\\": "\\", b"{": "{", b"}": "}",
            b"\n": "\n", b"\r": "\n", b"\t": "\t"}


def _codec(cp: int) -> str:
    name = f"cp{cp}"
    try:
        "".encode(name)
    except LookupError:
        return "cp1252"
    return name


def rtf(blob: Blob, walker: Walker, kind: str) -> None:
    buf = TextBuffer(walker.budget, blob.path)
    try:
        _parse(blob.data, walker, blob.path, buf)
    except BufferFull:
        pass
    finally:
        buf.flush(blob.field)


def _parse(data: bytes, walker: Walker, path: str, buf: TextBuffer) -> None:
    budget = walker.budget
    codec = "cp1252"
    skip = False          # inside a skipped destination
    uc = 1                # fallback characters after \uN
    pending_skip = 0      # fallback characters still to drop
    starred = False       # the group just opened with \*
    stack: list[tuple[bool, int]] = []
    hexbytes = bytearray()
    pos, n, tokens = 0, len(data), 0

    def flush_hex() -> None:
        if hexbytes:
            if not skip:
                buf.add(hexbytes.decode(codec, "replace"))
            hexbytes.clear()

    while pos < n:
        m = _TOKEN.match(data, pos)
        if m is None:  # a lone backslash at the very end
            break
        pos = m.end()
        tokens += 1
        if not tokens & 4095:
            budget.tick(path)
        word, param, hexa, symbol, brace, text = m.groups()
        if hexa is not None:
            if pending_skip:
                pending_skip -= 1
            else:
                hexbytes.append(int(hexa, 16))
            continue
        flush_hex()
        if text is not None:
            if pending_skip:
                drop = min(pending_skip, len(text))
                pending_skip -= drop
                text = text[drop:]
            if text and not skip:
                buf.add(text.decode(codec, "replace"))
            continue
        if brace is not None:
            if brace == b"{":
                stack.append((skip, uc))
                starred = False
            elif stack:
                skip, uc = stack.pop()
            pending_skip = 0
            continue
        if symbol is not None:
            if symbol == b"*":
                starred = True
            elif not skip:
                buf.add(_SYMBOLS.get(symbol, ""))
            continue
        if word is None:  # line breaks in the source carry no meaning
            continue
        if word == b"bin":
            pos += max(0, int(param or 0))
            continue
        if starred and word not in _KEEP_STARRED:
            skip = True
        starred = False
        if word in _SKIP:
            skip = True
        elif word == b"u" and param is not None:
            if not skip:
                cp = int(param)
                buf.add(chr(cp + 65536 if cp < 0 else cp) if -32768 <= cp < 65536 else "?")
            pending_skip = uc
        elif word == b"uc" and param is not None:
            uc = max(0, int(param))
        elif word == b"ansicpg" and param is not None:
            codec = _codec(int(param))
        elif not skip:
            mark = _WORDS.get(word)
            if mark:
                buf.add(mark)
    flush_hex()
