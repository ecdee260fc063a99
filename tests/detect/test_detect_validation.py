"""Check digits and issuing rules (agent/detect/validation.py), positives and near misses."""

from __future__ import annotations

import pytest
from detect_samples import aba_complete, dea_complete, luhn_break, luhn_complete, npi_complete

from agent.detect import validation as v

# fmt: off
SSN_CASES = [
    ("536225555", True),
    ("001010001", True),    # lowest area
    ("899991234", True),    # highest issued area
    ("665123456", True),
    ("000123456", False),   # area 000
    ("666123456", False),   # area 666
    ("900123456", False),   # 9xx is never an SSN (ITIN / advertising)
    ("987654320", False),   # SSA advertising block
    ("536005555", False),   # group 00
    ("536220000", False),   # serial 0000
    ("078051120", False),   # Woolworth wallet card
    ("219099999", False),   # SSA pamphlet
    ("457555462", False),   # LifeLock advertisement
    ("123456789", False),   # textbook example / keyboard run
    ("111111111", False),   # one repeated digit
    ("876543210", False),   # descending run
]
# fmt: on


@pytest.mark.parametrize("digits,ok", SSN_CASES)
def test_ssn_rules(digits, ok):
    assert v.ssn_ok(digits.encode()) is ok


@pytest.mark.parametrize("digits,ok", [
    ("912701234", True), ("900501234", True), ("999991234", True), ("912881234", True),
    ("912901234", True), ("912921234", True),
    ("912931234", False),   # group 93 is not used for ITINs
    ("912401234", False), ("912891234", False), ("912700000", False),
    ("812701234", False),   # ITINs start with 9
])
def test_itin_rules(digits, ok):
    assert v.itin_ok(digits.encode()) is ok


@pytest.mark.parametrize("number,brand", [
    ("4111111111111111", "visa"), ("4012888888881881", "visa"), ("4222222222222", "visa"),
    ("5555555555554444", "mastercard"), ("5105105105105100", "mastercard"),
    ("2223000048400011", "mastercard"),                       # 2-series (2221-2720)
    (luhn_complete("222100000000000"), "mastercard"),
    (luhn_complete("272099000000000"), "mastercard"),
    ("378282246310005", "amex"), ("371449635398431", "amex"),
    ("6011111111111117", "discover"), ("6011000990139424", "discover"),
    ("3530111333300000", "jcb"), ("3566002020360505", "jcb"),
    ("30569309025904", "diners"), ("38520000023237", "diners"),
    ("6200000000000005", "unionpay"),
])
def test_card_brands_and_luhn(number, brand):
    d = number.encode()
    assert v.card_brand(d) == brand
    assert v.luhn_ok(d) and v.card_ok(d)
    assert not v.card_ok(luhn_break(number).encode())


@pytest.mark.parametrize("number", [
    luhn_complete("272100000000000"),    # just above the 2-series range
    luhn_complete("222000000000000"),    # just below it
    luhn_complete("123456781234567"),    # Luhn-valid, no network starts with 1
    luhn_complete("94001000000000000"),  # USPS-like prefix
    luhn_complete("41111111111111"),     # Visa prefix, 15 digits: not a Visa length
    luhn_complete("378282246310005"),    # Amex prefix with 16 digits
])
def test_card_near_misses(number):
    assert not v.card_ok(number.encode())


@pytest.mark.parametrize("number,ok", [
    ("021000021", True), ("011000015", True), ("121000358", True), ("322271627", True),
    (aba_complete("80000000"), True),          # 80: traveler's cheques
    (aba_complete("61000010"), True),          # 61-72: electronic
    ("021000022", False),                      # checksum
    (aba_complete("13000000"), False),         # prefix 13 is not assigned
    (aba_complete("50000000"), False),
    (aba_complete("81000000"), False),
    ("000000000", False),
])
def test_aba_rules(number, ok):
    assert v.aba_ok(number.encode()) is ok


@pytest.mark.parametrize("number,ok", [
    ("1234567893", True), (npi_complete("198765432"), True), (npi_complete("212345678"), True),
    ("1234567890", False), ("3234567893", False),
    (npi_complete("312345678"), False),  # NPIs start with 1 or 2
])
def test_npi_rules(number, ok):
    assert v.npi_ok(number.encode()) is ok


@pytest.mark.parametrize("value,ok", [
    ("AB1234563", True), (dea_complete("FN", "765432"), True), (dea_complete("M9", "123456"), True),
    ("AB1234567", False),                                # check digit
    (dea_complete("IB", "123456"), False),               # I is not a registrant type
    (dea_complete("A1", "123456"), False),               # second char: letter or 9
])
def test_dea_rules(value, ok):
    assert v.dea_ok(value.encode()) is ok


@pytest.mark.parametrize("digits,ok", [
    ("9145551234", True), ("2127365000", True),
    ("1145551234", False),   # area starts 1
    ("9115551234", False),   # N11 area
    ("9141551234", False),   # exchange starts 1
    ("9145550134", False),   # 555-01xx reserved for fiction
])
def test_nanp_rules(digits, ok):
    assert v.nanp_ok(digits.encode()) is ok


@pytest.mark.parametrize("code,norm", [
    ("E11.9", "E11.9"), ("E119", "E11.9"), ("I10", "I10"), ("J45.909", "J45.909"),
    ("C4A.0", "C4A.0"), ("U07.1", None), ("E1", None), ("EE1.9", None),
])
def test_icd10_norm(code, norm):
    assert v.icd10_norm(code.encode()) == norm
