"""The compiled body path (agent/fingerprint/_fast.c) against the Python rules it must equal.

tokens.py's ``prepare``/``tokens`` and the numpy TokenView are the reference; the C module is
what the agent runs. Text is generated from the pieces the rules care about (dates in every
shape, month names, (914) phones, separators, edge characters, non-ASCII) so the regex-shaped
corners are hit, not just prose.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.fingerprint import tokens as T

needs_fast = pytest.mark.skipif(T._fast is None, reason="compiled module not built")

_ATOMS = ["jan", "January", "feb.", "Sept", "marching", "may", "dec", "1990", "2001", "1899", "20",
          "19", "2", "31", "12", "02", "1st", "2nd", "3rd", "4th", "13", "29", "0000", "0099",
          "99", "(", ")", "(914)", "555", "1234", "-", "/", ".", ",", ":", " ", "  ", "\t", "\n",
          "x", "_", "'", "#", "@", "é", "José", "ß", "O'Brien", "and/or", "1-914-555-1234",
          "078-05-1120", "19900229", "20000229", "2023-CV-001234", "a.b", "+1", "%", "&",
          "(914) 555-1234", "(914)\t555.1234", "(212)555 1234", "(212)\n555-12345", "Jan 2nd, 1990",
          "2 Feb 1990", "feb 30 2000", "february\n29,\t2000", "12/31/99", "1/2/2024", "31.12.1999"]

_text = st.lists(st.sampled_from(_ATOMS), max_size=60).map("".join)
_spaced = st.lists(st.sampled_from(_ATOMS), max_size=60).map(" ".join)


def test_the_compiled_module_is_built():
    """`make setup` builds it; the agent's figures (bench/bench_fingerprint.py) depend on it."""
    assert T._fast is not None, "agent/fingerprint/_fast.c not built: run make setup"
    assert T.TokenHasher(b"k" * 32).compiled is not None
    source = Path(T.__file__).with_name("_fast.c")
    assert Path(T._fast.__file__).stat().st_mtime >= source.stat().st_mtime, \
        "agent/fingerprint/_fast.c changed since it was built: run make setup"


@needs_fast
def test_keyed_hash_is_hashlib_blake2b():
    key = os.urandom(32)
    h = T.TokenHasher(key)
    base = hashlib.blake2b(key=T.derive_token_key(key), digest_size=8)
    for n in [*range(0, 260), 1000, 4096]:
        token = os.urandom(n)
        ref = base.copy()
        ref.update(token)
        assert h(token) == int.from_bytes(ref.digest(), "big") >> 4, n


@needs_fast
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_text, _spaced))
def test_prepare_equals_the_python_rules(text):
    data = text.encode()
    assert T._fast.prepare(data, T._pivot()) == T.prepare(data)


_H = {flag: T.TokenHasher(b"k" * 32, compiled=flag) for flag in (True, False)}


@needs_fast
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_text, _spaced), min_size=1, max_size=4))
def test_view_equals_the_numpy_view(texts):
    datas = [t.encode() for t in texts]
    fast, slow = T.TokenView(datas, _H[True]), T.TokenView(datas, _H[False])
    assert fast.stream.tolist() == slow.stream.tolist()
    assert fast.segment_of.tolist() == slow.segment_of.tolist()
    assert fast.rare.tolist() == slow.rare.tolist()
    assert fast.size == slow.size
    assert fast.stream.tolist() == [_H[True](c) for d in datas for c in T.tokens(d)]


@needs_fast
def test_view_of_hostile_bytes_equals_the_numpy_view():
    r = random.Random(5)
    for _ in range(300):
        datas = [bytes(r.randrange(256) for _ in range(r.randrange(0, 300)))
                 for _ in range(r.randint(1, 3))]
        fast, slow = T.TokenView(datas, _H[True]), T.TokenView(datas, _H[False])
        assert fast.stream.tolist() == slow.stream.tolist()
        assert fast.rare.tolist() == slow.rare.tolist()


