"""Detection: find confidential data in extracted text segments.

    from agent.detect import Scanner, load_detector_config
    scanner = Scanner(load_detector_config("rules/detectors.yaml"))
    result = scanner.scan(segments, deadline=time.monotonic() + 2.0)
    for f in result.findings: ...   # Finding(type, segment, start, end, score, verdict, norm)

``result.findings`` is built on first access; counting consumers read ``result.by_type()``
(columns per type, no object per finding; see ``agent.detect.result``). Large CSV/TSV/sheet
segments take the table fast path (``agent.detect.tables``), which finds exactly what the
general path finds; ``Scanner(fast_tables=False)`` is that reference.

Pure: no I/O besides reading the configuration file when asked to.
"""

from agent.detect.config import DetectorConfig, load_detector_config
from agent.detect.model import VERDICTS, Finding
from agent.detect.scanner import Scanner, ScanResult

__all__ = ["VERDICTS", "DetectorConfig", "Finding", "ScanResult", "Scanner",
           "load_detector_config"]
