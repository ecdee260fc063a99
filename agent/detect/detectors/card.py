"""Payment card numbers: Luhn plus the networks' IIN ranges and lengths.

Presidio's regex misses 2-series Mastercard (2221-2720) and accepts any Luhn-valid number
starting 1-6; here the IIN table (``validation.card_brand``) must name a network *and* the
length must be one that network issues, so a Luhn-valid 16-digit number starting 9 is not a card.
Strong in every shape: a Luhn + IIN + length match is rare by chance (about 1 in 40 random
16-digit numbers that start with a card digit pass Luhn, and only specific prefixes count).
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import card_ok


class CardDetector(NumberDetector):
    entity = E.CREDIT_CARD
    kinds = {**{f"d{n}": True for n in range(13, 20)},
             **{f"{sep}{groups}": True for sep in "- "
                for groups in ("4444", "4443", "44443", "44444", "4441", "465", "464")}}
    checksum = True

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if card_ok(digits) else None
