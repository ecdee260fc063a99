"""Check digits and issuing rules: the facts that make a number *valid*, not just well shaped.

Pure functions over ASCII digit strings (``bytes``), written for the scanner's hot path: no
regexes, table lookups instead of arithmetic where it matters. Sources: SSA (SSN randomization
2011, POMS RM 10201.035), IRS ITIN ranges, ABA/Federal Reserve routing rules, CMS NPI
(ISO 7812 Luhn with the 80840 prefix), DEA registration check digit, card network IIN tables
(ISO/IEC 7812; Mastercard 2-series since 2017). See shared/reference/detectors.md.
"""

from __future__ import annotations

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn: 2*d with the digits of the product summed


def luhn_ok(digits: bytes) -> bool:
    """ISO/IEC 7812 Luhn check over ASCII digits (the last digit is the check digit)."""
    rev = digits[::-1]
    odd = rev[0::2]
    total = sum(odd) - 48 * len(odd)
    for c in rev[1::2]:
        total += _DOUBLED[c - 48]
    return total % 10 == 0


def all_same(digits: bytes) -> bool:
    return digits.count(digits[:1]) == len(digits)


_RUNS = b"01234567890123456789"


def is_run(digits: bytes) -> bool:
    """Ascending or descending digit run (123456789, 876543210): typed by hand, not issued."""
    return digits in _RUNS or digits[::-1] in _RUNS


# ---------------------------------------------------------------- SSN / ITIN

# SSA never issues area 000, 666 or 900-999; group 00 and serial 0000 are never issued.
_BAD_SSN_AREAS = frozenset({b"000", b"666"} | {b"%03d" % a for a in range(900, 1000)})

# Numbers that are valid in form but are known not to belong to a person (or belong to everyone):
# Woolworth wallet insert (078-05-1120), SSA pamphlet (219-09-9999), LifeLock ad (457-55-5462),
# textbook examples, and the 987-65-4320..4329 advertising block (already 9xx, listed for intent).
KNOWN_INVALID_SSNS = frozenset({b"078051120", b"219099999", b"457555462", b"123456789"}
                               | {b"98765432%d" % i for i in range(10)})


# 9-digit keyboard runs (012345678 ... 987654321): typed to fill a form, never issued.
_RUNS9 = frozenset(r[i:i + 9] for r in (_RUNS, _RUNS[::-1]) for i in range(10))


def ssn_ok(d: bytes) -> bool:
    """SSA issuance rules for a 9-digit SSN."""
    return (d[:3] not in _BAD_SSN_AREAS and d[3:5] != b"00" and d[5:] != b"0000"
            and d not in KNOWN_INVALID_SSNS and d not in _RUNS9 and not all_same(d))


def ssn_invalid_patterns() -> list[bytes]:
    """Hyperscan expressions matching exactly the 9-digit strings ``ssn_ok`` rejects (built
    from the same tables; tests/detect/test_detect_tables.py checks the equivalence)."""
    whole = sorted(KNOWN_INVALID_SSNS | _RUNS9 | {bytes([c]) * 9 for c in b"0123456789"})
    return [rb"(?:" + b"|".join(sorted(_BAD_SSN_AREAS)) + rb")[0-9]{6}",
            rb"[0-9]{3}00[0-9]{4}",
            rb"[0-9]{5}0000",
            rb"(?:" + b"|".join(whole) + rb")"]


# IRS ITIN: area 9xx, group 50-65, 70-88, 90-92, 94-99 (93 is reserved).
_ITIN_GROUPS = frozenset(b"%02d" % g for g in (*range(50, 66), *range(70, 89), 90, 91, 92,
                                               *range(94, 100)))


def itin_ok(d: bytes) -> bool:
    return d[:1] == b"9" and d[3:5] in _ITIN_GROUPS and d[5:] != b"0000"


# ---------------------------------------------------------------- ABA routing

# First two digits: 00-12 Federal Reserve banks, 21-32 thrifts, 61-72 electronic (ACH),
# 80 traveler's cheques. Anything else is not a routing number.
_ABA_PREFIXES = frozenset(b"%02d" % p for p in (*range(0, 13), *range(21, 33), *range(61, 73), 80))


