"""Serve usage reports to supervisors over HTTP: read-only, signed in, scoped by department.

Each person signs in with a user name and password from --users (YAML, mode 0600, passwords
as scrypt hashes made with --hash-password). A supervisor sees only the departments listed
for them; asking for another one, also by editing the URL, is refused with 403. A DoIT
administrator sees every department. Every view, refusal and sign-in is appended to the
audit log (JSON lines). The users file is re-read when it changes (checked every 2 s);
a new version that fails to load leaves the previous users in force and is logged and audited.
Listens on 127.0.0.1 unless told otherwise; put it behind TLS (or
give --tls-cert/--tls-key) before exposing it to a network.

    dlp-agent serve-reports --hash-password          # prompts; prints a line for the users file
"""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import ssl
import sys
from pathlib import Path

from agent.commands import UsageError
from agent.config import load_config
from agent.identity import Directory
from agent.reports.data import check_schema
from agent.store import Reader, StoreError
from agent.usage import SessionSettings
from agent.web import AuditLog, ReportApp, ReportServer, allowed_hosts, hash_password
from agent.web.server import trusted_networks
from agent.web.users import UsersFile
from agent.yamlload import ConfigError

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help="incident and usage database (SQLite)")
    p.add_argument("--users", metavar="FILE", help="report users: names, roles, departments, "
                                                   "password hashes (YAML, mode 0600)")
    p.add_argument("--directory", metavar="FILE",
                   help="directory file: department names, time zones, working hours")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    p.add_argument("--audit-log", metavar="FILE",
                   help="audit log, JSON lines (default: report-audit.jsonl beside the database)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                   help="also accept this Host header (the name people type; repeatable)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR[/BITS]",
                   help="a reverse proxy in front of this server (repeatable): requests from it "
                        "are audited and throttled by the client in X-Forwarded-For")
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM, mode 0600)")
    p.add_argument("--config", metavar="FILE",
                   help="agent configuration: active-time settings for the report footnote "
                        "(and the directory, unless --directory is given)")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password (prompt, or one line on standard input) and print its "
                        "hash for the users file; then exit")


def run_hash_password() -> int:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise UsageError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    if len(first) < 12:
        raise UsageError("use a password of at least 12 characters")
    print(hash_password(first))
    return 0


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise UsageError("--tls-cert and --tls-key go together")
    from agent.masking import check_private_file

    try:
        check_private_file(key, "TLS private key")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"TLS: {e}") from None
    return ctx


def build_app(args: argparse.Namespace) -> tuple[ReportApp, ssl.SSLContext | None]:
    if not args.db or not args.users:
        raise UsageError("--db and --users are required (or --hash-password)")
    try:
        config = load_config(args.config) if args.config else None
        directory = Directory.load(args.directory or (config.directory if config else None))
        known = set(directory.spec.departments) or None
        users = UsersFile(args.users, known)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    except PermissionError as e:
        raise UsageError(str(e)) from None
    except FileNotFoundError:
        raise UsageError(f"users file {args.users} does not exist") from None
    try:
        with Reader(args.db) as reader:
            check_schema(reader)
    except StoreError as e:
        raise UsageError(str(e)) from None
    settings = SessionSettings()
    if config is not None:
        u = config.usage
        settings = SessionSettings(u.gap_seconds, u.allowance_seconds, u.weak_window_seconds)
    audit_path = Path(args.audit_log or Path(args.db).parent / "report-audit.jsonl")
    try:
        audit = AuditLog(audit_path)
    except OSError as e:
        raise UsageError(f"cannot open audit log {audit_path}: {e.strerror or e}") from None
    tls = _tls_context(args.tls_cert, args.tls_key)
    try:
        proxies = trusted_networks(args.trusted_proxy)
    except ValueError as e:
        raise UsageError(str(e)) from None
    app = ReportApp(args.db, users, directory, audit, settings=settings, tls=tls is not None,
                    allowed_hosts=allowed_hosts(args.host, args.port, args.allow_host),
                    trusted_proxies=proxies)
    return app, tls


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt      # serve_forever returns; the finally below closes cleanly


def run(args: argparse.Namespace) -> int:
    if args.hash_password:
        return run_hash_password()
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be 0..65535")
    app, tls = build_app(args)
    try:
        server = ReportServer((args.host, args.port), app, tls)
    except OSError as e:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    if args.port == 0:      # tests ask for any free port: the Host check needs the real one
        app.allowed_hosts = allowed_hosts(args.host, server.port, args.allow_host)
    scheme = "https" if tls else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"dlp-agent serve-reports: {scheme}://{host}:{server.port}/ "
          f"({len(app.users.users)} users, audit log {app.audit.path})",
          file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.audit.close()
    return 0
