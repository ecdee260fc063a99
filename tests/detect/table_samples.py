"""Adversarial delimited tables for the table fast path: mostly-typed columns (as real exports
are) with near misses, quotes, context words, secrets, markings, private keys across lines,
irregular and long lines mixed in."""

from __future__ import annotations

import random

from detect_samples import aba_complete, dashed, invalid_ssn, luhn_complete, npi_complete, valid_ssn

HEADERS = [
    "ssn", "Social Security #", "SSN/ITIN", "tin", "phone", "Phone Number", "email", "e-mail",
    "routing number", "account", "order id", "zip", "dob", "notes", "name", "npi", "dea", "mrn",
    "passport", "dl", "card number", "diagnosis", "id", "", "comment",
]

FIRST = ["Ana", "Bo", "Chen", "Dara", "Eli", "Fay", "Kofi", "O'Neil"]
DOMAINS = ["gmail.com", "county.ny.gov", "Example.com", "mail.example.org", "yahoo.co.uk",
           "x.png", "a.b.c.d.e.f.g.h.i.io", "host", "-bad.com", "ok-host.net", "sub.outlook.com"]
WORDS = ["ok", "see notes", "order 536225555", "SSN: 536225555", "password: hunter22",
         "api_key=Zx8Qw3Er5Ty7Ui9Op1As", "CONFIDENTIAL", "dx E11.9", "E119", "keep it confidential",
         "tracking 378282246310005", "AKIAQWERTYUIOPASDFGH", "Classification: Confidential",
         "1234567-12345678", "536-22-5555 (old)", "Smith, Jr.", "n/a", "", "   ",
         "call 914-995-2000", "https://bob:s3cr3tpw@host.example.net/x"]


def _phone(r: random.Random) -> str:
    a = r.choice(["914", "212", "114", "911", "845"])
    x = r.choice(["555", "995", "211", "123", "700"])
    n = r.choice(["0123", "0150", "1234", "9999", f"{r.randint(0, 9999):04d}"])
    return r.choice([f"({a}) {x}-{n}", f"{a}-{x}-{n}", f"{a}.{x}.{n}", f"{a}{x}{n}",
                     f"1{a}{x}{n}", f"+1 {a} {x} {n}", f"1-{a}-{x}-{n}", f"{a} {x} {n}"])


def _email(r: random.Random) -> str:
    local = r.choice(["jane.roe", "J.Smith", "o'brien", ".dot", "tick'", "a", "x" * 70,
                      "jo.1234567", "user+tag", "first_last", "9am", "ab'cd", "%x"])
    dom = r.choice(DOMAINS)
    return r.choice([f"{local}@{dom}", f"{local}{r.randint(1, 99)}@{dom}", f"{local}@@{dom}",
                     f"{local}@{dom}".upper(), f"{local}@{dom}", f"{local}@{dom}"])


def cell(r: random.Random, kind: str) -> str:
    """A value for a column of this kind, or (sometimes) something else entirely."""
    if r.random() < 0.12:
        kind = r.choice(["ssn", "phone", "email", "word", "card", "number", "quoted"])
    if kind == "ssn":
        s = valid_ssn(r) if r.random() < 0.8 else invalid_ssn(r)
        return r.choice([s, dashed(s), dashed(s), f"{s[:3]} {s[3:5]} {s[5:]}",
                         f"{s[:3]}.{s[3:5]}.{s[5:]}", f"9{s[1:3]}-7{s[4]}-{s[5:]}"])
    if kind == "phone":
        return _phone(r)
    if kind == "email":
        return _email(r)
    if kind == "card":
        body = r.choice(["411111111111111", "555555555555444", "378282246310005"[:-1],
                         "601100099013942"])
        card = luhn_complete(body[:-1] if len(body) == 15 else body)
        if r.random() < 0.3:
            card = card[:-1] + str((int(card[-1]) + 1) % 10)
        return r.choice([card, " ".join(card[i:i + 4] for i in range(0, len(card), 4)),
                         "-".join(card[i:i + 4] for i in range(0, len(card), 4))])
    if kind == "number":
        return r.choice([aba_complete(f"{r.randint(0, 12):02d}{r.randint(0, 999999):06d}"),
                         npi_complete(f"1{r.randint(0, 99999999):08d}"), "AB1234563",
                         f"{r.randint(10**5, 10**17)}", "A12345678", "1111111111",
                         f"{r.randint(1990, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                         f"{r.randint(10000, 99999)}-{r.randint(1000, 9999)}"])
    if kind == "quoted":
        return r.choice(['"Smith, Jr."', '"536-22-5555"', '"a,b,c"', '"say ""hi"""', '"x'])
    if kind == "name":
        return r.choice(FIRST) + r.choice(["", " Lee", ", Jr."])
    return r.choice(WORDS)


KIND_OF = {"ssn": "ssn", "social security #": "ssn", "ssn/itin": "ssn", "tin": "ssn",
           "phone": "phone", "phone number": "phone", "email": "email", "e-mail": "email",
           "routing number": "number", "account": "number", "order id": "number",
           "zip": "number", "dob": "number", "npi": "number", "dea": "number", "mrn": "number",
           "passport": "number", "dl": "number", "card number": "card", "name": "name"}

PEM = ["-----BEGIN RSA PRIVATE KEY-----",
       "MIIEowIBAAKCAQEA7bq0x1Yk3QfLwz8E5QmR2yLwH0nQbX1rV3s9PqZ8y2Kd4mTjXf",
       "Q2f7s1kP9mZ0vR3wX5yB8nC4dE6fG7hI9jK0lM1nO2pQ3rS4tU5vW6xY7zA8bC9dE0",
       "-----END RSA PRIVATE KEY-----"]


def table(r: random.Random, delim: str = ",", rows: int = 300, crlf: bool = False,
          header: list[str] | None = None) -> tuple[bytes, tuple[str, ...]]:
    """CSV/TSV bytes with a header row, and the header as TableLayout wants it."""
    if header is None:
        header = r.sample(HEADERS, r.randint(2, 7))
    kinds = [KIND_OF.get(h.lower(), r.choice(["word", "number", "email", "ssn"]))
             for h in header]
    lines = [delim.join(header)]
    for _ in range(rows):
        x = r.random()
        if x < 0.02:
            lines.append(row(r, kinds, delim) + delim + "extra")
        elif x < 0.03:
            lines.append("")
        elif x < 0.035:
            lines.extend(PEM)
        elif x < 0.04:
            lines.append(f'"{PEM[0]}"{delim}x')
        else:
            lines.append(row(r, kinds, delim))
    nl = "\r\n" if crlf else "\n"
    data = (nl.join(lines) + (nl if r.random() < 0.7 else "")).encode()
    if r.random() < 0.2:
        data = data.replace(b"ok", b"o\x00k").replace(b"Ana", "Ána".encode())
    return data, tuple(h.strip().lower() for h in header)


def row(r: random.Random, kinds: list[str], delim: str) -> str:
    """One line; unquoted values never hold the delimiter, quoted ones may."""
    values = []
    for k in kinds:
        v = cell(r, k)
        values.append(v if v.startswith('"') else v.replace(delim, " "))
    return delim.join(values)
