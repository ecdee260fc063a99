"""Spreadsheet dates: which number formats show a date or a time, and the ISO text of a value.

Excel stores a date as a number of days (``32875`` is 1990-01-02) and only the cell's number
format says it is a date, so a date of birth reaches detectors as a 5-digit number unless the
format is read. Dates come out as ``1990-01-02``, date-times as ``1990-01-02 13:45:00`` and
times as ``13:45:00``: ISO 8601 calendar date and clock time, joined by a space (as RFC 3339
allows) rather than ``T`` because tokenizers downstream (the EDM fingerprints among them) split
on spaces and colons, and ``1990-01-02T13`` would hide the date from them.

What a format shows follows its code, as Excel reads it: the letters y, d (date), h, s (time)
and m (minutes next to h or s, else months) outside quoted text, escapes and ``[...]``
sections, in the first section of the code. Elapsed-time formats (``[h]:mm:ss``) are
durations, not dates: their cells stay numbers, as do General, currency, percentage and every
other number format.
"""

from __future__ import annotations

import datetime as _dt
import re

DATE = 1
TIME = 2
DATE_TIME = DATE | TIME
# East Asian built-in ids whose code depends on the reader's locale (some show a date, some a
# time, some both): the value decides, a whole number being a date.
BY_VALUE = 4

# ECMA-376 Part 1, 18.8.30: the built-in formats that show dates or times. 46 is [h]:mm:ss, an
# elapsed time.
BUILTIN: dict[int, int] = {
    14: DATE, 15: DATE, 16: DATE, 17: DATE,
    18: TIME, 19: TIME, 20: TIME, 21: TIME,
    22: DATE_TIME,
    45: TIME, 47: TIME,
    **{i: BY_VALUE for i in (*range(27, 37), *range(50, 59))},
}

_PIECE = re.compile(r'"[^"]*"?|\\.|[_*].?|\[[^\]]*\]?|am/pm|a/p|y+|m+|d+|h+|s+|;',
                    re.IGNORECASE | re.DOTALL)
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)


def format_kind(code: str) -> int:
    """``DATE``, ``TIME``, ``DATE_TIME`` or 0 (not a date: a number) for a format code."""
    runs: list[str] = []
    clock = False
    for m in _PIECE.finditer(code):
        piece = m.group()
        first = piece[0]
        if first == ";":
            break  # the first section is the one positive numbers (all dates) are shown with
        if first == "[":
            if _ELAPSED.fullmatch(piece):
                return 0
        elif first in '"\\_*':
            continue
        elif "/" in piece:
            clock = True  # AM/PM, A/P
        else:
            runs.append(piece[0].lower())
    kind = TIME if clock else 0
    for i, letter in enumerate(runs):
        if letter in "yd":
            kind |= DATE
        elif letter in "hs":
            kind |= TIME
        else:  # m: minutes right after hours or right before seconds, else months
            minute = (i > 0 and runs[i - 1] == "h") or (i + 1 < len(runs) and runs[i + 1] == "s")
            kind |= TIME if minute else DATE
    return kind


def numfmt_kind(numfmt_id: int, codes: dict[int, str]) -> int:
    """What format ``numfmt_id`` shows; a code declared in the workbook overrides a built-in."""
    code = codes.get(numfmt_id)
    if code is not None:
        return format_kind(code)
    return BUILTIN.get(numfmt_id, 0)


_ORDINAL_1900 = _dt.date(1899, 12, 30).toordinal()  # day 61 onwards (see serial_text)
_ORDINAL_1904 = _dt.date(1904, 1, 1).toordinal()
_LAST = _dt.date.max.toordinal()
_DAY = 86400


def serial_text(value: str | bytes, kind: int, date1904: bool = False) -> str | None:
    """The ISO text of a date serial shown with a format of ``kind``; None to keep the number.

    Excel's 1900 system counts 1900-01-01 as day 1 and has a 29 February 1900 (day 60, kept in
    for Lotus 1-2-3): days 1-59 are one day later than a plain count from 1899-12-30, and days
    0 and 60 have no real date. Numbers no calendar holds (negative, past 9999) stay numbers,
    as Excel shows them as ####.
    """
    try:
        x = float(value)
    except ValueError:
        return None
    if not 0 <= x < 3e6:  # also refuses NaN
        return None
    seconds = round(x * _DAY)
    days, seconds = divmod(seconds, _DAY)
    if kind == BY_VALUE:
        kind = DATE if not seconds else TIME if not days else DATE_TIME
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if kind == TIME:
        return clock
    if date1904:
        ordinal = _ORDINAL_1904 + days
    elif days == 0 or days == 60:
        return None
    else:
        ordinal = _ORDINAL_1900 + days + (days < 60)
    if ordinal > _LAST:
        return None
    day = _dt.date.fromordinal(ordinal).isoformat()
    return day if kind == DATE else f"{day} {clock}"


_ISO = re.compile(r"\s*(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
                  r"(?:Z|[+-]\d\d:?\d\d)?\s*")


def iso_text(value: str) -> str | None:
    """A stored ISO 8601 date or date-time (ODF date-value, xlsx ``t="d"``) in the same shape as
    ``serial_text``: the date, then the time to the second if one is given; None if not ISO.

    A zone suffix is dropped: spreadsheet times are wall-clock times.
    """
    m = _ISO.fullmatch(value)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        day = _dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None
    if h is None:
        return day.isoformat()
    seconds = int(h) * 3600 + int(mi) * 60 + int(s or 0)
    if frac and frac[0] >= "5":
        seconds += 1
    if int(h) > 24 or int(mi) > 59 or int(s or 0) > 60 or seconds > _DAY:
        return None
    if seconds == _DAY:  # 24:00:00 or 23:59:59.5 rounded: midnight of the next day
        if day == _dt.date.max:
            return None
        day, seconds = day + _dt.timedelta(days=1), 0
    return f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


_DURATION = re.compile(r"\s*PT?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d+))?S)?\s*")


def duration_clock(value: str) -> str | None:
    """``13:45:00`` for an ODF time-value (``PT13H45M00S``) under a day; None otherwise."""
    m = _DURATION.fullmatch(value)
    if m is None or not any(m.groups()):
        return None
    days, hours, minutes, secs = (int(g or 0) for g in m.groups()[:4])
    frac = m.group(5)
    seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if frac and frac[0] >= "5":
        seconds += 1
    if seconds >= _DAY:
        return None  # a duration, not a time of day: the cell's own text says it
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
