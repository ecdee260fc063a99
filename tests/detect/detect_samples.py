"""Test values built independently of the code under test (check digits computed here)."""

from __future__ import annotations

import base64
import json
import random


def luhn_complete(body: str) -> str:
    """Append the Luhn check digit to body."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def luhn_break(number: str) -> str:
    """Same number with a wrong check digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def aba_complete(first8: str) -> str:
    d = [int(c) for c in first8]
    s = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return first8 + str((10 - s % 10) % 10)


def npi_complete(first9: str) -> str:
    return luhn_complete("80840" + first9)[5:]


def dea_complete(prefix: str, six: str) -> str:
    d = [int(c) for c in six]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return f"{prefix}{six}{check}"


URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def random_token(r: random.Random, n: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(r.choice(alphabet) for _ in range(n))


def jwt(r: random.Random) -> str:
    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return ".".join([b64({"alg": "HS256", "typ": "JWT"}),
                     b64({"sub": "1234567890", "name": "Jane Roe", "iat": 1716239022}),
                     random_token(r, 43, URLSAFE)])


KNOWN_INVALID = {"078051120", "219099999", "457555462", "123456789"}


def valid_ssn(r: random.Random) -> str:
    """A 9-digit number the SSA could have issued (2011 randomization rules)."""
    while True:
        area, group, serial = r.randint(1, 899), r.randint(1, 99), r.randint(1, 9999)
        s = f"{area:03d}{group:02d}{serial:04d}"
        if area != 666 and s not in KNOWN_INVALID and len(set(s)) > 1:
            return s


def invalid_ssn(r: random.Random) -> str:
    """Never issued: area 9xx (any group, ITIN ranges included), 000 or 666; group 00; or
    serial 0000."""
    area, group, serial = r.randint(1, 665), r.randint(1, 99), r.randint(1, 9999)
    kind = r.randrange(5)
    if kind == 0:
        area = r.randint(900, 999)
    elif kind == 1:
        area = 0
    elif kind == 2:
        area = 666
    elif kind == 3:
        group = 0
    else:
        serial = 0
    return f"{area:03d}{group:02d}{serial:04d}"


def dashed(ssn: str) -> str:
    return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"
