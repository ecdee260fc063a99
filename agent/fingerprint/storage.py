"""Index directories on disk: a JSON manifest plus flat little-endian arrays, all mode 0600.

    DIR/manifest.json    kind, name, created, key_id, tokenizer, parameters, counts
    DIR/<name>.u64 ...   fixed-width little-endian unsigned arrays (u64, u32, u8)

Arrays hold only keyed hashes and small integers (row numbers, column and document indexes).
Writing goes to temporary names and renames, manifest last, so a loader polling the directory
never sees a half-written index: a manifest names the exact byte size of every array it uses.
"""

from __future__ import annotations

import json
import os
import sys
from array import array
from pathlib import Path

import numpy as np

from agent.masking import check_private_file

FORMAT = "dlp-agent-index/1"
MANIFEST = "manifest.json"
KINDS = ("edm", "idm")
_TYPECODES = {"u64": "Q", "u32": "I", "u8": "B"}


class FingerprintError(Exception):
    """An index that cannot be used: missing, malformed, wrong key, unsafe file mode."""


def read_key(path: str | Path) -> bytes:
    """The County key from a 0600 key file (at least 16 bytes once stripped)."""
    p = Path(path)
    try:
        check_private_file(p, "fingerprint key file")
        key = p.read_bytes().strip()
    except FileNotFoundError:
        raise FingerprintError(f"fingerprint key file {p} does not exist") from None
    if len(key) < 16:
        raise FingerprintError(
            f"fingerprint key file {p} holds {len(key)} bytes; at least 16 needed")
    return key


def _typed(kind: str) -> str:
    code = _TYPECODES[kind]
    if array(code).itemsize != {"Q": 8, "I": 4, "B": 1}[code]:
        raise FingerprintError(f"this platform's array('{code}') is not {kind}")
    return code


def write_index(out: Path, manifest: dict, arrays: dict[str, array]) -> None:
    """Write arrays then the manifest into ``out`` (created 0700), every file 0600."""
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    files = {}
    for name, arr in arrays.items():
        kind = next(k for k, c in _TYPECODES.items() if c == arr.typecode)
        fname = f"{name}.{kind}"
        data = arr if sys.byteorder == "little" else _swapped(arr)
        _write_private(out / fname, data.tobytes())
        files[name] = {"file": fname, "type": kind, "length": len(arr)}
    manifest = {"format": FORMAT, **manifest, "arrays": files}
    _write_private(out / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def _swapped(arr: array) -> array:
    a = array(arr.typecode, arr)
    a.byteswap()
    return a


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise FingerprintError(f"{directory} is not a fingerprint index (no {MANIFEST})")
    check_private_file(path, "fingerprint index manifest")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise FingerprintError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FingerprintError(f"{path}: unknown index format {manifest.get('format')!r}; "
                          f"this agent reads {FORMAT}")
    if manifest.get("kind") not in KINDS:
        raise FingerprintError(f"{path}: unknown index kind {manifest.get('kind')!r}")
    return manifest


_DTYPES = {"u64": "<u8", "u32": "<u4", "u8": "u1"}


def read_array(directory: Path, manifest: dict, name: str) -> np.ndarray:
    """One array of an index, read into memory.

    Not memory-mapped, although a mapping would let the processes of a host share one copy:
    an index file rewritten in place under a running agent (``cp`` over it, rather than the
    rename that ``dlp-agent fingerprint`` and rsync do) makes every read of a page past its new
    end a SIGBUS, and that would take the proxy down with it."""
    spec = manifest["arrays"].get(name)
    if spec is None:
        raise FingerprintError(f"{directory}: manifest names no array {name!r}")
    path = directory / spec["file"]
    check_private_file(path, "fingerprint index file")
    dtype = np.dtype(_DTYPES[spec["type"]])
    size = path.stat().st_size
    if size != spec["length"] * dtype.itemsize:
        raise FingerprintError(f"{path}: {size} bytes, manifest says {spec['length']} "
                               f"{spec['type']} values (truncated or being rewritten)")
    with path.open("rb") as f:
        arr = np.fromfile(f, dtype=dtype, count=spec["length"])
    if len(arr) != spec["length"]:
        raise FingerprintError(f"{path}: shorter than its manifest says (being rewritten?)")
    return arr.astype(dtype.newbyteorder("="), copy=False)


def signature(directories: list[str | Path]) -> tuple:
    """(path, size, mtime_ns) of every file in the directories: changes when an index changes."""
    out = []
    for d in directories:
        p = Path(d)
        try:
            entries = sorted(p.iterdir())
        except OSError:
            out.append((str(p), -1, -1))
            continue
        for f in entries:
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(out)
