"""Randomized property test of the engine: hundreds of random plans driven with random outcomes.

The driver (`FakeService`) holds the whole plan and every state and passes the engine only the current
phase, as a service does. After every call it checks the invariants below.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from executions import engine
from executions.engine import (
    DECISION_OPTIONS,
    STEP_SATISFIED,
    Conflict,
    DecisionType,
    ExecutionStatus,
    GateSpec,
    Outcome,
    PhaseSpec,
    PhaseStatus,
    RuleViolation,
    StepSpec,
    StepStatus,
    TaskOutcome,
)

from .test_engine import FakeService

RUNS = 500
MAX_OPERATIONS = 5_000
AGENTS = ("backend-engineer--python", "frontend-engineer--react", "test-engineer", "architect")
OPTION_WEIGHTS = {"approve": 6, "retry": 4, "skip": 3, "reject": 1, "abort": 1}
GATE_RESULTS = (("pass", 6), ("pass_with_notes", 2), ("fail", 3))


def random_plan(rng: random.Random) -> list[PhaseSpec]:
    phases: list[PhaseSpec] = []
    earlier_ids: list[str] = []
    for phase_index in range(rng.randint(1, 5)):
        step_count = rng.choice((0, 1, 1, 2, 3, 4, 5, 6, 8))
        steps: list[StepSpec] = []
        for number in range(step_count):
            candidates = [step.step_id for step in steps]
            depends_on = rng.sample(candidates, k=rng.randint(0, min(3, len(candidates))))
            if earlier_ids and rng.random() < 0.1:
                depends_on.append(rng.choice(earlier_ids))
            steps.append(
                StepSpec(
                    step_id=f"{phase_index}.{number}",
                    agent_name=rng.choice(AGENTS),
                    model=rng.choice(("sonnet", "opus", "haiku")),
                    depends_on=tuple(depends_on),
                )
            )
        # The plan order need not be a topological order: the engine must follow depends_on, not position.
        rng.shuffle(steps)
        phases.append(
            PhaseSpec(
                phase_id=phase_index,
                name=f"Phase {phase_index}",
                steps=tuple(steps),
                gate=GateSpec("test", "pytest") if rng.random() < 0.6 else None,
                requires_approval=rng.random() < 0.2,
            )
        )
        earlier_ids.extend(step.step_id for step in steps)
    return phases


class Tracker:
    """What the driver asked for, to compare with the engine's counters."""

    def __init__(self) -> None:
        self.gate_passes = 0
        self.gate_notes = 0
        self.gate_approvals = 0
        self.gate_failures = 0
        self.skips = 0


