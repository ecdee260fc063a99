"""The hostile cases: one table, used in-process (agent.evaluate) and through a real agent.

Each case builds a ``Request`` for a host and path it is given, and states what must come of
it under the shipped rules when the host is a paste site (pastebin.com: category `paste`,
where `uninspectable-to-sharing` blocks a body that could not be read and
`social-confidential` blocks an SSN):

- ``verdict``: the decision (``block`` or ``allow``);
- ``reasons``: uninspectable reasons of which at least one must be recorded (in the result,
  the incident and dlp_inspection_failures_total); empty when the body must be read whole;
- ``detect``: an entity that must be found, because the wrapper around it is readable;
- ``outcomes``: what the client may see through the proxy: ``blocked`` (403 with an incident
  id), ``passed`` (2xx), ``refused`` (400 from the proxy's HTTP parser, nothing forwarded),
  ``cut`` (connection closed: a streamed body cut off, or framing the proxy gave up on);
  ``held`` (the client promised more bytes than it sent and the proxy is still waiting).

Never acceptable anywhere: an agent that died, a 5xx, an ``internal_error``, a hang.

``slow`` cases run in bench/bench_hostile.py and under ``pytest -m slow``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import brotli

from . import bombs as B
from .rig import Request

PASTE_HOST = "pastebin.com"          # category paste: uninspectable bodies are blocked
OTHER_HOST = "api.example.org"       # uncategorised: uninspectable bodies are logged

LIMIT_REASONS = frozenset({"size_limit", "ratio_limit"})


@dataclass(frozen=True)
class Env:
    host: str
    path: str
    file_url: str = "file:///etc/passwd"        # an XXE target (a tripwire's bait when watched)
    http_url: str = "http://127.0.0.1:9/dtd"    # an XXE target (a tripwire's socket when watched)


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    build: Callable[[Env], Request] = field(repr=False)
    verdict: str = "block"
    reasons: frozenset[str] = frozenset()
    tolerate: frozenset[str] = frozenset()   # reasons that may appear (machine-speed dependent)
    detect: str | None = None
    outcomes: frozenset[str] = frozenset({"blocked"})
    slow: bool = False
    inproc: bool = True            # also meaningful without a proxy (not an HTTP framing case)
    watch: bool = False            # a tripwire must stay untouched
    log_elsewhere: bool = False    # also sent to OTHER_HOST: passed, with a `log` incident
    agent_fast: bool = True        # through the agent in the fast suite (else bench / -m slow)

    def __post_init__(self) -> None:
        if self.verdict == "allow-or-block" and self.outcomes == frozenset({"blocked"}):
            object.__setattr__(self, "outcomes", frozenset({"blocked", "passed"}))


def post(ctype: str | None, body: bytes, encoding: str | None = None, transport: str = "https",
         extra: tuple[tuple[str, str], ...] = ()) -> Callable[[Env], Request]:
    headers = (*((("Content-Type", ctype),) if ctype is not None else ()),
               *((("Content-Encoding", encoding),) if encoding else ()), *extra)
    return lambda env: Request("POST", env.host, env.path, headers, body, transport)


def lazy(make: Callable[[], tuple[bytes, str | None]], encoding: str | None = None,
         transport: str = "https") -> Callable[[Env], Request]:
    """A body built on first use and kept (bombs take a moment to build, the in-process and
    the through-agent tests use the same ones, and most runs never build the slow ones)."""
    made = functools.cache(make)

    def build(env: Env) -> Request:
        body, ctype = made()
        return post(ctype, body, encoding, transport)(env)
    return build


def mp(make: Callable[[], tuple[bytes, str]], transport: str = "https") -> Callable[[Env], Request]:
    return lazy(make, transport=transport)


def raw(template: bytes, *, plain: bool = True, half_close: bool = False,
        wait: float | None = None) -> Callable[[Env], Request]:
    """Bytes as sent, with {H} the host and {P} the path; plain=True sends them to the proxy
    as a plain-HTTP proxy request (absolute-form target, so the socket can be half-closed)."""
    def build(env: Env) -> Request:
        target = f"http://{env.host}{env.path}" if plain else env.path
        data = template.replace(b"{T}", target.encode()).replace(b"{H}", env.host.encode()) \
            .replace(b"{P}", env.path.encode())
        return Request("POST", env.host, env.path, transport="raw", raw=data, plain=plain,
                       half_close=half_close, wait=wait)
    return build


def xml_doc(kind: str, make: Callable[[Env], bytes]) -> Callable[[Env], Request]:
    return lambda env: post("application/octet-stream", B.office_with_xml(kind, make(env)))(env)


TEXT = f"Case notes for Pat Doe, SSN {B.SSN}, reviewed Tuesday.".encode()
S = B.SSN.encode()

CASES: list[Case] = []


def case(*args, **kw) -> None:
    CASES.append(Case(*args, **kw))


# ----------------------------------------------------------------- multipart
case("mp-missing-boundary", "multipart", mp(B.mp_without_boundary_param),
     reasons=frozenset({"parse_error"}), detect="SSN", log_elsewhere=True)
case("mp-wrong-boundary", "multipart", mp(B.mp_wrong_boundary),
     reasons=frozenset({"parse_error"}), detect="SSN")
case("mp-lf-only", "multipart", mp(B.mp_lf_only), reasons=frozenset({"parse_error"}),
     detect="SSN")
case("mp-headers-without-blank-line", "multipart", mp(B.mp_headers_no_blank_line),
     reasons=frozenset({"parse_error"}), detect="SSN")
case("mp-truncated", "multipart", mp(B.mp_truncated), reasons=frozenset({"parse_error"}),
     detect="SSN")
case("mp-no-parts", "multipart", mp(B.mp_no_parts), reasons=frozenset({"parse_error"}),
     log_elsewhere=True)
case("mp-huge-part-header", "multipart", mp(B.mp_huge_part_header),
     reasons=frozenset({"parse_error"}), detect="SSN")
case("mp-boundary-5000-chars", "multipart", mp(B.mp_long_boundary), detect="SSN")
case("mp-nested-3", "multipart", mp(lambda: B.mp_nested(3)), detect="SSN")
case("mp-nested-5000", "multipart", mp(lambda: B.mp_nested(5000)), detect="SSN",
     reasons=frozenset({"depth_limit", "parse_error"}))
case("mp-100k-parts", "multipart", mp(lambda: B.mp_many_parts(100_000)),
     reasons=frozenset({"part_limit"}), log_elsewhere=True)
case("mp-ssn-in-preamble", "multipart", mp(B.mp_boundary_inside_part), detect="SSN")
case("mp-ssn-in-epilogue", "multipart", mp(B.mp_epilogue), detect="SSN")
case("mp-empty-body-with-boundary", "multipart",
     post(f"multipart/form-data; boundary={B.BOUNDARY}", b"\r\n"),
     reasons=frozenset({"parse_error"}))
case("mp-garbage-4mb", "multipart",
     lazy(lambda: (B.garbage(4 * B.MiB), f"multipart/form-data; boundary={B.BOUNDARY}")),
     reasons=frozenset({"parse_error"}))

# ----------------------------------------------------------------- HTTP framing (raw bytes)
_SSN_BODY = b"SSN " + S            # 15 bytes
case("cl-shorter-than-body", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
         b"hello"
         b"POST {T}/smuggled HTTP/1.1\r\nHost: {H}\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 15\r\n\r\n" + _SSN_BODY),
     verdict="smuggled-blocked", outcomes=frozenset({"passed"}), inproc=False)
case("cl-longer-than-body-held", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nContent-Length: 500\r\n\r\n" + _SSN_BODY, wait=1),
     verdict="not-forwarded", outcomes=frozenset({"held"}), inproc=False)
case("cl-longer-than-body-half-closed", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nContent-Length: 500\r\n\r\n" + _SSN_BODY,
         half_close=True),
     verdict="not-forwarded", outcomes=frozenset({"cut", "refused"}), inproc=False)
for _name, _cl in (("cl-conflicting", b"Content-Length: 15\r\nContent-Length: 3"),
                   ("cl-negative", b"Content-Length: -15"), ("cl-hex", b"Content-Length: 0xf"),
                   ("cl-20-digits", b"Content-Length: 99999999999999999999"),
                   ("cl-and-te", b"Content-Length: 3\r\nTransfer-Encoding: chunked"),
                   ("te-gzip-only", b"Transfer-Encoding: gzip")):
    case(_name, "framing",
         raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\n" + _cl + b"\r\n\r\n" + _SSN_BODY,
             half_close=True),
         verdict="not-forwarded", outcomes=frozenset({"cut", "refused"}), inproc=False)
case("chunked-bad-size", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
         + _SSN_BODY + b"\r\n0\r\n\r\n", half_close=True),
     verdict="not-forwarded", outcomes=frozenset({"cut", "refused"}), inproc=False)
case("chunked-truncated", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n"
         + _SSN_BODY + b"\r\n", half_close=True),
     verdict="not-forwarded", outcomes=frozenset({"cut", "refused", "blocked"}), inproc=False)
case("headers-bare-lf", "framing",
     raw(b"POST {T} HTTP/1.1\nHost: {H}\nContent-Type: text/plain\nContent-Length: 15\n\n"
         + _SSN_BODY),
     outcomes=frozenset({"blocked", "refused"}), inproc=False)
case("headers-obs-fold", "framing",
     raw(b"POST {T} HTTP/1.1\r\nHost: {H}\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n"
         b"Content-Length: 15\r\n\r\n" + _SSN_BODY),
     outcomes=frozenset({"blocked", "refused"}), inproc=False)
case("over-tls-cl-shorter", "framing",
     raw(b"POST {P} HTTP/1.1\r\nHost: {H}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
         b"hello"
         b"POST {P}/smuggled HTTP/1.1\r\nHost: {H}\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 15\r\n\r\n" + _SSN_BODY, plain=False),
     verdict="smuggled-blocked", outcomes=frozenset({"passed"}), inproc=False)

# ----------------------------------------------------------------- Content-Encoding
case("gzip-random-bytes", "encoding", post("text/plain", B.garbage(64 * B.KiB), "gzip"),
     verdict="allow-or-block", reasons=frozenset({"encoding_error"}))
case("br-random-bytes", "encoding", post("text/plain", B.garbage(64 * B.KiB, 8), "br"),
     verdict="allow-or-block", reasons=frozenset({"encoding_error"}))
case("zstd-random-bytes", "encoding", post("text/plain", B.garbage(64 * B.KiB, 9), "zstd"),
     verdict="allow-or-block", reasons=frozenset({"encoding_error"}))
case("deflate-random-bytes", "encoding", post("text/plain", B.garbage(64 * B.KiB, 10), "deflate"),
     verdict="allow-or-block", reasons=frozenset({"encoding_error"}))
_NOISE = B.garbage(20_000, 13).hex().encode()      # text that does not compress much
_GZ = gzip.compress(TEXT + b"\n" + _NOISE)
case("gzip-truncated", "encoding", post("text/plain", _GZ[:len(_GZ) // 2], "gzip"),
     reasons=frozenset({"encoding_error"}), detect="SSN", log_elsewhere=True)
# zlib reports a bad CRC from the call that produced the text, and that output is lost: the
# body is inspected as sent (compressed) and the rules decide on encoding_error alone.
case("gzip-bad-crc", "encoding",
     post("text/plain", gzip.compress(TEXT)[:-8] + b"\0\0\0\0" + gzip.compress(TEXT)[-4:], "gzip"),
     reasons=frozenset({"encoding_error"}))
case("gzip-labelled-plain-text", "encoding", post("text/plain", TEXT, "gzip"),
     reasons=frozenset({"encoding_error"}), detect="SSN")
case("stacked-br-gzip", "encoding",
     post("text/plain", brotli.compress(gzip.compress(TEXT)),
          "gzip, br"), detect="SSN")
case("stacked-500-codings", "encoding",
     post("text/plain", gzip.compress(TEXT), "gzip, " * 499 + "gzip"),
     reasons=frozenset({"encoding_error"}), detect="SSN")
case("unknown-coding", "encoding", post("text/plain", TEXT, "compress"),
     reasons=frozenset({"encoding_error"}), detect="SSN")
case("gzip-of-1gb-zeros", "bomb", lazy(lambda: (B.gzip_zeros(1 * B.GiB), "text/plain"), "gzip"),
     reasons=LIMIT_REASONS, log_elsewhere=True)
case("gzip-of-10gb-zeros", "bomb", lazy(lambda: (B.gzip_zeros(10 * B.GiB), "text/plain"), "gzip"),
     reasons=LIMIT_REASONS, slow=True)
case("deflate-of-1gb-zeros", "bomb",
     lazy(lambda: (B.zlib_zeros(1 * B.GiB), "text/plain"), "deflate"),
     reasons=LIMIT_REASONS)
case("br-of-256mb-zeros", "bomb", lazy(lambda: (B.brotli_bomb(256 * B.MiB), "text/plain"), "br"),
     reasons=LIMIT_REASONS)
case("br-of-4gb-zeros", "bomb", lazy(lambda: (B.brotli_bomb(4 * B.GiB), "text/plain"), "br"),
     reasons=LIMIT_REASONS, slow=True)
case("zstd-of-1gb-zeros", "bomb", lazy(lambda: (B.zstd_bomb(1 * B.GiB), "text/plain"), "zstd"),
     reasons=LIMIT_REASONS)
case("gzip-in-gzip-bomb", "bomb",
     lazy(lambda: (gzip.compress(B.gzip_zeros(4 * B.GiB), 9), "text/plain"), "gzip, gzip"),
     reasons=LIMIT_REASONS)

# ----------------------------------------------------------------- archives
case("gzip-file-of-1gb-zeros", "bomb",
     lazy(lambda: (B.gzip_zeros(1 * B.GiB), "application/octet-stream")), reasons=LIMIT_REASONS)
case("gzip-file-of-10gb-zeros", "bomb",
     lazy(lambda: (B.gzip_zeros(10 * B.GiB), "application/octet-stream")), reasons=LIMIT_REASONS,
     slow=True)
case("zip-42-style-nested", "bomb", lazy(lambda: (B.nested_zip_bomb(), "application/zip")),
     reasons=LIMIT_REASONS | {"depth_limit"}, log_elsewhere=True)
case("zip-overlapping-entries", "bomb", lazy(lambda: (B.overlapping_zip_bomb(), "application/zip")),
     reasons=frozenset({"parse_error"}))
case("zip-huge-declared-sizes", "bomb",
     lazy(lambda: (B.zip_declaring_huge_sizes(TEXT), "application/zip")),
     reasons=frozenset({"parse_error"}))
case("zip-huge-declared-size-only", "bomb",
     lazy(lambda: (B.zip_declaring_huge_size_only(TEXT), "application/zip")), detect="SSN")
case("zip-of-100k-members", "bomb", lazy(lambda: (B.zip_of_many(100_000), "application/zip")),
     reasons=frozenset({"part_limit"}))
case("zip-member-of-4gb-zeros", "bomb",
     lazy(lambda: (B.zip_of_zeros(4 * B.GiB - B.MiB), "application/zip")), reasons=LIMIT_REASONS)
case("zip-empty-body", "empty", post("application/zip", b""), verdict="allow",
     outcomes=frozenset({"passed"}))
case("pdf-empty-body", "empty", post("application/pdf", b""), verdict="allow",
     outcomes=frozenset({"passed"}))
case("gzip-empty-body", "empty", post("text/plain", b"", "gzip"), verdict="allow",
     outcomes=frozenset({"passed"}))
case("zip-truncated-header", "empty", post("application/zip", b"PK\x03\x04"),
     reasons=frozenset({"parse_error"}))

# ----------------------------------------------------------------- XML in office documents
for _kind in ("docx", "xlsx", "pptx", "odt"):
    case(f"{_kind}-billion-laughs", "xml", xml_doc(_kind, lambda env: B.laughs()),
         reasons=frozenset({"parse_error"}))
    case(f"{_kind}-quadratic-blowup", "xml", xml_doc(_kind, lambda env: B.quadratic_blowup()),
         reasons=frozenset({"parse_error"}))
    case(f"{_kind}-xxe-file", "xml", xml_doc(_kind, lambda env: B.external_entity(env.file_url)),
         reasons=frozenset({"parse_error"}), watch=True)
    case(f"{_kind}-xxe-http", "xml", xml_doc(_kind, lambda env: B.external_entity(env.http_url)),
         reasons=frozenset({"parse_error"}), watch=True)
    case(f"{_kind}-xxe-parameter-entity", "xml",
         xml_doc(_kind, lambda env: B.external_parameter_entity(env.http_url)),
         reasons=frozenset({"parse_error"}), watch=True)
    case(f"{_kind}-external-dtd", "xml", xml_doc(_kind, lambda env: B.external_dtd(env.http_url)),
         reasons=frozenset({"parse_error"}), watch=True)
case("docx-xxe-etc-passwd", "xml",
     xml_doc("docx", lambda env: B.external_entity("file:///etc/passwd")),
     reasons=frozenset({"parse_error"}))
case("docx-xinclude", "xml", xml_doc("docx", lambda env: B.xinclude(env.file_url)),
     verdict="allow", outcomes=frozenset({"passed"}), watch=True)
case("xml-body-xxe-file", "xml",
     lambda env: post("application/xml", B.external_entity(env.file_url))(env),
     reasons=frozenset({"parse_error"}), watch=True)
case("xml-body-xxe-http", "xml",
     lambda env: post("application/xml", B.external_entity(env.http_url))(env),
     reasons=frozenset({"parse_error"}), watch=True)
case("xml-body-parameter-entity", "xml",
     lambda env: post("application/xml", B.external_parameter_entity(env.http_url))(env),
     reasons=frozenset({"parse_error"}), watch=True)
case("xml-body-external-dtd", "xml",
     lambda env: post("application/xml",
                      B.external_dtd(env.http_url) + b"<!-- " + TEXT + b" -->")(env),
     verdict="allow-or-block", watch=True)
case("xml-body-billion-laughs", "xml", post("application/xml", B.laughs()),
     reasons=frozenset({"parse_error"}))
case("xml-body-1m-deep", "xml", lazy(lambda: (B.deep_xml(1_000_000), "application/xml")),
     detect="SSN")

# ----------------------------------------------------------------- PDF
for _how in ("startxref-garbage", "startxref-past-end", "shifted-offsets", "xref-loop"):
    case(f"pdf-{_how}", "pdf", lazy(lambda h=_how: (B.pdf_broken_xref(h), None)), detect="SSN")
for _how in ("no-xref", "truncated-half"):
    case(f"pdf-{_how}", "pdf", lazy(lambda h=_how: (B.pdf_broken_xref(h), None)),
         reasons=frozenset({"parse_error"}))
case("pdf-flate-bomb-1gb", "pdf", lazy(lambda: (B.pdf_flate_bomb(1 * B.GiB), "application/pdf")),
     reasons=frozenset({"parse_error", "size_limit", "ratio_limit", "time_limit"}),
     log_elsewhere=True)
case("pdf-flate-bomb-5-pages-of-70mb", "pdf",
     lazy(lambda: (B.pdf_flate_bomb(70 * B.MiB, pages=5), "application/pdf")),
     verdict="allow-or-block", slow=True)
case("pdf-20k-text-operators", "pdf", lazy(lambda: (B.pdf_text_ops(20_000), "application/pdf")),
     verdict="block", detect="SSN")
# ~6 MB of decoded content: past the budget (time_limit), or past the stream cap pdf.py sets
# from the byte budget under smaller limits (parse_error); fail closed either way
case("pdf-300k-text-operators", "pdf", lazy(lambda: (B.pdf_text_ops(300_000), "application/pdf")),
     reasons=frozenset({"time_limit", "parse_error"}), slow=True)

# ----------------------------------------------------------------- JSON and forms
case("json-100k-deep-arrays", "json", lazy(lambda: (B.deep_json(100_000), "application/json")),
     reasons=frozenset({"parse_error"}), detect="SSN")
case("json-100k-deep-objects", "json",
     lazy(lambda: (B.deep_json(100_000, "object"), "application/json")),
     reasons=frozenset({"parse_error"}), detect="SSN")
case("json-ssn-in-a-key", "json", lazy(lambda: (B.json_value_in_keys(), "application/json")),
     detect="SSN")
case("json-ssn-key-after-200k-keys", "json",
     lazy(lambda: (B.json_value_in_keys(200_000), "application/json")), detect="SSN")
case("mp-quoted-printable-soft-break", "multipart",
     mp(lambda: B.mp_transfer_encoded("quoted-printable")), detect="SSN")
case("mp-base64-transfer-encoded-docx", "multipart",
     mp(lambda: B.mp_transfer_encoded("base64")), detect="SSN")
case("form-1m-fields", "form",
     lazy(lambda: (B.many_form_fields(1_000_000), "application/x-www-form-urlencoded")),
     reasons=frozenset({"part_limit"}), log_elsewhere=True)

# ----------------------------------------------------------------- headers
case("header-value-64kb", "headers",
     post("text/plain", TEXT, extra=(("X-Padding", "a" * 65536),)), detect="SSN")
case("content-type-64kb", "headers", post("text/plain; x=" + "a" * 65536, TEXT), detect="SSN")
case("headers-2000", "headers",
     post("text/plain", TEXT, extra=tuple((f"X-H{i}", "v") for i in range(2000))), detect="SSN")
case("headers-8000", "headers",
     post("text/plain", TEXT, extra=tuple((f"X-H{i}", "v") for i in range(8000))), detect="SSN",
     inproc=False)
# HTTP/2 header lists past the proxy's limit are refused by its h2 layer before any hook:
# nothing is forwarded and there is nothing to record.
case("h2-header-value-64kb", "headers",
     post("text/plain", TEXT, transport="h2", extra=(("X-Padding", "a" * 65536),)),
     verdict="not-forwarded", outcomes=frozenset({"cut", "refused", "blocked"}), inproc=False)
case("h2-ssn", "headers", post("text/plain", TEXT, transport="h2"), detect="SSN", inproc=False)

# ----------------------------------------------------------------- text encodings
case("invalid-utf8", "text", post("text/plain; charset=utf-8", B.invalid_utf8()), detect="SSN")
case("json-lone-surrogates", "text", post("application/json", B.json_lone_surrogates()),
     detect="SSN")
case("utf16-odd-length", "text", post("text/plain; charset=utf-16", B.utf16_odd()), detect="SSN")
case("utf16-odd-length-undeclared", "text", post("text/plain", B.utf16_odd()), detect="SSN")
case("charset-bogus", "text", post("text/plain; charset=x-no-such-charset", TEXT), detect="SSN")
case("utf32", "text", post("text/plain; charset=utf-32", TEXT.decode().encode("utf-32")),
     detect="SSN")
for _ctype in ("text/plain", "application/json", "application/xml", "text/csv",
               "application/x-www-form-urlencoded"):
    case(f"garbage-as-{_ctype.split('/')[1]}", "text",
         lazy(lambda c=_ctype: (B.garbage(4 * B.MiB, 11), c)), verdict="allow-or-block")

# ----------------------------------------------------------------- candidate floods
case("ssn-flood-512kb", "flood", lazy(lambda: (B.ssn_flood(512 * B.KiB), "text/plain")),
     tolerate=frozenset({"time_limit"}), detect="SSN")
case("ssn-flood-6mb", "flood", lazy(lambda: (B.ssn_flood(6 * B.MiB), "text/plain")),
     tolerate=frozenset({"time_limit"}), detect="SSN", slow=True)
case("ssn-flood-30mb", "flood", lazy(lambda: (B.ssn_flood(30 * B.MiB), "text/plain")),
     detect="SSN", tolerate=frozenset({"time_limit"}), slow=True)
case("ssn-flood-json-6mb", "flood",
     lazy(lambda: (b'{"ssn":[' + B.ssn_flood(6 * B.MiB, b'",', '"' + B.SSN)[:-2] + b'"]}',
                   "application/json")), tolerate=frozenset({"time_limit"}), detect="SSN", slow=True)
case("ssn-hyphen-chain-1mb", "flood",
     lazy(lambda: (B.ssn_flood(1 * B.MiB, b"-"), "text/plain")), verdict="allow-or-block")

# ----------------------------------------------------------------- streamed (chunked) bodies
case("stream-ssn", "stream", post("text/plain", TEXT * 100, transport="chunked"),
     detect="SSN", outcomes=frozenset({"cut", "blocked"}))
case("stream-gzip-invalid", "stream",
     post("text/plain", B.garbage(256 * B.KiB, 12), "gzip", transport="chunked"),
     reasons=frozenset({"encoding_error"}), outcomes=frozenset({"cut", "blocked"}))
case("stream-br-of-256mb-text", "stream",
     lazy(lambda: (B.brotli_bomb(256 * B.MiB, b"a"), "text/plain"), "br", transport="chunked"),
     reasons=LIMIT_REASONS, outcomes=frozenset({"cut", "blocked"}))
case("stream-gzip-of-1gb-text", "stream",
     lazy(lambda: (B.gzip_text(1 * B.GiB), "text/plain"), "gzip", transport="chunked"),
     reasons=LIMIT_REASONS, outcomes=frozenset({"cut", "blocked"}))
case("stream-zstd-of-1gb-text", "stream",
     lazy(lambda: (B.zstd_bomb(1 * B.GiB, b"a"), "text/plain"), "zstd", transport="chunked"),
     reasons=LIMIT_REASONS, outcomes=frozenset({"cut", "blocked"}))
case("stream-mp-ssn-in-preamble", "stream", mp(B.mp_boundary_inside_part, transport="chunked"),
     detect="SSN", outcomes=frozenset({"cut", "blocked"}))
case("stream-mp-100k-parts", "stream",
     mp(lambda: B.mp_many_parts(100_000), transport="chunked"),
     reasons=frozenset({"part_limit", "parse_error"}), outcomes=frozenset({"cut", "blocked"}))

# A base64 text (not a hostile input) proving the planted SSN is found in a readable wrapper.
case("control-base64-field", "control",
     post("application/x-www-form-urlencoded",
          b"doc=" + base64.b64encode(b"Personnel record. SSN " + S + b" on file.")),
     detect="SSN")
case("control-zlib-deflate", "control", post("text/plain", zlib.compress(TEXT), "deflate"),
     detect="SSN")

BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"

# Through the agent these add little to a sibling that is sent in the fast suite (same parser
# path, same reason); they run in process there, and through the agent in the bench and -m slow.
AGENT_SLOW = {
    "xlsx-billion-laughs", "xlsx-quadratic-blowup", "xlsx-xxe-parameter-entity", "xlsx-external-dtd",
    "pptx-billion-laughs", "pptx-quadratic-blowup", "pptx-xxe-file", "pptx-xxe-http", "pptx-external-dtd",
    "odt-billion-laughs", "odt-quadratic-blowup", "odt-xxe-http", "odt-xxe-parameter-entity",
    "garbage-as-json", "garbage-as-xml", "garbage-as-csv", "garbage-as-x-www-form-urlencoded",
    "utf32", "charset-bogus", "utf16-odd-length-undeclared",
    "mp-lf-only", "mp-headers-without-blank-line", "mp-boundary-5000-chars", "mp-nested-3",
    "br-random-bytes", "zstd-random-bytes", "deflate-random-bytes", "unknown-coding",
    "pdf-startxref-past-end", "pdf-xref-loop", "control-base64-field", "control-zlib-deflate",
    "ssn-hyphen-chain-1mb",
}
assert AGENT_SLOW <= BY_NAME.keys(), AGENT_SLOW - BY_NAME.keys()
CASES = [Case(**{**c.__dict__, "agent_fast": False}) if c.name in AGENT_SLOW else c for c in CASES]
BY_NAME = {c.name: c for c in CASES}