@needs_fast
def test_sorted_set_finds_what_numpy_finds():
    r = np.random.default_rng(7)
    for n in (0, 1, 5, 1000, 200_000):
        values = np.unique(r.integers(0, 2**60, n, dtype=np.uint64))
        queries = np.concatenate([r.choice(values, min(n, 500)) if n else np.empty(0, np.uint64),
                                  r.integers(0, 2**60, 2000, dtype=np.uint64)])
        r.shuffle(queries)
        fast, slow = T.SortedSet(values, True), T.SortedSet(values, False)
        assert fast.find(queries).tolist() == slow.find(queries).tolist()
        for k in (1, 3, 5):
            # the k-grams of the non-members found in a second set: some of them are planted
            gs = T.np_window_sums(queries[~T.member(queries, values)], k)
            planted = np.unique(np.concatenate([gs[::7], r.integers(0, 2**60, 50, dtype=np.uint64)]))
            found_f, found_s = T.SortedSet(planted, True), T.SortedSet(planted, False)
            (vf, sf), (vs, ss) = fast.grams_in(queries, k, found_f), slow.grams_in(queries, k, found_s)
            assert vf.tolist() == vs.tolist() and sf.tolist() == ss.tolist()
            assert len(vs) >= len(gs[::7])


@needs_fast
def test_sorted_set_refuses_unsorted_values():
    with pytest.raises(ValueError, match="sorted"):
        T._fast.U64Set(np.array([3, 1, 2], np.uint64))


@needs_fast
def test_row_windows_agree_with_the_python_window_test():
    """The C window test names the same rows as RecordMatcher._row_match."""
    from agent.fingerprint.model import Column
    from agent.fingerprint.records import RecordMatcher

    r = random.Random(9)
    matched = 0
    for trial in range(60):
        ncols = r.randint(1, 5)
        cols = [Column(f"c{i}", (f"c{i}",), "number", r.randint(1, 2), r.random() < 0.2)
                for i in range(ncols)]
        need = r.randint(1, 4)
        manifest = {"name": "t", "key_id": "x", "columns": [c.to_dict() for c in cols],
                    "min_fields": need, "window": r.choice([2, 5, 32]), "name_columns": []}
        empty = np.empty(0, np.uint64)
        m = RecordMatcher(manifest, {"values": empty, "rows": np.empty(0, np.uint32),
                                     "cols": np.empty(0, np.uint8), "nameparts": empty,
                                     "words": empty}, b"k" * 32)
        n = r.randint(0, 300)
        rows = np.array([r.randrange(20) for _ in range(n)], np.int64)
        pos = np.array([r.randrange(200) for _ in range(n)], np.int64)
        cc = np.array([r.randrange(ncols) for _ in range(n)], np.uint8)
        fast = m._matched_rows(pos, rows, cc)
        m._compiled = False
        slow = m._matched_rows(pos, rows, cc)
        assert fast == slow, trial
        matched += bool(slow)
    assert matched > 20           # the trials do exercise matching rows


