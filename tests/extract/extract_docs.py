"""Real documents for extraction tests, made at test time by each format's own library.

Planted values are obviously fake (078-05-1120 is the Woolworth wallet SSN, printed on
sample cards in 1938 and never valid for anyone since).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

SSN = "078-05-1120"


def docx_bytes(body: str = f"Body SSN {SSN}", *, header: str | None = None,
               footer: str | None = None, comment: str | None = None,
               table: list[list[str]] | None = None) -> bytes:
    import docx

    d = docx.Document()
    para = d.add_paragraph(body)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    section = d.sections[0]
    if header:
        section.header.paragraphs[0].text = header
    if footer:
        section.footer.paragraphs[0].text = footer
    if comment:
        d.add_comment(para.runs, text=comment, author="Reviewer")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> bytes:
    """A workbook written by openpyxl (strings go to the shared strings table)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_sst_bytes(sheets: dict[str, list[list]], hidden: tuple[str, ...] = (),
                   comments: dict[str, str] | None = None,
                   rich: tuple[str, str, str] | None = None) -> bytes:
    """A workbook written by XlsxWriter, which (like Excel) uses a shared strings table."""
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = wb.add_format({"bold": True})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
        for cell, text in (comments or {}).items():
            ws.write_comment(cell, text)
        if rich:
            ws.write_rich_string(rich[0], bold, rich[1], rich[2])
        if name in hidden:
            ws.hide()
    wb.close()
    return out.getvalue()


def pptx_bytes(slides: list[tuple[str, str | None]]) -> bytes:
    """Slides of (body text, speaker notes)."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    for text, notes in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
        box.text_frame.text = text
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def pdf_bytes(pages: list[str], *, user_password: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    return bytes(pdf.output())


def odt_bytes(text: str) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    doc = OpenDocumentText()
    doc.text.addElement(P(text=text))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def ods_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def odp_bytes(pages: list[str]) -> bytes:
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    doc = OpenDocumentPresentation()
    layout = PageLayout(name="PL")
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    for text in pages:
        page = Page(masterpagename=master)
        frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
        box = TextBox()
        box.addElement(P(text=text))
        frame.addElement(box)
        page.addElement(frame)
        doc.presentation.addElement(page)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzip_file(data: bytes, name: str | None = None) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", fileobj=out, mtime=0) as f:
        f.write(data)
    return out.getvalue()


def multipart_body(parts: list[tuple[str, str | None, bytes, str | None]],
                   boundary: str = "----dlpTestBoundary7MA4YWxk") -> tuple[bytes, str]:
    """``(body, content type)`` for parts of (field name, filename, data, part content type)."""
    chunks = []
    for name, filename, data, ctype in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disp}\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def texts(result, where: str | None = None) -> list[bytes]:
    return [s.data for s in result.segments if where is None or s.where == where]


def by_where(result) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for s in result.segments:
        out[s.where] = out.get(s.where, b"") + s.data
    return out


def reasons(result) -> list[tuple[str, str]]:
    return [(u.reason, u.where) for u in result.uninspectable]


def found(result, needle: str | bytes) -> list[str]:
    """Provenance of every segment holding ``needle``."""
    n = needle.encode() if isinstance(needle, str) else needle
    return [s.where for s in result.segments if n in s.data]
