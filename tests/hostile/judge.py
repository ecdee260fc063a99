"""What counts as a failure, in one place, for the tests and for bench/bench_hostile.py.

A run of one case yields ``Problem``s of these kinds:

- ``crash``: the agent process died, answered 5xx, raised, or recorded ``internal_error``
  (which the extractor reserves for its own bugs);
- ``undecided``: no decision: a hang, an outcome the case does not allow, a block or a cut-off
  without its incident;
- ``slow``: the decision took longer than the inspection budget plus slack;
- ``memory``: the agent's peak RSS passed its bound during the case;
- ``stall``: another client waited longer than BYSTANDER_MAX_SECONDS, or failed;
- ``wrong``: a decision was made but not the one the rules call for (verdict, reasons,
  detection, a metric that did not move, a body forwarded that should not have been, an
  external entity fetched).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cases import Case
from .rig import BYSTANDER_MAX_SECONDS, DECISION_SLACK_SECONDS, Outcome

KINDS = ("crash", "undecided", "slow", "memory", "stall", "wrong")

# In-process, evaluate() runs alone: its time is the budget plus what one uninterruptible
# step may add (a PDF page, one scan window).
INPROC_SLACK_SECONDS = 3.0
# Peak RSS bounds for the agent during the suite, stated here and printed by the bench.
MAIN_HWM_BOUND_KB = 512 * 1024        # the proxy process
WORKER_HWM_BOUND_KB = 768 * 1024      # each inspection worker process


@dataclass
class Judgement:
    case: str
    where: str
    seconds: float = 0.0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, message: str) -> None:
        assert kind in KINDS
        self.problems.append((kind, message))

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {k for k, _ in self.problems}

    def __str__(self) -> str:
        if self.ok:
            return f"{self.case} @ {self.where}: ok ({self.seconds:.2f}s)"
        return f"{self.case} @ {self.where} ({self.seconds:.2f}s): " + "; ".join(
            f"{k}: {m}" for k, m in self.problems)


def judge_evaluation(case: Case, ev, seconds: float, max_seconds: float,
                     error: BaseException | None = None, fetched: int = 0) -> Judgement:
    """An ``agent.evaluate.Evaluation`` of the case against the paste host."""
    j = Judgement(case.name, "in-process", seconds)
    if error is not None:
        j.add("crash", f"evaluate raised {type(error).__name__}")
        return j
    if ev is None or ev.decision is None:
        j.add("undecided", "no decision")
        return j
    reasons = set(ev.result.uninspectable_reasons) if ev.result else set()
    counts = ev.result.counts if ev.result else {}
    if "internal_error" in reasons:
        j.add("crash", "internal_error recorded: " + ", ".join(
            u.detail for u in ev.result.uninspectable if u.reason == "internal_error"))
    action = ev.decision.action
    allowed = {"block": {"block"}, "allow": {"allow"}}.get(case.verdict, {"allow", "block"})
    if action not in allowed:
        j.add("wrong", f"decision {action}, expected {case.verdict}")
    _reasons(j, case, reasons)
    if case.detect and not counts.get(case.detect):
        j.add("wrong", f"{case.detect} not detected in a readable wrapper")
    if seconds > max_seconds + INPROC_SLACK_SECONDS:
        j.add("slow", f"{seconds:.1f}s > {max_seconds:g}s budget + {INPROC_SLACK_SECONDS:g}s")
    if fetched:
        j.add("wrong", f"external entity fetched ({fetched} file/socket events)")
    return j


def _reasons(j: Judgement, case: Case, reasons: set[str]) -> None:
    if case.reasons and not reasons & case.reasons:
        j.add("wrong", f"reasons {sorted(reasons) or 'none'}, expected one of "
                       f"{sorted(case.reasons)}")
    unexpected = reasons - {"unsupported"} - case.tolerate
    if not case.reasons and case.verdict in ("block", "allow") and unexpected:
        j.add("wrong", f"body should be read whole, got {sorted(unexpected)}")


def judge_outcome(case: Case, out: Outcome, *, host: str, incident: dict | None,
                  smuggled: dict | None, arrived: list[dict], smuggled_arrived: bool,
                  failures: dict[str, float], hwm_before: tuple[int, int], max_seconds: float,
                  fetched: int = 0, expect_log: bool = False) -> Judgement:
    """One case sent through the real agent.

    ``incident``: the stored incident for the case's host and path (or None); ``arrived``: what
    the upstream logged for that path (method, length, sha256 per request); ``failures``:
    the increase of dlp_inspection_failures_total by reason during the case; ``hwm_before``:
    (main, worker) VmHWM before it; ``expect_log``: sent to a host where the rules log.
    """
    j = Judgement(case.name, host, out.seconds)
    kind = out.kind
    delivered = any(r["length"] for r in arrived)
    if (kind == "passed" and case.group == "stream" and incident is not None
            and incident.get("action") == "block" and not delivered):
        # the cut-off raced the upstream: it answered the emptied request before its connection
        # closed, and that 200 reached the client; nothing was delivered and the block stands
        kind = "cut"
    if not out.alive:
        j.add("crash", "agent process died")
    if kind == "error":
        j.add("crash", f"HTTP {out.status} from the proxy")
    if failures.get("internal_error"):
        j.add("crash", "dlp_inspection_failures_total{reason=internal_error} moved")
    if kind == "hung":
        j.add("undecided", f"no response and no close within {out.seconds:.0f}s")
    allowed = {"passed"} if expect_log else case.outcomes
    if kind not in allowed and kind not in ("hung", "error"):
        j.add("undecided", f"outcome {kind} (HTTP {out.status}), expected {sorted(allowed)}")
    budget = max_seconds + DECISION_SLACK_SECONDS
    if out.seconds > budget and kind != "held":
        j.add("slow", f"{out.seconds:.1f}s > {max_seconds:g}s budget + {DECISION_SLACK_SECONDS:g}s")
    if out.hwm_kb > MAIN_HWM_BOUND_KB and out.hwm_kb > hwm_before[0]:
        j.add("memory", f"proxy VmHWM {out.hwm_kb // 1024} MiB > {MAIN_HWM_BOUND_KB // 1024} MiB")
    if out.worker_hwm_kb > WORKER_HWM_BOUND_KB and out.worker_hwm_kb > hwm_before[1]:
        j.add("memory", f"worker VmHWM {out.worker_hwm_kb // 1024} MiB > "
                        f"{WORKER_HWM_BOUND_KB // 1024} MiB")
    if out.bystander_max > BYSTANDER_MAX_SECONDS or out.bystander_failures:
        j.add("stall", f"another client waited {out.bystander_max:.1f}s "
                       f"(bound {BYSTANDER_MAX_SECONDS:g}s), {out.bystander_failures} failed")
    if fetched:
        j.add("wrong", f"external entity fetched ({fetched} file/socket events)")

    if case.verdict == "smuggled-blocked":
        # the bytes past Content-Length are a second request: it must be decided too
        if smuggled is None or smuggled.get("action") != "block":
            j.add("undecided", "the request smuggled after a short Content-Length has no block")
        if smuggled_arrived:
            j.add("wrong", "the smuggled request reached upstream")
        return j
    if case.verdict == "not-forwarded":
        if delivered:
            j.add("wrong", "a body with broken framing reached upstream")
        return j

    if kind in ("blocked", "cut") and case.verdict != "allow":
        if incident is None:
            j.add("undecided", f"{kind} without an incident")
        elif incident.get("action") != "block":
            j.add("wrong", f"incident action {incident.get('action')}, expected block")
        if arrived and kind == "blocked":
            j.add("wrong", "a blocked body reached upstream")
        if arrived and kind == "cut" and case.group == "stream":
            # the upstream logs a request only once its body is complete: a cut-off upload
            # must reach it as an aborted request, never as a finished (shorter) one
            j.add("wrong", f"the cut-off upload reached upstream as a complete request "
                           f"({max(r['length'] for r in arrived)} bytes)")
        if kind == "blocked" and incident is not None and out.incident_id != incident.get("id"):
            j.add("wrong", "the block page names another incident")
    if expect_log:
        if incident is None or incident.get("action") != "log":
            j.add("undecided", "no `log` incident for an uninspectable body")
        if not arrived:
            j.add("wrong", "a logged body did not reach upstream")
    if case.verdict == "allow" and kind == "passed" and not arrived:
        j.add("wrong", "an allowed body did not reach upstream")
    if case.reasons and (kind in ("blocked", "cut") or expect_log):
        stored = {u["reason"] for u in (incident or {}).get("uninspectable", [])}
        if incident is not None and not stored & case.reasons:
            j.add("wrong", f"incident reasons {sorted(stored) or 'none'}, expected one of "
                           f"{sorted(case.reasons)}")
        if not {r for r, v in failures.items() if v > 0} & case.reasons:
            j.add("wrong", "dlp_inspection_failures_total did not move for "
                           f"{sorted(case.reasons)}")
    if case.detect and incident is not None and kind in ("blocked", "cut") and not case.reasons:
        types = {d["type"] for d in incident.get("detections", [])}
        if case.detect not in types:
            j.add("wrong", f"incident without {case.detect}")
    return j
