"""OpenDocument (odt, ods, odp): text from content.xml, headers/footers from styles.xml.

Spreadsheets become one tab-delimited segment per table, like xlsx sheets. Date and time cells
give their stored value in the xlsx shape (``1990-01-02``, ``1990-01-02 13:45:00``,
``13:45:00``) instead of the display text, whose "01/02/90" may be day- or month-first (a
comment on the cell follows the value). Repeated cells and rows (``number-columns-repeated``)
are expanded only when they hold something, and at most ``MAX_REPEAT`` times, so a
1,048,576-row blank table costs nothing. Presentations give one
segment per page (``slide:3``, speaker notes included).
"""

from __future__ import annotations

import zipfile

from agent.extract import archives, numfmt
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Budget, Exhausted, Unreadable
from agent.extract.model import TableLayout
from agent.extract.package import Package
from agent.extract.provenance import clean
from agent.extract.xmltext import AllText, BufferFull, TextBuffer, local_names

MAX_REPEAT = 1024
MAX_COLUMNS = 16384
MAX_SPACES = 100


def _attr(attrs: dict[str, str], local: str) -> str | None:
    for k, v in attrs.items():
        if k.rpartition(":")[2] == local:
            return v
    return None


def _iso(attrs: dict[str, str]) -> str | None:
    """A date or time cell's stored value in ISO form; None for other cells (and durations)."""
    kind = _attr(attrs, "value-type")
    if kind == "date":
        value = _attr(attrs, "date-value")
        return numfmt.iso_text(value) if value else None
    if kind == "time":
        value = _attr(attrs, "time-value")
        return numfmt.duration_clock(value) if value else None
    return None


def _repeat(attrs: dict[str, str], local: str) -> int:
    try:
        return max(1, int(_attr(attrs, local) or 1))
    except ValueError:
        return 1


