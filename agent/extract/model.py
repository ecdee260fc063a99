"""Values that extraction produces: text segments with provenance, and what could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.extract.spool import Spool

# Reasons are a closed set: they become the `reason` label of dlp_inspection_failures_total
# and a policy match key (`uninspectable: [encrypted]`), so free text must not leak in here.
UNINSPECTABLE_REASONS = (
    "depth_limit",        # containers nested deeper than Limits.max_depth
    "size_limit",         # more extracted bytes than Limits.max_extracted_bytes (in memory)
                          # or Limits.max_spilled_bytes (on disk)
    "ratio_limit",        # a decompression expanded more than Limits.max_ratio
    "part_limit",         # more parts / entries / fields than Limits.max_parts
    "time_limit",         # extraction or scanning ran past its time budget
    "parse_error",        # malformed container (multipart, zip, pdf, xml ...)
    "encoding_error",     # Content-Encoding that does not decode
    "encrypted",          # password-protected zip / office / pdf
    "unsupported",        # a recognised type we cannot read (e.g. legacy .doc, images)
    "internal_error",     # a bug in the agent: counted, logged without content, fails closed
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the work one body may cause. Hitting one yields an Uninspectable, never a crash."""

    max_depth: int = 6                        # containers within containers
    max_extracted_bytes: int = 64 * 1024**2   # total text + decompressed bytes per body
    max_ratio: float = 200.0                  # decompressed / compressed, per container
    max_parts: int = 20_000                   # multipart parts, archive entries, form fields
    max_seconds: float = 10.0                 # wall-clock budget for one body
    min_ratio_floor: int = 1024 * 1024        # tiny inputs may expand to this before ratio applies
    # Segment text past memory_text_bytes (per body) goes to an anonymous spool file in
    # spill_dir (None: tempfile.gettempdir()), up to max_spilled_bytes; spilled text is not
    # counted in max_extracted_bytes. A body that is its own text (plain text, CSV) stays
    # where the caller holds it but counts against max_spilled_bytes past the threshold too.
    # max_spilled_bytes=0 keeps all text in memory (max_extracted_bytes then bounds it).
    memory_text_bytes: int = 16 * 1024**2
    max_spilled_bytes: int = 512 * 1024**2
    spill_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_extracted_bytes", "max_parts", "min_ratio_floor",
                     "memory_text_bytes", "max_spilled_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"Limits.{name} must be >= 0")
        if self.max_ratio <= 1 or self.max_seconds <= 0:
            raise ValueError("Limits.max_ratio must be > 1 and max_seconds > 0")


@dataclass(frozen=True, slots=True)
class TableLayout:
    """A segment holding delimited rows: lets detectors read a value's column header."""

    delimiter: bytes            # b"\t" for spreadsheets, b"," / b";" / b"|" for CSV
    header: tuple[str, ...]     # column names of the first row, lower-cased and stripped


@dataclass(slots=True)
class Segment:
    """A piece of text found in a body.

    ``data`` is ASCII-compatible bytes (UTF-8 when the source declared or implied a charset;
    UTF-16 sources are transcoded) so the scanner can run over it without decoding.
    ``where`` is the provenance shown in incidents, e.g. ``multipart:file=Q3.xlsx/sheet:Payroll``
    or ``json:$.post.text``. ``field`` is the form field or JSON key that held the text; it is
    context for detectors (a value under ``"ssn"`` is an SSN the way a value under an SSN
    column header is).
    """

    data: bytes
    where: str
    field: str | None = None
    table: TableLayout | None = None

    @property
    def size(self) -> int:
        """len(data), without reading it back for a segment spilled to disk."""
        return len(self.data)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file found in the body (upload part, archive member, base64 payload)."""

    where: str
    name: str | None          # filename as sent by the client, if any
    type: str                 # detected from bytes: docx, xlsx, pptx, pdf, zip, csv, text ...
    size: int


@dataclass(frozen=True, slots=True)
class Uninspectable:
    reason: str               # one of UNINSPECTABLE_REASONS
    where: str
    detail: str = ""          # short, content-free explanation ("zip entry 7 nested 7 deep")

    def __post_init__(self) -> None:
        if self.reason not in UNINSPECTABLE_REASONS:
            raise ValueError(f"unknown uninspectable reason {self.reason!r}")


@dataclass(slots=True)
class ExtractionResult:
    segments: list[Segment] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    uninspectable: list[Uninspectable] = field(default_factory=list)
    bytes_in: int = 0
    bytes_extracted: int = 0
    spool: Spool | None = field(default=None, repr=False, compare=False)  # spilled text

    def close(self) -> None:
        """Release the spool file (spilled segments cannot be read afterwards)."""
        if self.spool is not None:
            self.spool.close()

    @property
    def complete(self) -> bool:
        """True when every byte of the body was read; False means detections may be missing."""
        return not self.uninspectable
