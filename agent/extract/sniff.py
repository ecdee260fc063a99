"""What a blob is, decided from its bytes (names and declared types are easy to fake).

``magic`` recognises binary formats by their signatures; ``zip_kind`` tells the zip-based
document formats apart by their member names (and ODF by its ``mimetype`` member);
``text_kind`` classifies text once it is ASCII-compatible. ``FILE_TYPES`` is the closed set
of names that reach ``FileInfo.type`` and policy rules (``file_types: [xlsx, csv]``).
"""

from __future__ import annotations

import re
import zipfile

FILE_TYPES = (
    # documents
    "docx", "xlsx", "pptx", "odt", "ods", "odp", "pdf", "rtf",
    # text
    "csv", "tsv", "json", "ndjson", "xml", "html", "text",
    # containers and compressed files
    "zip", "tar", "gzip", "bzip2", "xz", "zstd",
    # recognised, not readable
    "doc", "xls", "ppt", "msg", "ole", "encrypted-office", "xlsb", "7z", "rar",
    "png", "jpeg", "gif", "tiff", "webp", "bmp", "heic", "mp4", "sqlite", "exe", "elf",
    # other ("encrypted": a password-protected archive member, type unknowable)
    "binary", "empty", "encrypted",
)

IMAGE_TYPES = frozenset({"png", "jpeg", "gif", "tiff", "webp", "bmp", "heic"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# (prefix, type) in test order; longer, more specific prefixes first.
_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (_OLE, "ole"),
    (b"{\\rtf", "rtf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"\x7fELF", "elf"),
)


def magic(data: bytes) -> str | None:
    """The binary format ``data`` starts with, or None for text and unknown bytes."""
    for prefix, kind in _PREFIXES:
        if data.startswith(prefix):
            return ole_kind(data) if kind == "ole" else kind
    head = data[:1024]
    if b"%PDF-" in head:  # readers accept junk before the header
        return "pdf"
    if data.startswith(b"BZh") and data[3:4].isdigit() and data[4:10] in (
            b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"):
        return "bzip2"
    if data[257:262] == b"ustar":
        return "tar"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM") and len(data) > 26 and data[6:10] == b"\0\0\0\0" and \
            int.from_bytes(data[2:6], "little") == len(data):
        return "bmp"
    if data[4:8] == b"ftyp":
        return "heic" if data[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"msf1") else "mp4"
    if data.startswith(b"MZ") and b"PE\0\0" in data[:1024]:
        return "exe"
    return None


def ole_kind(data: bytes) -> str:
    """Compound File Binary: tell encrypted OOXML from legacy Office by directory entry names.

    The directory holds UTF-16LE stream names; searching for them avoids parsing the FAT.
    Password-protected docx/xlsx/pptx are CFB files holding an ``EncryptedPackage`` stream.
    """
    def has(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has("EncryptedPackage"):
        return "encrypted-office"
    if has("WordDocument"):
        return "doc"
    if has("Workbook") or has("Book\0"):
        return "xls"
    if has("PowerPoint Document"):
        return "ppt"
    if has("__substg1.0_"):
        return "msg"
    return "ole"


def zip_kind(zf: zipfile.ZipFile) -> str:
    """docx / xlsx / pptx / odt / ods / odp / xlsb, or plain zip, from member names."""
    names = set(zf.namelist())
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "mimetype" in names:
        info = zf.getinfo("mimetype")
        if info.file_size < 200 and info.compress_size < 200 and not info.flag_bits & 1:
            try:
                mime = zf.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
                mime = b""
            return {
                b"application/vnd.oasis.opendocument.text": "odt",
                b"application/vnd.oasis.opendocument.spreadsheet": "ods",
                b"application/vnd.oasis.opendocument.presentation": "odp",
            }.get(mime.strip(), "zip")
    return "zip"


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def is_binary(data: bytes) -> bool:
    """True when the start of ``data`` (already ASCII-compatible) is not text."""
    head = data[:8192]
    if b"\0" in head:
        return True
    return len(_CONTROL.findall(head)) > len(head) // 20


_DELIMITERS = (b",", b"\t", b";", b"|")
_QUOTED = re.compile(rb'"(?:[^"]|"")*"')


def table_delimiter(data: bytes) -> bytes | None:
    """The delimiter when the first lines are rows with a consistent number of fields."""
    head = data[:65536]
    lines = head.split(b"\n")
    if len(head) == 65536 or not head.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut off
    lines = [ln for ln in lines[:50] if ln.strip()]
    if len(lines) < 2:
        return None
    unquoted = [_QUOTED.sub(b"", ln) for ln in lines]
    best: tuple[int, bytes] | None = None
    for d in _DELIMITERS:
        counts = [ln.count(d) for ln in unquoted]
        first = counts[0]
        if first < 1:
            continue
        agree = sum(1 for c in counts if c == first)
        if agree >= max(2, int(len(counts) * 0.9)) and (best is None or first > best[0]):
            best = (first, d)
    return best[1] if best else None


def text_kind(data: bytes) -> str:
    """json / xml / html / csv / tsv / rtf / text for ASCII-compatible text (a guess to confirm)."""
    head = data[:1024].lstrip()
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"<"):
        low = head[:256].lower()
        if low.startswith((b"<!doctype html", b"<html")) or b"<html" in low:
            return "html"
        return "xml"
    d = table_delimiter(data)
    if d is not None:
        return "tsv" if d == b"\t" else "csv"
    return "text"