class OdfContent:
    """content.xml: flowing text, or per-table / per-page segments."""

    AT_START = {"tab": "\t", "line-break": "\n"}
    AT_END = {"p": "\n", "h": "\n", "table-cell": "\t", "table-row": "\n"}

    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.budget: Budget = pkg.budget
        self.local = local_names()
        self.in_body = 0
        self.mode = "text"
        self.buf = TextBuffer(self.budget, pkg.where("part:content"))
        self.pages = 0
        # spreadsheet state
        self.sheet: TextBuffer | None = None
        self.header: tuple[str, ...] | None = None
        self.row: list[str] = []
        self.row_repeat = 1
        self.pending_empty = 0
        self.cell: list[str] | None = None
        self.cell_repeat = 1
        self.cell_value: str | None = None
        self.cell_iso: str | None = None
        self.note_at: int | None = None
        self.notes: list[str] = []

    def attach(self, p) -> None:
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ln = self.local(name)
        if ln == "body":
            self.in_body += 1
            return
        if not self.in_body:
            return
        if ln == "spreadsheet":
            self.mode = "sheet"
        elif self.mode == "sheet":
            self._sheet_start(ln, attrs)
        elif ln == "page" and name.startswith("draw"):
            self.buf.flush()
            self.pages += 1
            self.buf = TextBuffer(self.budget, self.pkg.where(f"slide:{self.pages}"))
        elif ln == "s":
            self.buf.add(" " * min(_repeat(attrs, "c"), MAX_SPACES))
        else:
            mark = self.AT_START.get(ln)
            if mark:
                self.buf.add(mark)

    def end(self, name: str) -> None:
        ln = self.local(name)
        if ln == "body":
            self.in_body -= 1
            return
        if not self.in_body:
            return
        if self.mode == "sheet":
            self._sheet_end(ln)
        elif ln == "page" and name.startswith("draw"):
            self.buf.flush()
        else:
            mark = self.AT_END.get(ln)
            if mark:
                self.buf.add(mark)

    def chars(self, data: str) -> None:
        if not self.in_body:
            return
        if self.mode == "sheet":
            if self.cell is not None:
                self.cell.append(data)
        elif not data.isspace():
            self.buf.add(data)

    # spreadsheets ------------------------------------------------------------------------

    def _sheet_start(self, ln: str, attrs: dict[str, str]) -> None:
        if ln == "table":
            name = _attr(attrs, "name") or f"Sheet{self.pages + 1}"
            self.pages += 1
            self.sheet = TextBuffer(self.budget, self.pkg.where(f"sheet:{clean(name)}"))
            self.header = None
        elif ln == "table-row":
            self.row, self.pending_empty = [], 0
            self.row_repeat = _repeat(attrs, "number-rows-repeated")
        elif ln in ("table-cell", "covered-table-cell"):
            self.cell = []
            self.cell_repeat = _repeat(attrs, "number-columns-repeated")
            self.cell_value = _attr(attrs, "value") or _attr(attrs, "date-value") or \
                _attr(attrs, "boolean-value")
            self.cell_iso = _iso(attrs)
            self.notes, self.note_at = [], None
        elif ln == "annotation" and self.cell is not None:
            self.note_at = len(self.cell)
        elif ln == "s" and self.cell is not None:
            self.cell.append(" " * min(_repeat(attrs, "c"), MAX_SPACES))
        elif ln == "p" and self.cell:
            self.cell.append(" ")

    def _sheet_end(self, ln: str) -> None:
        if ln in ("table-cell", "covered-table-cell") and self.cell is not None:
            if self.cell_iso:
                note = "".join(self.notes).strip()
                text = f"{self.cell_iso} {note}" if note else self.cell_iso
            else:
                text = "".join(self.cell).strip() or self.cell_value or ""
            text = text.replace("\t", " ").replace("\n", " ")
            self.cell = None
            if not text:
                self.pending_empty = min(self.pending_empty + self.cell_repeat, MAX_COLUMNS)
                return
            if len(self.row) + self.pending_empty + 1 > MAX_COLUMNS:
                return
            self.row.extend([""] * self.pending_empty)
            self.pending_empty = 0
            room = MAX_COLUMNS - len(self.row)
            self.row.extend([text] * min(self.cell_repeat, MAX_REPEAT, room))
        elif ln == "annotation" and self.note_at is not None and self.cell is not None:
            self.notes.extend(self.cell[self.note_at:])
            self.note_at = None
        elif ln == "table-row":
            self._row_done()
        elif ln == "table":
            self._flush_sheet()

    def _row_done(self) -> None:
        row, self.row = self.row, []
        if not row or self.sheet is None:
            return
        if self.header is None:
            self.header = tuple(c.strip().lower()[:100] for c in row[:1000])
        line = "\t".join(row) + "\n"
        for _ in range(min(self.row_repeat, MAX_REPEAT)):
            self.sheet.add(line)

    def _flush_sheet(self) -> None:
        if self.sheet is not None:
            sheet, self.sheet = self.sheet, None
            sheet.flush(table=TableLayout(b"\t", self.header or ()))

    def close(self) -> None:
        """Emit whatever was collected, also when the parse stopped half-way."""
        try:
            if self.row:
                self._row_done()
        except (BufferFull, Exhausted):
            pass
        self._flush_sheet()
        self.buf.flush()


def _encrypted(pkg: Package) -> bool:
    info = pkg.infos.get("META-INF/manifest.xml")
    if info is None:
        return False
    data, _, _ = archives.read_member(pkg.zf, info, pkg.budget, pkg.where("part:manifest"),
                                      len(pkg.blob.data))
    return b"encryption-data" in data


def odf(blob: Blob, walker: Walker, kind: str, zf: zipfile.ZipFile) -> None:
    pkg = Package(zf, blob, walker)
    if _encrypted(pkg):
        raise Unreadable("encrypted", "password-protected OpenDocument file")
    content = OdfContent(pkg)
    try:
        pkg.parse("content.xml", content.attach, pkg.where("part:content"))
    finally:
        content.close()
    path = pkg.where("part:styles")
    buf = TextBuffer(pkg.budget, path)
    try:  # headers and footers live in the master pages of styles.xml
        pkg.parse("styles.xml", AllText(buf, within="master-styles").attach, path)
    finally:
        buf.flush()
    pkg.text("meta.xml", "part:properties")
