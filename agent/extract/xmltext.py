"""Streaming XML text extraction with expat, entity and DTD tricks refused.

pyexpat is driven directly (not through a SAX reader or a tree) because per-element Python
calls are the cost of OOXML extraction; the defences are defusedxml's: an entity declaration,
an unparsed entity or an external reference raises (so a billion-laughs document is a
``parse_error``, never an expansion), and the office formats, which never carry a DTD, refuse
any DOCTYPE at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pyexpat import XML_PARAM_ENTITY_PARSING_NEVER as _NO_PARAM_ENTITIES
from pyexpat import ExpatError, ParserCreate, XMLParserType

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from agent.extract.budget import Budget, Exhausted, SegmentWriter, Unreadable
from agent.extract.model import TableLayout

FEED = 1 << 20
_FLUSH = 1 << 20


def _no_dtd(name, sysid, pubid, has_internal_subset):
    raise DTDForbidden(name, sysid, pubid)


def _no_entity(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _no_unparsed_entity(name, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _no_external(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def new_parser(forbid_dtd: bool = True) -> XMLParserType:
    p = ParserCreate()
    p.buffer_text = True
    p.buffer_size = 1 << 16
    p.SetParamEntityParsing(_NO_PARAM_ENTITIES)
    if forbid_dtd:
        p.StartDoctypeDeclHandler = _no_dtd
    p.EntityDeclHandler = _no_entity
    p.UnparsedEntityDeclHandler = _no_unparsed_entity
    p.ExternalEntityRefHandler = _no_external
    return p


def feed(parser: XMLParserType, chunks: Iterable[bytes], budget: Budget, path: str) -> None:
    """Parse ``chunks`` to the end, checking the deadline between them."""
    try:
        for chunk in chunks:
            for i in range(0, len(chunk), FEED):
                budget.tick(path)
                parser.Parse(chunk[i:i + FEED] if len(chunk) > FEED else chunk, False)
        parser.Parse(b"", True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as e:
        raise Unreadable("parse_error", f"XML {type(e).__name__}: DTD/entity tricks refused") \
            from None
    except ExpatError as e:
        raise Unreadable("parse_error", f"malformed XML (line {e.lineno})") from None


def local_names() -> Callable[[str], str]:
    """A memoised ``"w:t" -> "t"``: prefixes vary, elements are matched on local names."""
    cache: dict[str, str] = {}

    def local(name: str) -> str:
        try:
            return cache[name]
        except KeyError:
            cache[name] = ln = name.rpartition(":")[2]
            return ln
    return local


class TextBuffer:
    """Text pieces of one segment, charged against the byte budget as they grow.

    Charging as we go matters where output can outgrow input (one shared string referenced by
    a million cells): the budget stops the parse instead of memory running out. Every
    ``_FLUSH`` characters the pieces (but the last, which handlers may still replace) are
    encoded and handed to a ``SegmentWriter``, which moves them to the body's spool once its
    text passes ``Limits.memory_text_bytes``: a huge part never sits in memory as a list of
    small strings.
    """

    def __init__(self, budget: Budget, path: str):
        self.budget = budget
        self.path = path
        self.parts: list[str] = []
        self._pending = 0
        self._out: SegmentWriter | None = None
        self.full = False

    def add(self, s: str) -> None:
        self.parts.append(s)
        self._pending += len(s)
        if self._pending >= _FLUSH:
            self.charge()

    def charge(self) -> None:
        """Hand pending text to the writer; raise BufferFull once the budget is spent."""
        if self.full:
            raise BufferFull
        if len(self.parts) < 2:
            return
        last = self.parts.pop()
        data = "".join(self.parts).encode("utf-8", "surrogatepass")
        self.parts = [last]
        self._pending = len(last)
        if self._out is None:
            self._out = self.budget.writer(self.path)
        if not self._out.write(data):
            self.full = True
            raise BufferFull

    def last(self) -> str:
        return self.parts[-1] if self.parts else ""

    def discard(self) -> None:
        self.parts = []
        self._pending = 0
        if self._out is not None:
            self._out.discard()
            self._out = None

    def flush(self, field: str | None = None, table: TableLayout | None = None) -> None:
        """Emit what was collected (also after a failure: partial text is still inspected)."""
        out, self._out = self._out, None
        if out is None:
            if not self.parts:
                return
            data = "".join(self.parts).encode("utf-8", "surrogatepass")
            self.parts = []
            self._pending = 0
            self.budget.emit(data.strip(b"\n"), self.path, field, table, final=True)
            return
        if self.parts and not self.full:
            data = "".join(self.parts).encode("utf-8", "surrogatepass")
            try:
                out.write(data)
            except Exhausted:
                pass    # the budget is spent: what was written is still emitted
        self.parts = []
        self._pending = 0
        out.close(field, table)


class BufferFull(Exception):
    """The byte budget ran out while text was being collected (size_limit already recorded)."""


def run_parse(parser: XMLParserType, chunks: Iterable[bytes], budget: Budget, path: str,
              buf: TextBuffer) -> None:
    """``feed`` with the buffer's budget stop turned into a clean end of input."""
    try:
        feed(parser, chunks, budget, path)
    except BufferFull:
        pass


class AllText:
    """Every text node (and optionally attribute value), one item per line.

    For XML bodies and for the minor parts of office files (properties, charts, comments).
    """

    def __init__(self, buf: TextBuffer, attributes: bool = False, within: str | None = None):
        self.buf = buf
        self.attributes = attributes
        self.within = within          # only text inside elements with this local name
        self._inside = 0 if within else 1
        self._local = local_names()

    def attach(self, p: XMLParserType) -> XMLParserType:
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        return p

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.within and self._local(name) == self.within:
            self._inside += 1
        if self.attributes and self._inside and attrs:
            for k, v in attrs.items():
                if v and not k.startswith("xmlns"):
                    self.buf.add(v)
                    self.buf.add("\n")

    def end(self, name: str) -> None:
        if self.within and self._local(name) == self.within:
            self._inside -= 1
        if self._inside and self.buf.last() not in ("\n", ""):
            self.buf.add("\n")

    def chars(self, data: str) -> None:
        if self._inside and not data.isspace():
            self.buf.add(data)


def xml_text(data: bytes, budget: Budget, path: str, field: str | None = None,
             charged: bool = False) -> Unreadable | None:
    """One segment holding the text nodes and attribute values of an XML document.

    XML that does not parse (or declares entities) is inspected as the raw text it is, and
    the problem is returned for the caller to record or not.
    """
    buf = TextBuffer(budget, path)
    parser = AllText(buf, attributes=True).attach(new_parser(forbid_dtd=False))
    try:
        run_parse(parser, [data], budget, path, buf)
    except Unreadable as u:
        buf.discard()
        budget.emit(data, path, field, charged=charged)
        return u
    except Exhausted:
        buf.flush(field)
        raise
    buf.flush(field)
    return None
