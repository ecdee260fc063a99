# ruff: noqa: E501  (tables of realistic text read better unwrapped)
"""Hard negatives: the ordinary traffic that must stay quiet (no SSN, card, account ...)."""

from __future__ import annotations

import random

from agent.extract.model import Segment, TableLayout

QUIET_OK = {"PHONE", "EMAIL"}   # real phone numbers / addresses in these texts may be reported

HELP_PAGE = """\
Westchester County Online Services - Help

How do I reset my password?
Keep your password confidential. Never share your password with anyone, including County
staff: we will never ask for it by phone or e-mail. Passwords must be at least 12 characters
long and are changed every 90 days. Password: required. Your password expires on 2024-06-30.

Confidential information
Confidential and personal information you enter is protected under County policy WC-P17-001.
Confidential documents should be marked by their owner.

Office hours are 9:00 AM - 5:00 PM, Monday to Friday (closed 12/25/2024 and 1/1/2025).
Call our help desk at 1-800-555-0199 or visit 148 Martine Avenue, White Plains, NY 10601-3311.
Version 4.2.17 (build 20240501.3) released 2024-05-01T09:30:00Z. Copyright 1998-2024.
Reference article KB0012345; page 3 of 12; 1,234,567 visits; fees $1,250.00 or $25.
See https://www.westchestergov.com/help?id=123456789&lang=en for more.
"""

SHIPPING = """\
From: ship-confirm@amazon.com
Subject: Your order #112-4567890-1234567 has shipped

Hello Jane, your order 112-4567890-1234567 placed on May 3, 2024 has shipped.
Carrier: UPS  Tracking number: 1Z999AA10123456784
Also shipping via FedEx, tracking 7489 1234 5678 (774891234567) and 612999123456789.
USPS tracking: 9400 1000 0000 0000 0000 00 and 92055901755477000000000015.
Invoice INV-2024-000123, confirmation number 4821907733, order id 5390012288.
Ship to: 12 Main St Apt 4, Yonkers, NY 10701-2345. Total charged: $1,234.56 (tax $88.10).
Estimated delivery: 05/07/2024 between 10:00 and 14:00. Package weight 3.5 lb.
Questions? Reply to this e-mail. Order total 2 items, SKU B07XJ8C8F5 qty 1.
"""

LOG = """\
2024-05-01T12:34:56.789Z INFO  request_id=3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f user_id=48213 ip=192.168.10.254
2024-05-01T12:34:56.912Z DEBUG sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
2024-05-01T12:34:57.001Z DEBUG md5=d41d8cd98f00b204e9800998ecf8427e sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709
2024-05-01T12:34:57.120Z WARN  upstream 10.20.30.40:8443 timeout after 30000ms (pid 45210, ts=1714567897)
2024-05-01T12:34:57.500Z INFO  trace 5b3c1d2e4f6a7b8c9d0e1f2a3b4c5d6e span 00f067aa0ba902b7 bytes=123456789
2024-05-01T12:34:58.000Z INFO  build 20240501.1 version 12.3.45 commit 4e1243bd22c66e76c2ba9eddc1f91394e57f9f83
1714567898123 epoch-ms; 1714567898 epoch; duration 1234567890ns; offset 536225555 bytes
"""


def _types(scanner, segments) -> set[str]:
    return {f.type for f in scanner.scan(segments).findings}


def test_help_page(scanner):
    assert _types(scanner, [Segment(HELP_PAGE.encode(), "help.html")]) <= QUIET_OK


def test_help_page_has_no_password_or_marking(scanner):
    found = scanner.scan([Segment(HELP_PAGE.encode(), "help.html")]).findings
    assert not [f for f in found if f.type in ("PASSWORD", "CONFIDENTIAL_MARKING")]


def test_shipping_confirmation(scanner):
    assert _types(scanner, [Segment(SHIPPING.encode(), "mail.txt")]) <= QUIET_OK


def test_log_file(scanner):
    assert _types(scanner, [Segment(LOG.encode(), "app.log")]) == set()


def test_orders_csv(scanner):
    r = random.Random(5)
    header = ("order_id", "date", "customer", "zip", "phone", "total", "tracking")
    lines = [",".join(header)]
    for i in range(300):
        lines.append(",".join([
            str(r.randint(10**8, 10**9 - 1)),
            f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            f"Customer {i}",
            f"{r.choice(['10601', '10701', '10801'])}-{r.randint(1000, 9999)}",
            f"({r.choice([914, 845, 212])}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",
            f"{r.randint(1, 999)}.{r.randint(0, 99):02d}",
            f"1Z{r.randint(10**15, 10**16 - 1)}",
        ]))
    data = ("\n".join(lines) + "\n").encode()
    as_table = _types(scanner, [Segment(data, "orders.csv", table=TableLayout(b",", header))])
    as_text = _types(scanner, [Segment(data, "orders.txt")])
    assert as_table <= {"PHONE"} and as_text <= {"PHONE"}
