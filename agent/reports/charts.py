"""Inline SVG charts for the HTML report, generated as text (no scripts, fonts or images).

Colours are SVG presentation attributes (``fill=...``), never ``style=`` attributes, so the
web view's Content-Security-Policy can allow exactly one stylesheet (by hash) and nothing
else. Every bar carries a ``<title>``, which browsers show on hover without any script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from agent.reports.fmt import hm, hours_label
from agent.reports.model import AppTotal, DayUsage

# Fixed colours for the catalogue's categories (rules/apps.yaml), so a category looks the same
# in every report; a colour-blind-safe order (Tableau 10) for anything else.
CATEGORY_COLOURS = {
    "county": "#4e79a7",
    "webmail": "#59a14f",
    "messaging": "#76b7b2",
    "file_sharing": "#f28e2b",
    "social_media": "#e15759",
    "ai_assistant": "#b07aa1",
    "paste": "#edc948",
    "other": "#bab0ac",
}
_SPARE = ("#9c755f", "#ff9da7", "#86bcb6", "#d4a6c8", "#8cd17d", "#f1ce63", "#a0cbe8", "#ffbe7d")


def palette(categories: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    spare = 0
    for c in categories:
        if c in CATEGORY_COLOURS:
            out[c] = CATEGORY_COLOURS[c]
        else:
            out[c] = _SPARE[spare % len(_SPARE)]
            spare += 1
    return out


def nice_step(span: float, ticks: int = 5) -> float:
    """A 1/2/5 x 10^k step giving about ``ticks`` gridlines over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag   # pragma: no cover - the loop always returns


def _axis_unit(max_minutes: float) -> tuple[float, str]:
    """Minutes on the axis for small values, hours for large ones."""
    return (60.0, "hours") if max_minutes > 180 else (1.0, "minutes")


def people(n: int) -> str:
    return "1 person" if n == 1 else f"{n:,} people"


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def day_chart(days: Sequence[DayUsage], categories: Sequence[str], colours: dict[str, str],
              working_days: Sequence[str] = ("mon", "tue", "wed", "thu", "fri"),
              width: int = 960, height: int = 300) -> str:
    """Stacked bars: active time per day, one segment per category, non-working days shaded."""
    left, right, top, bottom = 56, 12, 34, 42
    pw, ph = width - left - right, height - top - bottom
    totals = [sum(d.by_category.values()) / 60.0 for d in days]
    peak = max(totals, default=0.0)
    scale, unit = _axis_unit(peak)
    step = nice_step(peak / scale)
    ymax = max(step, math.ceil((peak / scale) / step) * step)
    n = max(1, len(days))
    band = pw / n
    bar = max(1.0, band * 0.72)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="Active time per day by category">']
    # legend
    x = left
    for c in categories:
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colours[c]}"/>'
                   f'<text x="{x + 16}" y="18" class="legend">{escape(c)}</text>')
        x += 24 + 7.2 * len(c)
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    label_every = max(1, math.ceil(n / 16))
    for i, d in enumerate(days):
        x0 = left + i * band
        if names[d.date.weekday()] not in working_days:
            out.append(f'<rect x="{x0:.1f}" y="{top}" width="{band:.1f}" height="{ph}" '
                       f'fill="#f2f2f2"><title>{d.date.isoformat()}: not a working day'
                       '</title></rect>')
        if i % label_every == 0:
            out.append(f'<text x="{x0 + band / 2:.1f}" y="{top + ph + 16}" class="tick" '
                       f'text-anchor="middle">{d.date.strftime("%b %d")}</text>')
    # gridlines and y labels
    v = 0.0
    while v <= ymax + 1e-9:
        y = top + ph - v / ymax * ph
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                   f'{_num(v)}</text>')
        v += step
    out.append(f'<text x="12" y="{top + ph / 2:.1f}" class="tick" text-anchor="middle" '
               f'transform="rotate(-90 12 {top + ph / 2:.1f})">{unit}</text>')
    for i, d in enumerate(days):
        x0 = left + i * band + (band - bar) / 2
        y = top + ph
        for c in categories:
            secs = d.by_category.get(c, 0.0)
            if secs <= 0:
                continue
            h = secs / 60.0 / scale / ymax * ph
            y -= h
            out.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.2f}" '
                       f'fill="{colours[c]}"><title>{d.date.isoformat()} {escape(c)}: '
                       f'{hm(secs)} h</title></rect>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" class="axis"/>')
    out.append("</svg>")
    return "".join(out)


def app_chart(apps: Sequence[AppTotal], colours: dict[str, str], limit: int = 10,
              width: int = 960) -> str:
    """Horizontal bars: the most used applications by active time."""
    shown = [a for a in apps if a.figures.active_s > 0][:limit]
    row, left, right, top = 26, 170, 240, 8
    height = top * 2 + row * max(1, len(shown))
    pw = width - left - right
    peak = max((a.figures.active_s for a in shown), default=1.0)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="Top applications by active time">']
    for i, a in enumerate(shown):
        y = top + i * row
        w = max(1.0, a.figures.active_s / peak * pw)
        colour = colours.get(a.category, CATEGORY_COLOURS["other"])
        out.append(f'<text x="{left - 8}" y="{y + 16}" class="label" text-anchor="end">'
                   f'{escape(a.app)}</text>'
                   f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                   f'fill="{colour}"><title>{escape(a.app)} ({escape(a.category)}): '
                   f'{hm(a.figures.active_s)} h, {people(a.users)}</title></rect>'
                   f'<text x="{left + w + 8:.1f}" y="{y + 16}" class="label">'
                   f'{hours_label(a.figures.active_s)} · {people(a.users)}</text>')
    out.append("</svg>")
    return "".join(out)


def mix_bar(by_category: dict[str, float], scale_s: float, colours: dict[str, str],
            categories: Sequence[str], width: int = 140, height: int = 12) -> str:
    """A small stacked bar of one person's time by category, scaled to ``scale_s``."""
    out = [f'<svg class="mix" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="time by category">']
    x = 0.0
    for c in categories:
        secs = by_category.get(c, 0.0)
        if secs <= 0 or scale_s <= 0:
            continue
        w = secs / scale_s * width
        out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colours[c]}">'
                   f'<title>{escape(c)}: {hm(secs)} h</title></rect>')
        x += w
    out.append("</svg>")
    return "".join(out)
