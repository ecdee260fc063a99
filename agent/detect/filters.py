"""False-positive filters: small pure predicates, kept apart from the detectors that use them.

Each ``is_*`` answers one question about a candidate value (or the bytes around it) and returns
a bool; a detector drops a candidate when a filter says it is not the real thing. Modelled on
detect-secrets' ``filters/heuristic.py``. The byte-level ones take the scan buffer and the
candidate's span so they cost a few comparisons, not a regex.

| filter | drops |
| --- | --- |
| is_embedded_number | digits that are part of a longer number: 12.123456789, 2024-123456789 |
| is_date_digits | 8-digit dates (20240115, 01152024) offered as account/licence numbers |
| is_placeholder | ****, xxx, <password>, ${PASS}, {{ secret }}, %PWD%, $VAR, changeme ... |
| is_reference | values that name a secret instead of holding it: os.environ[...], getenv(...) |
| is_sequential | abcdef, 123456, qwerty typed as fake secrets |
| is_uuid | 8-4-4-4-12 hex identifiers |
| is_hex_hash | md5 / sha1 / sha256 hex digests |
| is_word_only | values of letters and _ . - only (identifiers, English words) |
| is_prose_after | a value followed by more words on its line ("password: keep it safe") |
| is_status_word | 'Password: expired', 'Password: required' |
| is_example_aws_key | AWS documentation keys (AKIAIOSFODNN7EXAMPLE) |
| is_file_extension | "domains" that are file names (icon@2x.png) |
"""

from __future__ import annotations

import math
import re
from collections import Counter

_SEPS = frozenset(b".-/")
_DIGITS = frozenset(b"0123456789")


def is_embedded_number(buf: bytes, s: int, e: int, lo: int, hi: int) -> bool:
    """True when the digits at buf[s:e] continue a longer number through . - or / ."""
    if s - lo >= 2 and buf[s - 1] in _SEPS and buf[s - 2] in _DIGITS:
        return True
    return hi - e >= 2 and buf[e] in _SEPS and buf[e + 1] in _DIGITS


def is_date_digits(d: bytes) -> bool:
    """YYYYMMDD or MMDDYYYY with a plausible year (1900-2099)."""
    if len(d) != 8 or not d.isdigit():
        return False
    y, m, day = int(d[:4]), int(d[4:6]), int(d[6:])
    if 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= day <= 31:
        return True
    m, day, y = int(d[:2]), int(d[2:4]), int(d[4:])
    return 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= day <= 31


_PLACEHOLDER_RE = re.compile(
    r"""^(?:
        [*xX.#•_-]+                 # ****  xxxx  ....  ____
      | <[^<>]*>                    # <password>
      | \$\{[^}]*\}                 # ${PASS}
      | \{\{[^}]*\}\}               # {{ secret }}
      | \{[A-Za-z_][\w.]*\}         # {password}
      | %[A-Za-z_]\w*%              # %PASSWORD%
      | \$[A-Za-z_]\w*              # $PASS
      | \[[^\[\]]*\]                # [redacted]
      | (?:true|false|null|none|nil|undefined|empty|n/?a|tbd|todo)
    )$""", re.VERBOSE | re.IGNORECASE)


def is_placeholder(value: str, extra: frozenset[str] = frozenset()) -> bool:
    """Masks, templates and stock example values; ``extra`` holds configured placeholders
    (lower case)."""
    v = value.strip()
    return not v or _PLACEHOLDER_RE.match(v) is not None or v.lower() in extra


_REFERENCE_RE = re.compile(
    r"^(?:os\.environ|os\.getenv|getenv|process\.env|env\.|ENV\[|System\.getenv|"
    r"config\.|settings\.|secrets\.|vault:|self\.|this\.)|\($", re.IGNORECASE)


def is_reference(value: str) -> bool:
    """The value names where the secret is (a variable, a call, an env lookup)."""
    return _REFERENCE_RE.search(value) is not None or ("(" in value and value.endswith(")"))


_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "qwertyuiopasdfghjklzxcvbnm",
)


def is_sequential(value: str) -> bool:
    v = value.lower()
    return len(v) >= 4 and any(v in s or v in s[::-1] for s in _SEQUENCES)


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{12}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")


def is_uuid(value: str) -> bool:
    return _UUID_RE.match(value) is not None


def is_hex_hash(value: str) -> bool:
    return len(value) in (32, 40, 64, 128) and _HEX_RE.match(value) is not None


_WORD_ONLY_RE = re.compile(r"^[A-Za-z_.\-]+$")


def is_word_only(value: str) -> bool:
    return _WORD_ONLY_RE.match(value) is not None


def shannon_entropy(value: str) -> float:
    """Bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


# A line that goes on after the value: prose ("password: keep it to yourself") unless what
# follows is another key: value pair or a closing delimiter.
_AFTER_OK_RE = re.compile(rb"[ \t]*(?:$|[,;&}\]\)>|]|[A-Za-z_][\w.\-]{0,40}[ \t]*[:=])")


def is_prose_after(buf: bytes, e: int, hi: int) -> bool:
    limit = min(hi, e + 120)  # enough to see the next words; never the rest of a big body
    nl = buf.find(b"\n", e, limit)
    end = limit if nl < 0 else nl
    rest = buf[e:end].rstrip(b"\r")
    return _AFTER_OK_RE.match(rest) is None


def is_example_aws_key(key: str) -> bool:
    """AWS documentation access keys end in EXAMPLE (AKIAIOSFODNN7EXAMPLE)."""
    return key.endswith("EXAMPLE")


FILE_EXTENSIONS = frozenset({
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "css", "js", "mjs",
    "ts", "map", "json", "xml", "html", "htm", "txt", "pdf", "woff", "woff2", "ttf", "eot",
    "mp4", "webm", "mp3", "wav", "zip", "gz", "tgz", "py", "rb", "php", "java", "exe", "dll",
})


def is_file_extension(tld: str) -> bool:
    return tld.lower() in FILE_EXTENSIONS


# Words that follow "password:" in help text and forms as a status, not as the password.
_STATUS_WORDS = frozenset("""
expired changed reset required optional incorrect invalid wrong hidden set unset updated saved
blank missing protected encrypted sent provided needed forgotten locked same below above here
see yes no ok none mandatory masked secret confidential redacted removed generated
""".split())


def is_status_word(value: str) -> bool:
    """'Password: expired' reports a status; the value is not a password."""
    return value.lower() in _STATUS_WORDS
