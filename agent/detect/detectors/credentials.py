"""Passwords and API tokens given by name: assignments, form fields, URLs, bearer headers.

* ``password: x`` / ``pwd=x`` / ``"passwd": "x"`` / ``db_password := 'x'``: the key's last word is
  a password word (``rules/detectors.yaml`` secrets.password_keys) -> PASSWORD.
* ``api_key = "..."`` / ``client_secret: ...``: the key ends with a token phrase
  (secrets.token_keys) and the value looks random (length, Shannon entropy, not a word, not a
  UUID) -> GENERIC_API_TOKEN, as detect-secrets' keyword plugin and gitleaks' generic-api-key.
* A segment whose field name is a password word (form field ``password``, JSON key
  ``newPassword``) holding a real value -> PASSWORD over the whole value.
* ``https://user:secret@host`` -> PASSWORD; ``Bearer <token>`` -> GENERIC_API_TOKEN.
* Cells of a table (CSV, sheet) column whose header is a password word -> PASSWORD.

What is *not* a password: placeholders (****, <password>, ${PASS}, {{ x }}, changeme), references
(os.environ[...]), booleans, status words ("Password: expired") and prose ("password: keep it
to yourself": an unquoted value followed by more words on its line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.config import Secrets
from agent.detect.context import normalize
from agent.detect.detectors.base import SCORE_CONTEXT, SCORE_HEADER, Detector, Pattern
from agent.detect.filters import (
    is_hex_hash,
    is_placeholder,
    is_prose_after,
    is_reference,
    is_sequential,
    is_status_word,
    is_uuid,
    is_word_only,
    shannon_entropy,
)

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

# Identifier bytes -> 0x00, others -> 0x01: rfind(0x01) finds where a key name begins.
_IDENT = bytes(0 if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_.-[]") else 1
               for c in range(256))
_VALUE_RE = re.compile(
    rb"""[ \t]*(?:"((?:[^"\\\r\n]|\\.){0,256})"|'([^'\r\n]{0,256})'"""
    rb"""|(\$\{[^}\r\n]{0,128}\}|\{\{[^}\r\n]{0,128}\}\}|<[^>\r\n]{0,64}>)"""  # templates
    rb"""|([^\s,;&}\]<>)"'`]{1,256}))""")
_TOKEN_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/-=")
MAX_PASSWORD = 128


