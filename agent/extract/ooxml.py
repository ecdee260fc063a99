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
        if b"<!" in data or data.find(b"<?", 1) != -1:
            return None
        out: list[bytes] = []
        cells = 0
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
        joined = b"".join(out)
        if b"&" in joined:
            joined = html.unescape(joined.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape")
        return joined.strip(b"\n")


_P = rb"<(?:[\w.-]+:)?"
_RUN_TOKENS = re.compile(
    _P + rb"(?:t|delText)(?:\s[^<>]*?)?(?<!/)>([^<]+)</(?:[\w.-]+:)?(?:t|delText)>"
    rb"|" + _P + rb"(tab|br|cr|noBreakHyphen)[\s/>]"
    rb"|" + _P + rb"(tc)[\s>]"
    rb"|</(?:[\w.-]+:)?(p|tc|tr)>|" + _P + rb"(p)(?:\s[^<>]*)?/>"
    rb"|" + _P + rb"(t|delText)(?:\s[^<>]*?)?(?<!/)>(?!</)"
)
_MARKS = {b"tab": b"\t", b"br": b"\n", b"cr": b"\n", b"noBreakHyphen": b"-"}


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
    pkg.text("word/document.xml", "part:body", RunText, RunText.fast)
    for pattern, handler in _DOCX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{stem(name)}", handler,
                     RunText.fast if handler is RunText else None)
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
        pkg.text(slide, f"slide:{number}", RunText, RunText.fast)
        for rtype, target in pkg.rels(slide).values():
            if rtype.endswith("/notesSlide"):
                pkg.text(target, f"notes:{number}", RunText, RunText.fast)
    for pattern, handler in _PPTX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{stem(name)}", handler,
                     RunText.fast if handler is RunText else None)
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
