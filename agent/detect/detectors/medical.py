"""Health identifiers: NPI, DEA registration, medical record numbers.

NPI and DEA have check digits but short numbers pass by chance (1 in 10), and a 10-digit NPI is
also a phone number's shape, so all three need a word or a column (npi, DEA, MRN, patient ...).
MRNs are facility-specific: 6-10 digits under an MRN label is all there is to go on.
ICD-10 codes are letter-led and live in ``icd10.py``.
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import all_same, dea_ok, npi_ok


class NpiDetector(NumberDetector):
    entity = E.NPI
    kinds = {"d10": False, "-433": False, " 433": False}
    checksum = True

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if npi_ok(digits) else None


class DeaDetector(NumberDetector):
    entity = E.DEA
    kinds = {"a2_7": False, "a1_8": False}
    checksum = True

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if dea_ok(digits) else None


class MrnDetector(NumberDetector):
    entity = E.MRN
    kinds = {f"d{n}": False for n in range(6, 11)}

    def validate(self, digits: bytes) -> str | None:
        return None if all_same(digits) else digits.decode()
