"""Where inspection runs: never on the proxy's event loop.

Small bodies (forms, posts, API calls: the great majority) are inspected on a thread pool in
the proxy process: they take milliseconds and pickling them to another process would cost
more than it saves. Large bodies go to a pool of worker processes, so parsing a 50 MB PDF
(pure Python, holding the GIL) runs on another core and cannot slow down everyone else's
browsing. Both pools are bounded: when the large-body queue is full, a body is reported
`uninspectable(time_limit)` at once and the rules decide, rather than queueing without end.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from agent.extract.model import Limits, Uninspectable
from agent.inspect import InspectionResult, Inspector

log = logging.getLogger("dlp")

SMALL_BODY = 512 * 1024      # bytes inspected in-process

# --- worker process side -------------------------------------------------------------------
_worker_inspector: Inspector | None = None


def _init_worker(rules_dir: str | None, key_file: str | None, limits: Limits,
                 indexes: list[str], index_key_file: str | None) -> None:
    global _worker_inspector
    from agent.detect import Scanner, load_detector_config
    from agent.masking import Hasher

    det = Path(rules_dir) / "detectors.yaml" if rules_dir else None
    scanner = Scanner(load_detector_config(det if det and det.exists() else None))
    hasher = Hasher.from_file(key_file) if key_file else None
    matchers = []
    if indexes and index_key_file:
        # Each worker holds its own copy of the indexes (memory x processes; see README).
        from agent.fingerprint import load_indexes, read_key

        matchers = load_indexes(indexes, read_key(index_key_file))
    _worker_inspector = Inspector(scanner, limits, hasher, matchers=matchers)


def _inspect_in_worker(body: bytes, content_type: str | None, content_encoding: str | None) -> InspectionResult:
    assert _worker_inspector is not None, "worker not initialised"
    return _worker_inspector.inspect(body, content_type, content_encoding, None, "body")


# --- proxy side -----------------------------------------------------------------------------
class InspectionPool:
    def __init__(self, inspector: Inspector, rules_dir: str | None, key_file: str | None,
                 threads: int = 4, processes: int = 2, max_queued_large: int = 8,
                 indexes: list[str] = (), index_key_file: str | None = None):
        self.inspector = inspector
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dlp-inspect")
        self.max_queued_large = max_queued_large
        self._large_pending = 0
        self.processes: ProcessPoolExecutor | None = None
        if processes > 0:
            ctx = multiprocessing.get_context("spawn")    # never fork a process with threads and a loop
            self.processes = ProcessPoolExecutor(max_workers=processes, mp_context=ctx,
                                                 initializer=_init_worker,
                                                 initargs=(rules_dir, key_file, inspector.limits,
                                                           list(indexes), index_key_file))

    def io(self) -> ThreadPoolExecutor:
        """The thread pool, for blocking file work (session spooling)."""
        return self.threads

    async def inspect(self, body: bytes, content_type: str | None,
                      content_encoding: str | None) -> InspectionResult:
        loop = asyncio.get_running_loop()
        if len(body) <= SMALL_BODY or self.processes is None:
            return await loop.run_in_executor(self.threads, self.inspector.inspect, body, content_type,
                                              content_encoding, None, "body")
        if self._large_pending >= self.max_queued_large:
            r = InspectionResult(bytes_in=len(body))
            r.uninspectable.append(Uninspectable("time_limit", "body", "inspection queue full"))
            return r
        self._large_pending += 1
        try:
            fut: Future = self.processes.submit(_inspect_in_worker, body, content_type, content_encoding)
            return await asyncio.wrap_future(fut)
        except BrokenProcessPool:
            log.error("inspection worker process died; inspecting in-process")
            return await loop.run_in_executor(self.threads, self.inspector.inspect, body, content_type,
                                              content_encoding, None, "body")
        finally:
            self._large_pending -= 1

    def shutdown(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        if self.processes is not None:
            self.processes.shutdown(wait=False, cancel_futures=True)
