"""Index files: nothing clear in them, private modes, wrong keys and bad files refused, reloads."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from array import array

import fp_synth as S
import pytest
from fp_helpers import HR_NOTE, SNOW_MEMO, main, write_key

from agent.extract.model import Segment
from agent.fingerprint import FingerprintError, IndexSet, load_index, load_indexes, read_key

MIN_LEN = 7   # every value searched for is at least this long


def _printable(directory) -> bytes:
    """Every run of MIN_LEN+ printable bytes in the index files, lower-cased: a clear value
    stored anywhere in them is inside one of these runs (and searching a million values stays
    fast: the runs of random hash bytes this long are few)."""
    blob = b"".join(p.read_bytes() for p in sorted(directory.iterdir()))
    return b"\0".join(re.findall(rb"[\x20-\x7e]{%d,}" % MIN_LEN, blob)).lower()


def _u64s(directory) -> set[int]:
    out: set[int] = set()
    for p in directory.glob("*.u64"):
        out.update(array("Q", p.read_bytes()))
    return out


def test_records_index_holds_no_clear_value(edm_index, persons):
    assert sum(p.stat().st_size for p in edm_index.iterdir()) > 1_000_000   # really built
    text = _printable(edm_index)
    clear: set[bytes] = set()
    numbers: set[int] = set()
    for p in persons:
        row = S.source_row(p)
        for value in (p.ssn, row[2], f"{p.first} {p.last}", row[0], f"{p.last}, {p.first}",
                      row[1], f"{p.dob:%m/%d/%Y}", p.case, p.phone, row[4]):
            clear.add(value.lower().encode())
        if len(p.last) >= 6:
            clear.add(p.last.lower().encode())
        numbers.update((int(p.ssn), int(p.phone)))
    short = {v for v in clear if len(v) < MIN_LEN}
    assert len(short) < len(clear) / 100
    assert len(clear) > 800_000
    found = [v for v in clear - short if v in text]
    assert found == []
    assert not numbers & _u64s(edm_index)      # nor the numbers as binary integers


def test_document_index_holds_no_clear_text(idm_index):
    text = _printable(idm_index)
    sentences = [s.strip() for t in (S.MEMO, SNOW_MEMO, HR_NOTE)
                 for s in t.replace("\n", " ").split(".") if len(s.strip()) > 12]
    assert len(sentences) >= 15
    words = {w.strip(".,:;-()'").lower() for t in (S.MEMO, SNOW_MEMO, HR_NOTE) for w in t.split()}
    long_words = [w for w in words if len(w) >= MIN_LEN]
    assert len(long_words) > 50
    for s in sentences + long_words:
        assert s.lower().encode() not in text, s


@pytest.mark.parametrize("fixture", ["edm_index", "idm_index"])
def test_index_files_are_private(request, fixture):
    d = request.getfixturevalue(fixture)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in d.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_wrong_key_is_named_at_load(edm_index, tmp_path):
    other = read_key(write_key(tmp_path / "other.key"))
    with pytest.raises(FingerprintError, match="built with a different key"):
        load_index(edm_index, other)


def test_group_readable_key_file_is_refused(tmp_path):
    k = write_key(tmp_path / "loose.key", 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        read_key(k)


def test_cli_refuses_a_0644_key_file(tmp_path, records_csv, capsys):
    k = write_key(tmp_path / "loose.key", 0o644)
    rc = main(["fingerprint", "records", "--dataset", "x", "--key-file", str(k),
               str(records_csv), "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "mode 0644" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_scan_with_wrong_key_is_a_usage_error(tmp_path, edm_index, capsys):
    k = write_key(tmp_path / "other.key")
    (tmp_path / "f.txt").write_text("hello")
    rc = main(["scan", "--index", str(edm_index), "--key-file", str(k), str(tmp_path / "f.txt")])
    assert rc == 2
    assert "different key" in capsys.readouterr().err


def test_short_key_is_refused(tmp_path):
    k = tmp_path / "short.key"
    k.write_text("tooshort")
    os.chmod(k, 0o600)
    with pytest.raises(FingerprintError, match="at least 16"):
        read_key(k)


def test_truncated_array_and_world_readable_index_are_refused(idm_index, key_file, tmp_path):
    key = read_key(key_file)
    bad = tmp_path / "bad"
    shutil.copytree(idm_index, bad)
    fps = bad / "fps.u64"
    fps.write_bytes(fps.read_bytes()[:-8])
    with pytest.raises(FingerprintError, match="truncated"):
        load_index(bad, key)
    shutil.rmtree(bad)
    shutil.copytree(idm_index, bad)
    os.chmod(bad / "fps.u64", 0o644)
    with pytest.raises(PermissionError):
        load_index(bad, key)


def test_not_an_index_and_duplicate_names(tmp_path, idm_index, key_file):
    key = read_key(key_file)
    with pytest.raises(FingerprintError, match="not a fingerprint index"):
        load_index(tmp_path, key)
    with pytest.raises(FingerprintError, match="both define IDM:memos"):
        load_indexes([idm_index, idm_index], key)


def test_index_set_reloads_on_change_and_keeps_old_on_failure(tmp_path, key_file, memo_dir):
    key = read_key(key_file)
    out = tmp_path / "live"
    args = ["fingerprint", "documents", "--key-file", str(key_file), "--out", str(out)]
    assert main([*args, "--collection", "first", str(memo_dir / "note.txt")]) == 0
    indexes = IndexSet([out], key)
    assert [m.name for m in indexes.matchers] == ["IDM:first"]
    assert not indexes.changed() and not indexes.reload()

    assert main([*args, "--collection", "second", str(memo_dir / "snow.pdf")]) == 0
    assert indexes.changed()
    assert indexes.reload()
    assert [m.name for m in indexes.matchers] == ["IDM:second"]
    assert indexes.matchers[0].match([Segment(SNOW_MEMO.encode(), "b")])

    manifest = out / "manifest.json"
    m = json.loads(manifest.read_text())
    m["key_id"] = "0" * 16
    manifest.write_text(json.dumps(m))
    with pytest.raises(FingerprintError):
        indexes.reload()
    assert [m.name for m in indexes.matchers] == ["IDM:second"]      # old ones stay in force