def aba_ok(d: bytes) -> bool:
    if d[:2] not in _ABA_PREFIXES or all_same(d):
        return False
    n = [c - 48 for c in d]
    return (3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + n[2] + n[5] + n[8]) % 10 == 0


# ---------------------------------------------------------------- NPI / DEA

def npi_ok(d: bytes) -> bool:
    """CMS NPI: 10 digits starting 1 or 2, Luhn over '80840' + the NPI."""
    return d[:1] in (b"1", b"2") and not all_same(d[1:]) and luhn_ok(b"80840" + d)


# Registrant type (first letter) per DEA: A/B/F/G practitioners, M mid-level, P/R/S/T/U/X ...
_DEA_FIRST = frozenset(b"ABCDEFGHJKLMPRSTUX")


def dea_ok(v: bytes) -> bool:
    """DEA registration: 2 letters (second = registrant's initial or '9') + 7 digits, check digit
    = last digit of (d1+d3+d5) + 2*(d2+d4+d6)."""
    if len(v) != 9 or v[0] not in _DEA_FIRST:
        return False
    second = v[1]
    if not (65 <= second <= 90 or second == 57):
        return False
    n = [c - 48 for c in v[2:]]
    if any(x < 0 or x > 9 for x in n):
        return False
    return (n[0] + n[2] + n[4] + 2 * (n[1] + n[3] + n[5])) % 10 == n[6]


# ---------------------------------------------------------------- payment cards

def card_brand(d: bytes) -> str | None:
    """Network of a card number by IIN range and length, or None (Luhn is checked separately)."""
    n = len(d)
    c0 = d[0]
    if c0 == 52:  # '4'
        return "visa" if n in (13, 16, 19) else None
    p2 = int(d[:2])
    p4 = int(d[:4])
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return "mastercard" if n == 16 else None
    if p2 in (34, 37):
        return "amex" if n == 15 else None
    if p4 == 6011 or 644 <= int(d[:3]) <= 649 or p2 == 65:
        return "discover" if 16 <= n <= 19 else None
    if 3528 <= p4 <= 3589:
        return "jcb" if 16 <= n <= 19 else None
    if p2 == 36:
        return "diners" if 14 <= n <= 19 else None
    if 300 <= int(d[:3]) <= 305 or p4 == 3095 or p2 in (38, 39):
        return "diners" if 14 <= n <= 19 else None
    if p2 == 62 or p2 == 81:
        return "unionpay" if 16 <= n <= 19 else None
    if 2200 <= p4 <= 2204:
        return "mir" if 16 <= n <= 19 else None
    if p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763):
        return "maestro" if 13 <= n <= 19 else None
    return None


def card_ok(d: bytes) -> bool:
    return card_brand(d) is not None and luhn_ok(d)


# ---------------------------------------------------------------- phone (NANP)

_NANP_LEAD = frozenset(b"23456789")


def nanp_ok(d: bytes) -> bool:
    """10-digit North American number: area and exchange start 2-9, neither is N11, and the
    555-0100..0199 block reserved for fiction is excluded."""
    if d[0] not in _NANP_LEAD or d[3] not in _NANP_LEAD:
        return False
    if d[1:3] == b"11" or d[4:6] == b"11":
        return False
    return not (d[3:6] == b"555" and d[6:8] == b"01")


def nanp_invalid_patterns() -> list[bytes]:
    """Hyperscan expressions matching exactly the 10-digit strings ``nanp_ok`` rejects."""
    return [rb"[01][0-9]{9}", rb"[0-9]{3}[01][0-9]{6}", rb"[0-9]11[0-9]{7}",
            rb"[0-9]{4}11[0-9]{4}", rb"[0-9]{3}55501[0-9]{2}"]


# ---------------------------------------------------------------- ICD-10-CM

_ICD_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTVWXYZ")  # U is reserved for special purposes


def icd10_norm(v: bytes) -> str | None:
    """Canonical ICD-10-CM code (dot after the category) or None if the shape is wrong."""
    code = v.replace(b".", b"")
    if not 3 <= len(code) <= 7 or code[0] not in _ICD_FIRST:
        return None
    if not (48 <= code[1] <= 57) or not (48 <= code[2] <= 57 or code[2] in b"AB"):
        return None
    s = code.decode("ascii")
    return s if len(s) == 3 else f"{s[:3]}.{s[3:]}"
