"""Property: extract() returns an ExtractionResult for any bytes and headers, and never raises."""

from __future__ import annotations

import gzip

from extract_docs import docx_bytes, pdf_bytes, xlsx_bytes, zip_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.extract import UNINSPECTABLE_REASONS, ExtractionResult, Limits, extract

CONTENT_TYPES = st.sampled_from([
    None, "", "text/plain", "text/plain; charset=utf-16", "text/plain; charset=bogus",
    "application/json", "application/x-ndjson", "application/xml", "text/csv", "text/html",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=B",
    "multipart/form-data", "multipart/mixed; boundary=\"a b\"", "application/octet-stream",
    "application/pdf", "image/png", ";;;", "multipart/form-data; boundary=" + "x" * 2000,
])
ENCODINGS = st.sampled_from([None, "", "gzip", "deflate", "br", "zstd", "gzip, br",
                             "identity", "bogus", ",,"])
SMALL = Limits(max_depth=3, max_extracted_bytes=1 << 20, max_parts=50, max_seconds=2,
               min_ratio_floor=4096)

_SEEDS = [
    docx_bytes("seed 078-05-1120", header="h"),
    xlsx_bytes({"S": [["ssn"], ["078-05-1120"]]}),
    pdf_bytes(["seed"]),
    zip_bytes({"a/b.txt": b"hello", "c.json": b'{"a": ["b"]}'}),
    gzip.compress(b"name,ssn\nPat,078-05-1120\n"),
    b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nhi\r\n--B--\r\n",
    b'{"a": {"b": [1, "x", {"c": "UEsDBBQAAAAIAAAAIQ=="}]}}',
]


def _check(r: ExtractionResult) -> None:
    assert isinstance(r, ExtractionResult)
    for u in r.uninspectable:
        assert u.reason in UNINSPECTABLE_REASONS
    for s in r.segments:
        assert isinstance(s.data, bytes) and s.data
        assert isinstance(s.where, str) and s.where
    assert r.bytes_extracted == sum(len(s.data) for s in r.segments)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=4096), content_type=CONTENT_TYPES, encoding=ENCODINGS,
       filename=st.none() | st.text(max_size=300))
def test_arbitrary_bytes_never_raise(body, content_type, encoding, filename):
    _check(extract(body, content_type, encoding, filename, limits=SMALL))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(_SEEDS))), data=st.data(),
       content_type=CONTENT_TYPES)
def test_damaged_real_documents_never_raise(seed, data, content_type):
    doc = bytearray(_SEEDS[seed])
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(doc) - 1), st.integers(0, 255)),
                               max_size=8))
    for pos, value in flips:
        doc[pos] = value
    cut = data.draw(st.integers(0, len(doc)))
    _check(extract(bytes(doc[:cut]), content_type, None, limits=SMALL))
