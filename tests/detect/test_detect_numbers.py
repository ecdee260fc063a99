# ruff: noqa: E501  (tables of realistic text read better unwrapped)
"""Number detectors through the scanner: positives, context-only shapes and near misses.

Each case: text, then the (type, matched text) pairs expected — exactly those, in order.
"""

from __future__ import annotations

import pytest
from detect_samples import aba_complete, dea_complete, luhn_break, luhn_complete

# fmt: off
CASES = [
    # ------------------------------------------------------------------ SSN
    ("My SSN is 536-22-5555.",                      [("SSN", "536-22-5555")]),
    ("536-22-5555",                                 [("SSN", "536-22-5555")]),   # dashed: strong
    ("employee 536-22-5555 hired",                  [("SSN", "536-22-5555")]),
    ("SSN: 536225555",                              [("SSN", "536225555")]),     # bare: context
    ("social security number 536 22 5555",          [("SSN", "536 22 5555")]),
    ("Soc. Sec. #536.22.5555",                      [("SSN", "536.22.5555")]),
    ("536225555",                                   []),                         # bare, no context
    ("ref 536 22 5555",                             []),                         # spaced, no context
    ("SSN 078-05-1120",                             []),                         # Woolworth
    ("SSN 219-09-9999",                             []),                         # SSA ad
    ("SSN 457-55-5462",                             []),                         # LifeLock ad
    ("SSN 123-45-6789",                             []),
    ("SSN: 000-12-3456",                            []),                         # area 000
    ("SSN: 666-12-3456",                            []),                         # area 666
    ("SSN: 900-12-3456",                            []),                         # area 9xx
    ("SSN: 536-00-5555",                            []),                         # group 00
    ("SSN: 536-22-0000",                            []),                         # serial 0000
    ("SSN: 536-22.5555",                            []),                         # mixed separators
    ("id 12-536-22-5555",                           []),                         # part of a longer id
    # ------------------------------------------------------------------ ITIN
    ("ITIN: 912-70-1234",                           [("US_ITIN", "912-70-1234")]),
    ("taxpayer id 912701234",                       [("US_ITIN", "912701234")]),
    ("912-70-1234",                                 []),                         # 9xx needs a label
    ("SSN: 912-70-1234",                            []),                         # an SSN label on a 9xx number
    ("ITIN: 912-93-1234",                           []),                         # group 93 unused
    ("Tax ID: 536-22-5555",                         [("SSN", "536-22-5555")]),   # TIN covers SSNs
    # ------------------------------------------------------------------ cards
    ("Visa 4111 1111 1111 1111 exp 12/27",          [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ("4111-1111-1111-1111",                         [("CREDIT_CARD", "4111-1111-1111-1111")]),
    ("paid with 5555555555554444",                  [("CREDIT_CARD", "5555555555554444")]),
    ("2-series 2223000048400011",                   [("CREDIT_CARD", "2223000048400011")]),
    ("amex 3782 822463 10005",                      [("CREDIT_CARD", "3782 822463 10005")]),
    ("amex 378282246310005",                        [("CREDIT_CARD", "378282246310005")]),
    ("diners 3056 930902 5904",                     [("CREDIT_CARD", "3056 930902 5904")]),
    ("discover 6011000990139424",                   [("CREDIT_CARD", "6011000990139424")]),
    ("jcb 3530111333300000",                        [("CREDIT_CARD", "3530111333300000")]),
    ("card 4111 1111 1111 1112",                    []),                         # Luhn fails
    ("card " + luhn_complete("123456781234567"),    []),                         # no network
    ("card " + luhn_complete("272100000000000"),    []),                         # above 2-series
    ("FedEx tracking 378282246310005",              []),                         # tracking beats Luhn
    ("USPS 9400 1000 0000 0000 0000 00",            []),
    ("4111 1111 1111 1111 1111 1111",               []),                         # 6 groups: not a card
    # ------------------------------------------------------------------ ABA / bank
    ("Routing number: 021000021",                   [("ABA_ROUTING", "021000021")]),
    ("ABA 0210-0002-1",                             [("ABA_ROUTING", "0210-0002-1")]),
    ("routing " + aba_complete("32227162"),         [("ABA_ROUTING", aba_complete("32227162"))]),
    ("021000021",                                   []),                         # no context
    ("Routing number: 021000022",                   []),                         # checksum
    ("routing: " + aba_complete("13000000"),        []),                         # prefix 13
    ("Account number: 12345678901",                 [("BANK_ACCOUNT", "12345678901")]),
    ("checking acct 000123456789",                  [("BANK_ACCOUNT", "000123456789")]),
    ("account 1111111111",                          []),                         # one digit repeated
    ("account opened 20240115",                     []),                         # a date
    ("Routing: 021000021 Account: 5366213947",      [("ABA_ROUTING", "021000021"),
                                                     ("BANK_ACCOUNT", "5366213947")]),
    # ------------------------------------------------------------------ passport / licence
    ("Passport No. 531234567",                      [("US_PASSPORT", "531234567")]),
    ("passport number A12345678",                   [("US_PASSPORT", "A12345678")]),
    ("NY Driver License: 123 456 789",              [("DRIVER_LICENSE_NY", "123 456 789")]),
    ("DL# 531234567",                               [("DRIVER_LICENSE_NY", "531234567")]),
    ("driver's license: A1234567",                  [("DRIVER_LICENSE_NY", "A1234567")]),
    ("A1234567",                                    []),
    ("model A12345678",                             []),
    # ------------------------------------------------------------------ NPI / DEA / MRN
    ("NPI: 1234567893",                             [("NPI", "1234567893")]),
    ("NPI: 1234567890",                             []),                         # check digit
    ("1234567893",                                  []),                         # no context
    ("DEA# AB1234563",                              [("DEA", "AB1234563")]),
    ("DEA: " + dea_complete("M9", "123456"),        [("DEA", dea_complete("M9", "123456"))]),
    ("DEA: AB1234567",                              []),
    ("part AB1234563",                              []),                         # no context
    ("MRN: 00123456",                               [("MRN", "00123456")]),
    ("Medical record number 7654321",               [("MRN", "7654321")]),
    ("patient id 1234567 admitted",                 [("MRN", "1234567")]),
    ("order 00123456",                              []),
    # ------------------------------------------------------------------ phone
    ("Call (914) 995-2000 today",                   [("PHONE", "(914) 995-2000")]),
    ("914-995-2000",                                [("PHONE", "914-995-2000")]),
    ("914.995.2000",                                [("PHONE", "914.995.2000")]),
    ("+1 914 995 2000",                             [("PHONE", "+1 914 995 2000")]),
    ("1-914-995-2000",                              [("PHONE", "1-914-995-2000")]),
    ("+1 (914) 995-2000",                           [("PHONE", "+1 (914) 995-2000")]),
    ("phone: 9149952000",                           [("PHONE", "9149952000")]),
    ("9149952000",                                  []),                         # bare, no context
    ("call 914-555-0123",                           []),                         # 555-01xx: fiction
    ("call 114-995-2000",                           []),                         # area starts 1
    ("192.168.100.200",                             []),                         # an IP address
    ("v 914.995.2000.5",                            []),                         # longer dotted number
]
# fmt: on


@pytest.mark.parametrize("text,expected", CASES)
def test_numbers(scan, text, expected):
    assert [(t, v) for t, v, _ in scan(text)] == expected


@pytest.mark.parametrize("text,verdict", [
    ("536-22-5555", "format"),
    ("SSN: 536225555", "context"),
    ("4111111111111111", "checksum"),
    ("routing 021000021", "context"),
    ("(914) 995-2000", "format"),
])
def test_verdicts(scan, text, verdict):
    [(_, _, got)] = scan(text)
    assert got == verdict


def test_card_luhn_break_helper_differs():
    assert luhn_break("4111111111111111") != "4111111111111111"
