"""xlsx: every sheet (hidden ones too) as one tab-delimited segment with its header row.

Cells are rendered as Excel shows their stored values: shared and inline strings, numbers,
booleans, formula results. Numbers in a date or time format (read from ``xl/styles.xml``) come
out as ISO dates and times (``numfmt.py``), so a date of birth is ``1990-01-02``, not
``32875``. Comments, drawings, charts and properties come out as text too.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterable

from agent.extract import numfmt, xmltext
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Exhausted, Unreadable
from agent.extract.model import TableLayout
from agent.extract.ooxml import RunText
from agent.extract.package import Package, stem
from agent.extract.provenance import clean
from agent.extract.xmltext import BufferFull, TextBuffer, local_names

MAX_COLUMNS = 16384  # XFD, Excel's last column

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
    sheets, date1904, styles = _workbook(pkg)
    dates = CellDates(_date_styles(pkg, styles), date1904)
    strings = _shared_strings(pkg)
    strings_utf8 = [x.encode("utf-8", "surrogatepass") for x in strings]
    for name, part in sheets:
        _sheet(pkg, part, f"sheet:{clean(name)}", strings, strings_utf8, dates)
    for pattern, handler in _XLSX_PARTS:
        for name in pkg.matching(pattern):
            pkg.text(name, f"part:{stem(name)}", handler)
    pkg.properties()
    pkg.embedded("xl")


def _workbook(pkg: Package) -> tuple[list[tuple[str, str]], bool, str | None]:
    """The sheets as ``(sheet name, part)`` in workbook order, then worksheet parts the
    workbook left out; whether dates count from 1904; the styles part."""
    listed: list[tuple[str, str]] = []
    date1904 = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal date1904
        ln = name.rpartition(":")[2]
        if ln == "sheet":
            rid = next((v for k, v in attrs.items() if k.rpartition(":")[2] == "id"
                        and k != "sheetId"), None)
            listed.append((attrs.get("name", ""), rid or ""))
        elif ln == "workbookPr":
            date1904 = attrs.get("date1904", "").strip().lower() in ("1", "true")

    def attach(p):
        p.StartElementHandler = start

    pkg.parse("xl/workbook.xml", attach, pkg.where("part:workbook"))
    rels = pkg.rels("xl/workbook.xml")
    out = [(n or stem(rels[r][1]), rels[r][1]) for n, r in listed
           if r in rels and rels[r][1] in pkg.infos]
    seen = {p for _, p in out}
    sheets = out + [(stem(p), p) for p in pkg.matching(_WORKSHEET) if p not in seen]
    styles = next((target for type_, target in rels.values()
                   if type_.endswith("/styles") and target in pkg.infos), None)
    if styles is None and "xl/styles.xml" in pkg.infos:
        styles = "xl/styles.xml"
    return sheets, date1904, styles


# Excel allows 64,000 cell formats; styles past this many are read as not showing dates
MAX_STYLES = 1 << 16


def _date_styles(pkg: Package, part: str | None) -> dict[bytes, int]:
    """``{cell style index (as in s="3"): numfmt kind}`` for the styles that show dates."""
    if part is None:
        return {}
    path = pkg.where("part:styles")
    codes: dict[int, str] = {}
    xf_formats: list[int] = []
    inside = {"numFmts": 0, "cellXfs": 0}
    local = local_names()

    def number(text: str | None) -> int:
        try:
            return int(text or 0)
        except ValueError:
            return 0

    def start(name: str, attrs: dict[str, str]) -> None:
        ln = local(name)
        if ln in inside:
            inside[ln] += 1
        elif ln == "numFmt" and inside["numFmts"]:  # not the numFmt of a dxf
            codes[number(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
        elif ln == "xf" and inside["cellXfs"] and len(xf_formats) < MAX_STYLES:
            xf_formats.append(number(attrs.get("numFmtId")))

    def end(name: str) -> None:
        ln = local(name)
        if ln in inside:
            inside[ln] -= 1

    def attach(p):
        p.StartElementHandler = start
        p.EndElementHandler = end

    data, problem = pkg.read(part, path)
    if problem is not None:  # a bomb or an encrypted part counts, as in any other part
        pkg.budget.record(problem.reason, path, problem.detail)
    parser = xmltext.new_parser(forbid_dtd=True)
    attach(parser)
    try:
        xmltext.feed(parser, [data], pkg.budget, path)
    except Unreadable:
        # Formatting only: every cell is still read, dates in styles not yet seen stay
        # numbers. Not a parse_error: no text of the upload goes uninspected.
        pass
    kinds: dict[int, int] = {}
    out: dict[bytes, int] = {}
    for index, fmt in enumerate(xf_formats):
        kind = kinds.get(fmt)
        if kind is None:
            kind = kinds[fmt] = numfmt.numfmt_kind(fmt, codes)
        if kind:
            out[str(index).encode()] = kind
    return out


class CellDates:
    """The cell styles that show dates, and the ISO text of a number in one of them."""

    CACHE = 1 << 16

    def __init__(self, styles: dict[bytes, int], date1904: bool = False):
        self.styles = styles
        self.date1904 = date1904
        # dates repeat down a column (hire dates, periods): each distinct one is worked out once
        self.cache: dict[tuple[bytes, int], bytes] = {}

    def text(self, value: bytes, kind: int) -> bytes:
        key = (value, kind)
        out = self.cache.get(key)
        if out is None:
            iso = numfmt.serial_text(value, kind, self.date1904)
            out = iso.encode() if iso is not None else _number_b(value)
            if len(self.cache) >= self.CACHE:
                self.cache.clear()
            self.cache[key] = out
        return out

    def iso(self, value: bytes) -> bytes:
        """A ``t="d"`` cell (an ISO date stored as text) in the same shape as a serial's."""
        iso = numfmt.iso_text(value.decode("ascii", "replace"))
        return iso.encode() if iso is not None else value


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

    def __init__(self, buf: TextBuffer, strings: list[str], dates: CellDates | None = None):
        self.buf = buf
        self.strings = strings
        self.dates = dates if dates is not None else CellDates({})
        self.style: str | None = None
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
            self.style = attrs.get("s")
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
            kind = self.dates.styles.get(self.style.strip().encode()) if self.style else None
            if kind:
                value = self.dates.text(raw.strip().encode(), kind).decode()
            else:
                value = _number(raw)
        elif t == "b":
            value = "TRUE" if raw == "1" else "FALSE" if raw == "0" else raw
        elif t == "d":
            value = self.dates.iso(raw.encode()).decode().translate(_FLAT)
        else:  # inlineStr, str (formula text), e (error)
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


