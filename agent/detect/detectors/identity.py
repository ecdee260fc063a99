"""US passports and New York driver licences: shapes shared with SSNs, so context only.

Passport: 9 digits (older books) or a letter + 8 digits (next-generation, 2021+).
NY licence (DMV): 9 digits today; older: letter + 7 digits, letter + 18 digits, 8 digits,
16 digits (the all-letter format is not matched).
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import all_same


class PassportDetector(NumberDetector):
    entity = E.US_PASSPORT
    kinds = {"d9": False, "a1_8": False}

    def validate(self, digits: bytes) -> str | None:
        return None if all_same(digits[-8:]) else digits.decode()


class NyDriverLicenseDetector(NumberDetector):
    entity = E.DRIVER_LICENSE_NY
    kinds = {"d9": False, " 333": False, "d8": False, "d16": False, "a1_7": False, "a1_18": False}

    def validate(self, digits: bytes) -> str | None:
        return None if all_same(digits[-7:]) else digits.decode()
