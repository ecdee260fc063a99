"""Office Open XML: docx, xlsx and pptx text, read from the package's XML parts with expat.

Not python-docx/openpyxl: those build whole object models (slow, memory-hungry, and they skip
headers, comments and deleted text); a proxy needs the text only, streamed part by part.

- docx: body (tables, text boxes, tracked deletions), headers, footers, footnotes, endnotes,
  comments, charts and SmartArt text, document properties, embedded files.
- xlsx: every sheet (hidden ones too) as one tab-delimited segment with its header row;
  shared and inline strings, numbers, booleans; comments, drawings, charts, properties.
- pptx: slides in presentation order, their speaker notes, comments, charts, properties.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable

from agent.extract import archives, xmltext
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Exhausted, Unreadable
from agent.extract.model import TableLayout
from agent.extract.provenance import clean, join
from agent.extract.xmltext import AllText, BufferFull, TextBuffer, local_names

MAX_COLUMNS = 16384  # XFD, Excel's last column


class Package:
    """The parts of one OOXML/ODF zip and how to stream them through an XML handler."""

    def __init__(self, zf: zipfile.ZipFile, blob: Blob, walker: Walker):
        self.zf = zf
        self.blob = blob
        self.walker = walker
        self.budget = walker.budget
        self.infos = {i.filename: i for i in archives.entries(zf, self.budget, blob.path)}

    def where(self, label: str) -> str:
        return join(self.blob.path, label)

    def parse(self, name: str, attach: Callable, path: str) -> bool:
        """Stream part ``name`` through a fresh parser set up by ``attach``; False if unread.

        A broken part is recorded against ``path`` and the other parts are still read.
        """
        info = self.infos.get(name)
        if info is None:
            return False
        parser = xmltext.new_parser(forbid_dtd=True)
        attach(parser)
        try:
            xmltext.feed(parser, archives.member_chunks(self.zf, info, self.budget, path,
                                                        len(self.blob.data)),
                         self.budget, path)
        except BufferFull:
            return False
        except Unreadable as u:
            self.budget.record(u.reason, path, u.detail)
            return False
        return True

    def text(self, name: str, label: str, handler: type[RunText] | None = None) -> None:
        """One segment with the text of part ``name``."""
        path = self.where(label)
        buf = TextBuffer(self.budget, path)
        h = (handler or AllText)(buf)
        try:
            self.parse(name, h.attach, path)
        finally:
            buf.flush()

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target part name)}`` from the part's relationships."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        found: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            if name.rpartition(":")[2] == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                if target.startswith("/"):
                    resolved = target.lstrip("/")
                else:
                    resolved = posixpath.normpath(posixpath.join(folder, target))
                found[attrs.get("Id", "")] = (attrs.get("Type", ""), resolved)

        def attach(p):
            p.StartElementHandler = start

        self.parse(rels_name, attach, self.where("part:relationships"))
        return found

    def matching(self, pattern: re.Pattern) -> list[str]:
        return sorted((n for n in self.infos if pattern.fullmatch(n)), key=_natural)

    def embedded(self, folder: str) -> None:
        """Files embedded in the document (an xlsx inside a docx ...), opened like any file."""
        for name in sorted(self.infos):
            if not name.startswith(folder + "/embeddings/"):
                continue
            info = self.infos[name]
            where = self.where(f"embedded:{clean(posixpath.basename(name))}")
            data, problem, truncated = archives.read_member(self.zf, info, self.budget, where,
                                                            len(self.blob.data))
            self.walker.open(Blob(data, where, self.blob.depth + 1, name=posixpath.basename(name),
                                  charged=True, truncated=truncated, is_file=True))
            if problem is not None:
                self.budget.record(problem.reason, where, problem.detail)

    def properties(self) -> None:
        self.text("docProps/core.xml", "part:properties")
        self.text("docProps/custom.xml", "part:custom-properties")


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


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
    pkg.text("word/document.xml", "part:body", RunText)
    for pattern, handler in _DOCX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{_stem(name)}", handler)
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
        pkg.text(slide, f"slide:{number}", RunText)
        for rtype, target in pkg.rels(slide).values():
            if rtype.endswith("/notesSlide"):
                pkg.text(target, f"notes:{number}", RunText)
    for pattern, handler in _PPTX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{_stem(name)}", handler)
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


# ---------------------------------------------------------------------------------- xlsx

_XLSX_PARTS = (
    (re.compile(r"xl/comments\d*\.xml"), RunText),
    (re.compile(r"xl/threadedComments/\w+\.xml"), None),
    (re.compile(r"xl/drawings/drawing\d*\.xml"), RunText),
    (re.compile(r"xl/charts/chart\d*\.xml"), None),
)
_WORKSHEET = re.compile(r"xl/worksheets/sheet\d+\.xml")
_FLAT = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def xlsx(blob: Blob, walker: Walker, kind: str, zf: zipfile.ZipFile) -> None:
    pkg = Package(zf, blob, walker)
    strings = _shared_strings(pkg)
    for name, part in _sheets(pkg):
        _sheet(pkg, part, f"sheet:{clean(name)}", strings)
    for pattern, handler in _XLSX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{_stem(name)}", handler)
    pkg.properties()
    pkg.embedded("xl")


def _sheets(pkg: Package) -> list[tuple[str, str]]:
    """``(sheet name, part)`` in workbook order, then worksheet parts the workbook left out."""
    listed: list[tuple[str, str]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.rpartition(":")[2] == "sheet":
            rid = next((v for k, v in attrs.items() if k.rpartition(":")[2] == "id"
                        and k != "sheetId"), None)
            listed.append((attrs.get("name", ""), rid or ""))

    def attach(p):
        p.StartElementHandler = start

    pkg.parse("xl/workbook.xml", attach, pkg.where("part:workbook"))
    rels = pkg.rels("xl/workbook.xml")
    out = [(n or _stem(rels[r][1]), rels[r][1]) for n, r in listed
           if r in rels and rels[r][1] in pkg.infos]
    seen = {p for _, p in out}
    return out + [(_stem(p), p) for p in pkg.matching(_WORKSHEET) if p not in seen]


def _shared_strings(pkg: Package) -> list[str]:
    strings: list[str] = []
    path = pkg.where("part:sharedStrings")
    state = {"inside": 0, "phonetic": 0}
    parts: list[str] = []
    local = local_names()
    budget = pkg.budget

    def start(name: str, attrs) -> None:
        ln = local(name)
        if ln == "t":
            state["inside"] += 1
        elif ln == "rPh":
            state["phonetic"] += 1
        elif ln == "si":
            parts.clear()

    def end(name: str) -> None:
        ln = local(name)
        if ln == "t":
            state["inside"] -= 1
        elif ln == "rPh":
            state["phonetic"] -= 1
        elif ln == "si":
            s = "".join(parts).translate(_FLAT)
            # held in memory and repeated into every sheet that uses it: charge it
            budget.take(len(s), path)
            strings.append(s)

    def chars(data: str) -> None:
        if state["inside"] and not state["phonetic"]:
            parts.append(data)

    def attach(p):
        p.StartElementHandler = start
        p.EndElementHandler = end
        p.CharacterDataHandler = chars

    for name in ("xl/sharedStrings.xml", "xl/sharedstrings.xml"):
        if name in pkg.infos:
            pkg.parse(name, attach, path)
            break
    return strings


_COLUMN = re.compile(r"([A-Za-z]{1,3})\d*")


def _column(ref: str | None, cache: dict[str, int]) -> int | None:
    if not ref:
        return None
    col = cache.get(ref)
    if col is not None:
        return col
    m = _COLUMN.match(ref)
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    col -= 1
    if len(cache) < 100_000:
        cache[ref] = col
    return col


def _number(v: str) -> str:
    """Numbers as typed: "7.8051120E7" (how some writers store 78051120) becomes "78051120"."""
    if "E" in v or "e" in v:
        try:
            f = float(v)
        except ValueError:
            return v
        if f.is_integer() and abs(f) < 1e16:
            return str(int(f))
    return v


class SheetText:
    """Rows of a worksheet as tab-delimited lines; the first non-empty row is the header."""

    def __init__(self, buf: TextBuffer, strings: list[str]):
        self.buf = buf
        self.strings = strings
        self.header: tuple[str, ...] | None = None
        self.row: list[str] = []
        self.cell: list[str] = []
        self.ctype: str | None = None
        self.col: int | None = None
        self.capture = 0
        self.phonetic = 0
        self.cols: dict[str, int] = {}
        self.local = local_names()

    def attach(self, p) -> None:
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ln = self.local(name)
        if ln == "c":
            self.ctype = attrs.get("t")
            self.col = _column(attrs.get("r"), self.cols)
            self.cell = []
        elif ln == "v" or ln == "t":
            self.capture += 1
        elif ln == "rPh":
            self.phonetic += 1
        elif ln == "row":
            self.row = []

    def end(self, name: str) -> None:
        ln = self.local(name)
        if ln == "v" or ln == "t":
            self.capture -= 1
        elif ln == "c":
            self._cell_done()
        elif ln == "rPh":
            self.phonetic -= 1
        elif ln == "row":
            self._row_done()

    def chars(self, data: str) -> None:
        if self.capture and not self.phonetic:
            self.cell.append(data)

    def _cell_done(self) -> None:
        raw = "".join(self.cell)
        t = self.ctype
        if t == "s":
            try:
                value = self.strings[int(raw)]
            except (ValueError, IndexError):
                value = ""
        elif t is None or t == "n":
            value = _number(raw)
        elif t == "b":
            value = "TRUE" if raw == "1" else "FALSE" if raw == "0" else raw
        else:  # inlineStr, str (formula text), e (error), d (ISO date)
            value = raw.translate(_FLAT)
        col = self.col if self.col is not None else len(self.row)
        if col >= MAX_COLUMNS:
            return
        row = self.row
        if col > len(row):
            row.extend([""] * (col - len(row)))
        if col == len(row):
            row.append(value)
        else:
            row[col] = value

    def _row_done(self) -> None:
        row = self.row
        self.row = []
        if not any(row):
            return
        if self.header is None:
            self.header = tuple(c.strip().lower()[:100] for c in row[:1000])
        self.buf.add("\t".join(row))
        self.buf.add("\n")


def _sheet(pkg: Package, part: str, label: str, strings: list[str]) -> None:
    path = pkg.where(label)
    buf = TextBuffer(pkg.budget, path)
    h = SheetText(buf, strings)
    try:
        pkg.parse(part, h.attach, path)
    finally:
        try:
            if h.row:
                h._row_done()  # a sheet cut short keeps its last partial row
        except (BufferFull, Exhausted):
            pass
        buf.flush(table=TableLayout(b"\t", h.header or ()))
