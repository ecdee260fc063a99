"""Spreadsheet dates reach detectors as ISO dates (1990-01-02), not as Excel serials (32875)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from extract_docs import by_where

from agent.extract import extract, numfmt
from agent.extract.numfmt import DATE, DATE_TIME, TIME


@pytest.mark.parametrize("code, kind", [
    ("yyyy-mm-dd", DATE),
    ("m/d/yy", DATE),
    ("dd/mm/yyyy", DATE),
    ("mmm-yy", DATE),
    ("d-mmm", DATE),
    ("h:mm", TIME),
    ("mm:ss", TIME),
    ("h:mm AM/PM", TIME),
    ("m/d/yy h:mm", DATE_TIME),
    ("yyyy-mm-dd hh:mm:ss", DATE_TIME),
    ("[h]:mm:ss", 0),  # elapsed time: a duration, the number stays
    ("[mm]:ss", 0),
    ("0.00", 0),
    ("General", 0),
    ('"Day "0', 0),  # quoted text is not a format letter
    ("#,##0;[Red]-#,##0", 0),
    ('[$-409]mmmm d, yyyy', DATE),  # a locale section does not hide the date
    ("0;dd/mm/yyyy", 0),  # only the first section counts
])
def test_format_kind(code, kind):
    assert numfmt.format_kind(code) == kind


@pytest.mark.parametrize("value, kind, date1904, text", [
    ("32875", DATE, False, "1990-01-02"),
    ("32875.5", DATE_TIME, False, "1990-01-02 12:00:00"),
    ("0.5729166666666666", TIME, False, "13:45:00"),
    ("1", DATE, False, "1900-01-01"),
    ("59", DATE, False, "1900-02-28"),
    ("60", DATE, False, None),  # Excel's 29 February 1900 never was
    ("61", DATE, False, "1900-03-01"),
    ("0", DATE, True, "1904-01-01"),
    ("31413", DATE, True, "1990-01-02"),
    ("-1", DATE, False, None),
    ("nan", DATE, False, None),
    ("3e7", DATE, False, None),
    ("abc", DATE, False, None),
    ("32875", numfmt.BY_VALUE, False, "1990-01-02"),
    ("0.25", numfmt.BY_VALUE, False, "06:00:00"),
])
def test_serial_text(value, kind, date1904, text):
    assert numfmt.serial_text(value, kind, date1904) == text


@pytest.mark.parametrize("value, text", [
    ("1990-01-02", "1990-01-02"),
    ("1990-01-02T13:45:00", "1990-01-02 13:45:00"),
    ("1990-01-02T13:45", "1990-01-02 13:45:00"),
    ("1990-01-02T13:45:00.6Z", "1990-01-02 13:45:01"),
    ("1990-12-31T24:00:00", "1991-01-01 00:00:00"),
    ("1990-02-30", None),
    ("01/02/1990", None),
])
def test_iso_text(value, text):
    assert numfmt.iso_text(value) == text


def _openpyxl_book(epoch_1904: bool = False) -> bytes:
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staff"
    if epoch_1904:
        wb.epoch = CALENDAR_MAC_1904
    ws.append(["name", "dob", "hired", "shift", "badge"])
    ws.append(["Pat Doe", dt.date(1990, 1, 2), dt.datetime(2015, 6, 30, 13, 45), dt.time(8, 30), 32875])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet_text(book: bytes, where: str = "sheet:Staff") -> list[list[str]]:
    r = extract(book)
    assert r.complete
    return [line.split("\t") for line in by_where(r)[where].decode().split("\n")]


@pytest.mark.parametrize("epoch_1904", [False, True])
def test_openpyxl_dates_times_and_plain_numbers(epoch_1904):
    rows = _sheet_text(_openpyxl_book(epoch_1904))
    # the plain number in a General cell stays a number: only the format makes a date
    assert rows[1] == ["Pat Doe", "1990-01-02", "2015-06-30 13:45:00", "08:30:00", "32875"]


def test_expat_path_gives_the_same_dates_as_the_fast_path():
    book = _openpyxl_book()
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                # a comment sends the sheet to the expat path
                data = data.replace(b"<sheetData>", b"<sheetData><!-- via expat -->", 1)
                assert b"<!--" in data
            dst.writestr(info.filename, data)
    assert _sheet_text(out.getvalue()) == _sheet_text(book)


def test_xlsxwriter_custom_day_first_format():
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet("Staff")
    day_first = wb.add_format({"num_format": "dd/mm/yyyy"})
    money = wb.add_format({"num_format": "$#,##0.00"})
    ws.write_row(0, 0, ["name", "dob", "salary"])
    ws.write_string(1, 0, "Pat Doe")
    ws.write_datetime(1, 1, dt.datetime(1990, 1, 2), day_first)
    ws.write_number(1, 2, 32875, money)
    wb.close()
    assert _sheet_text(out.getvalue())[1] == ["Pat Doe", "1990-01-02", "32875"]


def test_ods_date_and_time_cells_give_their_stored_value():
    from odf.office import Annotation
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Staff")
    header = TableRow()
    for title in ("name", "dob", "shift"):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=title))
        header.addElement(cell)
    table.addElement(header)
    row = TableRow()
    name = TableCell(valuetype="string")
    name.addElement(P(text="Pat Doe"))
    dob = TableCell(valuetype="date", datevalue="1990-01-02")
    note = Annotation()
    note.addElement(P(text="checked"))
    dob.addElement(note)
    dob.addElement(P(text="01/02/90"))  # display text: day- or month-first, who knows
    shift = TableCell(valuetype="time", timevalue="PT13H45M00S")
    shift.addElement(P(text="01:45 PM"))
    for cell in (name, dob, shift):
        row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.save(out)
    assert _sheet_text(out.getvalue()) == [["name", "dob", "shift"],
                                           ["Pat Doe", "1990-01-02 checked", "13:45:00"]]
