"""Run the inline proxy: classify, inspect and enforce the WC-P17-001 policies on County traffic."""

from __future__ import annotations

import argparse
import asyncio
import logging

from agent.commands import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="agent configuration file (YAML)")
    p.add_argument("--listen-host", help="proxy address (default 127.0.0.1)")
    p.add_argument("--listen-port", type=int, help="proxy port (default 8080)")
    p.add_argument("--metrics-host", help="address of /metrics (default 127.0.0.1)")
    p.add_argument("--metrics-port", type=int, help="port of /metrics (default 9464; 0 disables)")
    p.add_argument("--rules", metavar="DIR", help="rules directory (default: the shipped rules)")
    p.add_argument("--db", metavar="PATH", help="SQLite database for incidents and usage")
    p.add_argument("--directory", metavar="FILE", help="directory file: users, departments, networks")
    p.add_argument("--confdir", metavar="DIR", help="mitmproxy CA directory")
    p.add_argument("--hmac-key-file", metavar="FILE", help="key for evidence hashes (mode 0600)")
    p.add_argument("--index", action="append", default=[], metavar="DIR",
                   help="exact-data-match / document-fingerprint index directory (repeatable)")
    p.add_argument("--index-key-file", metavar="FILE", help="key the indexes were built with (mode 0600)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="any mitmproxy option, as with mitmdump (repeatable)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="proxy processes (one per core): worker i listens on listen-port + i and serves "
                        "metrics on metrics-port + i; put HAProxy (deploy/haproxy/) or a PAC file in front")
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")


def run(args: argparse.Namespace) -> int:
    if args.workers > 1:
        return _supervise(args)
    from agent.config import load_config
    from agent.proxy import run_proxy
    from agent.yamlload import ConfigError

    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        raise UsageError(f"invalid configuration:\n{e}") from None
    settings: dict[str, object] = {
        "listen_host": args.listen_host or cfg.listen_host,
        "listen_port": args.listen_port if args.listen_port is not None else cfg.listen_port,
        "dlp_metrics_host": args.metrics_host or cfg.metrics_host,
        "dlp_metrics_port": args.metrics_port if args.metrics_port is not None else cfg.metrics_port,
    }
    if args.config:
        settings["dlp_config"] = args.config
    if args.index:
        settings["dlp_index"] = list(args.index)
    for flag, opt in (("rules", "dlp_rules"), ("db", "dlp_db"), ("directory", "dlp_directory"),
                      ("hmac_key_file", "dlp_hmac_key_file"), ("index_key_file", "dlp_index_key_file")):
        if getattr(args, flag):
            settings[opt] = getattr(args, flag)
    confdir = args.confdir or cfg.confdir
    if confdir:
        settings["confdir"] = confdir
    sets = [f"{k}={_fmt(v)}" for k, v in cfg.mitmproxy.items()] + list(args.sets)
    # mitmproxy's termlog addon prints log records; its verbosity option filters them.
    logging.getLogger().setLevel(logging.INFO)
    settings["termlog_verbosity"] = "warn" if args.quiet else "info"
    return asyncio.run(run_proxy(settings, sets))


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


def _supervise(args: argparse.Namespace) -> int:
    """Re-run this command once per worker with its own ports (see agent/supervisor.py)."""
    import sys

    from agent.config import load_config
    from agent.supervisor import supervise
    from agent.yamlload import ConfigError

    if args.workers > 64:
        raise UsageError("--workers: at most 64")
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        raise UsageError(f"invalid configuration:\n{e}") from None
    port = args.listen_port if args.listen_port is not None else cfg.listen_port
    mport = args.metrics_port if args.metrics_port is not None else cfg.metrics_port
    base = [a for a in sys.argv[1:] if a]
    # drop the options the supervisor sets per worker
    out, skip = [], False
    for a in base:
        if skip:
            skip = False
            continue
        if a in ("--workers", "--listen-port", "--metrics-port"):
            skip = True
            continue
        if a.startswith(("--workers=", "--listen-port=", "--metrics-port=")):
            continue
        out.append(a)
    exe = [sys.executable, "-m", "agent.cli"]
    workers = [exe + out + ["--listen-port", str(port + i),
                            "--metrics-port", str(mport + i if mport else 0)] for i in range(args.workers)]
    return supervise(workers)
