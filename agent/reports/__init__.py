"""Usage reports for supervisors and DoIT (WC-P17-001 §6): HTML, CSV and JSON.

    with Reader(db_path) as reader:
        query = ReportQuery("finance", Period.parse("2026-11-01", "2026-11-30"))
        report = load_report(reader, query, Directory.load(directory_file))
    FORMATS["html"].render(report)

``data`` reads (read-only), ``summary`` aggregates (pure), the ``*_report`` modules render
(pure). The CLI is agent/commands/report.py, the web view agent/web/.
"""

from agent.reports.data import ReportQuery, UnknownDepartment, known_departments, load_report
from agent.reports.formats import FORMATS, Format, file_name
from agent.reports.model import SOURCES, UsageReport
from agent.reports.period import Period

__all__ = ["FORMATS", "SOURCES", "Format", "Period", "ReportQuery", "UnknownDepartment",
           "UsageReport", "file_name", "known_departments", "load_report"]
