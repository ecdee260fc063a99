"""The plain-language explanation of an "active minute", shown under every report.

It restates agent/usage.py's module docstring (the definition) with the settings actually in
force, so a supervisor reading a figure knows what it is and is not.
"""

from __future__ import annotations

from agent.reports.model import DepartmentInfo
from agent.usage import SessionSettings


def _dur(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        m = int(seconds // 60)
        return f"{m} minute" if m == 1 else f"{m} minutes"
    return f"{seconds:g} seconds"


def active_time_method(s: SessionSettings) -> list[str]:
    """Paragraphs explaining estimated active time."""
    return [
        "Active time is an estimate made from a person's web traffic, not a measurement of "
        "their screen or keyboard.",
        "Things a person does count as actions: opening a page, submitting a form, uploading "
        "a file, sending a message. Actions in the same application less than "
        f"{_dur(s.gap)} apart form one run of use, and the time between them counts. Each run "
        f"ends with {_dur(s.allowance)} of reading time after the last action, so a single, "
        f"isolated visit counts as {_dur(s.allowance)}.",
        "Traffic that a page's scripts make on their own (a feed refreshing, a chat polling) "
        f"keeps a run going only for {_dur(s.weak_window)} after the person's last action, so "
        "a tab left open all day does not count as a day of use. Background traffic never "
        "counts: images, scripts, styles, prefetching, beacons, keep-alive and heartbeat "
        "messages.",
        "A minute of active time is therefore a minute in which the person was, by this "
        "estimate, using the application. Time in two applications at once counts for each.",
    ]


def period_note(dept: DepartmentInfo) -> str:
    return (f"Days are calendar days in {dept.timezone}. Working hours are {dept.working_hours} "
            f"({dept.timezone}); time outside them is shown as 'outside working hours'.")


SOURCE_NOTES = {
    "all": "Sources: the inline proxy and the passive network monitor. Where both saw the same "
           "person use the same application in the same hour, the larger figure counts, not "
           "the sum.",
    "proxy": "Source: the inline proxy only.",
    "passive": "Source: the passive network monitor only (traffic that did not go through the "
               "proxy); its activity estimate is coarser than the proxy's.",
}
