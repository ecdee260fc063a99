"""The HTML usage report: one self-contained page (one inline stylesheet, inline SVG charts,
no scripts, fonts, images or external links) that a supervisor can read at a glance.

``STYLESHEET`` is the only style on the page and no element has a ``style`` attribute, so the
web view can send a Content-Security-Policy that allows this stylesheet by its hash alone.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from agent.reports import charts
from agent.reports.fmt import count, hm, hours_label, iso_utc, percent
from agent.reports.method import SOURCE_NOTES, active_time_method, period_note
from agent.reports.model import UsageReport, UserUsage

STYLESHEET = """
:root{--ink:#1d2733;--muted:#5b6775;--line:#d9dee4;--alert:#b3261e;--alertbg:#fdecea;
  --card:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);
  background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.sub{color:var(--muted);margin:0 0 16px}
.nav{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:0 0 16px;padding:8px 12px;
  background:var(--card);border:1px solid var(--line);border-radius:6px}
.nav form{display:flex;gap:6px;align-items:center;margin:0}
.nav .who{margin-left:auto;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px;
  margin:0}
.card dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card dd{margin:2px 0 0;font-size:22px;font-weight:600}
.card.alert{background:var(--alertbg);border-color:var(--alert)}
.card.alert dd{color:var(--alert)}
.empty{padding:16px;border:1px dashed var(--muted);border-radius:6px;background:var(--card)}
.chart{display:block;max-width:1000px;height:auto}
.chart text{font-size:12px;fill:var(--ink)}
.chart .tick,.chart .legend{fill:var(--muted)}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .axis{stroke:var(--muted);stroke-width:1}
.mix{vertical-align:middle}
table{border-collapse:collapse;width:100%;margin:4px 0 0}
th,td{padding:5px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--card);font-size:12px;text-transform:uppercase;letter-spacing:.03em;
  color:var(--muted);position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.flag td{background:var(--alertbg)}
.findings{border:2px solid var(--alert);border-radius:6px;padding:4px 12px 12px;background:#fff}
.findings h2{color:var(--alert)}
.badge{display:inline-block;padding:0 6px;border-radius:9px;background:var(--alert);color:#fff;
  font-size:12px;font-weight:600}
.muted{color:var(--muted)}
details summary{cursor:pointer;color:var(--muted)}
td.list{font-size:12px;line-height:1.35}
.item{white-space:nowrap}
td.warn{color:var(--alert);font-weight:600}
footer{margin-top:32px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);
  font-size:13px;max-width:900px}
footer p{margin:6px 0}
.login{max-width:340px;margin:60px auto;padding:20px 24px;border:1px solid var(--line);
  border-radius:8px;background:var(--card)}
.login label{display:block;margin:10px 0 4px}
.login input{width:100%;padding:6px}
.login button{margin-top:14px;padding:6px 14px}
.error{color:var(--alert)}
ul.depts{list-style:none;padding:0}
ul.depts li{padding:6px 0;border-bottom:1px solid var(--line)}
@media print{.nav{display:none}body{padding:0}}
""".strip()

STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()


def page(title: str, body: str) -> str:
    """A complete HTML document with the shared stylesheet (also used by the web view)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLESHEET}</style></head>"
            f"<body>{body}</body></html>\n")


def _card(label: str, value: str, alert: bool = False) -> str:
    cls = "card alert" if alert else "card"
    return f'<div class="{cls}"><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>'


def _headline(r: UsageReport) -> str:
    t = r.totals
    people = sum(1 for u in r.users if u.figures.active_s > 0)
    avg = t.active_s / people if people else 0.0
    cards = [
        _card("Active time", hours_label(t.active_s)),
        _card("People active", count(people)),
        _card("Average per person", hours_label(avg)),
        _card("In working hours", percent(t.work_s, t.active_s)),
        _card("Outside working hours", hours_label(t.non_work_s)),
        _card("Uploads", count(t.uploads)),
        _card("Policy violations", count(t.violations), alert=t.violations > 0),
        _card("Usage findings", count(len(r.findings)), alert=bool(r.findings)),
    ]
    return f'<dl class="cards">{"".join(cards)}</dl>'


def _person(name: str, user: str) -> str:
    """'Jane Doe (jdoe)', or just the id when the directory has no name for it."""
    if name == user:
        return escape(user)
    return f'{escape(name)} <span class="muted">({escape(user)})</span>'


def _apps_cell(u: UserUsage, shown: int = 3) -> str:
    def one(a) -> str:
        return f'<span class="item">{escape(a.app)} {hm(a.figures.active_s)}</span>'
    head = ", ".join(one(a) for a in u.apps[:shown]) or '<span class="muted">-</span>'
    rest = u.apps[shown:]
    if not rest:
        return head
    more = ", ".join(one(a) for a in rest)
    return f"{head}<details><summary>{len(rest)} more</summary>{more}</details>"


def _categories_cell(u: UserUsage, categories: list[str]) -> str:
    parts = [f'<span class="item">{escape(c)} {hm(u.by_category[c])}</span>' for c in categories
             if u.by_category.get(c, 0.0) > 0]
    return ", ".join(parts) or '<span class="muted">-</span>'