def _sheet(pkg: Package, part: str, label: str, strings: list[str],
           strings_utf8: list[bytes], dates: CellDates) -> None:
    path = pkg.where(label)
    if part not in pkg.infos:
        return
    problem = None
    try:
        if fast_sheet(pkg.pieces(part, path, row_end), strings_utf8, pkg.budget, path, dates):
            return
    except Unreadable as u:
        # a damaged or bomb-like part: the rows read before the damage were emitted
        pkg.budget.record(u.reason, path, u.detail)
        return
    buf = TextBuffer(pkg.budget, path)
    h = SheetText(buf, strings, dates)
    parser = xmltext.new_parser(forbid_dtd=True)
    h.attach(parser)
    try:
        xmltext.feed(parser, pkg.chunks(part, path), pkg.budget, path)
    except BufferFull:
        pass
    except Unreadable as u:
        problem = problem or u
    finally:
        try:
            if h.row:
                h._row_done()  # a sheet cut short keeps its last partial row
        except (BufferFull, Exhausted):
            pass
        buf.flush(table=TableLayout(b"\t", h.header or ()))
    if problem is not None:
        pkg.budget.record(problem.reason, path, problem.detail)


# The fast path: most sheets are written by Excel, LibreOffice or openpyxl in one of a few
# cell shapes. One regex matches a whole cell (C speed, no per-element Python calls); any
# `<c` it cannot match whole -- other attribute order, rich text, prefixes, CDATA --
# sends the sheet to the expat path, so an unusual shape costs speed, never text.
_A = rb'\s+[\w:.-]+\s*=\s*"[^"]*"'
_TOKENS = re.compile(
    rb'(<c)(?:\s+r="([A-Z]{1,3})[0-9]+")?(?:\s+s="([0-9]*)")?(?:\s+t="([a-zA-Z]+)")?'
    rb'(?:\s+(?!(?:r|s|t)\s*=)[\w:.-]+\s*=\s*"[^"]*")*\s*'
    rb"(?:/>|>(?:<f(?:" + _A + rb")*\s*(?:/>|>[^<]*</f>))?"
    rb"(?:<v>([^<]*)</v>|<v/>|<is><t(?:" + _A + rb")*\s*>([^<]*)</t></is>)?</c>)"
    rb"|<(/?)row(?:" + _A + rb")*\s*/?>"
)
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row|v|is|t|f|r|rPh)[\s/>]")
_CELL_START = re.compile(rb"<c[\s/>]")
_ROW_START = re.compile(rb"<row[\s/>]")
_FLAT_B = bytes.maketrans(b"\t\n\r", b"   ")
_FLUSH = 1 << 20


