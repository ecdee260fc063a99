"""Property-based fuzzing (hypothesis) of extract -> detect -> decide, through
``agent.evaluate.evaluate`` with the shipped RuleSet, ``Inspector(ruleset.scanner)`` (the
fast suite's limits) and an empty ``Directory()``.

1. Any bytes, any Content-Type, any Content-Encoding (real codings stacked at random, unknown
   tokens, junk) to a paste site or elsewhere: evaluate never raises, always decides, never
   records internal_error, uses only known reasons, and stays within the time budget.
2. Well-formed wrappers built from random parts (multipart bodies, JSON trees, zip archives,
   url-encoded forms, Word documents), optionally under a random stack of real Content-Encodings, with a valid
   SSN planted in plain text somewhere inside: the SSN is detected and the paste site blocks.
3. The same wrappers, damaged (bytes flipped, cut short): still a decision, never a crash.

tests/extract/test_extract_property.py fuzzes extract() alone; this adds detection and the
decision, and the structured wrappers whose contents must survive the trip.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
import zlib
from urllib.parse import quote_plus

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.extract.model import UNINSPECTABLE_REASONS
from agent.policy.engine import ACTIONS

from .bombs import SSN
from .cases import OTHER_HOST, PASTE_HOST
from .judge import INPROC_SLACK_SECONDS
from .rig import Request

PLANTED = f"SSN {SSN}"
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
# The fast suite replays the same 200 examples per property every run (derandomized: a
# failure is a change in the code, not luck); -m slow and the bench explore 3,000 fresh ones.
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=_QUIET)
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=_QUIET)

ENCODERS = {
    "gzip": lambda d: gzip.compress(d, mtime=0),
    "x-gzip": lambda d: gzip.compress(d, mtime=0),
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
}
CONTENT_TYPES = st.one_of(
    st.sampled_from([
        None, "", "text/plain", "text/plain; charset=utf-16", "text/plain; charset=utf-7",
        "text/plain; charset=nonsense", "application/json", "application/x-ndjson",
        "application/xml", "text/html", "text/csv", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=B", "multipart/form-data", 'multipart/mixed; boundary="a b"',
        "application/octet-stream", "application/zip", "application/pdf", "image/png",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ";;;=",
    ]),
    st.text(max_size=80))
TOKENS = st.sampled_from(["gzip", "x-gzip", "deflate", "br", "zstd", "identity", "compress",
                          "bogus", "", " ", "GZIP", "chunked"])


def evaluate(inproc, body: bytes, ctype: str | None, encoding: str | None, host: str = PASTE_HOST):
    headers = tuple((k, v) for k, v in (("Content-Type", ctype), ("Content-Encoding", encoding))
                    if v is not None)
    t = time.monotonic()
    ev = inproc.evaluate(Request("POST", host, "/fuzz", headers, body))
    return ev, time.monotonic() - t


def assert_decided(inproc, ev, seconds: float) -> None:
    assert ev.decision is not None and ev.decision.action in ACTIONS
    reasons = ev.result.uninspectable_reasons if ev.result else frozenset()
    assert reasons <= set(UNINSPECTABLE_REASONS)
    assert "internal_error" not in reasons, [u.detail for u in ev.result.uninspectable]
    assert seconds < inproc.limits.max_seconds + INPROC_SLACK_SECONDS


# ------------------------------------------------------------------ 1. anything at all
ANY = dict(body=st.binary(max_size=4096), ctype=CONTENT_TYPES,
           encoding=st.none() | st.lists(TOKENS, max_size=4).map(", ".join) | st.text(max_size=40),
           host=st.sampled_from([PASTE_HOST, OTHER_HOST]))
ENCODED = dict(text=st.binary(max_size=2048), ctype=CONTENT_TYPES,
               codings=st.lists(st.sampled_from(sorted(ENCODERS)), min_size=1, max_size=3))


def _any_bytes_with_any_headers_get_a_decision(inproc, body, ctype, encoding, host):
    ev, seconds = evaluate(inproc, body, ctype, encoding, host)
    assert_decided(inproc, ev, seconds)


@FUZZ
@given(**ANY)
def test_any_bytes_with_any_headers_get_a_decision(inproc, body, ctype, encoding, host):
    _any_bytes_with_any_headers_get_a_decision(inproc, body, ctype, encoding, host)


@pytest.mark.slow
@LONG
@given(**ANY)
def test_any_bytes_with_any_headers_get_a_decision_long(inproc, body, ctype, encoding, host):
    _any_bytes_with_any_headers_get_a_decision(inproc, body, ctype, encoding, host)


def _really_encoded_bytes_get_a_decision(inproc, text, ctype, codings):
    body = text
    for c in codings:
        body = ENCODERS[c](body)
    ev, seconds = evaluate(inproc, body, ctype, ", ".join(codings))
    assert_decided(inproc, ev, seconds)
    assert "encoding_error" not in ev.result.uninspectable_reasons


@FUZZ
@given(**ENCODED)
def test_really_encoded_bytes_get_a_decision(inproc, text, ctype, codings):
    _really_encoded_bytes_get_a_decision(inproc, text, ctype, codings)


@pytest.mark.slow
@LONG
@given(**ENCODED)
def test_really_encoded_bytes_get_a_decision_long(inproc, text, ctype, codings):
    _really_encoded_bytes_get_a_decision(inproc, text, ctype, codings)


# ------------------------------------------------------------------ 2. wrappers with an SSN
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)
PART_TYPES = st.sampled_from([None, "text/plain", "application/octet-stream", "image/png",
                              "application/json", "text/csv; charset=utf-8"])
# a part's data: text of any kind, or bytes; never the boundary (checked) and never the
# planted value's neighbour (parts are separate segments)
PART_DATA = st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode))


@st.composite
def multipart_with_ssn(draw):
    boundary = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=?",
                            min_size=12, max_size=70))
    parts = draw(st.lists(st.tuples(NAME, st.none() | NAME.map(lambda n: n + ".bin"), PART_DATA,
                                    PART_TYPES), max_size=8))
    where = draw(st.integers(0, len(parts)))
    parts.insert(where, ("ssn", draw(st.none() | st.just("notes.txt")), PLANTED.encode(),
                         draw(st.sampled_from([None, "text/plain"]))))
    chunks = []
    for name, filename, data, ctype in parts:
        if boundary.encode() in data:
            data = data.replace(boundary.encode(), b"")
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disp}\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/form-data; boundary="{boundary}"'


JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_TREE = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=5)
                         | st.dictionaries(st.text(max_size=12), kids, max_size=5), max_leaves=40)


@st.composite
def json_with_ssn(draw):
    tree = draw(JSON_TREE)
    planted = {"ssn": PLANTED}
    # walk down a random path of containers and put the value there
    node, parent_set = tree, None
    while isinstance(node, (list, dict)) and node and draw(st.booleans()):
        if isinstance(node, list):
            i = draw(st.integers(0, len(node) - 1))
            child = node[i]
            parent_set = (node, i)
        else:
            k = draw(st.sampled_from(sorted(node)))
            child = node[k]
            parent_set = (node, k)
        if not isinstance(child, (list, dict)):
            break
        node = child
    if isinstance(node, list):
        node.insert(draw(st.integers(0, len(node))), planted)
    elif isinstance(node, dict):
        node["ssn"] = PLANTED
    elif parent_set is not None:
        parent_set[0][parent_set[1]] = [node, planted]
    else:
        tree = [tree, planted]
    return json.dumps(tree, ensure_ascii=draw(st.booleans())).encode(), "application/json"


@st.composite
def zip_with_ssn(draw):
    names = draw(st.lists(NAME, unique=True, max_size=8))
    out = io.BytesIO()
    members = [(f"m/{n}", draw(PART_DATA)) for n in names]
    members.insert(draw(st.integers(0, len(members))), ("notes.txt", PLANTED.encode()))
    methods = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members:
            zf.writestr(name, data, compress_type=draw(st.sampled_from(methods)))
    return out.getvalue(), draw(st.sampled_from([None, "application/zip", "application/octet-stream"]))


@st.composite
def form_with_ssn(draw):
    fields = draw(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=60)), max_size=10))
    fields.insert(draw(st.integers(0, len(fields))), ("ssn", PLANTED))
    body = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields)
    return body.encode(), "application/x-www-form-urlencoded"


# text python-docx accepts (no control characters, no lone surrogates)
DOC_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80)


@st.composite
def docx_with_ssn(draw):
    """A Word document (python-docx) of random paragraphs and a table, SSN in one of them."""
    import docx

    d = docx.Document()
    paras = draw(st.lists(DOC_TEXT, max_size=6))
    paras.insert(draw(st.integers(0, len(paras))), PLANTED)
    for text in paras:
        d.add_paragraph(text)
    rows = draw(st.lists(st.lists(DOC_TEXT, min_size=2, max_size=2), max_size=3))
    if rows:
        t = d.add_table(rows=len(rows), cols=2)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    out = io.BytesIO()
    d.save(out)
    return out.getvalue(), draw(st.sampled_from([None, "application/octet-stream"]))


WRAPPED = st.one_of(multipart_with_ssn(), json_with_ssn(), zip_with_ssn(), form_with_ssn(),
                    docx_with_ssn())
CODINGS = st.lists(st.sampled_from(sorted(ENCODERS)), max_size=2)
SSN_INSIDE = dict(wrapped=WRAPPED, codings=CODINGS)


def encode(body: bytes, codings: list[str]) -> tuple[bytes, str | None]:
    for c in codings:
        body = ENCODERS[c](body)
    return body, ", ".join(codings) or None


def _planted_ssn_in_a_well_formed_wrapper_is_found(inproc, wrapped, codings):
    body, ctype = wrapped
    body, encoding = encode(body, codings)
    ev, seconds = evaluate(inproc, body, ctype, encoding)
    assert_decided(inproc, ev, seconds)
    assert ev.result.counts.get("SSN", 0) >= 1, (ctype, encoding, ev.result.uninspectable)
    assert ev.decision.action == "block"


@FUZZ
@given(**SSN_INSIDE)
def test_planted_ssn_in_a_well_formed_wrapper_is_found(inproc, wrapped, codings):
    _planted_ssn_in_a_well_formed_wrapper_is_found(inproc, wrapped, codings)


@pytest.mark.slow
@LONG
@given(**SSN_INSIDE)
def test_planted_ssn_in_a_well_formed_wrapper_is_found_long(inproc, wrapped, codings):
    _planted_ssn_in_a_well_formed_wrapper_is_found(inproc, wrapped, codings)


# ------------------------------------------------------------------ 3. damaged wrappers
def _damaged_wrappers_still_get_a_decision(inproc, wrapped, codings, data):
    body, ctype = wrapped
    body, encoding = encode(body, codings)
    damaged = bytearray(body)
    # positions as fractions: documents carry the time they were written, so their length
    # (and any draw bounded by it) may differ between hypothesis' replays
    for where, value in data.draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                     st.integers(0, 255)), max_size=6)):
        damaged[int(where * len(damaged))] = value
    cut = int(data.draw(st.floats(0, 1)) * len(damaged))
    ev, seconds = evaluate(inproc, bytes(damaged[:cut]), ctype, encoding)
    assert_decided(inproc, ev, seconds)



@FUZZ
@given(**SSN_INSIDE, data=st.data())
def test_damaged_wrappers_still_get_a_decision(inproc, wrapped, codings, data):
    _damaged_wrappers_still_get_a_decision(inproc, wrapped, codings, data)


@pytest.mark.slow
@LONG
@given(**SSN_INSIDE, data=st.data())
def test_damaged_wrappers_still_get_a_decision_long(inproc, wrapped, codings, data):
    _damaged_wrappers_still_get_a_decision(inproc, wrapped, codings, data)