class CredentialsDetector(Detector):
    entity = E.PASSWORD

    def __init__(self, secrets: Secrets):
        self.password_words = frozenset(normalize(w) for w in secrets.password_keys)
        self.token_phrases = tuple(sorted({normalize(k) for k in secrets.token_keys}, key=len,
                                          reverse=True))
        self.ignored = frozenset(normalize(k) for k in secrets.ignored_keys)
        self.placeholders = frozenset(p.lower() for p in secrets.placeholders)
        self.min_entropy = secrets.min_token_entropy
        self.min_length = secrets.min_token_length
        self._kinds: dict[str, str | None] = {}

    def patterns(self) -> Sequence[Pattern]:
        # Keys END with a password word or token phrase, so the pattern is the word followed by
        # the operator; what comes before the word (db_, new-, x-) is read back in Python.
        stems = sorted({re.escape(w) for w in self.password_words if " " not in w}
                       | {r"[_.\- ]?".join(re.escape(p) for p in phrase.split())
                          for phrase in self.token_phrases})
        out = []
        if stems:
            out.append(Pattern(
                "keyword_assignment",
                b"(?:" + "|".join(stems).encode() + rb")[\"']?[ \t]{0,4}(?::=|=>|[:=])",
                caseless=True, som=False, data="assign"))
        out.append(Pattern("url_credentials", rb"://[^\s:@/?#\"'<>]{1,64}:[^\s:@/?#\"'<>]{1,128}@",
                           data="url"))
        out.append(Pattern("bearer", rb"\bbearer [A-Za-z0-9._~+/\-]{20}", len(b"bearer ") + 20,
                           caseless=True, data="bearer"))
        return out

    # -------------------------------------------------------------- key names

    def kind_of_key(self, key: str) -> str | None:
        """PASSWORD, GENERIC_API_TOKEN or None for a key / field name. Cached."""
        got = self._kinds.get(key, "")
        if got != "":
            return got
        norm = normalize(key)
        kind: str | None = None
        if norm and not any(norm == i or norm.endswith(" " + i) for i in self.ignored):
            words = norm.split()
            if words[-1] in self.password_words:
                kind = E.PASSWORD
            elif any(norm == p or norm.endswith(" " + p)
                     or norm.replace(" ", "") == p.replace(" ", "") for p in self.token_phrases):
                kind = E.GENERIC_API_TOKEN
        if len(self._kinds) > 4096:
            self._kinds.clear()
        self._kinds[key] = kind
        return kind

    # -------------------------------------------------------------- values

    def password_ok(self, value: str, key: str = "") -> bool:
        v = value.strip()
        if not v or len(v) > MAX_PASSWORD or is_placeholder(v, self.placeholders):
            return False
        if is_reference(v) or is_status_word(v):
            return False
        # PWD=/home/alice is the shell's working directory, not a password.
        return not (normalize(key) == "pwd" and v.startswith(("/", "~", "$")))

    def token_ok(self, value: str) -> bool:
        v = value.strip()
        return (len(v) >= self.min_length and not is_placeholder(v, self.placeholders)
                and not is_reference(v) and not is_word_only(v) and not is_uuid(v)
                and not is_sequential(v) and shannon_entropy(v) >= self.min_entropy
                and not (is_hex_hash(v) and shannon_entropy(v) < 3.0))

    # -------------------------------------------------------------- matches

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        if pattern.data == "assign":
            self._assignment(st, e)
        elif pattern.data == "url":
            self._url(st, s, e)
        else:
            self._bearer(st, s, e)

    def _assignment(self, st: ScanState, e: int) -> None:
        buf, lo, hi = st.buf, st.lo, st.hi
        if e < hi and buf[e] in b"=>" and buf[e - 1] in b":=":
            return  # ':' of ':=' or '=' of '=>' / '==': the full operator is matched (or not)
        key = self._key_before(buf, lo, e)
        if not key:
            return
        kind = self.kind_of_key(key)
        if kind is None:
            return
        v = _VALUE_RE.match(buf, e, hi)
        if v is None:
            return
        if v.group(3) is not None:
            return  # ${PASS}, {{ secret }}, <password>: a template, not a value
        if v.group(1) is not None or v.group(2) is not None:
            g = 1 if v.group(1) is not None else 2
        else:
            g = 4
            if is_prose_after(buf, v.end(4), hi):
                return
        vs, ve = v.span(g)
        value = buf[vs:ve].decode("utf-8", "replace")
        if kind == E.PASSWORD:
            if self.password_ok(value, key):
                st.emit(E.PASSWORD, vs, ve, SCORE_CONTEXT, "context", value)
        elif self.token_ok(value):
            st.emit(E.GENERIC_API_TOKEN, vs, ve, SCORE_CONTEXT, "context", value)

    @staticmethod
    def _key_before(buf: bytes, lo: int, e: int) -> str:
        """The key of 'key: value' whose operator ends at e: a bare identifier, or a quoted
        name ("API Key": ...). Two C-level searches, no regex scan backwards."""
        k = e - 1
        if k > lo and buf[k - 1:k + 1] in (b":=", b"=>"):
            k -= 1
        while k > lo and buf[k - 1] in b" \t":
            k -= 1
        first = max(lo, k - 64)
        if k > lo and buf[k - 1] in b"\"'":
            q = buf.rfind(buf[k - 1:k], first, k - 1)
            return buf[q + 1:k - 1].decode("utf-8", "replace") if q >= 0 else ""
        i = buf[first:k].translate(_IDENT).rfind(b"\x01")
        return buf[first + i + 1:k].decode("utf-8", "replace")

    def _url(self, st: ScanState, s: int, e: int) -> None:
        buf = st.buf
        colon = buf.rfind(b":", s + 3, e)
        value = buf[colon + 1:e - 1].decode("utf-8", "replace")
        if value.isdigit() or not self.password_ok(value):
            return  # host:port, or a placeholder
        st.emit(E.PASSWORD, colon + 1, e - 1, SCORE_CONTEXT, "context", value)

    def _bearer(self, st: ScanState, s: int, e: int) -> None:
        buf, hi = st.buf, st.hi
        while e < hi and buf[e] in _TOKEN_CHARS and e - s < 4096:
            e += 1
        vs = s + len(b"bearer ")
        token = buf[vs:e].decode("ascii")
        if self.token_ok(token):
            st.emit(E.GENERIC_API_TOKEN, vs, e, SCORE_CONTEXT, "context", token)

    # -------------------------------------------------------------- form / JSON fields

    def field_is_password(self, field: str) -> bool:
        return self.kind_of_key(field) == E.PASSWORD

    def on_password_field(self, st: ScanState) -> None:
        """The current segment is the value of a password field."""
        data = st.buf[st.lo:st.hi]
        value = data.strip()
        if not value or len(value) > MAX_PASSWORD or b"\n" in value:
            return
        text = value.decode("utf-8", "replace")
        if self.password_ok(text, st.field or ""):
            start = st.lo + data.index(value)
            st.emit(E.PASSWORD, start, start + len(value), SCORE_HEADER, "header", text)

    # -------------------------------------------------------------- table columns

    def password_columns(self, header: tuple[str, ...]) -> tuple[int, ...]:
        """Columns of a table whose header names a password ("password", "User Password")."""
        return tuple(i for i, h in enumerate(header) if h and self.kind_of_key(h) == E.PASSWORD)

    def on_password_columns(self, st: ScanState, columns: tuple[int, ...],
                            delim: bytes, header: tuple[str, ...]) -> None:
        """Cells of the current (table) segment under a password header: an export of
        accounts with their passwords. Rows are split as the column context counts them
        (``table_layout.Layout``: delimiters inside double quotes do not count); lines with
        another number of cells, and a repeated header line, are skipped."""
        from agent.detect.table_layout import Layout

        lo, hi = st.lo, st.hi
        data = st.buf[lo:hi]
        ncols = len(header)
        lay = Layout(data, delim, ncols)
        for r in range(lay.nrows):
            for c in columns:
                offset = lay.cell_start(r, c, ncols)
                raw = data[offset:offset + len(lay.flat[r * ncols + c])]
                value = raw.strip(b" \t\r")
                if len(value) >= 2 and value[:1] == value[-1:] == b'"':
                    value = value[1:-1]
                if not value or len(value) > MAX_PASSWORD:
                    continue
                text = value.decode("utf-8", "replace")
                if text.strip().lower() == header[c] or not self.password_ok(text, header[c]):
                    continue
                s = lo + offset + raw.index(value)
                st.emit(E.PASSWORD, s, s + len(value), SCORE_HEADER, "header", text)
