"""False-positive filters (agent/detect/filters.py): each predicate with hits and misses."""

from __future__ import annotations

import pytest

from agent.detect import filters as f


@pytest.mark.parametrize("text,start,end,embedded", [
    (b"x 123456789 y", 2, 11, False),
    (b"12.123456789", 3, 12, True),       # decimal
    (b"2024-123456789", 5, 14, True),     # compound id
    (b"123456789/2024", 0, 9, True),
    (b"123456789.", 0, 9, False),         # sentence end
    (b"123456789-a", 0, 9, False),
    (b"a,123456789,b", 2, 11, False),     # CSV cell
])
def test_is_embedded_number(text, start, end, embedded):
    assert f.is_embedded_number(text, start, end, 0, len(text)) is embedded


@pytest.mark.parametrize("digits,date", [
    (b"20240115", True), (b"01152024", True), (b"19991231", True),
    (b"12345678", False), (b"20241315", False), (b"99999999", False), (b"2024011", False),
])
def test_is_date_digits(digits, date):
    assert f.is_date_digits(digits) is date


@pytest.mark.parametrize("value,placeholder", [
    ("********", True), ("xxxxxx", True), ("<password>", True), ("${DB_PASS}", True),
    ("{{ secret }}", True), ("{password}", True), ("%PASSWORD%", True), ("$PASS", True),
    ("[redacted]", True), ("", True), ("  ", True), ("true", True), ("NULL", True),
    ("None", True), ("changeme", True), ("hunter22", False), ("S3cr3t!", False),
    ("p@ss$word", False), ("x9$kL2", False),
])
def test_is_placeholder(value, placeholder):
    assert f.is_placeholder(value, frozenset({"changeme"})) is placeholder


@pytest.mark.parametrize("value,ref", [
    ("os.environ['DB_PASSWORD']", True), ("getenv(\"PASS\")", True), ("process.env.TOKEN", True),
    ("get_secret('db')", True), ("settings.API_KEY", True), ("hunter22", False),
    ("a1b2c3d4e5f6", False),
])
def test_is_reference(value, ref):
    assert f.is_reference(value) is ref


@pytest.mark.parametrize("value,seq", [
    ("abcdef", True), ("123456", True), ("987654", True), ("qwerty", True), ("ZYXWVU", True),
    ("abc", False), ("a1b2c3", False), ("hunter2", False),
])
def test_is_sequential(value, seq):
    assert f.is_sequential(value) is seq


def test_uuid_hash_word_entropy():
    assert f.is_uuid("3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f")
    assert f.is_uuid("3f2b8c1e4d5a4b6c9e7f0a1b2c3d4e5f")
    assert not f.is_uuid("3f2b8c1e-4d5a-4b6c-9e7f")
    assert f.is_hex_hash("d41d8cd98f00b204e9800998ecf8427e")                      # md5
    assert f.is_hex_hash("da39a3ee5e6b4b0d3255bfef95601890afd80709")              # sha1
    assert f.is_hex_hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert not f.is_hex_hash("d41d8cd98f00b204e9800998ecf8427")
    assert not f.is_hex_hash("g41d8cd98f00b204e9800998ecf8427e")
    assert f.is_word_only("my_api_key.value") and not f.is_word_only("abc123")
    assert f.shannon_entropy("aaaa") == 0.0
    assert f.shannon_entropy("abcd") == pytest.approx(2.0)
    assert f.shannon_entropy("sk8Hf3kLq9Zx2Vb7Nm4Pq1Rt") > 4.0


@pytest.mark.parametrize("line,value_end,prose", [
    (b"password: hunter22", 18, False),
    (b"password: hunter22\nnext", 18, False),
    (b"password=hunter22&user=bob", 17, False),
    (b"password: hunter22, user: bob", 18, False),
    (b"password: hunter22 user: bob", 18, False),
    (b"password: keep it safe", 14, True),
    (b"Password: never share it with anyone", 15, True),
])
def test_is_prose_after(line, value_end, prose):
    assert f.is_prose_after(line, value_end, len(line)) is prose


def test_status_example_and_extensions():
    assert f.is_status_word("Expired") and not f.is_status_word("hunter22")
    assert f.is_example_aws_key("AKIAIOSFODNN7EXAMPLE")
    assert not f.is_example_aws_key("AKIAZ7XQ3KJ5LM2PQR4T")
    assert f.is_file_extension("PNG") and not f.is_file_extension("gov")
