"""The web view in a real browser: headless Debian Chromium signs in as a supervisor through
the form, sees the department's report with its charts (screenshot decoded and checked), and
gets 403 for another department's URL. Runs the real `dlp-agent serve-reports`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import usage_dataset as ds
from chromium_cdp import CHROMIUM, Chromium
from png_pixels import decode
from report_helpers import PASSWORDS, write_users

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"Chromium not installed ({CHROMIUM}); on Debian: "
                              "apt-get install --no-install-recommends chromium"),
]

DLP_AGENT = Path(sys.executable).parent / "dlp-agent"
Q = f"from={ds.PERIOD[0]}&to={ds.PERIOD[1]}"
SOCIAL_MEDIA = (0xE1, 0x57, 0x59)      # chart colours (agent.reports.charts.CATEGORY_COLOURS)
WEBMAIL = (0x59, 0xA1, 0x4F)
ALERT_BACKGROUND = (0xFD, 0xEC, 0xEA)   # --alertbg in agent.reports.html_report.STYLESHEET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(report_files, tmp_path):
    port = free_port()
    users = write_users(tmp_path / "report-users.yaml")
    audit = tmp_path / "audit.jsonl"
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [str(DLP_AGENT), "serve-reports", "--db", str(report_files["db"]), "--users", str(users),
         "--directory", str(report_files["directory"]), "--port", str(port),
         "--audit-log", str(audit)], stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"serve-reports did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", audit
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    b = Chromium(profile)
    b.open_page()
    yield b
    b.close()


def test_supervisor_signs_in_sees_charts_and_is_refused_another_department(served, browser,
                                                                            tmp_path):
    base, audit = served
    # not signed in: the report URL leads to the sign-in form
    assert browser.navigate(f"{base}/report/finance?{Q}") == 200
    assert browser.url().startswith(f"{base}/login?next=")
    browser.type_into("#username", "rroe")
    browser.type_into("#password", PASSWORDS["rroe"])
    assert browser.press_enter() == 200
    # back where the supervisor was going, signed in
    assert browser.url() == f"{base}/report/finance?{Q}"
    html = browser.html()
    assert "Usage report: Department of Finance" in html
    assert "Richard Roe (rroe, supervisor)" in html
    assert html.count("<svg") >= 3 and "Jane Doe" in html

    png = browser.screenshot()
    (tmp_path / "finance-report.png").write_bytes(png)
    img = decode(png)
    assert (img.width, img.height) == (640, 800)
    colours = img.colours()
    total = img.width * img.height
    white = colours[(255, 255, 255)]
    assert white < 0.9 * total, "the page is (almost) blank"
    assert len(colours) > 50, "too few colours for a page with text and charts"
    # the stacked bars really were painted: large areas in the category colours
    assert colours[SOCIAL_MEDIA] > 500 and colours[WEBMAIL] > 500
    # the stylesheet was applied, i.e. allowed by the Content-Security-Policy's hash: the
    # highlighted rows and cards have its alert background
    assert colours[ALERT_BACKGROUND] > 500

    # another department, by editing the URL
    assert browser.navigate(f"{base}/report/dss?{Q}") == 403
    html = browser.html()
    assert "403 Forbidden" in html and "Ann Smith" not in html
    # and the data formats too
    assert browser.navigate(f"{base}/report/dss?{Q}&format=json") == 403

    events = [line for line in audit.read_text().splitlines()]
    assert any('"event":"login","who":"rroe"' in e for e in events)
    assert any('"event":"view","who":"rroe"' in e and '"department":"finance"' in e
               for e in events)
    assert sum('"event":"denied","who":"rroe"' in e and '"department":"dss"' in e
               for e in events) == 2
    assert PASSWORDS["rroe"] not in audit.read_text()
