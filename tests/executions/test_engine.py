"""Unit tests of the pure engine (`executions/engine.py`): tables, scenarios, boundaries.

No database: `FakeService` below plays the service's part (it holds the whole plan and every state, and
hands the engine only the current phase, as `executions/services.py` does).
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from pathlib import Path

import pytest

from executions import engine
from executions.engine import (
    ActionType,
    Conflict,
    DecisionType,
    ExecutionState,
    ExecutionStatus,
    GateSpec,
    InvalidTransition,
    Outcome,
    PhaseSpec,
    PhaseStatus,
    RuleViolation,
    StepSpec,
    StepState,
    StepStatus,
    TaskOutcome,
)

# ---------------------------------------------------------------------------------------------------------
# A fake service: the whole plan and all states in memory, the engine sees the current phase only
# ---------------------------------------------------------------------------------------------------------


def make_step(step_id: str, *depends_on: str, agent: str = "backend-engineer--python") -> StepSpec:
    return StepSpec(step_id=step_id, agent_name=agent, model="sonnet", depends_on=depends_on)


def make_phase(
    phase_id: int,
    *steps: StepSpec,
    gate: str | None = None,
    approval: bool = False,
) -> PhaseSpec:
    return PhaseSpec(
        phase_id=phase_id,
        name=f"Phase {phase_id}",
        steps=steps,
        gate=GateSpec(gate_type=gate, command=f"run {gate}", description=f"{gate} gate") if gate else None,
        requires_approval=approval,
    )


def snapshot(*objects: object) -> list[object]:
    return [dataclasses.astuple(obj) if dataclasses.is_dataclass(obj) else obj for obj in objects]


class FakeService:
    """Applies outcomes the way a service must, and checks what it can on the way."""

    def __init__(self, phases: list[PhaseSpec], *, risk: str = "LOW", max_parallel: int = 3) -> None:
        engine.validate_plan(phases)
        self.phases = phases
        self.max_parallel = max_parallel
        self.states = {spec.step_id: StepState(spec.step_id) for phase in phases for spec in phase.steps}
        self.phase_of = {spec.step_id: index for index, phase in enumerate(phases) for spec in phase.steps}
        self.specs = {spec.step_id: spec for phase in phases for spec in phase.steps}
        self.events: list[engine.EventSpec] = []
        self.decisions: dict[str, tuple[engine.DecisionSpec, str]] = {}
        self.loaded: list[int] = []
        self.request_ids = itertools.count(1)
        self.execution: ExecutionState | None = None
        self.last: Outcome = self.apply(
            engine.start(
                first_phase=phases[0],
                phase_count=len(phases),
                risk_level=risk,
                total_steps=len(self.states),
                load_phase=self.load_phase,
                max_parallel=max_parallel,
            )
        )

    # -- what the engine is given ---------------------------------------------------------------------

    @property
    def state(self) -> ExecutionState:
        assert self.execution is not None
        return self.execution

    @property
    def phase(self) -> PhaseSpec:
        return self.phases[self.state.current_phase]

    def phase_states(self) -> list[StepState]:
        return [self.states[spec.step_id] for spec in self.phase.steps]

    def load_phase(self, index: int) -> PhaseSpec:
        # Phases are entered strictly in order, each once; phase 0 is handed to start().
        expected = self.loaded[-1] + 1 if self.loaded else 1
        assert index == expected, f"loaded phase {index}, expected {expected}"
        self.loaded.append(index)
        return self.phases[index]

    @property
    def open_request(self) -> str | None:
        pending = [rid for rid, (_, status) in self.decisions.items() if status == "pending"]
        assert len(pending) <= 1
        return pending[0] if pending else None

    # -- applying outcomes ------------------------------------------------------------------------------

    def apply(self, outcome: Outcome, before: list[engine.EventSpec] | None = None) -> Outcome:
        for transition in outcome.transitions:
            if transition.old is not None:
                assert engine.check_transition(transition.kind, transition.old, transition.new)
        for step in outcome.steps:
            self.states[step.step_id] = step
        self.phase_before = self.execution.current_phase if self.execution else 0
        self.execution = outcome.execution
        self.events.extend(before or [])
        self.events.extend(outcome.events)
        if outcome.closed_decision is not None:
            request_id = self.open_request
            assert request_id is not None
            assert self.decisions[request_id][0].decision_type == outcome.closed_decision
            self.decisions[request_id] = (self.decisions[request_id][0], "expired")
        if outcome.decision is not None:
            assert self.open_request is None
            request_id = f"dec-{next(self.request_ids):03d}"
            self.decisions[request_id] = (outcome.decision, "pending")
            self.events.append(engine.decision_needed_event(outcome.decision, request_id))
        self.last = outcome
        return outcome

    def call(self, function, *args, **kwargs) -> Outcome:
        """Call the engine; on error, prove that nothing it was given changed."""
        given = snapshot(self.state, *self.phase_states())
        try:
            return function(*args, **kwargs)
        finally:
            assert snapshot(self.state, *self.phase_states()) == given

    # -- the API's verbs ---------------------------------------------------------------------------------

    def record(self, step_id: str, status: str = "complete", **kwargs) -> Outcome:
        earlier = self.states.get(step_id)
        if earlier is not None and self.phase_of[step_id] < self.state.current_phase:
            kwargs.setdefault("earlier_step", earlier)
        outcome = self.call(
            engine.record_step,
            self.state,
            self.phase,
            self.phase_states(),
            step_id=step_id,
            status=status,
            load_phase=self.load_phase,
            max_parallel=self.max_parallel,
            **kwargs,
        )
        return self.apply(outcome)

    def gate(self, result: str = "pass", phase_id: int | None = None, notes: str = "") -> Outcome:
        outcome = self.call(
            engine.record_gate,
            self.state,
            self.phase,
            phase_id=self.phase.phase_id if phase_id is None else phase_id,
            result=result,
            notes=notes,
            load_phase=self.load_phase,
            max_parallel=self.max_parallel,
        )
        return self.apply(outcome)

    def resolve(self, option: str, decision_type: str | None = None) -> Outcome:
        request_id = self.open_request
        spec = self.decisions[request_id][0] if request_id else None
        chosen_type = decision_type or (spec.decision_type if spec else "escalation")
        outcome = self.call(
            engine.resolve_decision,
            self.state,
            self.phase,
            self.phase_states(),
            decision_type=chosen_type,
            option=option,
            load_phase=self.load_phase,
            max_parallel=self.max_parallel,
        )
        assert request_id is not None
        self.decisions[request_id] = (self.decisions[request_id][0], "resolved")
        resolved = engine.decision_resolved_event(chosen_type, option, request_id)
        return self.apply(outcome, before=[resolved])

    def next(self) -> Outcome:
        outcome = self.call(
            engine.next_actions,
            self.state,
            self.phase,
            self.phase_states(),
            load_phase=self.load_phase,
            max_parallel=self.max_parallel,
        )
        return self.apply(outcome)

    def cancel(self) -> Outcome:
        return self.apply(self.call(engine.cancel, self.state))

    def complete(self) -> Outcome:
        return self.apply(self.call(engine.complete, self.state))

    # -- reading ------------------------------------------------------------------------------------------

    def topics(self) -> list[str]:
        return [event.topic for event in self.events]

    def status_of(self, step_id: str) -> StepStatus:
        return self.states[step_id].status


def topics(outcome: Outcome) -> list[str]:
    return [event.topic for event in outcome.events]


def kinds(outcome: Outcome) -> list[str]:
    return [str(action.action_type) for action in outcome.actions]


def dispatched(outcome: Outcome) -> list[str | None]:
    return [action.step_id for action in outcome.actions if action.action_type is ActionType.DISPATCH]


# ---------------------------------------------------------------------------------------------------------
# Transition tables: every (status, target) pair, against a table written out independently here
# ---------------------------------------------------------------------------------------------------------

EXPECTED_ALLOWED = {
    "execution": {
        ("running", "gate_pending"),
        ("running", "approval_pending"),
        ("running", "complete"),
        ("running", "failed"),
        ("gate_pending", "running"),
        ("gate_pending", "approval_pending"),
        ("gate_pending", "failed"),
        ("approval_pending", "running"),
        ("approval_pending", "gate_pending"),
        ("approval_pending", "failed"),
    },
    "step": {
        ("pending", "running"),
        ("pending", "complete"),
        ("pending", "failed"),
        ("running", "complete"),
        ("running", "failed"),
        ("failed", "pending"),
        ("failed", "skipped"),
    },
    "phase": {
        ("pending", "running"),
        ("pending", "failed"),
        ("running", "gate_pending"),
        ("running", "complete"),
        ("running", "failed"),
        ("gate_pending", "complete"),
        ("gate_pending", "failed"),
    },
    "decision": {("pending", "resolved"), ("pending", "expired")},
}

EXPECTED_STATUSES = {
    "execution": ["running", "gate_pending", "approval_pending", "complete", "failed"],
    "step": ["pending", "running", "complete", "failed", "skipped"],
    "phase": ["pending", "running", "gate_pending", "complete", "failed"],
    "decision": ["pending", "resolved", "expired"],
}

ALL_PAIRS = [
    (kind, old, new)
    for kind, statuses in EXPECTED_STATUSES.items()
    for old, new in itertools.product(statuses, statuses)
]


@pytest.mark.parametrize(("kind", "old", "new"), ALL_PAIRS)
def test_check_transition_every_pair(kind: str, old: str, new: str) -> None:
    if old == new:
        assert engine.check_transition(kind, old, new) is False
    elif (old, new) in EXPECTED_ALLOWED[kind]:
        assert engine.check_transition(kind, old, new) is True
    else:
        with pytest.raises(InvalidTransition) as excinfo:
            engine.check_transition(kind, old, new)
        assert str(excinfo.value) == f"Invalid {kind} transition: {old} -> {new}"
        assert excinfo.value.http_status == 400


@pytest.mark.parametrize("kind", sorted(EXPECTED_STATUSES))
def test_tables_cover_exactly_the_enum(kind: str) -> None:
    table = engine.ALLOWED_TRANSITIONS[kind]
    assert [str(status) for status in engine.STATUS_ENUMS[kind]] == EXPECTED_STATUSES[kind]
    assert sorted(table) == sorted(EXPECTED_STATUSES[kind])
    pairs = {(str(old), str(new)) for old, targets in table.items() for new in targets}
    assert pairs == EXPECTED_ALLOWED[kind]


@pytest.mark.parametrize(
    ("terminal", "active", "kind"),
    [
        (engine.EXECUTION_TERMINAL, engine.EXECUTION_ACTIVE, "execution"),
        (engine.STEP_TERMINAL, engine.STEP_ACTIVE, "step"),
        (engine.PHASE_TERMINAL, engine.PHASE_ACTIVE, "phase"),
        (engine.DECISION_TERMINAL, engine.DECISION_ACTIVE, "decision"),
    ],
)
def test_terminal_groups_are_the_statuses_without_exits(terminal, active, kind) -> None:
    table = engine.ALLOWED_TRANSITIONS[kind]
    assert terminal == {status for status, targets in table.items() if not targets}
    assert not terminal & active


def test_status_groups_and_values() -> None:
    assert sorted(engine.EXECUTION_ACTIVE) == ["approval_pending", "gate_pending", "running"]
    assert sorted(engine.EXECUTION_WAITING) == ["approval_pending", "gate_pending"]
    assert sorted(engine.STEP_SATISFIED) == ["complete", "skipped"]
    assert sorted(engine.PHASE_ACTIVE) == ["gate_pending", "running"]
    assert sorted(engine.DECISION_ACTIVE) == ["pending"]


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [("execution", "running", "paused"), ("step", "bogus", "running"), ("workflow", "running", "failed")],
)
def test_check_transition_rejects_unknown_values(kind: str, old: str, new: str) -> None:
    with pytest.raises(InvalidTransition):
        engine.check_transition(kind, old, new)


def test_event_topics() -> None:
    assert engine.EVENT_TOPICS == (
        "task.started",
        "task.completed",
        "task.failed",
        "phase.started",
        "phase.completed",
        "step.dispatched",
        "step.completed",
        "step.failed",
        "gate.required",
        "gate.passed",
        "gate.failed",
        "human.decision_needed",
        "human.decision_resolved",
        "approval.required",
        "approval.resolved",
    )
    assert engine.TASK_STARTED == "task.started"
    assert engine.APPROVAL_RESOLVED == "approval.resolved"


def test_decision_options() -> None:
    options = {str(kind): [str(option) for option in opts] for kind, opts in engine.DECISION_OPTIONS.items()}
    assert options == {
        "plan_review": ["approve", "reject"],
        "gate_approval": ["approve", "reject", "retry"],
        "escalation": ["retry", "skip", "abort"],
        "phase_approval": ["approve", "reject"],
    }


def test_error_statuses() -> None:
    assert RuleViolation.http_status == 400
    assert InvalidTransition.http_status == 400
    assert issubclass(InvalidTransition, RuleViolation)
    assert Conflict.http_status == 409
    assert RuleViolation.code == "rule_violation"
    assert Conflict.code == "conflict"


# ---------------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------------


def linear_plan() -> list[PhaseSpec]:
    return [
        make_phase(0, make_step("0.0"), make_step("0.1", "0.0"), gate="test"),
        make_phase(1, make_step("1.0", "0.1", agent="test-engineer"), gate="lint"),
    ]


def test_linear_plan_to_ship() -> None:
    service = FakeService(linear_plan())
    assert topics(service.last) == ["task.started", "phase.started", "step.dispatched"]
    assert dispatched(service.last) == ["0.0"]
    assert engine.group_actions(service.last.actions) == [
        {
            "action_type": "dispatch",
            "message": "Dispatch backend-engineer--python for step 0.0",
            "agent_name": "backend-engineer--python",
            "agent_model": "sonnet",
            "step_id": "0.0",
            "gate_type": None,
            "gate_command": None,
            "phase_id": None,
            "summary": None,
            "parallel_actions": [],
        }
    ]
    assert service.state.status is ExecutionStatus.RUNNING
    assert service.state.phase_status is PhaseStatus.RUNNING
    assert service.last.events[0].payload == {
        "task_summary": "",
        "risk_level": "LOW",
        "total_steps": 3,
        "phase_count": 2,
    }

    outcome = service.record("0.0")
    assert topics(outcome) == ["step.completed", "step.dispatched"]
    assert outcome.events[0].payload["step_id"] == "0.0"
    assert outcome.events[0].payload["agent"] == "backend-engineer--python"
    assert outcome.events[0].payload["status"] == "complete"
    assert dispatched(outcome) == ["0.1"]

    outcome = service.record("0.1")
    assert topics(outcome) == ["step.completed", "gate.required"]
    assert outcome.events[1].payload == {"phase_id": 0, "gate_type": "test", "command": "run test"}
    assert engine.group_actions(outcome.actions) == [
        {
            "action_type": "gate",
            "message": "Run QA gate: test",
            "agent_name": None,
            "agent_model": None,
            "step_id": None,
            "gate_type": "test",
            "gate_command": "run test",
            "phase_id": 0,
            "summary": "test gate",
            "parallel_actions": [],
        }
    ]
    assert service.state.status is ExecutionStatus.GATE_PENDING
    assert service.state.phase_status is PhaseStatus.GATE_PENDING

    outcome = service.gate("pass", notes="47 passed")
    assert topics(outcome) == ["gate.passed", "phase.completed", "phase.started", "step.dispatched"]
    assert outcome.phase_updates == {0: PhaseStatus.COMPLETE, 1: PhaseStatus.RUNNING}
    assert dispatched(outcome) == ["1.0"]
    assert outcome.actions[0].message == "Dispatch test-engineer for step 1.0"
    assert service.state.current_phase == 1
    assert service.loaded == [1]

    service.record("1.0")
    outcome = service.gate("pass")
    assert topics(outcome) == ["gate.passed", "phase.completed"]
    assert kinds(outcome) == ["complete"]
    assert outcome.actions[0].summary == "3 steps completed, 2 gates passed, outcome: SHIP"
    assert engine.all_phases_complete(service.state)
    assert service.state.status is ExecutionStatus.RUNNING

    outcome = service.complete()
    assert outcome.summary == "3 steps completed, 2 gates passed, outcome: SHIP"
    assert topics(outcome) == ["task.completed"]
    assert outcome.events[0].payload == {
        "outcome": "SHIP",
        "summary": "3 steps completed, 2 gates passed, outcome: SHIP",
        "steps_completed": 3,
        "gates_passed": 2,
    }
    assert service.state.status is ExecutionStatus.COMPLETE
    assert service.state.outcome is TaskOutcome.SHIP
    assert service.topics().count("task.completed") == 1
    assert "task.failed" not in service.topics()


def test_parallel_steps_capped_at_max_parallel() -> None:
    steps = [make_step(f"0.{index}") for index in range(5)]
    service = FakeService([make_phase(0, *steps)], max_parallel=2)
    assert dispatched(service.last) == ["0.0", "0.1"]
    grouped = engine.group_actions(service.last.actions)
    assert len(grouped) == 1
    assert grouped[0]["step_id"] == "0.0"
    assert [item["step_id"] for item in grouped[0]["parallel_actions"]] == ["0.1"]
    assert grouped[0]["parallel_actions"][0]["parallel_actions"] == []
    assert service.state.steps_running == 2

    outcome = service.next()
    assert kinds(outcome) == ["wait"]
    assert outcome.actions[0].message == "Waiting for 2 running steps"
    assert outcome.events == []
    assert outcome.steps == []

    assert dispatched(service.record("0.1")) == ["0.2"]
    assert dispatched(service.record("0.0")) == ["0.3"]
    assert dispatched(service.record("0.2")) == ["0.4"]
    outcome = service.record("0.3")
    assert kinds(outcome) == ["wait"]
    assert outcome.actions[0].message == "Waiting for 1 running step"
    outcome = service.record("0.4")
    assert topics(outcome) == ["step.completed", "phase.completed"]
    assert kinds(outcome) == ["complete"]
    assert service.complete().summary == "5 steps completed, 0 gates passed, outcome: SHIP"


def test_raising_max_parallel_lets_next_actions_dispatch_more() -> None:
    service = FakeService([make_phase(0, *(make_step(f"0.{index}") for index in range(4)))], max_parallel=1)
    assert dispatched(service.last) == ["0.0"]
    service.max_parallel = 3
    outcome = service.next()
    assert dispatched(outcome) == ["0.1", "0.2"]
    assert topics(outcome) == ["step.dispatched", "step.dispatched"]


def test_dependencies_are_respected() -> None:
    # a -> (b, c) -> d, plus an independent e.
    phase = make_phase(
        0,
        make_step("a"),
        make_step("b", "a"),
        make_step("c", "a"),
        make_step("d", "b", "c"),
        make_step("e"),
    )
    service = FakeService([phase], max_parallel=4)
    assert dispatched(service.last) == ["a", "e"]
    assert dispatched(service.record("e")) == []
    assert dispatched(service.record("a")) == ["b", "c"]
    assert dispatched(service.record("c")) == []
    assert service.status_of("d") is StepStatus.PENDING
    assert dispatched(service.record("b")) == ["d"]
    assert kinds(service.record("d")) == ["complete"]


def test_recording_a_step_whose_dependencies_are_not_done_is_refused() -> None:
    service = FakeService([make_phase(0, make_step("a"), make_step("b", "a"))])
    for status in ("complete", "failed", "dispatched"):
        with pytest.raises(RuleViolation, match="depends on steps that are not complete: a"):
            service.record("b", status)


def test_record_dispatched_marks_a_step_in_flight() -> None:
    service = FakeService([make_phase(0, *(make_step(f"0.{index}") for index in range(3)))], max_parallel=1)
    assert dispatched(service.last) == ["0.0"]
    # Already dispatched by the engine: recording "dispatched" repeats it.
    outcome = service.record("0.0", "dispatched")
    assert outcome.duplicate
    assert outcome.events == []
    with pytest.raises(RuleViolation, match="already in flight"):
        service.record("0.1", "dispatched")
    service.max_parallel = 2
    outcome = service.record("0.2", "dispatched")
    assert topics(outcome) == ["step.dispatched"]
    assert kinds(outcome) == ["wait"]
    assert service.status_of("0.2") is StepStatus.RUNNING
    assert service.states["0.2"].attempts == 1
    assert service.state.steps_running == 2


def test_result_for_a_step_never_dispatched_is_accepted() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), make_step("0.1"))], max_parallel=1)
    outcome = service.record("0.1", "complete")
    assert topics(outcome) == ["step.completed"]
    assert service.states["0.1"] == StepState("0.1", StepStatus.COMPLETE, attempts=1)
    assert kinds(outcome) == ["wait"]


def test_gate_fail_then_approve_is_revise() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), gate="test")])
    service.record("0.0")
    outcome = service.gate("fail", notes="2 failures")
    assert topics(outcome) == ["gate.failed"]
    assert outcome.events[0].payload == {
        "phase_id": 0,
        "gate_type": "test",
        "result": "fail",
        "output": "2 failures",
    }
    assert outcome.decision is not None
    assert outcome.decision.decision_type is DecisionType.GATE_APPROVAL
    assert outcome.decision.options == ("approve", "reject", "retry")
    assert outcome.decision.context["notes"] == "2 failures"
    assert kinds(outcome) == ["wait"]
    assert outcome.actions[0].phase_id == 0
    assert service.state.status is ExecutionStatus.GATE_PENDING
    assert service.state.gates_failed == 1
    assert service.topics()[-1] == "human.decision_needed"

    # A repeated "fail" is a no-op; a "pass" must wait for the decision.
    assert service.gate("fail").duplicate
    with pytest.raises(RuleViolation, match="awaits a human decision"):
        service.gate("pass")

    outcome = service.resolve("approve")
    assert outcome.resumed
    assert topics(outcome) == ["gate.passed", "phase.completed"]
    assert outcome.events[0].payload["result"] == "approved"
    assert kinds(outcome) == ["complete"]
    assert service.state.gates_passed == 1
    assert service.state.gates_approved == 1
    assert service.topics()[-3] == "human.decision_resolved"
    assert service.complete().summary == "1 step completed, 1 gate passed, outcome: REVISE"


def test_gate_fail_then_retry_asks_for_the_gate_again() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), gate="test")])
    service.record("0.0")
    service.gate("fail")
    outcome = service.resolve("retry")
    assert outcome.resumed
    assert topics(outcome) == ["gate.required"]
    assert kinds(outcome) == ["gate"]
    assert service.state.status is ExecutionStatus.GATE_PENDING
    assert service.state.open_decision is None
    service.gate("pass")
    assert service.complete().summary == "1 step completed, 1 gate passed, outcome: SHIP"
    assert service.state.gates_failed == 1


def test_gate_fail_then_reject_fails_the_execution() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), gate="test")])
    service.record("0.0")
    service.gate("fail")
    outcome = service.resolve("reject")
    assert not outcome.resumed
    assert topics(outcome) == ["task.failed"]
    assert outcome.events[0].payload == {
        "reason": "gate_rejected",
        "failed_step_id": None,
        "outcome": "BLOCK",
        "summary": "1 step completed, 0 gates passed, outcome: BLOCK",
    }
    assert kinds(outcome) == ["failed"]
    assert service.state.status is ExecutionStatus.FAILED
    assert service.state.phase_status is PhaseStatus.FAILED
    assert service.state.outcome is TaskOutcome.BLOCK
    assert engine.summarize(service.state) == "1 step completed, 0 gates passed, outcome: BLOCK"
    with pytest.raises(RuleViolation, match="has failed"):
        service.complete()


def test_pass_with_notes_is_revise() -> None:
    service = FakeService(linear_plan())
    service.record("0.0")
    service.record("0.1")
    service.gate("pass_with_notes", notes="flaky test")
    service.record("1.0")
    service.gate("pass")
    assert service.state.gates_passed_with_notes == 1
    outcome = service.complete()
    assert outcome.summary == "3 steps completed, 2 gates passed, outcome: REVISE"
    assert service.state.outcome is TaskOutcome.REVISE


def test_step_failure_escalation_retry() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), make_step("0.1", "0.0"))])
    outcome = service.record("0.0", "failed", output_summary="boom")
    assert topics(outcome) == ["step.failed"]
    assert outcome.events[0].payload["output_summary"] == "boom"
    assert outcome.decision == engine.DecisionSpec(
        DecisionType.ESCALATION,
        "Step 0.0 (backend-engineer--python) failed. Retry it, skip it or abort the execution?",
        ("retry", "skip", "abort"),
        {"phase_id": 0, "agent_name": "backend-engineer--python"},
    )
    assert service.state.status is ExecutionStatus.APPROVAL_PENDING
    assert service.state.decision_step_id == "0.0"
    assert service.state.steps_failed == 1
    assert kinds(outcome) == ["wait"]
    assert outcome.actions[0].step_id == "0.0"

    assert service.record("0.0", "failed").duplicate
    with pytest.raises(Conflict):
        service.record("0.0", "complete")

    outcome = service.resolve("retry")
    assert outcome.resumed
    assert topics(outcome) == ["step.dispatched"]
    assert dispatched(outcome) == ["0.0"]
    assert service.states["0.0"] == StepState("0.0", StepStatus.RUNNING, attempts=2)
    assert outcome.events[0].payload["attempt"] == 2
    assert service.state.steps_failed == 0
    assert service.state.status is ExecutionStatus.RUNNING
    service.record("0.0")
    service.record("0.1")
    assert service.complete().summary == "2 steps completed, 0 gates passed, outcome: SHIP"


def test_step_failure_escalation_skip() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), make_step("0.1", "0.0"))])
    service.record("0.0", "failed")
    outcome = service.resolve("skip")
    assert outcome.resumed
    assert service.status_of("0.0") is StepStatus.SKIPPED
    # A skipped dependency counts as satisfied.
    assert dispatched(outcome) == ["0.1"]
    assert service.state.steps_skipped == 1
    assert service.state.steps_failed == 0
    # A repeated "failed" for the skipped step is a no-op; "complete" contradicts it.
    assert service.record("0.0", "failed").duplicate
    with pytest.raises(Conflict):
        service.record("0.0", "complete")
    service.record("0.1")
    assert service.complete().summary == "1 step completed, 0 gates passed, outcome: REVISE"


def test_step_failure_escalation_abort() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), make_step("0.1"))])
    service.record("0.0", "failed")
    outcome = service.resolve("abort")
    assert not outcome.resumed
    assert topics(outcome) == ["task.failed"]
    assert outcome.events[0].payload["reason"] == "step_aborted"
    assert outcome.events[0].payload["failed_step_id"] == "0.0"
    assert service.state.status is ExecutionStatus.FAILED
    assert service.state.failure_reason == "step_aborted"
    assert not service.state.cancelled
    # 0.1 was in flight: its result is still recorded, without moving the execution.
    outcome = service.record("0.1")
    assert topics(outcome) == ["step.completed"]
    assert kinds(outcome) == ["failed"]
    assert service.state.steps_completed == 1
    assert service.state.steps_running == 0
    assert service.topics().count("task.failed") == 1


def test_second_failure_while_escalation_open_waits_its_turn() -> None:
    service = FakeService([make_phase(0, make_step("a"), make_step("b"), make_step("c", "a", "b"))])
    service.record("a", "failed")
    outcome = service.record("b", "failed")
    assert topics(outcome) == ["step.failed"]
    assert outcome.decision is None
    assert service.state.decision_step_id == "a"
    outcome = service.resolve("skip")
    # b's escalation opens next; nothing is dispatched meanwhile.
    assert outcome.decision is not None
    assert outcome.decision.decision_type is DecisionType.ESCALATION
    assert service.state.decision_step_id == "b"
    assert dispatched(outcome) == []
    outcome = service.resolve("retry")
    assert dispatched(outcome) == ["b"]
    assert dispatched(service.record("b")) == ["c"]


def test_plan_review_for_high_and_critical_risk() -> None:
    for risk in ("HIGH", "critical"):
        service = FakeService(linear_plan(), risk=risk)
        assert topics(service.last) == ["task.started"]
        assert service.last.decision is not None
        assert service.last.decision.decision_type is DecisionType.PLAN_REVIEW
        assert service.last.decision.options == ("approve", "reject")
        assert service.state.status is ExecutionStatus.APPROVAL_PENDING
        assert service.state.phase_status is PhaseStatus.PENDING
        assert kinds(service.last) == ["wait"]
        assert service.last.actions[0].message == "Waiting for a human decision: plan_review"
        with pytest.raises(RuleViolation, match="awaits review"):
            service.record("0.0")
        outcome = service.resolve("approve")
        assert outcome.resumed
        assert topics(outcome) == ["phase.started", "step.dispatched"]
        assert dispatched(outcome) == ["0.0"]
        assert service.state.status is ExecutionStatus.RUNNING


def test_plan_review_reject_fails() -> None:
    service = FakeService(linear_plan(), risk="HIGH")
    outcome = service.resolve("reject")
    assert topics(outcome) == ["task.failed"]
    assert outcome.events[0].payload["reason"] == "plan_rejected"
    assert service.state.status is ExecutionStatus.FAILED
    assert service.state.phase_status is PhaseStatus.FAILED
    assert outcome.phase_updates == {0: PhaseStatus.FAILED}


@pytest.mark.parametrize("risk", ["LOW", "MEDIUM", "low"])
def test_no_plan_review_below_high(risk: str) -> None:
    service = FakeService(linear_plan(), risk=risk)
    assert service.last.decision is None
    assert dispatched(service.last) == ["0.0"]


def test_phase_approval_before_gate() -> None:
    service = FakeService(
        [make_phase(0, make_step("0.0"), gate="review", approval=True), make_phase(1, make_step("1.0"))]
    )
    outcome = service.record("0.0")
    assert topics(outcome) == ["step.completed", "approval.required"]
    assert outcome.decision is not None
    assert outcome.decision.decision_type is DecisionType.PHASE_APPROVAL
    assert service.state.status is ExecutionStatus.APPROVAL_PENDING
    assert service.state.phase_status is PhaseStatus.GATE_PENDING
    assert engine.group_actions(outcome.actions) == [
        {
            "action_type": "approval",
            "message": "Approval required for phase 0: Phase 0",
            "agent_name": None,
            "agent_model": None,
            "step_id": None,
            "gate_type": None,
            "gate_command": None,
            "phase_id": 0,
            "summary": None,
            "parallel_actions": [],
        }
    ]
    with pytest.raises(RuleViolation, match="No gate is required"):
        service.gate("pass")
    outcome = service.resolve("approve")
    assert topics(outcome) == ["approval.resolved", "gate.required"]
    assert outcome.events[0].payload == {"phase_id": 0, "result": "approve", "feedback": ""}
    assert kinds(outcome) == ["gate"]
    assert service.state.status is ExecutionStatus.GATE_PENDING
    outcome = service.gate("pass")
    assert dispatched(outcome) == ["1.0"]


def test_phase_approval_without_gate_and_reject() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), approval=True), make_phase(1, make_step("1.0"))])
    service.record("0.0")
    outcome = service.resolve("approve")
    assert topics(outcome) == ["approval.resolved", "phase.completed", "phase.started", "step.dispatched"]
    service2 = FakeService([make_phase(0, make_step("0.0"), approval=True)])
    service2.record("0.0")
    outcome = service2.resolve("reject")
    assert topics(outcome) == ["approval.resolved", "task.failed"]
    assert outcome.events[1].payload["reason"] == "phase_rejected"


def test_empty_phases_cascade() -> None:
    service = FakeService(
        [
            make_phase(0),
            make_phase(1),
            make_phase(2, gate="smoke"),
            make_phase(3, make_step("3.0")),
        ]
    )
    assert topics(service.last) == [
        "task.started",
        "phase.started",
        "phase.completed",
        "phase.started",
        "phase.completed",
        "phase.started",
        "gate.required",
    ]
    assert service.loaded == [1, 2]
    outcome = service.gate("pass")
    assert dispatched(outcome) == ["3.0"]
    assert service.loaded == [1, 2, 3]


def test_cancel() -> None:
    service = FakeService(linear_plan())
    outcome = service.cancel()
    assert topics(outcome) == ["task.failed"]
    assert outcome.events[0].payload["reason"] == "cancelled"
    assert kinds(outcome) == ["failed"]
    assert outcome.actions[0].message == "Execution failed: cancelled"
    assert service.state.status is ExecutionStatus.FAILED
    assert service.state.cancelled
    assert service.state.outcome is TaskOutcome.BLOCK
    # Cancellation is best-effort: the dispatched step stays in flight and may still report.
    assert service.status_of("0.0") is StepStatus.RUNNING
    with pytest.raises(RuleViolation, match="already failed"):
        service.cancel()
    with pytest.raises(RuleViolation, match="has failed"):
        service.record("0.1", "dispatched")
    service.record("0.0")
    assert service.topics().count("task.failed") == 1


def test_cancel_with_an_open_decision_closes_it() -> None:
    service = FakeService(linear_plan(), risk="CRITICAL")
    outcome = service.cancel()
    assert outcome.closed_decision is DecisionType.PLAN_REVIEW
    assert service.state.open_decision is None
    assert [status for _, status in service.decisions.values()] == ["expired"]
    with pytest.raises(RuleViolation, match="No plan_review decision is open"):
        service.resolve("approve", decision_type="plan_review")


def test_cancel_a_complete_execution_is_refused() -> None:
    service = FakeService([make_phase(0, make_step("0.0"))])
    service.record("0.0")
    service.complete()
    with pytest.raises(RuleViolation, match="already complete"):
        service.cancel()


def test_complete_too_early_and_twice() -> None:
    service = FakeService(linear_plan())
    with pytest.raises(RuleViolation, match=r"Cannot complete: phase 1 of 2 is running"):
        service.complete()
    service.record("0.0")
    service.record("0.1")
    with pytest.raises(RuleViolation, match=r"phase 1 of 2 is gate_pending"):
        service.complete()
    service.gate("pass")
    service.record("1.0")
    service.gate("pass")
    first = service.complete()
    again = service.complete()
    assert again.duplicate
    assert again.events == []
    assert again.summary == first.summary == "3 steps completed, 2 gates passed, outcome: SHIP"
    assert kinds(service.next()) == ["complete"]
    assert service.topics().count("task.completed") == 1


def test_duplicate_and_conflicting_records() -> None:
    service = FakeService(linear_plan())
    service.record("0.0")
    before = snapshot(service.state)
    outcome = service.record("0.0")
    assert outcome.duplicate
    assert outcome.events == []
    assert outcome.steps == []
    assert kinds(outcome) == ["wait"]
    assert snapshot(service.state) == before
    with pytest.raises(Conflict, match="already complete; cannot record failed"):
        service.record("0.0", "failed")
    with pytest.raises(Conflict):
        service.record("0.0", "dispatched")
    with pytest.raises(RuleViolation, match="not a step of the current phase"):
        service.record("9.9")
    with pytest.raises(RuleViolation, match="not a step of the current phase"):
        service.record("1.0")  # a later phase's step
    with pytest.raises(RuleViolation, match="Unknown step status 'done'"):
        service.record("0.1", "done")


def test_records_for_an_earlier_phase() -> None:
    service = FakeService(linear_plan())
    service.record("0.0")
    service.record("0.1")
    service.gate("pass")
    # With the earlier step's state (the service looks it up by id) a retried record is a no-op...
    assert service.record("0.1").duplicate
    with pytest.raises(Conflict):
        service.record("0.1", "failed")
    # ...without it, a step outside the current phase is simply refused.
    with pytest.raises(RuleViolation, match="not a step of the current phase"):
        engine.record_step(
            service.state, service.phase, service.phase_states(), step_id="0.1", status="complete"
        )


def test_gate_records_that_are_not_expected() -> None:
    service = FakeService(linear_plan())
    with pytest.raises(RuleViolation, match="No gate is required for phase 0"):
        service.gate("pass")
    service.record("0.0")
    service.record("0.1")
    with pytest.raises(RuleViolation, match="No gate is required for phase 1"):
        service.gate("pass", phase_id=1)
    with pytest.raises(RuleViolation, match="Unknown gate result 'ok'"):
        service.gate("ok")
    service.gate("pass")
    with pytest.raises(RuleViolation, match="No gate is required for phase 0"):
        service.gate("pass", phase_id=0)


def test_phase_without_gate_advances_at_once() -> None:
    service = FakeService([make_phase(0, make_step("0.0")), make_phase(1, make_step("1.0"))])
    outcome = service.record("0.0")
    assert topics(outcome) == ["step.completed", "phase.completed", "phase.started", "step.dispatched"]
    with pytest.raises(RuleViolation):
        service.gate("pass", phase_id=0)


def test_resolve_errors() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), gate="test")])
    with pytest.raises(RuleViolation, match="No escalation decision is open"):
        service.resolve("retry", decision_type="escalation")
    service.record("0.0", "failed")
    with pytest.raises(RuleViolation, match="Option 'approve' is not one of the escalation options"):
        service.resolve("approve")
    with pytest.raises(RuleViolation, match="Unknown decision option 'maybe'"):
        service.resolve("maybe")
    with pytest.raises(RuleViolation, match="Unknown decision type 'vote'"):
        service.resolve("retry", decision_type="vote")
    with pytest.raises(RuleViolation, match="No gate_approval decision is open"):
        service.resolve("approve", decision_type="gate_approval")


def test_summary_strings() -> None:
    state = ExecutionState(phase_count=1)
    assert engine.summarize(state) == "0 steps completed, 0 gates passed, outcome: SHIP"
    state.steps_completed, state.gates_passed = 1, 1
    assert engine.summarize(state) == "1 step completed, 1 gate passed, outcome: SHIP"
    state.steps_completed, state.gates_passed, state.steps_skipped = 3, 2, 1
    assert engine.summarize(state) == "3 steps completed, 2 gates passed, outcome: REVISE"
    state.status = ExecutionStatus.FAILED
    assert engine.summarize(state) == "3 steps completed, 2 gates passed, outcome: BLOCK"
    assert engine.steps_remaining(state, 10) == 6


def test_start_requires_phases_and_a_sane_cap() -> None:
    with pytest.raises(RuleViolation, match="no phases"):
        engine.start(first_phase=make_phase(0), phase_count=0)
    with pytest.raises(ValueError, match="max_parallel"):
        engine.start(first_phase=make_phase(0, make_step("0.0")), phase_count=1, max_parallel=0)


def test_entering_a_phase_without_a_loader_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no load_phase"):
        engine.start(first_phase=make_phase(0), phase_count=2)


def test_engine_never_mutates_its_inputs() -> None:
    service = FakeService(linear_plan())
    state_before = snapshot(service.state)
    step_before = snapshot(*service.phase_states())
    outcome = engine.record_step(
        service.state, service.phase, service.phase_states(), step_id="0.0", status="complete"
    )
    assert snapshot(service.state) == state_before
    assert snapshot(*service.phase_states()) == step_before
    assert outcome.execution is not service.state
    assert outcome.execution.steps_completed == 1


def test_step_states_must_belong_to_the_phase() -> None:
    service = FakeService(linear_plan())
    with pytest.raises(ValueError, match="not a step of phase 0"):
        engine.next_actions(service.state, service.phase, [StepState("1.0")])


def test_transitions_are_logged_with_reasons() -> None:
    service = FakeService([make_phase(0, make_step("0.0"), gate="test")])
    outcome = service.record("0.0")
    assert [(t.kind, t.subject, t.old, t.new, t.reason) for t in outcome.transitions] == [
        ("step", "0.0", "running", "complete", "recorded complete"),
        ("phase", "0", "running", "gate_pending", "steps done, gate required"),
        ("execution", "execution", "running", "gate_pending", "steps done, gate required"),
    ]


def test_large_plan_touches_one_phase_at_a_time() -> None:
    phases = [
        make_phase(
            index,
            *(
                make_step(f"{index}.{number}", *((f"{index}.{number - 1}",) if number % 10 else ()))
                for number in range(100)
            ),
            gate="test",
        )
        for index in range(10)
    ]
    service = FakeService(phases, max_parallel=3)
    while not engine.all_phases_complete(service.state):
        if service.state.status is ExecutionStatus.GATE_PENDING:
            service.gate("pass")
            continue
        running = [state.step_id for state in service.phase_states() if state.status is StepStatus.RUNNING]
        service.record(running[0])
    assert service.loaded == list(range(1, 10))
    assert service.complete().summary == "1000 steps completed, 10 gates passed, outcome: SHIP"


# ---------------------------------------------------------------------------------------------------------
# Plan validation and plan dicts
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([], "no phases"),
        ([make_phase(0), make_phase(0)], "Duplicate phase_id 0"),
        ([make_phase(0, make_step("a"), make_step("a"))], "Duplicate step_id"),
        ([make_phase(0, make_step("a")), make_phase(1, make_step("a"))], "Duplicate step_id"),
        ([make_phase(0, make_step("a", "b")), make_phase(1, make_step("b"))], "neither in its phase"),
        ([make_phase(0, make_step("a", "a"))], "Dependency cycle in phase 0: a"),
        ([make_phase(0, make_step("a", "b"), make_step("b", "a"), make_step("c"))], "cycle in phase 0: a, b"),
    ],
)
def test_validate_plan_rejects(phases: list[PhaseSpec], message: str) -> None:
    with pytest.raises(RuleViolation, match=message):
        engine.validate_plan(phases)


def test_validate_plan_accepts_cross_phase_dependencies() -> None:
    engine.validate_plan(
        [make_phase(0, make_step("a")), make_phase(1, make_step("b", "a"), make_step("c", "b"))]
    )


def test_phase_spec_from_dict() -> None:
    data = {
        "phase_id": 0,
        "name": "Implementation",
        "steps": [
            {
                "step_id": "0.0",
                "agent_name": "backend-engineer--python",
                "task_description": "Implement JWT authentication middleware",
                "model": "sonnet",
                "depends_on": [],
            },
            {"step_id": "0.1", "agent_name": "test-engineer", "model": "haiku", "depends_on": ["0.0"]},
        ],
        "gate": {"gate_type": "test", "command": "pytest tests/", "description": "Run test suite"},
        "approval_required": True,
    }
    assert engine.phase_spec_from_dict(data) == PhaseSpec(
        phase_id=0,
        name="Implementation",
        steps=(
            StepSpec("0.0", "backend-engineer--python", "sonnet", ()),
            StepSpec("0.1", "test-engineer", "haiku", ("0.0",)),
        ),
        gate=GateSpec("test", "pytest tests/", "Run test suite"),
        requires_approval=True,
    )
    assert engine.phase_spec_from_dict({"phase_id": 1, "gate": None}).gate is None


def test_decision_event_helpers() -> None:
    spec = engine.DecisionSpec(
        DecisionType.GATE_APPROVAL, "Gate failed", engine.DECISION_OPTIONS["gate_approval"]
    )
    assert engine.decision_needed_event(spec, "dec-001", ["out.txt"]) == engine.EventSpec(
        "human.decision_needed",
        {
            "request_id": "dec-001",
            "decision_type": "gate_approval",
            "summary": "Gate failed",
            "options": ["approve", "reject", "retry"],
            "context_files": ["out.txt"],
        },
    )
    assert engine.decision_resolved_event("gate_approval", "approve", "dec-001", "ok", "dave").payload == {
        "request_id": "dec-001",
        "decision_type": "gate_approval",
        "chosen_option": "approve",
        "rationale": "ok",
        "resolved_by": "dave",
    }


# ---------------------------------------------------------------------------------------------------------
# The pure-core boundary
# ---------------------------------------------------------------------------------------------------------

BANNED_ROOTS = {"django", "rest_framework", "channels", "celery", "requests", "redis", "kombu", "daphne"}
PROJECT_APPS = {"agents", "plans", "executions", "decisions", "pmo", "webhooks", "baton_site"}


def test_engine_imports_only_the_standard_library() -> None:
    source = Path(engine.__file__).read_text(encoding="utf-8")
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports in the engine"
            roots.add((node.module or "").split(".")[0])
    assert roots, "expected some imports"
    assert not roots & BANNED_ROOTS
    assert not roots & PROJECT_APPS
    assert roots <= {"__future__", "collections", "dataclasses", "enum", "typing"}


def test_states_built_from_plain_strings_are_coerced() -> None:
    # Rows hold plain strings (TextChoices values); the engine must treat them as the enum members.
    phase = make_phase(0, make_step("0.0"), make_step("0.1", "0.0"), gate="test")
    state = ExecutionState(
        phase_count=1,
        status="running",
        phase_status="running",
        steps_running=1,
        open_decision="",
        outcome="",
    )
    assert state.status is ExecutionStatus.RUNNING
    assert state.open_decision is None
    steps = [StepState("0.0", "running", 1), StepState("0.1", "pending")]
    outcome = engine.record_step(state, phase, steps, step_id="0.0", status="complete")
    assert dispatched(outcome) == ["0.1"]
    late = StepState("0.1")
    late.status = "running"  # assigned after construction, as an ORM-to-dataclass copy might
    outcome = engine.record_step(
        outcome.execution, phase, [outcome.steps[0], late], step_id="0.1", status="complete"
    )
    assert topics(outcome) == ["step.completed", "gate.required"]
    assert engine.all_phases_complete(ExecutionState(phase_count=1, phase_status="complete"))
