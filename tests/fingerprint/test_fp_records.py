"""Exact data match against a 100,000-row records index, through the Inspector and extraction."""

from __future__ import annotations

import csv
import io
import json
import random

import fp_synth as S
import pytest
from fp_helpers import docx_bytes

from agent.detect import Scanner
from agent.fingerprint import load_index, read_key
from agent.fingerprint.model import parse_column
from agent.fingerprint.records import build_records
from agent.inspect import Inspector

EDM = "EDM:clerk_records"


@pytest.fixture(scope="module")
def inspector(edm_index, key_file):
    return Inspector(Scanner(), matchers=[load_index(edm_index, read_key(key_file))])


@pytest.fixture(scope="module")
def leaked(persons):
    return random.Random(2024).sample(persons, 25)


@pytest.fixture(scope="module")
def strangers():
    # Same generator, other seed, disjoint SSN pool: same shape, unrelated people.
    return S.people(25, seed=4242, ssn_pool_offset=7)


def _csv(ps, fields=("name", "dob")) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Client", "Born", "Worker notes"][:len(fields)] if fields != ("ssn",) else ["SSN"])
    for p in ps:
        d = S.reformatted(p)
        w.writerow([d[f] for f in fields])
    return out.getvalue().encode()


def _json(ps, fields=("name", "dob")) -> bytes:
    return json.dumps({"clients": [
        {"client": S.reformatted(p)["name"], "born": S.reformatted(p)["dob"],
         "notes": "called back, left message"} if fields == ("name", "dob")
        else {f: S.reformatted(p)[f] for f in fields} for p in ps]}).encode()


def _docx(ps, fields=("name", "dob")) -> bytes:
    table = [["Client", "Date of birth"][:len(fields)]]
    table += [[S.reformatted(p)[f] for f in fields] for p in ps]
    return docx_bytes(["Clients seen this week (do not forward)."], table)


def _prose(ps, fields=("name", "dob")) -> bytes:
    lines = []
    for p in ps:
        d = S.reformatted(p)
        if fields == ("name", "dob"):
            lines.append(f"Spoke with {p.first} {p.last} (born {p.dob:%B} {p.dob.day}, "
                         f"{p.dob.year}) about the hearing.")
        else:
            lines.append(" ".join(d[f] for f in fields))
    return "\n".join(lines).encode()