def _users_table(r: UsageReport, colours: dict[str, str]) -> str:
    peak = max((u.figures.active_s for u in r.users), default=0.0)
    head = ("<tr><th class=\"n\">#</th><th>Person</th><th class=\"n\">Active</th>"
            "<th class=\"n\">Working</th><th class=\"n\">Outside</th><th>Mix</th>"
            "<th>By category</th><th>By application</th><th class=\"n\">Requests</th>"
            "<th class=\"n\">Uploads</th><th class=\"n\">Violations</th>"
            "<th class=\"n\">Findings</th></tr>")
    rows = []
    for i, u in enumerate(r.users, 1):
        f = u.figures
        flag = ' class="flag"' if u.findings else ""        # findings stand out; violations
        warn = ' warn' if f.violations else ""                # are marked in their column
        who = _person(u.name, u.user)
        findings = f'<span class="badge">{len(u.findings)}</span>' if u.findings else "0"
        rows.append(
            f"<tr{flag}><td class=\"n\">{i}</td><td>{who}</td><td class=\"n\">{hm(f.active_s)}</td>"
            f"<td class=\"n\">{hm(f.work_s)}</td><td class=\"n\">{hm(f.non_work_s)}</td>"
            f"<td>{charts.mix_bar(u.by_category, peak, colours, r.categories, width=110)}</td>"
            f"<td class=\"list\">{_categories_cell(u, r.categories)}</td>"
            f"<td class=\"list\">{_apps_cell(u)}</td>"
            f"<td class=\"n\">{count(f.requests)}</td><td class=\"n\">{count(f.uploads)}</td>"
            f"<td class=\"n{warn}\">{count(f.violations)}</td><td class=\"n\">{findings}</td></tr>")
    return f'<table class="users"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _findings(r: UsageReport) -> str:
    if not r.findings:
        return ""
    rows = "".join(
        f"<tr><td>{f.date.isoformat()}</td><td>{_person(f.name, f.user)}</td>"
        f"<td>{escape(f.rule)}</td><td>{escape(f.category)}</td>"
        f"<td class=\"n\">{hm(f.seconds)}</td><td class=\"n\">{hm(f.threshold)}</td>"
        f"<td>{escape(f.incident or '-')}</td></tr>" for f in r.findings)
    return ('<section class="findings"><h2>Usage findings</h2>'
            '<p>A usage rule\'s daily threshold was crossed. Active time is the figure when the '
            'threshold was crossed, not the day\'s total.</p>'
            '<table><thead><tr><th>Date</th><th>Person</th><th>Rule</th><th>Category</th>'
            '<th class="n">Active h:mm</th><th class="n">Threshold h:mm</th><th>Incident</th></tr>'
            f'</thead><tbody>{rows}</tbody></table></section>')


def _footer(r: UsageReport) -> str:
    paras = [f"<p><strong>What an active minute is.</strong> {escape(p)}</p>" if i == 0
             else f"<p>{escape(p)}</p>" for i, p in enumerate(active_time_method(r.settings))]
    paras.append(f"<p>{escape(period_note(r.department))}</p>")
    paras.append(f"<p>{escape(SOURCE_NOTES[r.source])}</p>")
    paras.append("<p>This report shows only what the usage store holds: per-hour totals of "
                 "estimated active time, requests, bytes, uploads and policy violations per "
                 "person and application. It holds no page addresses and no content.</p>")
    paras.append(f"<p>Generated {iso_utc(r.generated)} by dlp-agent (WC-P17-001 §6).</p>")
    return f"<footer>{''.join(paras)}</footer>"


def render_body(r: UsageReport, nav: str = "") -> str:
    d = r.department
    title = f"Usage report: {escape(d.name)}"
    sub = (f"{escape(d.id)} · {r.period.first.isoformat()} to {r.period.last.isoformat()} "
           f"({r.period.days} days, {escape(d.timezone)}) · "
           f"working hours {escape(d.working_hours)}")
    parts = [nav, f"<h1>{title}</h1><p class=\"sub\">{sub}</p>"]
    if r.empty:
        parts.append('<p class="empty">No usage was recorded for this department in this '
                     'period.</p>')
    parts.append(_headline(r))
    if not r.empty:
        colours = charts.palette(r.categories)
        parts.append("<h2>Active time per day, by category</h2>")
        parts.append(charts.day_chart(r.days, r.categories, colours, d.working_days))
        parts.append("<h2>Top applications</h2>")
        parts.append(charts.app_chart(r.apps, colours))
        parts.append(_findings(r))
        parts.append(f"<h2>People ({len(r.users):,})</h2>")
        parts.append('<p class="sub">Most active first. Times are hours:minutes; working = '
                     "inside the department's working hours, outside = the rest.</p>")
        parts.append(_users_table(r, colours))
    parts.append(_footer(r))
    return "".join(parts)


def render_html(r: UsageReport, nav: str = "") -> str:
    """The whole report page; ``nav`` is a trusted HTML fragment placed at the top (web view)."""
    title = (f"Usage {r.department.id} {r.period.first.isoformat()} to "
             f"{r.period.last.isoformat()}")
    return page(title, render_body(r, nav))
