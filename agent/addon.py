"""mitmproxy addon: classify, inspect, decide and act on County traffic (the inline edge).

Loadable the mitmproxy way (`mitmdump -s agent/addon.py --set dlp_rules=DIR`) and used by
`dlp-agent run`, which builds the master itself so option errors are fatal.

Failure policy, in one place:
- Rules, directory, key or database that cannot be loaded at start: OptionsError (no proxy
  without policy). On reload: the old rules stay in force, the error is logged with file:line
  and counted in dlp_rule_reload_failures_total.
- A body that cannot be fully inspected is `uninspectable(reason)` and the rules decide (the
  shipped rules block such uploads to sharing and social sites).
- An unexpected exception while deciding a request that carries a body blocks it (fail
  closed) and is counted and logged without content; bodiless requests pass (fail open for
  browsing, which cannot leak content).
- A block is always answered with the block page; the incident commit is awaited first, with a
  bound, so a stuck disk cannot hold requests forever (counted when it happens).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import NamedTuple

from mitmproxy import ctx, exceptions, http, tls
from mitmproxy.net.http.http1 import expected_http_body_size

from agent import abort, blockpage
from agent.abort import abort_flow
from agent.apps import UNKNOWN_APP, Classification
from agent.bypass import PrivacyBypass
from agent.config import AgentConfig, load_config
from agent.evaluate import build_facts, mark_encrypted
from agent.extract.model import FileInfo, Limits, Uninspectable
from agent.fingerprint.storage import FingerprintError
from agent.identity import Directory, Identity
from agent.inspect import InspectionResult, Inspector
from agent.masking import Hasher, check_private_file
from agent.metrics import Metrics
from agent.policy.engine import Decision, Facts
from agent.ruleset import RuleSet, default_dir, load_ruleset
from agent.sessions import Chunk, SessionSpool, dropbox_chunk, ranged_chunk
from agent.store.usage import purge_database, write_finding, write_usage
from agent.streaming import StreamInspector
from agent.tenants import TenantRestrictions
from agent.usage import Schedule, SessionSettings, Strength, classify_request, classify_ws_message
from agent.usage_rollup import Drained, UsageAccumulator, UsageFinding
from agent.workers import InspectionPool
from agent.yamlload import ConfigError

log = logging.getLogger("dlp")

INCIDENT_COMMIT_TIMEOUT = 3.0     # seconds a block waits for its incident to be durable
PURGE_EVERY_SECONDS = 6 * 3600     # retention (WC-P17-001 §9) is enforced this often


class _State(NamedTuple):
    """Everything a request decision reads; replaced as a whole on reload (never mutated).
    (A NamedTuple, not a dataclass: `mitmdump -s` loads this file outside sys.modules.)"""

    ruleset: RuleSet
    directory: Directory
    inspector: Inspector


def _mtimes(paths: list[Path]) -> tuple:
    out = []
    for p in paths:
        try:
            if p.is_dir():
                out.extend((str(q), q.stat().st_mtime_ns, q.stat().st_size)
                           for q in sorted(p.glob("*.y*ml")))
            else:
                st = p.stat()
                out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def _spool_dir(cfg: AgentConfig) -> Path:
    """The private (0700) directory of upload-session chunks and of large bodies' spilled text."""
    return Path(cfg.spool_dir) if cfg.spool_dir else Path(cfg.db).resolve().parent / "sessions"


