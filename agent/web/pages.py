"""HTML of the web view's own pages (login, department list, errors, the bar above a report).

All of it uses the report's one stylesheet (agent.reports.html_report.STYLESHEET), no script,
no style attributes, so one Content-Security-Policy covers every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote, urlencode

from agent.reports.html_report import page
from agent.reports.model import SOURCES
from agent.reports.period import Period
from agent.web.users import ReportUser

ROLE_LABELS = {"supervisor": "supervisor", "doit_admin": "DoIT administrator"}


def login_page(error: str | None = None, next_path: str = "/", username: str = "") -> str:
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        '<main class="login"><h1>Usage reports</h1>'
        '<p class="sub">County DLP Agent · sign in to see your department\'s reports.</p>'
        f"{err}"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label for="username">User name</label>'
        f'<input id="username" name="username" autocomplete="username" required '
        f'value="{escape(username)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form></main>')
    return page("Sign in - usage reports", body)


def _logout_form() -> str:
    return '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'


def _who(username: str, user: ReportUser) -> str:
    return (f'<span class="who">{escape(user.name)} ({escape(username)}, '
            f'{ROLE_LABELS[user.role]})</span>')


def report_link(department: str, period: Period, fmt: str = "html", source: str = "all") -> str:
    query = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    if fmt != "html":
        query["format"] = fmt
    if source != "all":
        query["source"] = source
    return f"/report/{quote(department)}?{urlencode(query)}"


def nav(username: str, user: ReportUser, department: str, period: Period, source: str) -> str:
    options = "".join(f'<option value="{s}"{" selected" if s == source else ""}>{s}</option>'
                      for s in SOURCES)
    return (
        '<nav class="nav"><a href="/">Departments</a>'
        f'<form method="get" action="/report/{quote(department)}">'
        f'<label>From <input type="date" name="from" value="{period.first.isoformat()}"></label>'
        f'<label>To <input type="date" name="to" value="{period.last.isoformat()}"></label>'
        f'<label>Source <select name="source">{options}</select></label>'
        '<button type="submit">Show</button></form>'
        f'<a href="{escape(report_link(department, period, "csv", source))}">CSV</a>'
        f'<a href="{escape(report_link(department, period, "json", source))}">JSON</a>'
        f"{_who(username, user)}{_logout_form()}</nav>")


def index_page(username: str, user: ReportUser, departments: Sequence[tuple[str, str]]) -> str:
    """``departments``: (id, display name) pairs the user may see."""
    items = "".join(f'<li><a href="/report/{quote(d)}">{escape(name)}</a> '
                    f'<span class="muted">({escape(d)})</span></li>' for d, name in departments)
    if not items:
        items = '<li class="muted">No departments.</li>'
    body = (f'<nav class="nav"><strong>Usage reports</strong>{_who(username, user)}'
            f"{_logout_form()}</nav><h1>Departments</h1>"
            f'<ul class="depts">{items}</ul>')
    return page("Usage reports", body)


def error_page(status: int, title: str, message: str, signed_in: bool = True) -> str:
    links = '<p><a href="/">Back to the departments</a></p>' if signed_in else \
        '<p><a href="/login">Sign in</a></p>'
    body = f'<h1>{status} {escape(title)}</h1><p>{escape(message)}</p>{links}'
    return page(f"{status} {title}", body)
