"""A zip-based document package (OOXML or ODF): its parts, streamed through XML handlers."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Protocol

from agent.extract import archives, xmltext
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Exhausted, Unreadable
from agent.extract.provenance import clean, join
from agent.extract.xmltext import AllText, BufferFull, TextBuffer

_PIECE = 1 << 20      # XML bytes gathered before a piece is cut off and rendered


class FastRenderer(Protocol):
    def cut(self, data: bytes) -> int:
        """Where ``data`` may be cut between pieces (0: not yet)."""

    def feed(self, data: bytes) -> bytes | None:
        """Text of the next piece; None: the part is not for this renderer."""

    def end(self) -> bytes:
        """Text held back until the part ended."""


class Package:
    """The parts of one OOXML/ODF zip and how to stream them through an XML handler."""

    def __init__(self, zf: zipfile.ZipFile, blob: Blob, walker: Walker):
        self.zf = zf
        self.blob = blob
        self.walker = walker
        self.budget = walker.budget
        self.infos = {i.filename: i for i in archives.entries(zf, self.budget, blob.path)}

    def where(self, label: str) -> str:
        return join(self.blob.path, label)

    def parse(self, name: str, attach: Callable, path: str) -> bool:
        """Stream part ``name`` through a fresh parser set up by ``attach``; False if unread.

        A broken part is recorded against ``path`` and the other parts are still read.
        """
        info = self.infos.get(name)
        if info is None:
            return False
        parser = xmltext.new_parser(forbid_dtd=True)
        attach(parser)
        try:
            xmltext.feed(parser, archives.member_chunks(self.zf, info, self.budget, path,
                                                        len(self.blob.data)),
                         self.budget, path)
        except BufferFull:
            return False
        except Unreadable as u:
            self.budget.record(u.reason, path, u.detail)
            return False
        return True

    def read(self, name: str, path: str) -> tuple[bytes, Unreadable | None]:
        """A part's bytes held whole (not charged: XML is transient, its text is charged)."""
        info = self.infos.get(name)
        if info is None:
            return b"", None
        chunks: list[bytes] = []
        try:
            for chunk in archives.member_chunks(self.zf, info, self.budget, path,
                                                len(self.blob.data)):
                chunks.append(chunk)
        except Unreadable as u:
            return b"".join(chunks), u
        return b"".join(chunks), None

    def text(self, name: str, label: str, handler: Callable | None = None,
             fast: Callable[[], FastRenderer] | None = None) -> None:
        """One segment with the text of part ``name``.

        ``fast`` makes a renderer (``ooxml.FastRuns``) that turns the part into text by regex,
        piece by piece, as it is decompressed; when it meets a shape it does not handle, its
        text is dropped and the part goes through ``handler`` on expat instead.
        """
        if name not in self.infos:
            return
        if fast is not None and self._fast(name, self.where(label), fast()):
            return
        self._stream(name, label, handler)

    def _fast(self, name: str, path: str, renderer: FastRenderer) -> bool:
        """Stream part ``name`` through ``renderer`` into one segment; False (nothing emitted)
        when the renderer gives up. Memory holds a piece of the XML and the text so far, or
        only a batch of it once the body's text spills to disk."""
        out = self.budget.writer(path)
        problem = None
        full = False
        try:
            try:
                for piece in self.pieces(name, path, renderer.cut):
                    text = renderer.feed(piece)
                    if text is None:
                        out.discard()
                        return False
                    if not out.write(text):
                        full = True     # the byte budget is spent (size_limit recorded)
                        break
            except Unreadable as u:
                problem = u             # keep what was read before the damage
            if not full:
                try:
                    out.write(renderer.end())
                except Exhausted:
                    pass
        finally:
            out.close()                 # also on Exhausted: partial text is still inspected
        if problem is not None:
            self.budget.record(problem.reason, path, problem.detail)
        return True

    def chunks(self, name: str, path: str) -> Iterator[bytes]:
        """Part ``name`` decompressed, in chunks (Unreadable for a damaged or bomb-like one)."""
        return archives.member_chunks(self.zf, self.infos[name], self.budget, path,
                                      len(self.blob.data))

    def pieces(self, name: str, path: str, cut: Callable[[bytes], int]) -> Iterator[bytes]:
        """Part ``name`` in pieces of about ``_PIECE`` bytes or more, each ending where
        ``cut`` says (a piece grows until it finds a place); the piece read before damage
        is yielded before the Unreadable is raised."""
        held: list[bytes] = []      # chunks not yet joined: joined once per piece, not per chunk
        size = 0
        try:
            for chunk in self.chunks(name, path):
                held.append(chunk)
                size += len(chunk)
                if size < _PIECE:
                    continue
                data = b"".join(held)
                c = cut(data)
                if c:
                    rest = data[c:]
                    held, size = ([rest] if rest else []), len(rest)
                    yield data[:c]
                else:
                    held = [data]
        except Unreadable:
            if held:
                yield b"".join(held)
            raise
        if held:
            yield b"".join(held)

    def _stream(self, name: str, label: str, handler: Callable | None) -> None:
        path = self.where(label)
        buf = TextBuffer(self.budget, path)
        h = (handler or AllText)(buf)
        try:
            self.parse(name, h.attach, path)
        finally:
            buf.flush()

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target part name)}`` from the part's relationships."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        found: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            if name.rpartition(":")[2] == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                if target.startswith("/"):
                    resolved = target.lstrip("/")
                else:
                    resolved = posixpath.normpath(posixpath.join(folder, target))
                found[attrs.get("Id", "")] = (attrs.get("Type", ""), resolved)

        def attach(p):
            p.StartElementHandler = start

        self.parse(rels_name, attach, self.where("part:relationships"))
        return found

    def matching(self, pattern: re.Pattern) -> list[str]:
        return sorted((n for n in self.infos if pattern.fullmatch(n)), key=natural)

    def embedded(self, folder: str) -> None:
        """Files embedded in the document (an xlsx inside a docx ...), opened like any file."""
        for name in sorted(self.infos):
            if not name.startswith(folder + "/embeddings/"):
                continue
            info = self.infos[name]
            where = self.where(f"embedded:{clean(posixpath.basename(name))}")
            data, problem, truncated = archives.read_member(self.zf, info, self.budget, where,
                                                            len(self.blob.data))
            self.walker.open(Blob(data, where, self.blob.depth + 1, name=posixpath.basename(name),
                                  charged=True, truncated=truncated, is_file=True))
            if problem is not None:
                self.budget.record(problem.reason, where, problem.detail)

    def properties(self) -> None:
        self.text("docProps/core.xml", "part:properties")
        self.text("docProps/custom.xml", "part:custom-properties")


def natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


