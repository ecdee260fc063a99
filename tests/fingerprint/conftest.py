"""Fixtures: a County key file, a 100,000-row records index and a memo collection index, built
once per session through the real `dlp-agent fingerprint` command from files made by their
libraries (csv, python-docx, fpdf2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fp_synth as S  # noqa: E402
from fp_helpers import HR_NOTE, SNOW_MEMO, docx_bytes, main, pdf_bytes, write_key  # noqa: E402,F401

ROWS = 100_000
COLUMNS = ["full_name:name", "dob:date", "ssn:number:2", "case_number:number", "phone:number"]


@pytest.fixture(scope="session")
def fp_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fingerprint")


@pytest.fixture(scope="session")
def key_file(fp_dir: Path) -> Path:
    return write_key(fp_dir / "county.key")


@pytest.fixture(scope="session")
def persons() -> list[S.Person]:
    return S.people(ROWS)


@pytest.fixture(scope="session")
def records_csv(fp_dir: Path, persons) -> Path:
    path = fp_dir / "clerk_records.csv"
    S.write_csv(path, persons)
    return path


@pytest.fixture(scope="session")
def edm_index(fp_dir: Path, key_file: Path, records_csv: Path) -> Path:
    out = fp_dir / "idx-clerk"
    rc = main(["fingerprint", "records", "--dataset", "clerk_records", "--key-file",
               str(key_file), str(records_csv), "--out", str(out), "--min-fields", "2",
               "--columns", *COLUMNS])
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def memo_dir(fp_dir: Path) -> Path:
    """Protected documents: the memo as docx, another memo as PDF, a plain-text note."""
    d = fp_dir / "protected"
    (d / "budget").mkdir(parents=True)
    (d / "budget" / "Annex consolidation.docx").write_bytes(
        docx_bytes([p.replace("\n", " ") for p in S.MEMO.split("\n\n")]))
    (d / "snow.pdf").write_bytes(pdf_bytes(SNOW_MEMO))
    (d / "note.txt").write_text(HR_NOTE)
    return d


@pytest.fixture(scope="session")
def idm_index(fp_dir: Path, key_file: Path, memo_dir: Path) -> Path:
    out = fp_dir / "idx-memos"
    rc = main(["fingerprint", "documents", "--collection", "memos", "--key-file", str(key_file),
               str(memo_dir), "--out", str(out)])
    assert rc == 0
    return out
