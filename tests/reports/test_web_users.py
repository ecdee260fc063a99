"""The report users file and password hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from report_helpers import TEST_N, users_yaml, write_users

from agent.web.users import (
    ReportUser,
    check_login,
    hash_password,
    load_users,
    parse_hash,
    verify_password,
)
from agent.yamlload import ConfigError


def test_hash_round_trip_records_its_parameters():
    h = hash_password("correct horse battery", n=TEST_N)
    n, r, p, salt, key = parse_hash(h)
    assert (n, r, p) == (TEST_N, 8, 1) and len(salt) == 16 and len(key) == 32
    assert "correct horse" not in h
    assert verify_password(h, "correct horse battery")
    assert not verify_password(h, "correct horse batterY")
    assert not verify_password(h, "")
    assert hash_password("same", n=TEST_N) != hash_password("same", n=TEST_N)   # fresh salt


def test_default_cost():
    n, r, p, _, _ = parse_hash(hash_password("x" * 12))
    assert (n, r, p) == (2**15, 8, 1)


@pytest.mark.parametrize("bad", [
    "plaintext-password", "scrypt$n=16384,r=8,p=1$c2FsdA==",               # no key part
    "scrypt$n=1000,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",    # n not a power of 2
    "scrypt$n=4194304,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",  # n too large
    "scrypt$n=16384,r=8,p=1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5",           # salt too short
    "bcrypt$2b$12$abcdefghijklmnopqrstuv",
])
def test_bad_hashes_are_refused(bad):
    with pytest.raises(ValueError):
        parse_hash(bad)


def test_unknown_user_costs_a_hash_and_fails():
    assert check_login(None, "anything") is False


def test_load_users(tmp_path):
    spec = load_users(write_users(tmp_path / "u.yaml"), {"finance", "dss", "communications"})
    assert spec.users["rroe"].may_view("finance") and not spec.users["rroe"].may_view("dss")
    assert spec.users["kchen"].may_view("dss") and spec.users["kchen"].may_view("anything")
    assert spec.max_failed_logins == 3
    assert "password" not in repr(spec.users["rroe"])


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_users_file_must_be_private(tmp_path, mode):
    path = write_users(tmp_path / "u.yaml", mode=mode)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_users(path)


HASH = hash_password("x" * 12, n=TEST_N)


@pytest.mark.parametrize(("text", "where"), [
    (f"users:\n  bob:\n    name: Bob\n    role: supervisor\n    password: '{HASH}'\n",
     ":3: users.bob: Value error, a supervisor needs 'departments'"),
    (f"users:\n  kim:\n    name: Kim\n    role: doit_admin\n    departments: [finance]\n"
     f"    password: '{HASH}'\n", ":3: users.kim: Value error, a doit_admin sees every department"),
    ("users:\n  bob:\n    name: Bob\n    role: supervisor\n    departments: [finance]\n"
     "    password: hunter2\n", ":6: users.bob.password: Value error, not a password hash"),
    (f"users:\n  bob:\n    name: Bob\n    role: boss\n    departments: [finance]\n"
     f"    password: '{HASH}'\n", ":4: users.bob.role:"),
    (f"users:\n  bob:\n    name: Bob\n    role: supervisor\n    departments: [finance]\n"
     f"    password: '{HASH}'\n    pasword: x\n", ":7: users.bob.pasword: unknown field"),
    (f"users:\n  Bob:\n    name: Bob\n    role: supervisor\n    departments: [finance]\n"
     f"    password: '{HASH}'\n", ":3: users.Bob: user name 'Bob' must match"),
    (f"users:\n  bob:\n    name: Bob\n    role: supervisor\n    departments: [finance, parks]\n"
     f"    password: '{HASH}'\n", ":5: users.bob.departments[1]: unknown department 'parks'"),
])
def test_config_errors_name_file_line_and_field(tmp_path, text, where):
    path = write_users(tmp_path / "u.yaml", text)
    with pytest.raises(ConfigError) as e:
        load_users(path, {"finance", "dss"})
    assert f"{path}{where}" in str(e.value)


def test_near_miss_valid_file(tmp_path):
    # the same shapes as above, written correctly, load
    text = users_yaml()
    assert len(load_users(write_users(tmp_path / "u.yaml", text)).users) == 4
    assert ReportUser(name="A", role="doit_admin", password=HASH).departments == []


EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "report-users.example.yaml"


def test_example_file_needs_real_hashes(tmp_path):
    path = write_users(tmp_path / "u.yaml", EXAMPLE.read_text())
    with pytest.raises(ConfigError) as e:
        load_users(path)
    assert len(e.value.issues) == 3
    assert all("--hash-password" in i.message for i in e.value.issues)


def test_example_file_is_valid_once_hashes_are_filled_in(tmp_path):
    text = EXAMPLE.read_text().replace(
        "scrypt$REPLACE-with-the-output-of-dlp-agent-serve-reports---hash-password", HASH)
    spec = load_users(write_users(tmp_path / "u.yaml", text),
                      set(yaml.safe_load((EXAMPLE.parent / "directory.example.yaml")
                                         .read_text())["departments"]))
    assert {u: s.role for u, s in spec.users.items()} == {
        "rroe": "supervisor", "dss_supervisor": "supervisor", "kchen": "doit_admin"}