def _xlsx(ps, fields=("name", "dob")) -> bytes:
    """A spreadsheet whose dates are real date cells (stored as day serials, shown as dates)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Client", "Date of birth"][:len(fields)])
    for p in ps:
        row = {"name": S.reformatted(p)["name"], "dob": p.dob}
        ws.append([row[f] for f in fields])
        ws.cell(ws.max_row, 2).number_format = "mm/dd/yyyy"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BODIES = {"csv": _csv, "json": _json, "docx": _docx, "prose": _prose, "xlsx": _xlsx}


@pytest.mark.parametrize("shape", sorted(BODIES))
def test_25_leaked_rows_reordered_and_reformatted_match_exactly_25(inspector, leaked, shape):
    rows = list(leaked)
    random.Random(1).shuffle(rows)
    result = inspector.inspect(BODIES[shape](rows))
    d = result.detections[EDM]
    assert d.count == 25 and d.distinct == 25
    assert result.complete
    assert all(s.endswith("full_name+dob") for s in d.samples)
    assert d.verdicts == {"exact": 25}


@pytest.mark.parametrize("shape", sorted(BODIES))
def test_unrelated_people_of_the_same_shape_match_nothing(inspector, strangers, shape):
    result = inspector.inspect(BODIES[shape](strangers))
    assert EDM not in result.detections


def test_names_without_dates_do_not_match_when_two_fields_are_needed(inspector, leaked):
    body = "\n".join(S.reformatted(p)["name"] for p in leaked).encode()
    assert EDM not in inspector.inspect(body).detections


def test_dates_without_names_do_not_match(inspector, leaked):
    body = "\n".join(S.reformatted(p)["dob"] for p in leaked).encode()
    assert EDM not in inspector.inspect(body).detections


def test_leaked_names_with_other_peoples_dates_do_not_match(inspector, leaked, strangers):
    body = "\n".join(f"{S.reformatted(a)['name']},{S.reformatted(b)['dob']}"
                     for a, b in zip(leaked, strangers, strict=True)).encode()
    assert EDM not in inspector.inspect(body).detections


def test_ssn_alone_is_enough_with_weight_2(inspector, leaked):
    body = "\n".join(f"SSN {p.ssn}" for p in leaked[:7]).encode()
    d = inspector.inspect(body).detections[EDM]
    assert d.count == 7
    assert all(s.endswith(": ssn") for s in d.samples)


def test_case_number_and_phone_together_match(inspector, leaked):
    p = leaked[0]
    body = f"re {p.case}, call back at {p.phone[:3]}-{p.phone[3:6]}-{p.phone[6:]}".encode()
    assert inspector.inspect(body).detections[EDM].count == 1


def test_fields_far_apart_do_not_make_a_row(inspector, leaked):
    p = leaked[0]
    filler = " ".join(["word"] * 60)
    far = f"{p.first} {p.last} {filler} born {p.dob:%m/%d/%Y}".encode()
    near = f"{p.first} {p.last} born {p.dob:%m/%d/%Y}".encode()
    assert EDM not in inspector.inspect(far).detections
    assert inspector.inspect(near).detections[EDM].count == 1


def test_middle_initial_between_first_and_last_name(inspector, leaked):
    p = leaked[3]
    body = f"{p.first} X. {p.last}, DOB {p.dob:%Y%m%d}".encode()
    assert inspector.inspect(body).detections[EDM].count == 1


def test_repeated_rows_count_once(inspector, leaked):
    body = _csv(leaked[:5] * 4)
    assert inspector.inspect(body).detections[EDM].count == 5


def test_where_names_the_json_field(inspector, leaked):
    d = inspector.inspect(_json(leaked[:2]), content_type="application/json").detections[EDM]
    assert all(w.startswith("json:$.clients[") for w in d.where)


def test_required_column_and_weights_from_the_manifest():
    key = b"k" * 32
    header = ["name", "dob", "zip"]
    rows = [["Ann Lee", "1970-05-06", "10601"], ["Bo Chen", "1980-07-08", "10701"]]
    cols = [parse_column(c) for c in ("name:name:1:required", "dob:date", "zip:number")]
    manifest, arrays, stats = build_records(rows, header, cols, key, "tiny", min_fields=2)
    from agent.extract.model import Segment
    from agent.fingerprint.records import RecordMatcher

    m = RecordMatcher(manifest, arrays, key)
    assert [h.ref for h in m.match([Segment(b"Lee, Ann 5/6/1970", "b")])] == ["row 1"]
    # dob + zip reach min_fields but the required name is missing
    assert m.match([Segment(b"born 5/6/1970 zip 10601", "b")]) == []
    assert stats.distinct == {"name": 2, "dob": 2, "zip": 2}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dataset": "Clerk Records"}, "must match"),
    ({"min_fields": 5}, "no row could ever match"),
    ({"columns": ["name:name", "nope:text"]}, "no header 'nope'"),
])
def test_build_errors(kwargs, message):
    args = {"dataset": "ok", "min_fields": 2, "columns": ["name:name", "dob:date"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        build_records([["A B", "1990-01-01"]], ["name", "dob"],
                      [parse_column(c) for c in args["columns"]], b"k" * 32, args["dataset"],
                      min_fields=args["min_fields"])


def test_multi_word_text_column_walks_every_ngram():
    """Text cells of several words (an address) are found as runs of tokens, any case/spacing."""
    from agent.extract.model import Segment
    from agent.fingerprint.records import RecordMatcher

    key = b"k" * 32
    rows = [["Ann Lee", "12 Main St"], ["Bo Chen", "40 Post Rd"]]
    cols = [parse_column(c) for c in ("name:name", "address:text")]
    manifest, arrays, _ = build_records(rows, ["name", "address"], cols, key, "addr",
                                        min_fields=2)
    m = RecordMatcher(manifest, arrays, key)
    assert [h.ref for h in m.match([Segment(b"BO CHEN lives at 40 post rd.", "b")])] == ["row 2"]
    assert m.match([Segment(b"Bo Chen lives at 12 Main St", "b")]) == []
    assert m.match([Segment(b"Ann Lee, 40 Main St", "b")]) == []


@pytest.mark.parametrize("shape", ["csv", "prose"])
def test_rows_are_found_when_the_text_is_matched_in_windows(inspector, leaked, monkeypatch, shape):
    """Giant (spilled) texts are matched in overlapping windows: a row cut by a window edge is
    whole in the next window, and no row is counted twice."""
    import agent.fingerprint as F

    body = BODIES[shape](list(leaked))
    monkeypatch.setattr(F, "WINDOW_BYTES", len(body) // 7)
    monkeypatch.setattr(F, "WINDOW_OVERLAP", 400)
    from agent.extract import extract

    segs = extract(body).segments
    assert len(list(F.windows(segs))) >= 7
    d = inspector.inspect(body).detections[EDM]
    assert d.count == 25 and d.distinct == 25


def test_windows_cover_every_byte_with_overlap():
    from agent.extract.model import Segment
    from agent.fingerprint import windows

    big = bytes(range(256)) * 40                      # 10,240 bytes
    segs = [Segment(b"a" * 10, "s0"), Segment(big, "s1"), Segment(b"b" * 5, "s2")]
    got = list(windows(segs, size=4096, overlap=100))
    assert [[s.where for s in w] for w in got] == [["s0"], ["s1"], ["s1"], ["s1"], ["s2"]]
    pieces = [w[0].data for w in got[1:4]]
    assert pieces[0] == big[:4096] and pieces[1] == big[3996:8192] and pieces[2] == big[8092:]


def test_rows_are_found_in_text_spilled_to_disk(edm_index, key_file, leaked, monkeypatch, tmp_path):
    import agent.fingerprint as F
    from agent.extract import Limits

    body = BODIES["docx"](list(leaked))
    spill = tmp_path / "spool"
    spill.mkdir()
    limits = Limits(memory_text_bytes=256, spill_dir=str(spill))
    inspector = Inspector(Scanner(), limits, matchers=[load_index(edm_index, read_key(key_file))])
    monkeypatch.setattr(F, "WINDOW_BYTES", 1500)
    monkeypatch.setattr(F, "WINDOW_OVERLAP", 400)
    from agent.extract import extract
    from agent.extract.spool import SpilledSegment

    ex = extract(body, limits=limits)
    assert any(isinstance(s, SpilledSegment) for s in ex.segments)
    ex.close()
    result = inspector.inspect(body)
    assert result.detections[EDM].count == 25
    assert list(spill.iterdir()) == []
