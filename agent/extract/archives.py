"""Archives and compressed files: zip, tar, gzip / bzip2 / xz / zstd files.

Members are read with bounded reads; declared sizes are never trusted. A member that expands
past the ratio cap is a ``ratio_limit`` for that member (its first bytes are still read);
overlapping zip entries (the "better zip bomb" construction) make the whole zip a
``parse_error``; encrypted entries are ``encrypted``; more entries than ``max_parts`` is a
``part_limit`` after the first ``max_parts`` were read.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

from agent.extract import encoding
from agent.extract.binary import printable_runs
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Budget, Unreadable
from agent.extract.provenance import clean, join

# small enough that a CRC failure, which zipfile raises instead of returning the last read,
# loses little of a corrupt member
CHUNK = 1 << 18
_LOCAL_HEADER = 30
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
               IndexError, OverflowError)


def open_zip(data: bytes) -> zipfile.ZipFile:
    """Open a zip from memory, refusing entries whose data overlap (zip bombs reuse data)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, IndexError, OverflowError,
            NotImplementedError) as e:
        raise Unreadable("parse_error", f"not a readable zip ({type(e).__name__})") from None
    infos = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.header_offset)
    end = getattr(zf, "start_dir", len(data))
    for cur, nxt in zip(infos, infos[1:] + [None], strict=True):
        stop = nxt.header_offset if nxt is not None else end
        if cur.header_offset + _LOCAL_HEADER + cur.compress_size > stop:
            raise Unreadable("parse_error", "zip entries overlap")
    return zf


def entries(zf: zipfile.ZipFile, budget: Budget, path: str) -> list[zipfile.ZipInfo]:
    """Member entries to read, at most max_parts (recording part_limit past that)."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    limit = budget.limits.max_parts
    if len(infos) > limit:
        budget.record("part_limit", path, f"zip has {len(infos)} entries, more than {limit}")
        infos = infos[:limit]
    return infos


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, path: str,
                  archive_size: int) -> Iterator[bytes]:
    """Decompressed chunks of one member, stopping at the ratio cap (then ratio_limit)."""
    if info.flag_bits & 0x1:
        raise Unreadable("encrypted", "password-protected zip entry")
    # the compressed size as declared can be a lie; the data cannot exceed the archive
    compressed = max(1, min(info.compress_size, archive_size))
    cap = budget.ratio_cap(compressed)
    total = 0
    try:
        with zf.open(info) as f:
            while True:
                budget.tick(path)
                chunk = f.read(min(CHUNK, cap - total + 1))
                if not chunk:
                    return
                total += len(chunk)
                if total > cap:
                    yield chunk[:len(chunk) - (total - cap)]
                    raise Unreadable("ratio_limit", f"zip entry expands more than "
                                     f"{budget.limits.max_ratio:g}x")
                yield chunk
    except NotImplementedError:
        raise Unreadable("unsupported", f"zip compression method {info.compress_type}") from None
    except RuntimeError as e:  # zipfile raises it for encrypted entries it cannot open
        raise Unreadable("encrypted", f"zip entry not readable ({type(e).__name__})") from None
    except _ZIP_ERRORS as e:
        raise Unreadable("parse_error", f"corrupt zip entry ({type(e).__name__})") from None


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, path: str,
                archive_size: int) -> tuple[bytes, Unreadable | None, bool]:
    """``(data, problem, truncated)`` for one member, charged against the byte budget."""
    out: list[bytes] = []
    problem = None
    truncated = False
    try:
        for chunk in member_chunks(zf, info, budget, path, archive_size):
            n = budget.take(len(chunk), path)
            out.append(chunk if n == len(chunk) else chunk[:n])
            if n < len(chunk):
                truncated = True
                break
    except Unreadable as u:
        problem, truncated = u, True
    return b"".join(out), problem, truncated


def zip_archive(blob: Blob, walker: Walker, kind: str, zf: zipfile.ZipFile) -> None:
    budget = walker.budget
    for info in entries(zf, budget, blob.path):
        name = clean(info.filename)
        where = join(blob.path, f"zip:member={name}")
        data, problem, truncated = read_member(zf, info, budget, where, len(blob.data))
        if problem is not None and problem.reason == "encrypted":
            budget.add_file(where, info.filename, "encrypted", info.file_size)
            budget.record(problem.reason, where, problem.detail)
            continue
        walker.open(Blob(data, where, blob.depth + 1, name=info.filename, charged=True,
                         truncated=truncated, is_file=True))
        if problem is not None:
            budget.record(problem.reason, where, problem.detail)


def tar_archive(blob: Blob, walker: Walker, kind: str) -> None:
    budget = walker.budget
    limit = budget.limits.max_parts
    try:
        tf = tarfile.open(fileobj=io.BytesIO(blob.data), mode="r:")
    except (tarfile.TarError, OSError, ValueError, EOFError) as e:
        raise Unreadable("parse_error", f"not a readable tar ({type(e).__name__})") from None
    n = 0
    try:
        while True:
            member = tf.next()
            if member is None:
                return
            if not member.isfile():
                continue
            n += 1
            if n > limit:
                raise Unreadable("part_limit", f"tar has more than {limit} entries")
            where = join(blob.path, f"tar:member={clean(member.name)}")
            budget.tick(where)
            f = tf.extractfile(member)
            if f is None:
                continue
            # sparse members can declare far more than they hold: the ratio cap bounds them
            cap = budget.ratio_cap(max(1, min(member.size, len(blob.data))))
            want = min(member.size, cap)
            data = f.read(budget.take(want, where))
            walker.open(Blob(data, where, blob.depth + 1, name=member.name, charged=True,
                             truncated=len(data) < member.size, is_file=True))
            if member.size > cap:
                budget.record("ratio_limit", where, "sparse tar entry expands past the cap")
    except (tarfile.TarError, OSError, ValueError, EOFError) as e:
        raise Unreadable("parse_error", f"corrupt tar ({type(e).__name__})") from None


_COMPRESSED = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz", "zstd": "zstd"}


def compressed_file(blob: Blob, walker: Walker, kind: str) -> None:
    """A gzip/bzip2/xz/zstd file: its content is one nested file."""
    name = gzip_name(blob.data) if kind == "gzip" else None
    where = join(blob.path, f"{kind}:member={clean(name)}" if name else kind)
    decoded = encoding.decompress(_COMPRESSED[kind], blob.data, walker.budget, where)
    if not decoded.data and decoded.problem is not None:
        raise Unreadable("parse_error", f"not a valid {kind} file")
    walker.open(Blob(decoded.data, where, blob.depth + 1, name=name, charged=True,
                     truncated=decoded.truncated, is_file=True))
    if decoded.damaged:
        # garbage after a gzip signature may be text dressed up as gzip: keep its strings
        walker.budget.emit(printable_runs(blob.data), blob.path, blob.field, final=True)
    if decoded.problem is not None:
        raise Unreadable(decoded.problem.reason, decoded.problem.detail)


def gzip_name(data: bytes) -> str | None:
    """The original filename stored in a gzip header (FNAME, RFC 1952 §2.3.1), if any."""
    if len(data) < 10 or not data[3] & 0x08:
        return None
    pos = 10
    if data[3] & 0x04:  # FEXTRA
        if len(data) < 12:
            return None
        pos += 2 + int.from_bytes(data[10:12], "little")
    end = data.find(b"\0", pos, pos + 1024)
    if end < 0:
        return None
    return data[pos:end].decode("latin-1")
