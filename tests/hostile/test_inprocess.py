"""Every hostile case that is a body (not HTTP framing) through ``agent.evaluate.evaluate``
with the shipped rules and a paste-site destination: no exception, a decision, the expected
uninspectable reason, the planted SSN found where the wrapper is readable, no external entity
fetched, and time within the budget (see judge.py for the rules)."""

from __future__ import annotations

import time

import pytest

from agent.extract.model import Limits
from agent.inspect import Inspector

from . import bombs as B
from .cases import CASES, PASTE_HOST, Env
from .judge import INPROC_SLACK_SECONDS
from .known_bugs import assert_judged, marks


def _params(slow: bool):
    return [pytest.param(c, id=c.name, marks=[*marks(c.name, "inproc"),
                                               *([pytest.mark.slow] if slow else [])])
            for c in CASES if c.inproc and c.slow == slow]


@pytest.mark.parametrize("case", _params(slow=False))
def test_case(inproc, wire, case):
    assert_judged(inproc.run(case, wire if case.watch else None), case.name, "inproc")


@pytest.mark.parametrize("case", _params(slow=True))
def test_slow_case(inproc_shipped, wire, case):
    assert_judged(inproc_shipped.run(case, wire if case.watch else None), case.name, "inproc")


def test_a_readable_body_is_judged_clean(inproc):
    """Control: the judge is not vacuous; an unremarkable body gets no reasons and no block."""
    from .cases import Case, post

    j = inproc.run(Case("control-clean", "control", post("text/plain", b"Library hours: 9-5."),
                        verdict="allow", outcomes=frozenset({"passed"})))
    assert j.ok, str(j)
    j = inproc.run(Case("control-wrong-expectation", "control",
                        post("text/plain", b"Library hours: 9-5."), verdict="block"))
    assert [k for k, _ in j.problems] == ["wrong"]


@pytest.mark.slow
def test_one_pdf_page_cannot_outrun_the_budget(inproc):
    """Regression (fixed in 62e1048): 80k text operators on one page took 6 s against a 0.5 s
    budget before extract_text checked the deadline between operators."""
    budget = 0.5
    inspector = Inspector(inproc.ruleset.scanner, Limits(max_seconds=budget))
    body = B.pdf_text_ops(80_000)          # 5 KB on the wire
    t = time.monotonic()
    r = inspector.inspect(body, "application/pdf")
    took = time.monotonic() - t
    assert "time_limit" in r.uninspectable_reasons
    assert took < budget + INPROC_SLACK_SECONDS, f"{took:.1f}s for a {len(body)}-byte PDF"


def test_tripwire_sees_a_parser_that_resolves_entities(wire):
    """Positive control for the tripwire: the standard library's SAX parser with external
    general entities switched on does open the bait file and dial the socket, so the zero
    counts the cases require mean something."""
    import io
    import xml.sax
    from xml.sax.handler import ContentHandler, feature_external_ges

    env = Env(PASTE_HOST, "/x", wire.file_url, wire.http_url)
    texts: list[str] = []

    class Collect(ContentHandler):
        def characters(self, content):
            texts.append(content)

    def parse(doc: bytes) -> None:
        parser = xml.sax.make_parser()
        parser.setFeature(feature_external_ges, True)
        parser.setContentHandler(Collect())
        try:
            parser.parse(io.BytesIO(doc))
        except (xml.sax.SAXException, OSError):
            pass          # the socket answers nothing; what matters is that it was dialled

    wire.file_events()
    parse(B.external_entity(env.file_url))
    assert "tripwire" in "".join(texts)
    assert wire.file_events() >= 1
    before = wire.connections
    parse(B.external_entity(env.http_url))
    deadline = time.monotonic() + 2
    while wire.connections == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wire.connections > before
