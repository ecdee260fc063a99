"""ABA routing numbers and bank account numbers: always need a word or a column.

A random 9-digit number passes the ABA checksum one time in ten and the Federal Reserve prefix
rule (00-12, 21-32, 61-72, 80) about four times in ten, so validity alone proves little
(Presidio scores every checksum-valid one 1.0). Account numbers have no check digit at all.
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import aba_ok, all_same


class AbaDetector(NumberDetector):
    entity = E.ABA_ROUTING
    kinds = {"d9": False, "-441": False}
    checksum = True

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if aba_ok(digits) else None


class BankAccountDetector(NumberDetector):
    entity = E.BANK_ACCOUNT
    kinds = {f"d{n}": False for n in range(8, 18)}

    def validate(self, digits: bytes) -> str | None:
        return None if all_same(digits) else digits.decode()
