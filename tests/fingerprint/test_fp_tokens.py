"""Canonical tokens: one value written differently gives one token; near misses do not."""

from __future__ import annotations

import pytest

from agent.fingerprint import tokens as T
from agent.fingerprint.documents import winnow
from agent.fingerprint.model import guess_kind, parse_column
from agent.fingerprint.records import cell_tokens, name_parts

# fmt: off
SAME = [
    # (written one way, written another way)
    ("1990-01-02", "01/02/1990"),
    ("1990-01-02", "1/2/1990"),
    ("1990-01-02", "1/2/90"),
    ("1990-01-02", "01-02-1990"),
    ("1990-01-02", "02.01.1990"),
    ("1990-01-02", "19900102"),
    ("1990-01-02", "January 2, 1990"),
    ("1990-01-02", "Jan. 2nd 1990"),
    ("1990-01-02", "2 January 1990"),
    ("123456789", "123-45-6789"),
    ("123456789", "123 45 6789".replace(" ", "-")),
    ("9145551234", "(914) 555-1234"),
    ("9145551234", "914.555.1234"),
    ("9145551234", "1-914-555-1234"),
    ("2023-CV-001234", "2023cv001234"),
    ("O'Brien", "OBRIEN"),
    ("O’Brien", "obrien"),
    ("José", "JOSE"),
]
DIFFERENT = [
    ("1990-01-02", "1990-02-01"),        # month and day are not interchangeable (US M/D/Y)
    ("1990-01-02", "2/1/1990"),
    ("123-45-6789", "123-45-6788"),
    ("9145551234", "9145551243"),
    ("Smith", "Smyth"),
    ("2023-CV-001234", "2023-CR-001234"),
]
# fmt: on


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_value_same_token(a, b):
    assert T.tokens(a) == T.tokens(b)
    assert len(T.tokens(a)) == 1


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_near_misses_differ(a, b):
    assert T.tokens(a) != T.tokens(b)


@pytest.mark.parametrize("text", ["13/45/1990", "2/30/1990", "00/00/0000"])
def test_impossible_dates_are_not_dates(text):
    (tok,) = T.tokens(text)
    assert T.canonical_date(tok) is None


def test_labels_are_split_from_values():
    assert T.tokens("SSN:123-45-6789, DOB=01/02/1990") == [b"ssn", b"123456789", b"dob",
                                                           b"1990-01-02"]


# fmt: off
NAMES = [
    ("John Smith",           [b"john", b"smith"]),
    ("Smith, John",          [b"john", b"smith"]),
    ("SMITH, JOHN Q.",       [b"john", b"smith"]),
    ("John Q. Smith",        [b"john", b"smith"]),
    ("Dr. John Quincy Smith Jr.", [b"john", b"smith"]),
    ("Mary O'Brien-Kelly",   [b"mary", b"obrienkelly"]),
    ("Cher",                 [b"cher"]),
    ("",                     []),
]
# fmt: on


@pytest.mark.parametrize(("cell", "parts"), NAMES)
def test_name_parts(cell, parts):
    assert name_parts(cell) == parts


def test_name_value_is_order_free():
    h = T.TokenHasher(b"k" * 32)
    a = sum(h(t) for t in cell_tokens("name", "Smith, John"))
    b = sum(h(t) for t in cell_tokens("name", "John A. Smith"))
    assert a == b
    assert a != sum(h(t) for t in cell_tokens("name", "John Smyth"))


@pytest.mark.parametrize(("kind", "cell", "ok"), [
    ("date", "not a date", False),
    ("date", "1990-01-02 00:00:00", True),
    ("number", "  ", False),
    ("text", "a b c d e f g h i", False),      # longer than MAX_TEXT_TOKENS
    ("text", "12 Main St", True),
])
def test_unusable_cells(kind, cell, ok):
    assert (cell_tokens(kind, cell) is not None) is ok


def test_keyed_hashes_depend_on_the_key():
    assert T.TokenHasher(b"a" * 32)(b"smith") != T.TokenHasher(b"b" * 32)(b"smith")
    assert T.TokenHasher(b"a" * 32)(b"smith") < 1 << T.HASH_BITS
    assert "key" not in repr(T.TokenHasher(b"secret-secret-secret")).replace("<key>", "")


@pytest.mark.parametrize(("spec", "kind", "weight", "required", "sources"), [
    ("ssn:number:2", "number", 2, False, ("ssn",)),
    ("dob", "date", 1, False, ("dob",)),
    ("Date of Birth", "date", 1, False, ("Date of Birth",)),
    ("full=first+last:name:1:required", "name", 1, True, ("first", "last")),
    ("case_number", "number", 1, False, ("case_number",)),
    ("email", "text", 1, False, ("email",)),
])
def test_parse_column(spec, kind, weight, required, sources):
    c = parse_column(spec)
    assert (c.kind, c.weight, c.required, c.sources) == (kind, weight, required, sources)


