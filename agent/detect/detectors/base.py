"""What a detector is: patterns for the one hyperscan pass, and a handler for their matches.

Two kinds, after Presidio's ``PatternRecognizer`` and detect-secrets' ``RegexBasedDetector``:

* ``Detector``: owns its hyperscan patterns and turns each match into at most one finding
  (``on_match``), with ``validate`` / ``invalidate`` logic inside. Secrets, e-mail, markings.
* ``NumberDetector``: does not own patterns. Numbers are shared: one 9-digit value may be an SSN,
  a routing number, a passport ... so the number shapes are matched once (``number.py``) and
  every number detector that accepts the shape's *kind* is offered the digits. A detector says
  which kinds it accepts and whether each is *strong* (reported without context: a dashed valid
  SSN, a Luhn-valid card) or *weak* (needs a context word, column header or field name).

The scanner (``agent.detect.scanner``) owns the loop; detectors never see segments or threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import hyperscan

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

# Scores per verdict; a checksum on top of context adds CHECKSUM_BONUS.
SCORE_CHECKSUM = 1.0
SCORE_FORMAT = 0.85
SCORE_HEADER = 0.9
SCORE_CONTEXT = 0.8
CHECKSUM_BONUS = 0.05


@dataclass(frozen=True, slots=True)
class Pattern:
    """One hyperscan expression and how the start of a match is known.

    * ``length`` > 0: every match has that length; start = end - length.
    * ``som`` (default): hyperscan tracks the leftmost start. Cheap for specific patterns,
      ruinous for ones that begin with a broad class or a common word (an e-mail regex with SOM
      runs at 200 MB/s instead of 12 GB/s), so those set ``som=False``:
    * ``som=False``: the handler finds the start itself; it is given ``s = end - back``, an
      offset inside the match (used to find the segment), not the start.
    """

    name: str
    regex: bytes
    length: int = 0
    caseless: bool = False
    data: Any = None
    som: bool = True
    back: int = 1

    @property
    def flags(self) -> int:
        return ((hyperscan.HS_FLAG_SOM_LEFTMOST if self.length == 0 and self.som else 0)
                | (hyperscan.HS_FLAG_CASELESS if self.caseless else 0))

    @property
    def offset(self) -> int:
        """What the scanner subtracts from the match end to get ``s``; 0: use hyperscan's start."""
        if self.length:
            return self.length
        return 0 if self.som else self.back


class Detector:
    entity: ClassVar[str] = ""

    def patterns(self) -> Sequence[Pattern]:
        return ()

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        """Handle a match ending at e (hyperscan's end, may include a terminator); s is its start,
        or an anchor inside it for ``som=False`` patterns."""
        raise NotImplementedError


class NumberDetector:
    entity: ClassVar[str] = ""
    kinds: ClassVar[Mapping[str, bool]] = {}   # kind -> strong
    checksum: ClassVar[bool] = False           # validate() verifies a check digit

    def validate(self, digits: bytes) -> str | None:
        """Canonical value when ``digits`` is a valid instance, else None."""
        raise NotImplementedError

    def extend(self, buf: bytes, s: int, lo: int) -> int:
        """Start of the value when text before the matched digits belongs to it (+1 of a phone).

        Looks only at the few bytes just before ``s`` on the same line; a value right after a
        table delimiter (, ; | tab), a line start or the segment start is never extended."""
        return s

    def validate_many(self, values: list[bytes]) -> list[str | None]:
        """``validate`` over a column of values (the table fast path)."""
        return list(map(self.validate, values))

    def invalid_patterns(self, length: int) -> Sequence[bytes] | None:
        """Hyperscan expressions matching exactly the ``length``-digit values ``validate``
        rejects, when ``validate`` returns every other such value unchanged (as text); None
        when this detector cannot say so. The table fast path then validates a whole column
        in one hyperscan pass instead of one call per value."""
        return None
