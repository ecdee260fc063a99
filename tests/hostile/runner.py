"""Running the cases: in-process through ``agent.evaluate.evaluate`` with the shipped rules,
and through a real agent (``Rig``) as a sweep whose records are judged afterwards (the
incidents are read once, with the operators' command, instead of once per case)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from agent.evaluate import evaluate
from agent.extract.model import Limits
from agent.identity import Directory
from agent.inspect import Inspector
from agent.ruleset import RuleSet, default_dir, load_ruleset

from .cases import OTHER_HOST, PASTE_HOST, Case, Env
from .judge import Judgement, judge_evaluation, judge_outcome
from .rig import Outcome, Rig
from .tripwire import Tripwire

# Limits of the fast suite (agent config and in-process Inspector alike): the shipped ones
# but a 5 s budget and 16 MiB of extracted bytes, so that a bomb costs seconds, not tens of
# seconds, on a 2-core machine. bench/bench_hostile.py runs with the shipped limits.
FAST_LIMITS = {"max_seconds": 5.0, "max_extracted_bytes": 16 * 1024 * 1024}
SHIPPED_LIMITS: dict = {}

BAIT = b"root:x:0:0:root:/root:/bin/bash\nPat Doe SSN 219-44-1234 tripwire\n"


def path_for(case: Case) -> str:
    return f"/hostile/{case.name}"


def env_for(case: Case, host: str, wire: Tripwire | None) -> Env:
    if wire is None:
        return Env(host, path_for(case))
    return Env(host, path_for(case), wire.file_url, wire.http_url)


# ------------------------------------------------------------------ in-process
class InProcess:
    """The shipped rules, an Inspector with the given limits, an empty directory."""

    def __init__(self, limits: dict, ruleset: RuleSet | None = None):
        self.ruleset = ruleset or load_ruleset(default_dir())
        self.limits = Limits(**limits)
        self.inspector = Inspector(self.ruleset.scanner, self.limits)
        self.directory = Directory()

    def evaluate(self, req, host: str | None = None):
        return evaluate(self.ruleset, self.directory, self.inspector, method=req.method,
                        host=host or req.host, path=req.path, headers=dict(req.headers),
                        body=req.body, today=date.today())

    def run(self, case: Case, wire: Tripwire | None = None) -> Judgement:
        req = case.build(env_for(case, PASTE_HOST, wire))
        before = (wire.file_events(), wire.connections) if wire else (0, 0)
        t = time.monotonic()
        ev, error = None, None
        try:
            ev = self.evaluate(req)
        except Exception as e:  # noqa: BLE001 - judged as a crash, not re-raised
            error = e
        seconds = time.monotonic() - t
        fetched = (wire.file_events() + wire.connections - before[1]) if wire else 0
        return judge_evaluation(case, ev, seconds, self.limits.max_seconds, error, fetched)


# ------------------------------------------------------------------ through the agent
@dataclass
class Record:
    case: Case
    host: str
    outcome: Outcome
    failures: dict[str, float]
    hwm_before: tuple[int, int]
    fetched: int
    expect_log: bool
    judgement: Judgement | None = None


@dataclass
class Sweep:
    rig: Rig
    wire: Tripwire
    records: list[Record] = field(default_factory=list)

    def send(self, case: Case, host: str = PASTE_HOST) -> Record:
        rig = self.rig
        self._settle()
        req = case.build(env_for(case, host, self.wire))
        before_fail = rig.failures()
        before_hwm = rig.hwm()
        self.wire.file_events()
        conns = self.wire.connections
        out = rig.send(req)
        after_fail = rig.failures() if out.alive else before_fail
        delta = {k: after_fail.get(k, 0) - before_fail.get(k, 0) for k in after_fail}
        fetched = self.wire.file_events() + self.wire.connections - conns
        rec = Record(case, host, out, delta, before_hwm, fetched, expect_log=host == OTHER_HOST)
        self.records.append(rec)
        return rec

    def _settle(self, limit: float = 15.0) -> None:
        """If a bystander request has been waiting, let the agent drain what the previous case
        left behind before the next one starts (so a stall is blamed on the case causing it)."""
        t = time.monotonic()
        while time.monotonic() - t < limit and self.rig.alive() and self.rig.bystander.waiting() > 0.3:
            time.sleep(0.05)

    def judge(self, retry_seconds: float = 3.0) -> list[Judgement]:
        """Judge every record against the stored incidents (read with `dlp-agent incidents
        list`); incidents written after the reply (cut-offs, logs) get a moment to land."""
        deadline = time.monotonic() + retry_seconds
        while True:
            incidents = self.rig.incidents() if Path(self.rig.agent.db).exists() else []
            by_key = {(i["host"], i["path"]): i for i in reversed(incidents)}
            missing = [r for r in self.records if self._wants_incident(r)
                       and (r.host, self._incident_path(r)) not in by_key]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        out = []
        for r in self.records:
            path = path_for(r.case)
            arrived = self.rig.arrived(r.host, path)
            smug = bool(self.rig.arrived(r.host, path + "/smuggled"))
            r.judgement = judge_outcome(
                r.case, r.outcome, host=r.host, incident=by_key.get((r.host, path)),
                smuggled=by_key.get((r.host, path + "/smuggled")), arrived=arrived,
                smuggled_arrived=smug, failures=r.failures, hwm_before=r.hwm_before,
                max_seconds=self.rig.max_seconds, fetched=r.fetched, expect_log=r.expect_log)
            out.append(r.judgement)
        return out

    @staticmethod
    def _incident_path(r: Record) -> str:
        suffix = "/smuggled" if r.case.verdict == "smuggled-blocked" else ""
        return path_for(r.case) + suffix

    @staticmethod
    def _wants_incident(r: Record) -> bool:
        return r.expect_log or r.outcome.kind in ("blocked", "cut") \
            or r.case.verdict == "smuggled-blocked"
