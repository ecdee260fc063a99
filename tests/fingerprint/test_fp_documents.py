"""Indexed document matching: a protected memo retyped into a post is recognised, others are not."""

from __future__ import annotations

import json

import fp_synth as S
import pytest
from fp_helpers import HR_NOTE, SNOW_MEMO, main, pdf_bytes

from agent.detect import Scanner
from agent.extract.model import Segment
from agent.fingerprint import load_index, read_key
from agent.fingerprint import tokens as T
from agent.fingerprint.documents import DocumentMatcher, build_documents, document_id
from agent.inspect import Inspector

IDM = "IDM:memos"

# About half of the memo, sentences reordered, words changed, abbreviations, hashtags.
RETYPED_POST = """\
Heard from a friend who works for the county: nobody is getting laid off but fourteen positions \
get reassigned. The union wants mileage reimbursement for anyone whose commute grows by more than \
12 miles each way. Budget office wants to close the Peekskill annex at the end of the second \
quarter and move the caseworkers to the Yonkers office on Nepperhan Ave, which apparently has \
eleven empty workstations and a renovated intake area. Occupancy at the Peekskill annex averaged \
31 percent while maintenance costs went up eighteen percent after the roof replacement got \
deferred twice!! And get this - the sale of the annex parcel on Division Street is not supposed \
to be discussed until the Legislature's budget committee gets briefed in executive session. \
Two developers already approached the Real Estate Division about the site. #westchester #peekskill
"""

SAME_TOPIC_OTHER_TEXT = """\
The Budget Office reviewed the snow removal contract for the fiscal year. The County \
Legislature's Budget and Appropriations Committee will be briefed on the proposed increase in \
the salt budget, and the Department of Public Works recommends extending the contract with the \
current vendor for two more years. Comments on the draft should be sent to the Budget Director \
by the end of the second quarter. Staff at the Yonkers garage will not be reassigned.
"""

COMMON_PHRASE = ("Please send comments on the draft timeline to the Budget Director by the "
                 "fifteenth.")


@pytest.fixture(scope="module")
def matcher(idm_index, key_file):
    return load_index(idm_index, read_key(key_file))


@pytest.fixture(scope="module")
def inspector(matcher):
    return Inspector(Scanner(), matchers=[matcher])


def _memo_hit(inspector, body: bytes, **kw):
    return inspector.inspect(body, **kw).detections.get(IDM)


@pytest.mark.parametrize("wrap", ["text", "json", "form", "pdf"])
def test_retyped_memo_post_matches_its_document(inspector, key_file, wrap):
    if wrap == "json":
        body, ct = json.dumps({"status": RETYPED_POST, "visibility": "public"}).encode(), \
            "application/json"
    elif wrap == "form":
        from urllib.parse import urlencode

        body, ct = urlencode({"post": RETYPED_POST}).encode(), "application/x-www-form-urlencoded"
    elif wrap == "pdf":
        body, ct = pdf_bytes(RETYPED_POST), None
    else:
        body, ct = RETYPED_POST.encode(), "text/plain"
    d = _memo_hit(inspector, body, content_type=ct)
    assert d is not None and d.count == 1
    memo_id = document_id(read_key(key_file), "budget/Annex consolidation.docx")
    (sample,) = d.samples
    ref, pct = sample.rsplit(" ", 1)
    assert ref == f"doc {memo_id}"
    fraction = int(pct.rstrip("%")) / 100
    # About half the memo with edits: a sensible share above the 10% threshold (0.14-0.28
    # over 40 random keys: which k-grams winnowing keeps depends on the key).
    assert 0.12 <= fraction <= 0.6


def test_whole_memo_matches_with_full_fraction(matcher):
    (hit,) = matcher.match([Segment(S.MEMO.encode(), "body")])
    assert hit.fraction == 1.0


@pytest.mark.parametrize("text", [S.UNRELATED_POST, SAME_TOPIC_OTHER_TEXT, COMMON_PHRASE,
                                  COMMON_PHRASE * 5])
def test_unrelated_text_does_not_match(matcher, text):
    assert matcher.match([Segment(text.encode(), "body")]) == []


def test_each_protected_format_is_recognised(matcher):
    """The PDF and plain-text documents of the collection are fingerprinted too."""
    refs = set()
    for text in (SNOW_MEMO, HR_NOTE):
        (hit,) = matcher.match([Segment(text.encode(), "body")])
        assert hit.fraction >= 0.9
        refs.add(hit.ref)
    assert len(refs) == 2


def test_a_quarter_of_the_memo_still_matches_a_tenth_does_not():
    key = b"q" * 32
    paragraphs = S.MEMO.split("\n\n")
    manifest, arrays = build_documents([("memo", T.tokens(S.MEMO))], key, "memos")
    m = DocumentMatcher(manifest, arrays, key)
    quarter = paragraphs[3].encode()            # one of four body paragraphs
    (hit,) = m.match([Segment(quarter, "body")])
    assert 0.12 <= hit.fraction <= 0.5
    tenth = b" ".join(paragraphs[3].encode().split()[:22])
    assert m.match([Segment(tenth, "body")]) == []


def test_document_ids_not_paths_by_default(idm_index, memo_dir, key_file):
    manifest = json.loads((idm_index / "manifest.json").read_text())
    assert all("title" not in d for d in manifest["documents"])
    assert "Annex" not in (idm_index / "manifest.json").read_text()
    key = read_key(key_file)
    ids = {d["id"] for d in manifest["documents"]}
    assert document_id(key, "budget/Annex consolidation.docx") in ids


def test_titles_are_stored_only_when_asked(fp_dir, key_file, memo_dir, capsys):
    
    out = fp_dir / "idx-titled"
    assert main(["fingerprint", "documents", "--collection", "titled", "--key-file",
                 str(key_file), str(memo_dir), "--out", str(out), "--titles"]) == 0
    m = load_index(out, read_key(key_file))
    (hit,) = m.match([Segment(SNOW_MEMO.encode(), "body")])
    assert hit.title == "snow.pdf"
    printed = capsys.readouterr().out
    assert "budget/Annex consolidation.docx" in printed        # the id -> path list