def fast_sheet(data: bytes | Iterable[bytes], strings: list[bytes], budget, path: str,
               dates: CellDates | None = None) -> bool:
    """Emit the sheet from its common cell shapes; False (nothing emitted) when unusual.

    ``data`` is the sheet XML, whole or in pieces cut after a row end (``row_end``): a large
    sheet is then read a piece at a time, rows leaving in batches through a SegmentWriter.
    """
    pieces = [data] if isinstance(data, bytes) else data
    header: tuple[str, ...] | None = None
    row: list[bytes] = []
    cols: dict[bytes, int] = {}
    lines: list[bytes] = []
    pending = 0
    n_strings = len(strings)
    if dates is None:
        dates = CellDates({})
    date_styles = dates.styles
    # rows leave in bounded batches: memory holds one batch, or the whole sheet only while
    # the body's text fits Limits.memory_text_bytes (past it the writer spills to disk)
    out = budget.writer(path, strip_leading=False)
    usual = True
    try:
        for data in pieces:
            # No "<!" at all: no DOCTYPE or entity declarations (so no entity tricks), no
            # CDATA or comments the regex would misread. Well-formedness is not checked here:
            # text from a broken sheet is still text to inspect.
            if b"<!" in data or _PREFIXED.search(data):
                usual = False
                return False
            tokens = _TOKENS.findall(data)
            # every cell start must have been taken whole by the cell branch
            starts = len(_CELL_START.findall(data))
            cells = len(tokens) - len(_ROW_START.findall(data)) - data.count(b"</row>")
            if starts != cells:
                usual = False
                return False
            for n, (cell, ref, s, t, v, inline, closing) in enumerate(tokens):
                if not n & 4095:
                    budget.tick(path)
                if cell:
                    if t == b"s":
                        i = int(v) if v.isdigit() else -1
                        value = strings[i] if 0 <= i < n_strings else b""
                    elif not t or t == b"n":
                        if s and (kind := date_styles.get(s)):  # a probe for styled cells only
                            value = dates.text(v, kind)
                        # int membership: `b"E" in v` costs ten times more (it tries int first)
                        elif 69 in v or 101 in v:
                            value = _number_b(v)
                        else:
                            value = v
                    elif t == b"inlineStr":
                        value = inline
                    elif t == b"b":
                        value = b"TRUE" if v == b"1" else b"FALSE" if v == b"0" else v
                    elif t == b"d":
                        value = dates.iso(v)
                    else:
                        value = v
                    if t != b"s" and value:
                        if 38 in value:  # "&"
                            value = html.unescape(value.decode("utf-8", "replace")).encode()
                        if 9 in value or 10 in value or 13 in value:
                            value = value.translate(_FLAT_B)
                    if ref:
                        col = cols.get(ref)
                        if col is None:
                            col = cols[ref] = _column(ref.decode("ascii"), {})
                    else:
                        col = len(row)
                    if col >= MAX_COLUMNS:
                        continue
                    if col == len(row):
                        row.append(value)
                    elif col > len(row):
                        row.extend([b""] * (col - len(row)))
                        row.append(value)
                    else:
                        row[col] = value
                elif not closing:  # <row ...> (a self-closing empty row changes nothing)
                    row = []
                else:
                    if any(row):
                        if header is None:
                            header = tuple(c.decode("utf-8", "replace").strip().lower()[:100]
                                           for c in row[:1000])
                        line = b"\t".join(row) + b"\n"
                        lines.append(line)
                        pending += len(line)
                        if pending >= _FLUSH:
                            batch, lines, pending = b"".join(lines), [], 0
                            if not out.write(batch):
                                return True     # budget spent: what fit is emitted
                    row = []
    finally:
        if not usual:
            out.discard()
        else:
            if lines and not out.full:
                try:
                    out.write(b"".join(lines))
                except Exhausted:
                    pass    # the budget is spent: the rows written so far are still emitted
            out.close(table=TableLayout(b"\t", header or ()))
    return True


def row_end(data: bytes) -> int:
    """Offset just past the last ``</row>`` (0: none): where a sheet may be cut into pieces."""
    i = data.rfind(b"</row>")
    return i + 6 if i >= 0 else 0


def _number_b(v: bytes) -> bytes:
    if b"E" in v or b"e" in v:
        return _number(v.decode("ascii", "replace")).encode()
    return v