class DlpAddon:
    def __init__(self) -> None:
        self.metrics = Metrics()
        self.state: _State | None = None
        self.config = AgentConfig()
        self.store = None
        self.tenants = TenantRestrictions()
        self.bypass = PrivacyBypass([])
        self.pool: InspectionPool | None = None
        self.node = socket.gethostname()
        self._metrics_server = None
        self._tasks: set[asyncio.Task] = set()
        self._watch_sig: tuple = ()
        self._reloading = False
        self.reload_interval = 2.0
        self.usage = UsageAccumulator(self._schedule_for)
        self.spool: SessionSpool | None = None
        self._schedules: dict[str, Schedule] = {}

    # ------------------------------------------------------------------ options
    def load(self, loader) -> None:
        loader.add_option("dlp_config", str | None, None,
                          "Agent configuration file (YAML): limits, tenant restrictions, contact text.")
        loader.add_option("dlp_rules", str | None, None,
                          "Rules directory (apps.yaml, policy files, exceptions.yaml). Default: the shipped rules.")
        loader.add_option("dlp_db", str | None, None, "SQLite database for incidents and usage.")
        loader.add_option("dlp_directory", str | None, None,
                          "Directory file mapping users and networks to departments.")
        loader.add_option("dlp_hmac_key_file", str | None, None,
                          "Key file (mode 0600) for keyed hashes of detected values.")
        loader.add_option("dlp_index", Sequence[str], [],
                          "Exact-data-match / document-fingerprint index directory (repeatable).")
        loader.add_option("dlp_index_key_file", str | None, None, "Key file the indexes were built with.")
        loader.add_option("dlp_metrics_host", str, "127.0.0.1", "Address of the /metrics endpoint.")
        loader.add_option("dlp_metrics_port", int, -1,
                          "Port of the /metrics endpoint; 0 disables it, -1 takes the config file's value.")
        loader.add_option("dlp_reload_interval", str, "2",
                          "Seconds between checks of the rules and directory files for changes (0: only SIGHUP).")

    def _effective_config(self) -> AgentConfig:
        cfg = load_config(ctx.options.dlp_config)
        over = {}
        if ctx.options.dlp_index:
            over["indexes"] = list(ctx.options.dlp_index)
        for opt, key in (("dlp_rules", "rules"), ("dlp_db", "db"), ("dlp_directory", "directory"),
                         ("dlp_hmac_key_file", "hmac_key_file"), ("dlp_index_key_file", "index_key_file")):
            v = getattr(ctx.options, opt)
            if v is not None:
                over[key] = v
        if ctx.options.dlp_metrics_port >= 0:
            over["metrics_port"] = ctx.options.dlp_metrics_port
            over["metrics_host"] = ctx.options.dlp_metrics_host
        return cfg.model_copy(update=over)

    def configure(self, updated: set[str]) -> None:
        if not any(k.startswith("dlp_") for k in updated):
            return
        try:
            self.reload_interval = float(ctx.options.dlp_reload_interval)
            if self.reload_interval < 0:
                raise ValueError
        except ValueError:
            raise exceptions.OptionsError(
                f"dlp_reload_interval: {ctx.options.dlp_reload_interval!r} is not a number of seconds >= 0"
            ) from None
        try:
            cfg = self._effective_config()
            self._check_secret_files()
            state = self._build_state(cfg)
        except ConfigError as e:
            raise exceptions.OptionsError(f"DLP configuration rejected:\n{e}") from None
        except (OSError, PermissionError, ValueError, FingerprintError) as e:
            raise exceptions.OptionsError(f"DLP configuration rejected: {e}") from None
        # Build-then-swap: nothing above touched the running state.
        first = self.state is None
        if self.config.usage != cfg.usage or first:
            u = cfg.usage
            self.usage.sessions.settings = SessionSettings(u.gap_seconds, u.allowance_seconds,
                                                           u.weak_window_seconds)
        self.config = cfg
        self.tenants = TenantRestrictions(cfg.tenant_restrictions)
        self.bypass = PrivacyBypass(cfg.privacy_bypass)
        self._install(state)
        if first or "dlp_db" in updated or "dlp_config" in updated:
            self._open_store(cfg)
        self._new_pool(cfg)
        self.node = cfg.node or socket.gethostname()

    @staticmethod
    def _check_secret_files() -> None:
        """The CA private key decrypts every intercepted session; a password file is a password
        file: refuse to run while group or others can read them (chmod 600)."""
        confdir = Path(os.path.expanduser(ctx.options.confdir))
        for name in ("mitmproxy-ca.pem", "mitmproxy-ca.p12"):
            if (confdir / name).exists():
                check_private_file(confdir / name, "CA private key")
        auth = ctx.options.proxyauth if "proxyauth" in ctx.options else None
        if auth and auth.startswith("@"):
            check_private_file(auth[1:], "proxy authentication file")

    def _build_state(self, cfg: AgentConfig) -> _State:
        ruleset = load_ruleset(cfg.rules or default_dir())
        directory = Directory.load(cfg.directory)
        hasher = Hasher.from_file(cfg.hmac_key_file) if cfg.hmac_key_file else None
        lim = cfg.limits
        limits = Limits(max_depth=lim.max_depth, max_extracted_bytes=lim.max_extracted_bytes,
                        max_ratio=lim.max_ratio, max_parts=lim.max_parts, max_seconds=lim.max_seconds,
                        memory_text_bytes=lim.memory_text_bytes, max_spilled_bytes=lim.max_spilled_bytes,
                        spill_dir=str(_spool_dir(cfg)))
        matchers = []
        if cfg.indexes:
            from agent.fingerprint import load_indexes, read_key

            if not cfg.index_key_file:
                raise ValueError("indexes are configured but no index_key_file (--index-key-file) is")
            matchers = load_indexes(cfg.indexes, read_key(cfg.index_key_file))
        return _State(ruleset, directory, Inspector(ruleset.scanner, limits, hasher, matchers=matchers))

    def _new_pool(self, cfg: AgentConfig) -> None:
        """Inspection pools bound to the current rules (worker processes build their own scanner)."""
        old = self.pool
        if self.state is None:
            return
        self.pool = InspectionPool(self.state.inspector, str(self.state.ruleset.directory), cfg.hmac_key_file,
                                   threads=cfg.workers, processes=cfg.inspection_processes,
                                   indexes=cfg.indexes, index_key_file=cfg.index_key_file)
        if old is not None:
            old.shutdown()

    def _install(self, state: _State) -> None:
        self.state = state
        rs = state.ruleset
        m = self.metrics
        m.rules_loaded.set(len(rs.rules))
        m.rules_info.info({"version": rs.version})
        m.rules_last_reload.set_to_current_time()
        m.rules_reload_ok.set(1)
        apps = [(a.id, a.category) for a in rs.catalogue.apps.values()] + [("other", "other")]
        m.precreate(rs.rules, apps, state.directory.departments, [*rs.catalogue.categories, "other"],
                    rs.policy.usage_rules, self.tenants.controls())
        self._schedules = {}
        self.usage.set_rules(rs.policy.usage_rules)
        self._update_exception_gauges()
        self._watch_sig = _mtimes(self._watched_paths())
        log.info("DLP rules %s loaded: %d rules, %d exceptions, %d apps", rs.version, len(rs.rules),
                 len(rs.policy.exceptions), len(rs.catalogue.apps))

    def _schedule_for(self, department: str) -> Schedule:
        sched = self._schedules.get(department)
        if sched is None:
            sched = self.state.directory.schedule(department) if self.state else Schedule()
            self._schedules[department] = sched
        return sched

    def _open_store(self, cfg: AgentConfig) -> None:
        from agent.store import Store

        old = self.store
        self.store = Store.open(cfg.db)
        self.store.start()
        if old is not None:
            old.close()
        self.spool = SessionSpool(_spool_dir(cfg), max_session_bytes=cfg.limits.max_session_bytes,
                                  ttl_seconds=cfg.limits.session_ttl_seconds)

    def _watched_paths(self) -> list[Path]:
        paths = []
        if self.state:
            paths.append(self.state.ruleset.directory)
        if self.config.directory:
            paths.append(Path(self.config.directory))
        paths.extend(Path(d) for d in self.config.indexes)
        return paths

    def _update_exception_gauges(self) -> None:
        if self.state:
            today = datetime.now().date()
            for k, v in self.state.ruleset.policy.exception_states(today).items():
                self.metrics.exceptions.labels(k).set(v)

    # ------------------------------------------------------------------ lifecycle
    def running(self) -> None:
        cfg = self.config
        if cfg.metrics_port and self._metrics_server is None:
            from prometheus_client import start_http_server

            self._metrics_server = start_http_server(cfg.metrics_port, addr=cfg.metrics_host,
                                                     registry=self.metrics.registry)
            log.info("metrics on http://%s:%d/metrics", cfg.metrics_host, cfg.metrics_port)
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload("SIGHUP")))
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
        if self.reload_interval > 0:
            self._spawn(self._watch())
        self._spawn(self._flush_usage_forever())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            self._update_exception_gauges()
            if _mtimes(self._watched_paths()) != self._watch_sig:
                await self.reload("file change")

    async def reload(self, why: str) -> bool:
        """Rebuild rules and directory off the event loop; keep the old ones on any error."""
        if self._reloading:
            return False
        self._reloading = True
        try:
            cfg = self.config
            self._watch_sig = _mtimes(self._watched_paths())
            try:
                state = await asyncio.get_running_loop().run_in_executor(None, self._build_state, cfg)
            except (ConfigError, OSError, ValueError, FingerprintError) as e:
                self.metrics.rule_reload_failures.inc()
                self.metrics.rules_reload_ok.set(0)
                log.error("DLP reload (%s) rejected; previous rules %s stay in force:\n%s", why,
                          self.state.ruleset.version if self.state else "-", e)
                return False
            self._install(state)
            self._new_pool(cfg)
            return True
        finally:
            self._reloading = False

    def done(self) -> None:
        try:
            self._write_usage(self.usage.close())
        except Exception as e:  # noqa: BLE001 - shutting down: report, keep closing
            log.error("final usage flush failed: %s", type(e).__name__)
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        if self._metrics_server is not None:
            server, thread = self._metrics_server
            server.shutdown()
            self._metrics_server = None

    async def _flush_usage_forever(self) -> None:
        last_purge = 0.0
        while True:
            await asyncio.sleep(self.config.usage.flush_seconds)
            self._write_usage(self.usage.drain(time.time()))
            if time.monotonic() - last_purge > PURGE_EVERY_SECONDS:
                last_purge = time.monotonic()
                self._purge()
                if self.spool is not None:
                    asyncio.get_running_loop().run_in_executor(None, self.spool.expire)

    def _purge(self) -> None:
        """Drop records older than the retention period (WC-P17-001 §9) off the event loop."""
        days, db_path = self.config.usage.retention_days, self.config.db

        def job() -> None:
            try:
                counts = purge_database(db_path, retention_days=days, now=time.time())
                log.info("retention purge (%d days): %s", days, counts)
            except Exception as e:  # noqa: BLE001 - a failed purge is retried next period
                log.error("retention purge failed: %s", type(e).__name__)

        asyncio.get_running_loop().run_in_executor(None, job)

    def _write_usage(self, drained: Drained) -> None:
        """Metrics now; rollups and findings to the writer thread (never awaited)."""
        m = self.metrics
        for iv in drained.intervals:
            m.active_seconds.labels(iv.app, iv.category, iv.department).inc(iv.seconds)
        if self.store is None:
            return
        try:
            if drained.deltas:
                self.store.submit(partial(write_usage, drained.deltas), label="usage")
            for f in drained.findings:
                self._record_finding(f)
        except Exception as e:  # noqa: BLE001 - queue full or store closed: counted, never silent
            m.usage_write_failures.inc()
            log.error("usage batch not queued: %s", type(e).__name__)

    def _record_finding(self, f: UsageFinding) -> None:
        from agent.store import Incident, new_incident_id

        rule = next((r for r in self.state.ruleset.policy.usage_rules if r.id == f.rule), None) \
            if self.state else None
        if rule is None:
            return
        inc = Incident(
            id=new_incident_id(), time=f.time, user=f.user, department=f.department, app="other",
            category=f.category, rule=rule.id, severity=rule.severity, action="alert",
            policy_ref=rule.policy_ref, description=rule.description,
            why=[f"{f.category} active {f.seconds / 60:.0f} min > {f.threshold / 60:.0f} min "
                 f"({rule.period.replace('_', ' ')})"], rules=[rule.id], node=self.node)
        finding = UsageFinding(f.rule, f.day, f.user, f.department, f.category, f.seconds, f.threshold,
                               f.time, inc.id)
        row = inc.to_row()

        def record(conn) -> bool:
            # Once per (rule, user, day), also across restarts and agents sharing the database.
            if not write_finding(finding, conn):
                return False
            from agent.store.writer import insert_incident

            insert_incident(row, conn)
            return True

        fut = self.store.submit(record, label=f"usage finding {inc.id} ({rule.id})")
        fut.add_done_callback(lambda fu: self.metrics.usage_findings.labels(rule.id, f.department).inc()
                              if not fu.cancelled() and fu.exception() is None and fu.result() else None)

    # ------------------------------------------------------------------ hooks
    def server_connected(self, data) -> None:
        abort.server_connected(data.client.id, data.server)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Privacy bypass: never intercept these destinations; count the connection by host only."""
        sni = data.client_hello.sni
        if not self.bypass.matches(sni) or self.state is None:
            return
        data.ignore_connection = True
        client = data.context.client
        auth = getattr(ctx.master.addons.get("proxyauth"), "authenticated", {}).get(client)
        ident = self.state.directory.identify(auth[0] if auth else None,
                                              client.peername[0] if client.peername else None)
        app = self.state.ruleset.catalogue.app_for_host(sni) or UNKNOWN_APP
        self.metrics.privacy_bypass.labels(app.id, app.category, ident.department).inc()
        self.usage.request(time.time(), ident.user, ident.department, app.id, app.category,
                           Strength.WEAK)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        auth = flow.metadata.get("proxyauth")
        if auth:
            # Keep who, drop the clear-text password mitmproxy leaves in flow metadata.
            flow.metadata["proxyauth"] = (auth[0], "")
        if self.tenants and not flow.response:
            for control, headers in self.tenants.for_host(flow.request.pretty_host):
                for name, value in headers:
                    flow.request.headers[name] = value
                self.metrics.tenant_headers.labels(control).inc()
        try:
            self._maybe_stream(flow)
        except Exception as e:  # noqa: BLE001 - fail closed: a body we cannot set up to inspect is cut
            self.metrics.inspection_failures.labels("internal_error").inc()
            log.error("DLP stream setup failed with %s; connection closed", type(e).__name__)
            abort_flow(flow)

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        state = self.state
        if state is None:  # configure() failed at start: mitmproxy would not be running
            return
        guard = flow.metadata.get("dlp_stream")
        if guard is not None and (guard.calls or guard.blocked or flow.request.raw_content is None):
            self._finish_stream(flow, guard)
            return
        flow.metadata.pop("dlp_stream", None)   # set up, but the request had no body to stream
        body = flow.request.raw_content or b""
        try:
            await self._handle(flow, state, body)
        except Exception as e:  # noqa: BLE001 - the fail-closed boundary, see module docstring
            self.metrics.inspection_failures.labels("internal_error").inc()
            log.error("DLP decision failed with %s for a %d-byte %s request; %s", type(e).__name__,
                      len(body), flow.request.method, "blocked" if body else "passed")
            if body:
                flow.response = http.Response.make(
                    403, blockpage.render_json(blockpage.BlockInfo(
                        "none", "internal-error", "The request could not be inspected",
                        "WC-P17-001 §11", "high", "", flow.request.pretty_host, "request", [],
                        self.config.contact, _iso(time.time()))),
                    {"Content-Type": "application/json"})

    def _who_what(self, flow: http.HTTPFlow, state: _State, body_head: bytes = b""):
        req = flow.request
        host = req.pretty_host
        path, _, query = req.path.partition("?")
        cls = state.ruleset.catalogue.classify(host, req.method, path, query, body_head)
        auth = flow.metadata.get("proxyauth")
        ident = state.directory.identify(auth[0] if auth else None, flow.client_conn.peername[0]
                                         if flow.client_conn.peername else None)
        return cls, ident, host, path

    async def _handle(self, flow: http.HTTPFlow, state: _State, body: bytes) -> None:
        req = flow.request
        cls, ident, host, path = self._who_what(flow, state, body[:4096])
        result = None
        size = len(body)
        session = cls.endpoint.session if cls.endpoint else None
        chunk = self._session_chunk(flow, session, path) if session and self.spool else None
        if chunk is not None:
            result, size = await self._inspect_session(flow, state, cls, chunk, body)
        elif body:
            result = await self._inspect(state, flow, body, cls, req.headers.get("content-type"),
                                         req.headers.get("content-encoding"))
        facts = build_facts(cls, ident, host, req.method, path, size, result)
        decision = state.ruleset.policy.decide(facts, datetime.now().date())
        incident = self._account(flow, cls, ident, path, facts, decision, result)
        if incident is None:
            return
        if decision.action != "block":
            self._submit(incident, wait=False)
            return
        await self._submit_and_wait(incident)
        flow.response = self._block_response(flow, cls, decision, incident, result)

    # ------------------------------------------------------------------ upload sessions
    def _session_chunk(self, flow: http.HTTPFlow, session, path: str) -> Chunk | None:
        req = flow.request
        if session.protocol == "dropbox":
            if session.role == "start":
                # The session id arrives in the reply; spool under this flow until then.
                flow.metadata["dlp_session_start"] = f"flow:{flow.id}"
                return Chunk(f"flow:{flow.id}", 0, False)
            return dropbox_chunk(path, req.headers.get("dropbox-api-arg"), len(req.raw_content or b""))
        if session.role == "start" or req.method not in ("PUT", "POST", "PATCH"):
            return None
        if session.protocol == "google_resumable":
            upload_id = req.query.get("upload_id")
            if not upload_id:
                return None
            return ranged_chunk("google", upload_id, req.headers.get("content-range"), len(req.raw_content or b""))
        return ranged_chunk("onedrive", f"{req.pretty_host}{req.path}", req.headers.get("content-range"),
                            len(req.raw_content or b""))

    async def _inspect_session(self, flow: http.HTTPFlow, state: _State, cls: Classification,
                               chunk: Chunk, body: bytes) -> tuple[InspectionResult | None, int]:
        """A chunk: spool it and scan its raw text (a piece of a file is not a file). The commit:
        inspect the reassembled file as one body, before the commit is forwarded."""
        loop = asyncio.get_running_loop()
        spool = self.spool
        if not chunk.commit:
            ok = await loop.run_in_executor(self.pool.io(), spool.add, chunk.key, chunk.offset, body)
            if not body:
                return None, 0
            result = await self._inspect(state, flow, body, cls, "text/plain", None)
            result.uninspectable = [u for u in result.uninspectable if u.reason == "time_limit"]
            if not ok:
                result.uninspectable.append(Uninspectable("size_limit", "session", "upload session over its bounds"))
            return result, len(body)
        flow.metadata["dlp_session_commit"] = chunk.key
        if spool.overflowed(chunk.key) or spool.session_bytes(chunk.key) + len(body) > spool.max_session_bytes:
            r = InspectionResult(bytes_in=len(body))
            r.uninspectable.append(Uninspectable("size_limit", "session", "upload session too large to reassemble"))
            return r, spool.session_bytes(chunk.key) + len(body)
        data, contiguous = await loop.run_in_executor(self.pool.io(), spool.assemble, chunk.key, chunk.offset, body)
        result = await self._inspect(state, flow, data, cls, None, None)
        if not contiguous:
            result.uninspectable.append(Uninspectable("parse_error", "session", "chunks missing from the session"))
        result.files = [f if f.where != "body" else FileInfo("session", f.name, f.type, len(data))
                        for f in result.files]
        return result, len(data)

    def _account(self, flow: http.HTTPFlow, cls: Classification, ident: Identity, path: str,
                 facts: Facts, decision: Decision, result: InspectionResult | None, why: str | None = None):
        """Metrics, usage and flow metadata for a decided request; the incident to record, if any."""
        req = flow.request
        flow.metadata["dlp"] = {"app": cls.app.id, "category": cls.app.category, "action": decision.action,
                                "rule": decision.rule.id if decision.rule else None,
                                "user": ident.user, "department": ident.department}
        self._count(cls, ident, facts, decision, result)
        self.usage.request(time.time(), ident.user, ident.department, cls.app.id, cls.app.category,
                           classify_request(req.method, _fetch_headers(req), is_upload=facts.is_upload,
                                            is_post=facts.is_post),
                           bytes_up=facts.size, upload=facts.is_upload or facts.is_post,
                           violation=decision.action != "allow")
        if decision.action == "allow":
            return None
        incident = self._incident(flow, cls, ident, path, facts, decision, result)
        if why:
            incident.why.append(why)
        flow.metadata["dlp"]["incident"] = incident.id
        return incident

    # ------------------------------------------------------------------ streamed bodies
    def _maybe_stream(self, flow: http.HTTPFlow) -> None:
        """Bodies larger than max_body_bytes, or of unknown length, are inspected while they
        are forwarded (see agent/streaming.py); everything else is buffered and inspected whole."""
        state = self.state
        req = flow.request
        if state is None or flow.response or flow.error:
            return
        try:
            size = expected_http_body_size(req)
        except ValueError:
            size = None          # malformed length: do not trust it, inspect as a stream
        unsized_h2 = size == 0 and not req.http_version.startswith("HTTP/1") \
            and "content-length" not in req.headers and req.method.upper() not in _BODILESS_METHODS
        if unsized_h2:
            # HTTP/2 and 3 frame bodies without a length; the HTTP/1 rule above says "none" for
            # them, and mitmproxy would buffer a 2 GB upload whole. A request that turns out to
            # have no body (END_STREAM on its headers) never calls the guard (see request()),
            # so whether it may go at all is decided on its first bytes, not here.
            size = None
        if size == 0 or (size is not None and size <= self.config.limits.max_body_bytes):
            return
        if size is None and req.http_version.startswith("HTTP/1") and "transfer-encoding" not in req.headers:
            return
        cls, ident, host, path = self._who_what(flow, state)
        declared = size if size is not None else 1
        facts = build_facts(cls, ident, host, req.method, path, declared, None)
        decision = state.ruleset.policy.decide(facts, datetime.now().date())
        if decision.action == "block" and not unsized_h2:
            # Decided by destination alone (e.g. an upload to unapproved file sharing): cut the
            # connection before a byte of the body is forwarded; too large to answer with a page.
            incident = self._account(flow, cls, ident, path, facts, decision, None,
                                     why="large body refused before forwarding")
            abort_flow(flow)
            self._submit(incident, wait=False)
            return
        guard = _StreamGuard(self, flow, state, cls, ident, host, path, size)
        flow.metadata["dlp_stream"] = guard
        req.stream = guard

    def _finish_stream(self, flow: http.HTTPFlow, guard: _StreamGuard) -> None:
        if guard.blocked:
            return                       # accounted when it was cut off
        decision, facts = guard.decide()
        incident = self._account(flow, guard.cls, guard.ident, guard.path, facts, decision,
                                 guard.inspector.result, why="streamed body")
        if incident is not None:
            # Too late for a block page: the body is already upstream. Record what was found.
            self._submit(incident, wait=False)
        self.metrics.inspection_duration.observe(guard.seconds)

    async def _inspect(self, state: _State, flow: http.HTTPFlow, body: bytes, cls: Classification,
                       content_type: str | None = None, content_encoding: str | None = None
                       ) -> InspectionResult:
        m = self.metrics
        m.inflight.inc()
        t0 = time.monotonic()
        try:
            result = await self.pool.inspect(body, content_type, content_encoding)
        finally:
            m.inflight.dec()
        m.inspection_duration.observe(time.monotonic() - t0)
        if result.spilled_bytes:
            m.spilled_bytes.inc(result.spilled_bytes)
        mark_encrypted(cls, result)
        for u in result.uninspectable:
            m.inspection_failures.labels(u.reason).inc()
        for t, d in result.detections.items():
            m.detections.labels(t, cls.app.id).inc(d.count)
        return result

    def _count(self, cls: Classification, ident: Identity, facts: Facts, decision: Decision,
               result: InspectionResult | None, request: bool = True) -> None:
        m = self.metrics
        app, cat = cls.app.id, cls.app.category
        if request:
            m.requests.labels(app, cat, decision.action).inc()
            m.department_requests.labels(ident.department, cat).inc()
        if facts.size:
            m.bytes.labels(app, cat, "up", ident.department).inc(facts.size)
        if facts.is_upload or facts.is_post:
            m.uploads.labels(app, cat, decision.action).inc()
            m.department_uploads.labels(ident.department, cat).inc()
        for match in decision.matches:
            m.violations.labels(match.rule.id, match.rule.severity, match.action).inc()
            if match.expired_exception:
                m.expired_exception_hits.labels(match.expired_exception).inc()
                log.warning("exception %s has expired; rule %s applied in full",
                            match.expired_exception, match.rule.id)
        if decision.action != "allow":
            m.department_violations.labels(ident.department, cat).inc()

    def _incident(self, flow, cls, ident, path, facts, decision, result):
        from agent.store import Incident, new_incident_id

        top = decision.top
        return Incident(
            id=new_incident_id(), time=time.time(), user=ident.user, department=ident.department,
            client_ip=flow.client_conn.peername[0] if flow.client_conn.peername else "",
            app=cls.app.id, category=cls.app.category, host=facts.host, method=facts.method,
            path=path[:512], rule=top.rule.id, severity=top.rule.severity, action=decision.action,
            policy_ref=top.rule.policy_ref, description=top.rule.description,
            exception=top.exception, expired_exception=top.expired_exception, why=list(top.why),
            rules=[mt.rule.id for mt in decision.matches],
            detections=[d.to_dict() for d in result.detections.values()] if result else [],
            files=[{"where": f.where, "name": f.name, "type": f.type, "size": f.size}
                   for f in (result.files if result else [])][:50],
            uninspectable=[{"reason": u.reason, "where": u.where, "detail": u.detail}
                           for u in (result.uninspectable if result else [])][:50],
            bytes=facts.size, node=self.node,
        )

    def _submit(self, incident, wait: bool):
        try:
            return self.store.submit_incident(incident)
        except Exception as e:  # noqa: BLE001 - queue full or store closed: count, never drop silently
            self.metrics.incident_write_failures.labels("rejected").inc()
            log.error("incident %s (%s) not queued: %s", incident.id, incident.rule, type(e).__name__)
            return None

    async def _submit_and_wait(self, incident) -> None:
        fut = self._submit(incident, wait=True)
        if fut is None:
            return
        try:
            await asyncio.wait_for(asyncio.wrap_future(fut), INCIDENT_COMMIT_TIMEOUT)
        except TimeoutError:
            self.metrics.incident_write_failures.labels("timeout").inc()
            log.error("incident %s not committed within %.0fs; blocking anyway", incident.id,
                      INCIDENT_COMMIT_TIMEOUT)
        except Exception as e:  # noqa: BLE001
            self.metrics.incident_write_failures.labels("error").inc()
            log.error("incident %s write failed: %s; blocking anyway", incident.id, type(e).__name__)

    def _block_response(self, flow, cls, decision, incident, result) -> http.Response:
        rule = decision.rule
        found = [f"{d.count} {t}" for t, d in (result.detections.items() if result else [])]
        found += [f"content not inspectable ({u.reason})" for u in (result.uninspectable if result else [])][:3]
        what = "upload" if incident.files or cls.is_upload else ("post" if cls.is_post else "request")
        info = blockpage.BlockInfo(incident.id, rule.id, rule.description, rule.policy_ref, rule.severity,
                                   cls.app.name, incident.host, what, found, self.config.contact,
                                   _iso(incident.time))
        headers = {"Cache-Control": "no-store", "X-DLP-Incident": incident.id}
        if blockpage.wants_html(flow.request.headers.get("accept")):
            headers["Content-Type"] = "text/html; charset=utf-8"
            return http.Response.make(403, blockpage.render_html(info), headers)
        headers["Content-Type"] = "application/json"
        return http.Response.make(403, blockpage.render_json(info), headers)

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Messages a client sends over a WebSocket (chat, live posting) are posts: inspect them."""
        msg = flow.websocket.messages[-1] if flow.websocket else None
        state = self.state
        if msg is None or not msg.from_client or state is None or not flow.live:
            return
        content = msg.content
        try:
            await self._handle_ws(flow, state, msg, content)
        except Exception as e:  # noqa: BLE001 - fail closed, as for request bodies
            self.metrics.inspection_failures.labels("internal_error").inc()
            log.error("DLP WebSocket decision failed with %s for a %d-byte message; dropped",
                      type(e).__name__, len(content))
            msg.drop()

    async def _handle_ws(self, flow, state: _State, msg, content: bytes) -> None:
        req = flow.request
        host = req.pretty_host
        path = req.path.partition("?")[0]
        cls = state.ruleset.catalogue.classify(host, "GET", path)
        auth = flow.metadata.get("proxyauth")
        ident = state.directory.identify(auth[0] if auth else None,
                                         flow.client_conn.peername[0] if flow.client_conn.peername else None)
        result = None
        if content:
            result = await self._inspect(state, flow, content, cls,
                                         content_type="text/plain; charset=utf-8" if msg.is_text else None,
                                         content_encoding=None)
        facts = build_facts(cls, ident, host, "WEBSOCKET", path, len(content), result)
        facts = replace(facts, is_post=True)
        decision = state.ruleset.policy.decide(facts, datetime.now().date())
        self.usage.activity(time.time(), ident.user, ident.department, cls.app.id, cls.app.category,
                            classify_ws_message(True, content, self.usage.sessions.settings))
        self.metrics.websocket_messages.labels(cls.app.id, cls.app.category, decision.action).inc()
        self._count(cls, ident, facts, decision, result, request=False)
        if decision.action == "allow":
            return
        incident = self._incident(flow, cls, ident, path, facts, decision, result)
        if decision.action == "block":
            await self._submit_and_wait(incident)
            msg.drop()
            log.warning("WebSocket message to %s dropped by rule %s (incident %s)", host,
                        decision.rule.id, incident.id)
        else:
            self._submit(incident, wait=False)

    def _session_reply(self, flow: http.HTTPFlow) -> None:
        tmp = flow.metadata.get("dlp_session_start")
        if tmp and self.spool and flow.response.status_code == 200:
            try:
                sid = json.loads(flow.response.get_content(strict=False) or b"{}").get("session_id")
            except (ValueError, AttributeError):
                sid = None
            if isinstance(sid, str):
                self.spool.rename(tmp, f"dropbox:{sid}")
            else:
                self.spool.drop(tmp)
        key = flow.metadata.get("dlp_session_commit")
        if key and self.spool and flow.response.status_code < 300:
            self.spool.drop(key)          # committed upstream: nothing more to reassemble

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None and ("dlp_session_start" in flow.metadata
                                          or "dlp_session_commit" in flow.metadata):
            self._session_reply(flow)
        meta = flow.metadata.get("dlp")
        if not meta or flow.response is None or "user" not in meta:
            return
        n = len(flow.response.raw_content or b"")
        if n and meta.get("action") != "block":
            self.metrics.bytes.labels(meta["app"], meta["category"], "down", meta["department"]).inc(n)
            self.usage.response(time.time(), meta["user"], meta["department"], meta["app"], meta["category"], n)