@needs_fast
@pytest.mark.parametrize("columns,min_fields", [
    (["full_name:name", "dob:date", "ssn:number:2", "case_number:number", "phone:number"], 2),
    (["full_name:name:1:required", "dob:date", "case_number:number"], 3),
])
def test_edm_matching_is_the_same_compiled_and_in_numpy(columns, min_fields):
    """Candidate rows (C hash aggregation vs numpy sorts) and the rows matched, for bodies
    with leaked rows among strangers who share dates of birth and names with the index."""
    import csv
    import io

    import fp_synth as S

    from agent.extract.model import Segment
    from agent.fingerprint import records
    from agent.fingerprint.model import parse_column

    key = b"k" * 32
    persons = S.people(20_000)
    manifest, arrays, _ = records.build_records(
        (S.source_row(p) for p in persons), S.HEADER, [parse_column(c) for c in columns], key,
        "clerk", min_fields=min_fields)
    arrays = {k: np.frombuffer(bytes(v), {"Q": np.uint64, "I": np.uint32, "B": np.uint8}[v.typecode])
              for k, v in arrays.items()}
    fast = records.RecordMatcher(manifest, arrays, key, T.TokenHasher(key))
    slow = records.RecordMatcher(manifest, arrays, key, T.TokenHasher(key, compiled=False))
    assert fast._compiled and not slow._compiled
    r = random.Random(4)
    strangers = S.people(3000, seed=77, ssn_pool_offset=8)
    compared = matched = 0
    for _ in range(6):
        rows = r.sample(persons, 15) + r.sample(strangers, 300)
        r.shuffle(rows)
        f = io.StringIO()
        w = csv.writer(f)
        for p in rows:
            d = S.reformatted(p)
            w.writerow([d["name"], d["dob"], d["ssn"], p.case])
        seg = [Segment(f.getvalue().encode(), "body")]
        vf, vs = T.TokenView([seg[0].data], fast._hasher), T.TokenView([seg[0].data], slow._hasher)
        singles = vf.rare[fast._value_set.find(vf.rare)]
        a = fast._candidates(singles, vf)
        b = slow._candidates_numpy(singles, vs)
        if a is None:
            assert b is None or fast._multi_weight >= fast.min_fields
        else:
            assert sorted(zip(a.values.tolist(), a.rows.tolist(), a.cols.tolist(), strict=True)) == \
                sorted(zip(b.values.tolist(), b.rows.tolist(), b.cols.tolist(), strict=True))
            assert a.names == b.names
            compared += len(a.values)
        hits_fast, hits_slow = fast.match(seg), slow.match(seg)
        assert hits_fast == hits_slow
        matched += len(hits_fast)
    assert matched >= 6 * 15 * 0.8      # the leaked rows are found (reformatted)
    assert compared or fast._multi_weight >= fast.min_fields


@needs_fast
def test_compiled_objects_refuse_misuse():
    """Matcher threads share these objects: re-initialising one under them would free memory
    they read, and an uninitialised one has no tables. Both are errors, never a crash."""
    h = T._fast.Hasher(b"k" * 32, 4, b"s" * 16)
    with pytest.raises(TypeError, match="already"):
        h.__init__(b"k" * 32, 4, b"s" * 16)
    s = T._fast.U64Set(np.array([1, 2], np.uint64))
    with pytest.raises(TypeError, match="already"):
        s.__init__(np.array([3], np.uint64))
    assert np.frombuffer(s.find(np.array([3, 2], np.uint64)), np.int64).tolist() == [1]
    bare_h = T._fast.Hasher.__new__(T._fast.Hasher)
    bare_s = T._fast.U64Set.__new__(T._fast.U64Set)
    with pytest.raises(TypeError, match="not initialised"):
        bare_h.view([b"x"], 26, 0.0, T.canonical)
    with pytest.raises(TypeError, match="not initialised"):
        bare_s.find(np.array([1], np.uint64))
    with pytest.raises(ValueError):
        T._fast.Hasher(b"", 4, b"s" * 16)
    with pytest.raises(ValueError, match="unsorted"):
        T._fast.U64Set(np.zeros((1 << 18) + 1, np.uint64), False)


@needs_fast
def test_view_of_nothing_but_month_dates_stops_at_its_deadline():
    """Every year in "jan 1 1990 jan 1 1990 ..." costs a lookback before any token is made:
    the deadline is read during that pass too."""
    import time

    from agent.fingerprint.model import DeadlineExceeded

    body = b"jan 1 1990 " * 1_500_000          # 16.5 MB
    h = T.TokenHasher(b"k" * 32)
    t = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        T.TokenView([body], h, deadline=time.monotonic() + 0.005)
    assert time.monotonic() - t < 0.5