def check_invariants(service: FakeService, tracker: Tracker, outcome: Outcome) -> None:
    state = service.state
    statuses = Counter(step.status for step in service.states.values())

    # Counters equal what the states say.
    assert state.steps_running == statuses[StepStatus.RUNNING]
    assert state.steps_completed == statuses[StepStatus.COMPLETE]
    assert state.steps_failed == statuses[StepStatus.FAILED]
    assert state.steps_skipped == statuses[StepStatus.SKIPPED] == tracker.skips
    assert state.gates_passed == tracker.gate_passes
    assert state.gates_passed_with_notes == tracker.gate_notes
    assert state.gates_approved == tracker.gate_approvals
    assert state.gates_failed == tracker.gate_failures
    topics = service.topics()
    assert state.gates_passed == topics.count("gate.passed")
    assert state.gates_failed == topics.count("gate.failed")

    # Never more than max_parallel in flight.
    assert statuses[StepStatus.RUNNING] <= service.max_parallel

    # Phases strictly in order: earlier phases done, later phases untouched.
    current = state.current_phase
    for step_id, step in service.states.items():
        index = service.phase_of[step_id]
        if index < current:
            assert step.status in STEP_SATISFIED
        elif index > current:
            assert step.status is StepStatus.PENDING
            assert step.attempts == 0
    current_statuses = {step.status for step in service.phase_states()}
    if state.phase_status is PhaseStatus.PENDING:
        assert current_statuses <= {StepStatus.PENDING}
    if state.phase_status in (PhaseStatus.GATE_PENDING, PhaseStatus.COMPLETE):
        assert current_statuses <= STEP_SATISFIED
    gated_done = sum(
        1
        for index, phase in enumerate(service.phases)
        if phase.gate is not None
        and (index < current or (index == current and state.phase_status is PhaseStatus.COMPLETE))
    )
    assert state.gates_passed == gated_done
    started = [event.payload["phase_id"] for event in service.events if event.topic == "phase.started"]
    assert started == [phase.phase_id for phase in service.phases[: len(started)]]
    completed = [event.payload["phase_id"] for event in service.events if event.topic == "phase.completed"]
    assert completed == started[: len(completed)]

    # No step ran before its dependencies were complete or skipped.
    for step in outcome.steps:
        spec = service.specs[step.step_id]
        # Only steps of the phase the call began in, or of phases it entered, ever change.
        assert service.phase_before <= service.phase_of[step.step_id] <= current
        if step.status in (StepStatus.RUNNING, StepStatus.COMPLETE, StepStatus.FAILED):
            for dependency in spec.depends_on:
                assert service.states[dependency].status in STEP_SATISFIED, (step.step_id, dependency)
    dispatch_actions = [action.step_id for action in outcome.actions if action.action_type == "dispatch"]
    for step_id in dispatch_actions:
        assert service.states[step_id].status is StepStatus.RUNNING
    assert len(set(dispatch_actions)) == len(dispatch_actions)

    # Status and the open decision agree, and the service holds exactly that one pending decision.
    open_request = service.open_request
    if state.open_decision is None:
        assert open_request is None
    else:
        assert open_request is not None
        assert service.decisions[open_request][0].decision_type == state.open_decision
    if state.status is ExecutionStatus.APPROVAL_PENDING:
        assert state.open_decision in {
            DecisionType.PLAN_REVIEW,
            DecisionType.ESCALATION,
            DecisionType.PHASE_APPROVAL,
        }
    elif state.status is ExecutionStatus.GATE_PENDING:
        assert state.phase_status is PhaseStatus.GATE_PENDING
        assert state.open_decision in {None, DecisionType.GATE_APPROVAL}
    else:
        assert state.open_decision is None
    if state.open_decision is DecisionType.ESCALATION:
        assert state.decision_step_id is not None
        assert service.states[state.decision_step_id].status is StepStatus.FAILED

    # Exactly one task.completed / task.failed, and only once terminal.
    terminal_topics = [topic for topic in topics if topic in ("task.completed", "task.failed")]
    if state.status is ExecutionStatus.COMPLETE:
        assert terminal_topics == ["task.completed"]
    elif state.status is ExecutionStatus.FAILED:
        assert terminal_topics == ["task.failed"]
        assert state.outcome is TaskOutcome.BLOCK
    else:
        assert terminal_topics == []
    assert topics[0] == "task.started"
    assert topics.count("task.started") == 1


def assert_settled(service: FakeService) -> None:
    """A state saved after any engine call is settled: asking again changes nothing."""
    outcome = engine.next_actions(
        service.state,
        service.phase,
        service.phase_states(),
        load_phase=service.load_phase,
        max_parallel=service.max_parallel,
    )
    assert outcome.events == []
    assert outcome.steps == []
    assert outcome.transitions == []
    assert outcome.execution == service.state
    assert outcome.actions


def misbehave(rng: random.Random, service: FakeService) -> None:
    """Send a request the engine must refuse, or a repeat it must ignore; the state must not change."""
    state = service.state
    before = dataclasses.replace(state)
    before_events = len(service.events)
    current_ids = [spec.step_id for spec in service.phase.steps]
    later_ids = [step_id for step_id, index in service.phase_of.items() if index > state.current_phase]
    done = [step.step_id for step in service.phase_states() if step.status is StepStatus.COMPLETE]
    blocked = [
        spec.step_id
        for spec in service.phase.steps
        if service.states[spec.step_id].status is StepStatus.PENDING
        and any(
            dep in current_ids and service.states[dep].status not in STEP_SATISFIED for dep in spec.depends_on
        )
    ]
    choice = rng.randrange(8)
    if choice == 0:
        with pytest.raises(RuleViolation):
            service.record("no-such-step")
    elif choice == 1 and later_ids:
        with pytest.raises(RuleViolation):
            service.record(rng.choice(later_ids))
    elif choice == 2 and done:
        outcome = service.record(rng.choice(done))
        assert outcome.duplicate
        assert outcome.events == []
        assert outcome.steps == []
    elif choice == 3 and done:
        with pytest.raises(Conflict):
            service.record(rng.choice(done), rng.choice(("failed", "dispatched")))
    elif choice == 4 and not (state.status is ExecutionStatus.GATE_PENDING and state.open_decision is None):
        with pytest.raises(RuleViolation):
            service.gate(rng.choice(("pass", "pass_with_notes")))
    elif choice == 5:
        wrong = [kind for kind in DecisionType if kind != state.open_decision]
        with pytest.raises(RuleViolation):
            service.resolve(str(DECISION_OPTIONS[rng.choice(wrong)][0]), decision_type=rng.choice(wrong))
    elif choice == 6 and not engine.all_phases_complete(state):
        with pytest.raises(RuleViolation):
            service.complete()
    elif choice == 7 and blocked:
        with pytest.raises(RuleViolation):
            service.record(rng.choice(blocked), rng.choice(("dispatched", "complete")))
    assert service.state == before
    assert len(service.events) == before_events


def weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def drive(seed: int, stats: Counter[str]) -> None:
    rng = random.Random(seed)
    phases = random_plan(rng)
    service = FakeService(
        phases,
        risk=rng.choice(("LOW", "MEDIUM", "HIGH", "CRITICAL")),
        max_parallel=rng.randint(1, 4),
    )
    tracker = Tracker()
    check_invariants(service, tracker, service.last)
    for _ in range(MAX_OPERATIONS):
        state = service.state
        if state.status in engine.EXECUTION_TERMINAL:
            break
        roll = rng.random()
        if roll < 0.004:
            outcome = service.cancel()
            stats["cancel"] += 1
        elif roll < 0.06:
            misbehave(rng, service)
            outcome = service.last
        elif roll < 0.1:
            assert_settled(service)
            outcome = service.last
        elif state.open_decision is not None:
            options = [str(option) for option in DECISION_OPTIONS[state.open_decision]]
            option = rng.choices(options, weights=[OPTION_WEIGHTS[option] for option in options])[0]
            stats[f"{state.open_decision}:{option}"] += 1
            if state.open_decision is DecisionType.GATE_APPROVAL and option == "approve":
                tracker.gate_passes += 1
                tracker.gate_approvals += 1
            if state.open_decision is DecisionType.ESCALATION and option == "skip":
                tracker.skips += 1
            outcome = service.resolve(option)
            assert outcome.resumed is (option not in ("reject", "abort"))
        elif engine.all_phases_complete(state):
            outcome = service.complete()
            assert outcome.summary == engine.summarize(service.state)
        elif state.status is ExecutionStatus.GATE_PENDING:
            result = weighted(rng, GATE_RESULTS)
            stats[f"gate:{result}"] += 1
            if result == "fail":
                tracker.gate_failures += 1
            else:
                tracker.gate_passes += 1
                tracker.gate_notes += result == "pass_with_notes"
            outcome = service.gate(result)
        else:
            running = [step.step_id for step in service.phase_states() if step.status is StepStatus.RUNNING]
            assert running, f"seed {seed}: nothing in flight and nothing awaited"
            step_id = rng.choice(running)
            if rng.random() < 0.1:
                assert service.record(step_id, "dispatched").duplicate
            result = "failed" if rng.random() < 0.15 else "complete"
            stats[f"step:{result}"] += 1
            outcome = service.record(step_id, result)
        check_invariants(service, tracker, outcome)
    else:
        pytest.fail(f"seed {seed}: the run did not terminate within {MAX_OPERATIONS} operations")

    state = service.state
    # Results of steps still in flight after a failure are recorded without touching the execution.
    for step in list(service.phase_states()):
        if step.status is StepStatus.RUNNING:
            outcome = service.record(step.step_id, rng.choice(("complete", "failed")))
            assert outcome.execution.status is ExecutionStatus.FAILED
            check_invariants(service, tracker, outcome)
    assert_settled(service)

    state = service.state
    if state.status is ExecutionStatus.COMPLETE:
        expected = (
            TaskOutcome.REVISE
            if tracker.gate_notes or tracker.gate_approvals or tracker.skips
            else TaskOutcome.SHIP
        )
        assert state.outcome is expected
    stats[f"outcome:{state.outcome}"] += 1
    stats["cancelled"] += state.cancelled


def test_random_runs_keep_every_invariant() -> None:
    stats: Counter[str] = Counter()
    for seed in range(RUNS):
        drive(seed, stats)
    # The runs must have gone through every path, or the test proves little.
    for key in (
        "outcome:SHIP",
        "outcome:REVISE",
        "outcome:BLOCK",
        "cancelled",
        "plan_review:approve",
        "plan_review:reject",
        "gate_approval:approve",
        "gate_approval:retry",
        "gate_approval:reject",
        "escalation:retry",
        "escalation:skip",
        "escalation:abort",
        "phase_approval:approve",
        "phase_approval:reject",
        "gate:pass_with_notes",
    ):
        assert stats[key] > 0, key
