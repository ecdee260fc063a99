"""Office Open XML: docx, xlsx and pptx text, read from the package's XML parts with expat.

Not python-docx/openpyxl: those build whole object models (slow, memory-hungry, and they skip
headers, comments and deleted text); a proxy needs the text only, streamed part by part.

- docx: body (tables, text boxes, tracked deletions), headers, footers, footnotes, endnotes,
  comments, charts and SmartArt text, document properties, embedded files.
- xlsx: see ``xlsx.py``.
- pptx: slides in presentation order, their speaker notes, comments, charts, properties.
"""

from __future__ import annotations

import html
import re
import zipfile

from agent.extract.blob import Blob, Walker
from agent.extract.package import Package, stem
from agent.extract.xmltext import TextBuffer, local_names


class RunText:
    """Text of WordprocessingML / DrawingML runs, with paragraph, tab and table-cell breaks.

    A table row comes out as one tab-delimited line (paragraphs inside a cell are joined by
    spaces), so a value keeps its row neighbours as context.
    """

    TEXT = frozenset({"t", "delText"})     # deleted (tracked) text is still in the file
    AT_START = {"tab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}

    def __init__(self, buf: TextBuffer):
        self.buf = buf
        self.inside = 0
        self.cells = 0
        self.local = local_names()

    def attach(self, p) -> None:
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars

    def start(self, name: str, attrs) -> None:
        ln = self.local(name)
        if ln in self.TEXT:
            self.inside += 1
        elif ln == "tc":
            self.cells += 1
        else:
            mark = self.AT_START.get(ln)
            if mark:
                self.buf.add(mark)

    def end(self, name: str) -> None:
        ln = self.local(name)
        if ln in self.TEXT:
            self.inside -= 1
        elif ln == "p":
            self.buf.add(" " if self.cells else "\n")
        elif ln == "tc":
            self.cells -= 1
            self._replace_last(" ", "\t")
        elif ln == "tr":
            self._replace_last("\t", "\n")

    def _replace_last(self, old: str, new: str) -> None:
        parts = self.buf.parts
        if parts and parts[-1] == old:
            parts[-1] = new
        else:
            self.buf.add(new)

    def chars(self, data: str) -> None:
        if self.inside:
            self.buf.add(data)

    @staticmethod
    def fast(data: bytes) -> bytes | None:
        """The same text by one regex pass (no per-element Python calls); None when the part
        has constructs the regex does not model (CDATA, comments, DTDs, instructions)."""
        runs = FastRuns()
        text = runs.feed(data)
        return None if text is None else (text + runs.end()).strip(b"\n")


class FastRuns:
    """``RunText.fast`` over a part fed in pieces cut after a paragraph end, so a large part
    is never held whole, nor its token list: the table-cell count carries over, and the last
    token of each piece is held back because the next piece may replace it (a cell's closing
    tag turns the paragraph's space into a tab)."""

    def __init__(self):
        self.cells = 0
        self.last: bytes | None = None
        self.first = True

    def cut(self, data: bytes) -> int:
        return paragraph_end(data)

    def feed(self, data: bytes) -> bytes | None:
        """Text of the next piece of the part; None: not for the regex (use the parser)."""
        if b"<!" in data or data.find(b"<?", 1 if self.first else 0) != -1:
            return None
        self.first = False
        out: list[bytes] = [] if self.last is None else [self.last]
        cells = self.cells
        for text, mark, cell, end, empty_p, other in _RUN_TOKENS.findall(data):
            end = end or empty_p
            if text:
                out.append(text)
            elif mark:
                out.append(_MARKS[mark])
            elif cell:
                cells += 1
            elif end == b"p":
                out.append(b" " if cells else b"\n")
            elif end == b"tc":
                cells -= 1
                if out and out[-1] == b" ":
                    out[-1] = b"\t"
                else:
                    out.append(b"\t")
            elif end == b"tr":
                if out and out[-1] == b"\t":
                    out[-1] = b"\n"
                else:
                    out.append(b"\n")
            elif other:
                return None  # a text element whose content the first branch could not take
        self.cells = cells
        self.last = out.pop() if out else None
        return _unescape(b"".join(out))

    def end(self) -> bytes:
        last, self.last = self.last, None
        return b"" if last is None else _unescape(last)


def paragraph_end(data: bytes) -> int:
    """Offset just past the last closing paragraph tag in ``data`` (0: none): a place to cut
    a part where no token of ``FastRuns`` spans the cut."""
    i = data.rfind(b"p>")
    while i > 0:
        j = data.rfind(b"</", max(0, i - 64), i)
        if j >= 0 and _P_END.fullmatch(data, j, i + 2):
            return i + 2
        i = data.rfind(b"p>", 0, i)
    return 0


def _unescape(joined: bytes) -> bytes:
    if b"&" in joined:
        return html.unescape(joined.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape")
    return joined


_P = rb"<(?:[\w.-]+:)?"
_RUN_TOKENS = re.compile(
    _P + rb"(?:t|delText)(?:\s[^<>]*?)?(?<!/)>([^<]+)</(?:[\w.-]+:)?(?:t|delText)>"
    rb"|" + _P + rb"(tab|br|cr|noBreakHyphen)[\s/>]"
    rb"|" + _P + rb"(tc)[\s>]"
    rb"|</(?:[\w.-]+:)?(p|tc|tr)>|" + _P + rb"(p)(?:\s[^<>]*)?/>"
    rb"|" + _P + rb"(t|delText)(?:\s[^<>]*?)?(?<!/)>(?!</)"
)
_MARKS = {b"tab": b"\t", b"br": b"\n", b"cr": b"\n", b"noBreakHyphen": b"-"}
_P_END = re.compile(rb"</(?:[\w.-]+:)?p>")


# ---------------------------------------------------------------------------------- docx

_DOCX_PARTS = (
    (re.compile(r"word/header\d*\.xml"), RunText),
    (re.compile(r"word/footer\d*\.xml"), RunText),
    (re.compile(r"word/footnotes\.xml"), RunText),
    (re.compile(r"word/endnotes\.xml"), RunText),
    (re.compile(r"word/comments\.xml"), RunText),
    (re.compile(r"word/charts/chart\d*\.xml"), None),
    (re.compile(r"word/diagrams/data\d*\.xml"), RunText),
)


def docx(blob: Blob, walker: Walker, kind: str, zf: zipfile.ZipFile) -> None:
    pkg = Package(zf, blob, walker)
    pkg.text("word/document.xml", "part:body", RunText, FastRuns)
    for pattern, handler in _DOCX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{stem(name)}", handler,
                     FastRuns if handler is RunText else None)
    pkg.properties()
    pkg.embedded("word")


# ---------------------------------------------------------------------------------- pptx

_PPTX_PARTS = (
    (re.compile(r"ppt/comments/\w+\.xml"), RunText),
    (re.compile(r"ppt/charts/chart\d*\.xml"), None),
    (re.compile(r"ppt/diagrams/data\d*\.xml"), RunText),
)
_SLIDE = re.compile(r"ppt/slides/slide\d+\.xml")


def pptx(blob: Blob, walker: Walker, kind: str, zf: zipfile.ZipFile) -> None:
    pkg = Package(zf, blob, walker)
    for number, slide in enumerate(_slide_order(pkg), 1):
        pkg.text(slide, f"slide:{number}", RunText, FastRuns)
        for rtype, target in pkg.rels(slide).values():
            if rtype.endswith("/notesSlide"):
                pkg.text(target, f"notes:{number}", RunText, FastRuns)
    for pattern, handler in _PPTX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{stem(name)}", handler,
                     FastRuns if handler is RunText else None)
    pkg.properties()
    pkg.embedded("ppt")


def _slide_order(pkg: Package) -> list[str]:
    """Slides as presented (presentation.xml's sldIdLst), then any the list left out."""
    ids: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.rpartition(":")[2] == "sldId":
            rid = next((v for k, v in attrs.items() if k.rpartition(":")[2] == "id"
                        and k != "id"), None)
            if rid:
                ids.append(rid)

    def attach(p):
        p.StartElementHandler = start

    pkg.parse("ppt/presentation.xml", attach, pkg.where("part:presentation"))
    rels = pkg.rels("ppt/presentation.xml")
    order = [rels[r][1] for r in ids if r in rels and rels[r][1] in pkg.infos]
    seen = set(order)
    return order + [n for n in pkg.matching(_SLIDE) if n not in seen]