class _StreamGuard:
    """mitmproxy's `flow.request.stream` callable: inspects each chunk before forwarding it and
    cuts the transfer off the moment the rules say block."""

    def __init__(self, addon: DlpAddon, flow: http.HTTPFlow, state: _State, cls: Classification,
                 ident: Identity, host: str, path: str, declared: int | None):
        self.addon, self.flow, self.state = addon, flow, state
        self.cls, self.ident, self.host, self.path, self.declared = cls, ident, host, path, declared
        req = flow.request
        self.inspector = StreamInspector(state.ruleset.scanner, req.headers.get("content-type"),
                                         req.headers.get("content-encoding"), state.inspector.hasher,
                                         limits=state.inspector.limits)
        self.blocked = False
        self.seconds = 0.0
        self.held = bytearray()
        self.calls = 0

    def decide(self) -> tuple[Decision, Facts]:
        r = self.inspector.result
        mark = self.cls.app.content_encrypted and not any(u.reason == "encrypted" for u in r.uninspectable)
        if mark:
            mark_encrypted(self.cls, r)
        size = max(r.bytes_in, self.declared or 0)
        facts = build_facts(self.cls, self.ident, self.host, self.flow.request.method, self.path, size, r)
        return self.state.ruleset.policy.decide(facts, datetime.now().date()), facts

    # Bytes held back until the inspector has certainly scanned them: it may keep up to a few
    # hundred bytes to see what a part is (SNIFF_BYTES) and a multipart boundary's length.
    HOLD = 8192

    def __call__(self, chunk: bytes) -> list[bytes]:
        # Returns lists, never b"": mitmproxy sends an empty chunk on as a chunk, which HTTP/1
        # chunked framing writes as the last-chunk marker - a complete request upstream.
        self.calls += 1
        if self.blocked:
            return []
        t0 = time.monotonic()
        try:
            first = chunk and not self.held and not self.inspector.result.bytes_in
            if chunk:
                self.inspector.feed(chunk)
                self.held += chunk
            else:
                self.inspector.finish()
            if self.inspector.changed or first:    # first bytes: a rule on destination alone
                self.inspector.changed = False
                decision, facts = self.decide()
                if decision.action == "block":
                    self._cut(decision, facts)
                    return []
            if not chunk:                       # end of body: everything was inspected
                out, self.held = bytes(self.held), bytearray()
                return [out] if out else []
            if len(self.held) <= self.HOLD:
                return []
            out = bytes(self.held[:-self.HOLD])
            del self.held[:-self.HOLD]
            return [out]
        except Exception as e:  # noqa: BLE001 - fail closed: an inspection bug cuts the upload
            self.blocked = True
            self.addon.metrics.inspection_failures.labels("internal_error").inc()
            log.error("streamed inspection failed with %s; upload to %s cut off", type(e).__name__, self.host)
            abort_flow(self.flow)
            return []
        finally:
            self.seconds += time.monotonic() - t0

    def _cut(self, decision: Decision, facts: Facts) -> None:
        self.blocked = True
        self.held = bytearray()
        for u in self.inspector.result.uninspectable:
            self.addon.metrics.inspection_failures.labels(u.reason).inc()
        incident = self.addon._account(
            self.flow, self.cls, self.ident, self.path, facts, decision, self.inspector.result,
            why=f"streamed body cut off after {self.inspector.result.bytes_in} bytes")
        abort_flow(self.flow)
        self.addon._submit(incident, wait=False)
        log.warning("streamed upload to %s cut off by rule %s after %d bytes (incident %s)",
                    self.host, decision.rule.id, self.inspector.result.bytes_in, incident.id)


# Methods whose HTTP/2 requests without content-length are taken to have no body (a body on
# them is still buffered and inspected whole).
_BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT", "DELETE"})

_FETCH_HEADERS = ("sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "sec-purpose", "purpose", "accept",
                  "content-type")


def _fetch_headers(req: http.Request) -> dict[str, str]:
    """The few headers the usage estimate reads. Not a dict of all headers: mitmproxy's Headers
    lookups are linear, so copying 8,000 headers that way took seconds on the event loop."""
    return {name: req.headers.get(name, "") for name in _FETCH_HEADERS}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


addons = [DlpAddon()]