@pytest.mark.parametrize("spec", ["ssn:numbr", "ssn:number:0", "ssn:number:x"])
def test_parse_column_errors(spec):
    with pytest.raises(ValueError, match="column"):
        parse_column(spec)


def test_guess_kind_headers():
    assert [guess_kind(h) for h in ("SSN", "Birth Date", "Phone", "Last Name", "Notes")] == [
        "number", "date", "number", "name", "text"]


def test_winnowing_guarantee():
    """Any run of w + k - 1 k-gram positions ... i.e. every window of w hashes has a pick."""
    import random

    r = random.Random(5)
    hashes = [r.getrandbits(60) for _ in range(500)]
    w = 4
    picks = set(winnow(hashes, w))
    for start in range(len(hashes) - w + 1):
        assert picks & set(range(start, start + w))
    # density close to 2 / (w + 1) for random hashes
    assert 0.3 < len(picks) / len(hashes) < 0.5


# ---- the body side (TokenView) gives exactly the tokens of the simple path ----

_PIECES = ["January", "2,", "1990", "2nd", "jan.", "and/or", "O'Brien", "(914)", "555-1234", "--",
           "12/31/99", "José", "19900102", "(", ")", "a-b", "2000", "19999", "she", "the",
           "078-05-1120", "x@example.org", "Ünïcödé", "\t", "\n", ",", "1-914-555-1234", "ß"]


def _slow(hasher, datas):
    return [hasher(c) for d in datas for c in T.tokens(d)]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("cache_bits", [20, 0])
def test_token_view_stream_equals_the_simple_path(cache_bits, compiled):
    import random

    r = random.Random(11)
    h = T.TokenHasher(b"k" * 32, cache_bits=cache_bits, compiled=compiled)
    assert (h.compiled is not None) == compiled
    bodies = [[b""], [b"", b"a", b"  ", b"---"], [b"jan 2", b"1990 x"],
              # a token longer than one numpy pass, then a value after it
              [b"y" * (T._CHUNK + 10) + b" 078-05-1120"],
              # long enough for the numpy year search and several passes
              [" ".join(r.choices(_PIECES, k=120_000)).encode()]]
    bodies += [[" ".join(r.choices(_PIECES, k=r.randint(0, 400))).encode()
                for _ in range(r.randint(1, 4))] for _ in range(200)]
    for datas in bodies:
        for _ in range(2):       # cold, then with the words cached
            assert T.TokenView(datas, h).stream.tolist() == _slow(h, datas)


def test_month_dates_do_not_join_two_segments():
    h = T.TokenHasher(b"k" * 32)
    view = T.TokenView([b"due jan 2", b"1990 report"], h)
    assert view.stream.tolist() == _slow(h, [b"due jan 2", b"1990 report"])
    assert h(b"1990-01-02") not in view.stream.tolist()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_token_view_provenance_and_rare_tokens(compiled):
    from agent.extract.model import Segment

    h = T.TokenHasher(b"k" * 32, compiled=compiled)
    segs = [Segment(b"hello there", "json:$.a"), Segment(b"", "json:$.b"),
            Segment(b"ssn 078-05-1120 ok", "json:$.c")]
    view = T.TokenView([s.data for s in segs], h)
    assert [view.where(i, segs) for i in range(len(view.stream))] == ["json:$.a"] * 2 + ["json:$.c"] * 3
    assert view.rare.tolist() == [h(b"078051120")]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_the_word_cache_never_holds_a_number(compiled):
    import numpy as np

    h = T.TokenHasher(b"k" * 32, compiled=compiled)
    body = b"client ssn 078-05-1120 phone 914.555.1234 case 2023-CV-001234"
    T.TokenView([body], h)
    for raw in body.split():
        if compiled:
            hit = h.compiled.cached(raw.lower())
        else:
            _, _, rh = T._raw().tokens(np.frombuffer(raw.lower(), np.uint8))
            hit = bool(h.cached(rh)[1][0])
        assert hit == raw.isalpha(), raw


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_token_view_stops_at_its_deadline(compiled):
    """A body of nothing but distinct numbers costs a canonical form and a keyed hash per
    token: the view gives up at the deadline instead of running on for minutes."""
    import random
    import time

    from agent.fingerprint.model import DeadlineExceeded

    r = random.Random(3)
    body = b" ".join(b"%09d" % r.randrange(10**9) for _ in range(400_000))   # 4 MB
    h = T.TokenHasher(b"k" * 32, compiled=compiled)
    t = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        # the compiled path makes the 400,000 numbers in ~0.1 s: a shorter deadline to miss
        T.TokenView([body], h, deadline=time.monotonic() + (0.01 if compiled else 0.2))
    assert time.monotonic() - t < 1.5
