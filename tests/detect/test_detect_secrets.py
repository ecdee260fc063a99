"""Secrets: AWS key ids, private keys, vendor tokens, passwords and keyword-assigned tokens."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from detect_samples import URLSAFE, jwt, random_token

R = random.Random(7)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
AWS_KEY = "AKIA" + random_token(R, 16, B32)
ASIA_KEY = "ASIA" + random_token(R, 16, B32)
GH = "ghp_" + random_token(R, 36)
GH_FINE = "github_pat_" + random_token(R, 82, URLSAFE[:-1])
GITLAB = "glpat-" + random_token(R, 20)
SLACK = f"xoxb-{R.randint(10**11, 10**12)}-{R.randint(10**12, 10**13)}-{random_token(R, 24)}"
STRIPE = "sk_live_" + random_token(R, 24)
GOOGLE = "AIza" + random_token(R, 35)
SENDGRID = "SG." + random_token(R, 22) + "." + random_token(R, 43)
NPM = "npm_" + random_token(R, 36)
TWILIO = "SK" + random_token(R, 32, "0123456789abcdef")
ANTHROPIC = "sk-ant-api03-" + random_token(R, 93) + "AA"
OPENAI = "sk-proj-" + random_token(R, 64)
JWT = jwt(R)
API_VALUE = random_token(R, 32)


def _pem(key, fmt, enc=None) -> str:
    enc = enc or serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()


RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEYS = {
    "rsa_pkcs1": _pem(RSA, serialization.PrivateFormat.TraditionalOpenSSL),
    "rsa_pkcs8": _pem(RSA, serialization.PrivateFormat.PKCS8),
    "ec": _pem(ec.generate_private_key(ec.SECP256R1()),
               serialization.PrivateFormat.TraditionalOpenSSL),
    "openssh": ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode(),
    "encrypted": _pem(RSA, serialization.PrivateFormat.PKCS8,
                      serialization.BestAvailableEncryption(b"pass phrase")),
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_private_keys(scan, name):
    pem = KEYS[name]
    text = f"config:\n  key: |\n{pem}\nend of file\n"
    [(t, value, verdict)] = scan(text)
    assert t == "PRIVATE_KEY" and verdict == "format"
    assert value.startswith("-----BEGIN") and value.rstrip().endswith("-----")
    assert "END" in value


@pytest.mark.parametrize("text", [
    "Paste your -----BEGIN RSA PRIVATE KEY----- block into the form below.",   # no END
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----",  # no body
    RSA.public_key().public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
    "-----BEGIN CERTIFICATE-----\n" + "A" * 200 + "\n-----END CERTIFICATE-----",
])
def test_private_key_near_misses(types, text):
    assert types(text) == []


def test_putty_key(types):
    body = "\n".join(random_token(R, 64) for _ in range(4))
    text = (f"PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: x\nPublic-Lines: 2\n"
            f"{random_token(R, 64)}\nPrivate-Lines: 4\n{body}\n"
            f"Private-MAC: {random_token(R, 40)}\n")
    assert types(text) == ["PRIVATE_KEY"]


# fmt: off
TOKEN_CASES = [
    (f"aws_access_key_id = {AWS_KEY}",          [("AWS_ACCESS_KEY", AWS_KEY)]),
    (f"temporary {ASIA_KEY}",                   [("AWS_ACCESS_KEY", ASIA_KEY)]),
    ("AKIAIOSFODNN7EXAMPLE",                    []),                      # AWS docs key
    ("AKIAAAAAAAAAAAAAAAAA",                    []),                      # no entropy
    ("AKIA0123456789ABCDEF",                    []),                      # 0,1,8,9 are not base32
    (f"x{AWS_KEY}",                             []),                      # inside a longer word
    (f"token: {GH}",                            [("GENERIC_API_TOKEN", GH)]),
    (GH_FINE,                                   [("GENERIC_API_TOKEN", GH_FINE)]),
    (f"GITLAB={GITLAB}",                        [("GENERIC_API_TOKEN", GITLAB)]),
    (f"slack {SLACK}",                          [("GENERIC_API_TOKEN", SLACK)]),
    (f"stripe {STRIPE}",                        [("GENERIC_API_TOKEN", STRIPE)]),
    (f"key={GOOGLE}",                           [("GENERIC_API_TOKEN", GOOGLE)]),
    (SENDGRID,                                  [("GENERIC_API_TOKEN", SENDGRID)]),
    (NPM,                                       [("GENERIC_API_TOKEN", NPM)]),
    (f"twilio {TWILIO}",                        [("GENERIC_API_TOKEN", TWILIO)]),
    (ANTHROPIC,                                 [("GENERIC_API_TOKEN", ANTHROPIC)]),
    (OPENAI,                                    [("GENERIC_API_TOKEN", OPENAI)]),
    (f"Authorization: Bearer {JWT}",            [("GENERIC_API_TOKEN", JWT)]),
    ("ghp_" + "a" * 36,                         []),                      # no entropy
    ("pk_live_" + "a1B2c3D4" * 3,               []),                      # publishable, not secret
    ("sk_live_",                                []),                      # prefix without a body
    ("eyJhbGciOiJIUzI1NiJ9.eyJub3QiOiJqd3QifQ.c2lnbmF0dXJlcw",  [("GENERIC_API_TOKEN",
     "eyJhbGciOiJIUzI1NiJ9.eyJub3QiOiJqd3QifQ.c2lnbmF0dXJlcw")]),
    ("eyJub3RhbGciOjF9.eyJub3QiOiJqd3QifQ.c2lnbmF0dXJlcw",       []),   # header without alg
    (f'api_key = "{API_VALUE}"',                [("GENERIC_API_TOKEN", API_VALUE)]),
    (f"client_secret: {API_VALUE}",             [("GENERIC_API_TOKEN", API_VALUE)]),
    (f'"x-api-key": "{API_VALUE}"',             [("GENERIC_API_TOKEN", API_VALUE)]),
    (f"aws_secret_access_key={API_VALUE}",      [("GENERIC_API_TOKEN", API_VALUE)]),
    ('api_key = "your_api_key_here"',           []),                      # words only
    ('api_key = "${API_KEY}"',                  []),
    ("api_key = os.environ['API_KEY']",         []),
    ('api_key = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"', []),             # a UUID
    ('token_type = "bearerbearerbearer1"',      []),                      # ignored key
    ('csrf_token = "' + API_VALUE + '"',        []),
    ('api_key = "abc123"',                      []),                      # too short
    ('api_key = "aaaaaaaaaaaaaaaaaaaaaaaa"',    []),                      # low entropy
]
# fmt: on


@pytest.mark.parametrize("text,expected", TOKEN_CASES)
def test_tokens(scan, text, expected):
    assert [(t, v) for t, v, _ in scan(text)] == expected


# fmt: off
PASSWORD_CASES = [
    ("password: hunter22",                      "hunter22"),
    ("password=Tr0ub4dor&3",                    "Tr0ub4dor"),             # & ends a query value
    ('pwd="S3cr3t!"',                           "S3cr3t!"),
    ('{"passwd": "x9$kL2"}',                    "x9$kL2"),
    ("db_password := 'tr0ub4dor'",              "tr0ub4dor"),
    ("DB_PASS=Sup3rS3cret",                     "Sup3rS3cret"),
    ("newPassword: 'Winter2024!'",              "Winter2024!"),
    ("smtp_password => 'mailpass99'",           "mailpass99"),
    ("https://admin:Pa55w0rd9@db.internal/x",   "Pa55w0rd9"),
    ("user=bob&password=hunter22&remember=1",   "hunter22"),
    ("Username: bob Password: hunter22",        "hunter22"),
    ("password: ****",                          None),
    ("password: <password>",                    None),
    ("password=${PASS}",                        None),
    ('password: ""',                            None),
    ("password: true",                          None),
    ("password: changeme",                      None),
    ("Password: expired",                       None),
    ("Keep your password: never share it with anyone.", None),
    ("Please keep your password confidential.", None),
    ("password_policy: strict",                 None),
    ("PWD=/home/alice",                         None),
    ("password = os.environ['DB_PASSWORD']",    None),
    ("https://user:{{ password }}@host/",       None),
    ("http://host:8080@x",                      None),
    ("if password == stored:",                  None),
    ("passport: 531234567",                     None),
]
# fmt: on


@pytest.mark.parametrize("text,value", PASSWORD_CASES)
def test_passwords(scan, text, value):
    got = [v for t, v, _ in scan(text) if t == "PASSWORD"]
    assert got == ([value] if value else [])


@pytest.mark.parametrize("field,value,found", [
    ("password", "hunter2!", True),
    ("new_password", "Winter2024!", True),
    ("confirmPassword", "Winter2024!", True),
    ("pass", "s3cret", True),
    ("pwd", "letmein1", True),
    ("user[password]", "hunter22", True),
    ("password", "", False),
    ("password", "   ", False),
    ("password", "********", False),
    ("password_hint", "my dog", False),
    ("username", "hunter22", False),
    ("passport", "531234567", False),
])
def test_password_fields(scan, field, value, found):
    got = [f for f in scan(value, field=field) if f[0] == "PASSWORD"]
    assert got == ([("PASSWORD", value.strip(), "header")] if found else [])


def test_password_field_value_is_one_finding(scan):
    # a password that looks like an SSN is reported once, as the password
    assert scan("536-22-5555", field="password") == [("PASSWORD", "536-22-5555", "header")]


# ---- password columns of tables: an export of accounts with their passwords ----

def _table_passwords(scanner, body: bytes, content_type: str | None = "text/csv") -> list[bytes]:
    from agent.extract import extract

    r = extract(body, content_type)
    res = scanner.scan(r.segments)
    return [r.segments[f.segment].data[f.start:f.end] for f in res.findings if f.type == "PASSWORD"]


def test_csv_password_column(scanner):
    body = (b"user,Password,dept\njdoe,Tr0ub4dor&3,finance\nasmith,\"corr,ect horse\",dss\n"
            b"bob,,x\nkim,changeme,y\nlee,********,z\n")
    assert _table_passwords(scanner, body) == [b"Tr0ub4dor&3", b"corr,ect horse"]


@pytest.mark.parametrize("header", ["password_changed", "password expires", "password hash",
                                    "notes"])
def test_columns_that_are_not_passwords(scanner, header):
    body = f"user,{header}\njdoe,2024-01-02\nasmith,Tr0ub4dor&3\n".encode()
    assert _table_passwords(scanner, body) == []


def test_xlsx_password_column(scanner):
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Login", "User Password", "Department"])
    ws.append(["jdoe", "Spring2026!", "Finance"])
    ws.append(["asmith", "hunter2", "DSS"])
    out = io.BytesIO()
    wb.save(out)
    assert _table_passwords(scanner, out.getvalue(), None) == [b"Spring2026!", b"hunter2"]


# joined chunks; one segment scanned in windows; a body over 8 MiB scanned piece by piece
@pytest.mark.parametrize("rows", [40_000, 150_000, 450_000])
def test_large_password_export_counts_every_row(rows):
    from agent.detect import Scanner
    from agent.inspect import DetectionTally, Inspector

    body = b"user,password\n" + b"".join(b"user%06d,Pw-%06d-x\n" % (i, i) for i in range(rows))
    result = Inspector(Scanner()).inspect(body, "text/csv")
    got = result.detections["PASSWORD"]
    assert got.count == rows and got.distinct == min(rows, DetectionTally.MAX_DISTINCT)
