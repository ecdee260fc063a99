"""Every fast hostile case as a real request through a real `dlp-agent run` (TLS interception,
the shipped rules, incidents in SQLite, /metrics), while a bystander keeps browsing through
the same agent. Judged by judge.judge_outcome: the agent stays alive, the flow is decided
(block page, logged pass-through, cut-off, or the proxy's refusal of broken framing) within
the budget, memory stays under the stated bounds, the bystander is served within
rig.BYSTANDER_MAX_SECONDS, the incident and dlp_inspection_failures_total carry the reason.

The cases run once, as a sweep in a module fixture; each test then reads its own judgement.
"""

from __future__ import annotations

import pytest

from .cases import CASES, OTHER_HOST, PASTE_HOST
from .judge import MAIN_HWM_BOUND_KB
from .known_bugs import assert_judged, marks
from .rig import Rig
from .runner import FAST_LIMITS, SHIPPED_LIMITS, Sweep

FAST = [c for c in CASES if not c.slow and c.agent_fast]
TARGETS = [(c, PASTE_HOST) for c in FAST] + [(c, OTHER_HOST) for c in FAST if c.log_elsewhere]
REST = [c for c in CASES if c not in FAST]
SLOW_TARGETS = [(c, PASTE_HOST) for c in REST] + [(c, OTHER_HOST) for c in REST if c.log_elsewhere]


def run_sweep(tmp, wire, targets, limits):
    rig = Rig(tmp, limits)
    s = Sweep(rig, wire)
    for case, host in targets:
        s.send(case, host)
    return s, {(j.case, j.where): j for j in s.judge()}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, wire):
    s, judged = run_sweep(tmp_path_factory.mktemp("hostile-agent"), wire, TARGETS, FAST_LIMITS)
    try:
        yield s, judged
    finally:
        s.rig.close()


@pytest.fixture(scope="module")
def slow_sweep(tmp_path_factory, wire):
    """The rest of the cases, with the shipped limits (what bench/bench_hostile.py also runs)."""
    s, judged = run_sweep(tmp_path_factory.mktemp("hostile-agent-slow"), wire, SLOW_TARGETS,
                          SHIPPED_LIMITS)
    try:
        yield s, judged
    finally:
        s.rig.close()


@pytest.mark.parametrize("case, host", [
    pytest.param(c, h, id=f"{c.name}@{h}", marks=marks(c.name, "agent")) for c, h in TARGETS])
def test_case(sweep, case, host):
    _, judged = sweep
    assert_judged(judged[(case.name, host)], case.name, "agent")


@pytest.mark.slow
@pytest.mark.parametrize("case, host", [
    pytest.param(c, h, id=f"{c.name}@{h}", marks=marks(c.name, "agent")) for c, h in SLOW_TARGETS])
def test_slow_case(slow_sweep, case, host):
    _, judged = slow_sweep
    assert_judged(judged[(case.name, host)], case.name, "agent")


def test_agent_survived_and_stayed_in_bounds(sweep):
    s, _ = sweep
    rig = s.rig
    assert rig.alive()
    assert rig.agent.metric("dlp_rules_loaded") > 0          # /metrics still served
    main, _ = rig.hwm()
    assert main <= MAIN_HWM_BOUND_KB or any(
        j.kinds() == {"memory"} for j in (r.judgement for r in s.records) if j), main
    # the bystander was served all along, not just between cases
    assert rig.bystander.served_since(0) >= len(TARGETS)
