"""Number formatting shared by the renderers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def minutes(seconds: float) -> float:
    """Seconds -> decimal minutes for machines (CSV, JSON): two decimals, never formatted."""
    return round(seconds / 60.0, 2)


def hm(seconds: float) -> str:
    """Seconds -> 'h:mm' for people, rounded to the nearest minute ('0:00' for nothing)."""
    total = int(round(seconds / 60.0))
    return f"{total // 60:,}:{total % 60:02d}"


def hours_label(seconds: float) -> str:
    """'45 min' / '12 h 05 min' / '1,234 h' (minutes stop mattering past 100 hours)."""
    total = int(round(seconds / 60.0))
    if total < 60:
        return f"{total} min"
    if total < 100 * 60:
        return f"{total // 60} h {total % 60:02d} min"
    return f"{int(round(seconds / 3600.0)):,} h"


def count(n: int) -> str:
    return f"{n:,}"


def iso_utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def percent(part: float, whole: float) -> str:
    return "-" if whole <= 0 else f"{100.0 * part / whole:.0f}%"
