"""Baton's execution engine: the transition rules as pure Python.

The engine takes plain data (dataclasses) and returns plain data (an `Outcome`). It imports only the
standard library, never touches the ORM and never reads a clock: services load rows into the dataclasses
below, call one engine function inside their transaction, save what the `Outcome` says changed, and
publish the events it lists.

Constant cost per call
    Every function needs only the *current* phase: its `PhaseSpec`, the `StepState`s of that phase and the
    `ExecutionState` (counters, current phase index and status, total phase count). When a call completes a
    phase, the engine asks `load_phase(index)` for the next phase's spec; a phase is entered with all its
    steps pending (phases run strictly in order), so no step rows of other phases are ever needed.

What a service does with an `Outcome`
    1. Save `outcome.execution` (every field may change) and upsert every `StepState` in `outcome.steps`
       (only created or changed steps are listed; a step not listed keeps its stored state, and steps of a
       phase not yet entered are pending). `outcome.phase_updates` maps phase index to its new status for
       services that keep one row per phase; `outcome.transitions` lists every status hop with its reason.
    2. Publish `outcome.events` in order.
    3. Decisions: the engine never emits `human.decision_needed` / `human.decision_resolved` itself, because
       only the service knows the decision's `request_id`. When `outcome.decision` is set the service creates
       the decision row and then publishes `decision_needed_event(spec, request_id)` *after* the outcome's
       events. When resolving, it publishes `decision_resolved_event(...)` *before* the outcome's events.
       When `outcome.closed_decision` is set (a cancel while a decision was open) it marks that open
       decision `expired`.
    4. Answer with `group_actions(outcome.actions)` as the contract's `next_actions`.

Actions
    `Outcome.actions` is a flat list. Dispatch actions returned by any function have already marked their
    steps `running` (and emitted `step.dispatched`), so a step is never dispatched twice; recording
    `status="dispatched"` afterwards is an idempotent no-op. `group_actions` builds the contract's shape:
    the first dispatch is the top-level action and the other dispatches go in its `parallel_actions`.

Loading rows
    `StepState` and `ExecutionState` accept the plain strings a row holds and coerce them to the enums.
    Run `validate_plan` once on the whole plan when it is stored (start time); the per-call functions rely
    on it (unique ids, dependencies only backwards, no cycles).

Phase identifiers
    `ExecutionState.current_phase` is the phase *index* (0-based position in the plan) and `load_phase`
    takes an index; `PhaseSpec.phase_id` is the plan's label, used in events, actions and gate records.
    Baton's planner numbers phases 0..n-1, so the two coincide there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeVar

DEFAULT_MAX_PARALLEL: Final = 3


# ---------------------------------------------------------------------------------------------------------
# Statuses and their tables
# ---------------------------------------------------------------------------------------------------------


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    GATE_PENDING = "gate_pending"
    APPROVAL_PENDING = "approval_pending"
    COMPLETE = "complete"
    FAILED = "failed"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    SKIPPED = "skipped"


class PhaseStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    # The phase's steps are all done and it waits on its approval and/or its gate.
    GATE_PENDING = "gate_pending"
    COMPLETE = "complete"
    FAILED = "failed"


class DecisionStatus(StrEnum):
    PENDING = "pending"
    RESOLVED = "resolved"
    EXPIRED = "expired"


class TransitionKind(StrEnum):
    EXECUTION = "execution"
    STEP = "step"
    PHASE = "phase"
    DECISION = "decision"


# Re-applying a status a subject already has is a no-op and is not listed here (see `check_transition`).
EXECUTION_TRANSITIONS: Final[Mapping[ExecutionStatus, frozenset[ExecutionStatus]]] = {
    ExecutionStatus.RUNNING: frozenset(
        {
            ExecutionStatus.GATE_PENDING,
            ExecutionStatus.APPROVAL_PENDING,
            ExecutionStatus.COMPLETE,
            ExecutionStatus.FAILED,
        }
    ),
    ExecutionStatus.GATE_PENDING: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.APPROVAL_PENDING, ExecutionStatus.FAILED}
    ),
    ExecutionStatus.APPROVAL_PENDING: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.GATE_PENDING, ExecutionStatus.FAILED}
    ),
    ExecutionStatus.COMPLETE: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
}

STEP_TRANSITIONS: Final[Mapping[StepStatus, frozenset[StepStatus]]] = {
    # pending -> complete/failed: a result recorded for a step the client ran without a dispatch record.
    StepStatus.PENDING: frozenset({StepStatus.RUNNING, StepStatus.COMPLETE, StepStatus.FAILED}),
    StepStatus.RUNNING: frozenset({StepStatus.COMPLETE, StepStatus.FAILED}),
    # failed -> pending is an escalation's "retry", failed -> skipped its "skip".
    StepStatus.FAILED: frozenset({StepStatus.PENDING, StepStatus.SKIPPED}),
    StepStatus.COMPLETE: frozenset(),
    StepStatus.SKIPPED: frozenset(),
}

PHASE_TRANSITIONS: Final[Mapping[PhaseStatus, frozenset[PhaseStatus]]] = {
    # pending -> failed: the plan review was rejected (or the execution cancelled) before phase 0 started.
    PhaseStatus.PENDING: frozenset({PhaseStatus.RUNNING, PhaseStatus.FAILED}),
    PhaseStatus.RUNNING: frozenset({PhaseStatus.GATE_PENDING, PhaseStatus.COMPLETE, PhaseStatus.FAILED}),
    PhaseStatus.GATE_PENDING: frozenset({PhaseStatus.COMPLETE, PhaseStatus.FAILED}),
    PhaseStatus.COMPLETE: frozenset(),
    PhaseStatus.FAILED: frozenset(),
}

DECISION_TRANSITIONS: Final[Mapping[DecisionStatus, frozenset[DecisionStatus]]] = {
    DecisionStatus.PENDING: frozenset({DecisionStatus.RESOLVED, DecisionStatus.EXPIRED}),
    DecisionStatus.RESOLVED: frozenset(),
    DecisionStatus.EXPIRED: frozenset(),
}

# Keyed by kind first: StrEnum members of different enums with the same value ("running") are equal.
ALLOWED_TRANSITIONS: Final[Mapping[TransitionKind, Mapping[Any, frozenset[Any]]]] = {
    TransitionKind.EXECUTION: EXECUTION_TRANSITIONS,
    TransitionKind.STEP: STEP_TRANSITIONS,
    TransitionKind.PHASE: PHASE_TRANSITIONS,
    TransitionKind.DECISION: DECISION_TRANSITIONS,
}

STATUS_ENUMS: Final[Mapping[TransitionKind, type[StrEnum]]] = {
    TransitionKind.EXECUTION: ExecutionStatus,
    TransitionKind.STEP: StepStatus,
    TransitionKind.PHASE: PhaseStatus,
    TransitionKind.DECISION: DecisionStatus,
}

EXECUTION_TERMINAL: Final = frozenset({ExecutionStatus.COMPLETE, ExecutionStatus.FAILED})
EXECUTION_ACTIVE: Final = frozenset(
    {ExecutionStatus.RUNNING, ExecutionStatus.GATE_PENDING, ExecutionStatus.APPROVAL_PENDING}
)
# Statuses in which the execution waits on something other than its agents.
EXECUTION_WAITING: Final = frozenset({ExecutionStatus.GATE_PENDING, ExecutionStatus.APPROVAL_PENDING})

STEP_TERMINAL: Final = frozenset({StepStatus.COMPLETE, StepStatus.SKIPPED})
STEP_ACTIVE: Final = frozenset({StepStatus.RUNNING})
# A dependency is satisfied once it is complete or was skipped by a human.
STEP_SATISFIED: Final = frozenset({StepStatus.COMPLETE, StepStatus.SKIPPED})

PHASE_TERMINAL: Final = frozenset({PhaseStatus.COMPLETE, PhaseStatus.FAILED})
PHASE_ACTIVE: Final = frozenset({PhaseStatus.RUNNING, PhaseStatus.GATE_PENDING})

DECISION_TERMINAL: Final = frozenset({DecisionStatus.RESOLVED, DecisionStatus.EXPIRED})
DECISION_ACTIVE: Final = frozenset({DecisionStatus.PENDING})


# ---------------------------------------------------------------------------------------------------------
# Other vocabularies
# ---------------------------------------------------------------------------------------------------------


class ActionType(StrEnum):
    DISPATCH = "dispatch"
    GATE = "gate"
    APPROVAL = "approval"
    WAIT = "wait"
    COMPLETE = "complete"
    FAILED = "failed"


class RecordStatus(StrEnum):
    """The `status` values `POST /executions/{id}/record` accepts."""

    COMPLETE = "complete"
    FAILED = "failed"
    DISPATCHED = "dispatched"


class GateResult(StrEnum):
    PASS = "pass"  # noqa: S105 - a gate result, not a password
    FAIL = "fail"
    PASS_WITH_NOTES = "pass_with_notes"  # noqa: S105 - a gate result, not a password


class DecisionType(StrEnum):
    PLAN_REVIEW = "plan_review"
    GATE_APPROVAL = "gate_approval"
    ESCALATION = "escalation"
    # Baton's addition: a phase with `requires_approval` asks a human after its steps, before its gate.
    PHASE_APPROVAL = "phase_approval"


class DecisionOption(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETRY = "retry"
    SKIP = "skip"
    ABORT = "abort"


DECISION_OPTIONS: Final[Mapping[DecisionType, tuple[DecisionOption, ...]]] = {
    DecisionType.PLAN_REVIEW: (DecisionOption.APPROVE, DecisionOption.REJECT),
    DecisionType.GATE_APPROVAL: (DecisionOption.APPROVE, DecisionOption.REJECT, DecisionOption.RETRY),
    DecisionType.ESCALATION: (DecisionOption.RETRY, DecisionOption.SKIP, DecisionOption.ABORT),
    DecisionType.PHASE_APPROVAL: (DecisionOption.APPROVE, DecisionOption.REJECT),
}


class TaskOutcome(StrEnum):
    SHIP = "SHIP"
    REVISE = "REVISE"
    BLOCK = "BLOCK"


REVIEWED_RISK_LEVELS: Final = frozenset({"HIGH", "CRITICAL"})


class FailureReason(StrEnum):
    """The `reason` of a `task.failed` event and of `ExecutionState.failure_reason`."""

    CANCELLED = "cancelled"
    PLAN_REJECTED = "plan_rejected"
    GATE_REJECTED = "gate_rejected"
    PHASE_REJECTED = "phase_rejected"
    STEP_ABORTED = "step_aborted"


# Event topics (the contract's list; plan.amended and team.member_completed are not engine events).
TASK_STARTED: Final = "task.started"
TASK_COMPLETED: Final = "task.completed"
TASK_FAILED: Final = "task.failed"
PHASE_STARTED: Final = "phase.started"
PHASE_COMPLETED: Final = "phase.completed"
STEP_DISPATCHED: Final = "step.dispatched"
STEP_COMPLETED: Final = "step.completed"
STEP_FAILED: Final = "step.failed"
GATE_REQUIRED: Final = "gate.required"
GATE_PASSED: Final = "gate.passed"
GATE_FAILED: Final = "gate.failed"
HUMAN_DECISION_NEEDED: Final = "human.decision_needed"
HUMAN_DECISION_RESOLVED: Final = "human.decision_resolved"
APPROVAL_REQUIRED: Final = "approval.required"
APPROVAL_RESOLVED: Final = "approval.resolved"

EVENT_TOPICS: Final = (
    TASK_STARTED,
    TASK_COMPLETED,
    TASK_FAILED,
    PHASE_STARTED,
    PHASE_COMPLETED,
    STEP_DISPATCHED,
    STEP_COMPLETED,
    STEP_FAILED,
    GATE_REQUIRED,
    GATE_PASSED,
    GATE_FAILED,
    HUMAN_DECISION_NEEDED,
    HUMAN_DECISION_RESOLVED,
    APPROVAL_REQUIRED,
    APPROVAL_RESOLVED,
)


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


class EngineError(Exception):
    """Base of the engine's errors; `http_status` and `code` let the API's handler translate them."""

    http_status: int = 500
    code: str = "engine_error"


class RuleViolation(EngineError):
    """The request breaks a business rule (HTTP 400): unknown step, gate not required, no open decision."""

    http_status = 400
    code = "rule_violation"


class InvalidTransition(RuleViolation):
    """A status move that the transition tables do not allow (HTTP 400)."""

    code = "invalid_transition"

    def __init__(self, kind: str, old: str, new: str, detail: str = "") -> None:
        self.kind = kind
        self.old = old
        self.new = new
        message = f"Invalid {kind} transition: {old!s} -> {new!s}"
        super().__init__(f"{message} ({detail})" if detail else message)


class Conflict(EngineError):
    """A result that contradicts one already recorded, e.g. `failed` for a completed step (HTTP 409)."""

    http_status = 409
    code = "conflict"


def check_transition(kind: str, old: str, new: str) -> bool:
    """Check a status move against `ALLOWED_TRANSITIONS`.

    Returns True when the move changes the status and False when `old == new` (re-applying a status is a
    no-op, not an error). Raises `InvalidTransition` for a move the table forbids or an unknown status.
    """
    try:
        transition_kind = TransitionKind(kind)
    except ValueError:
        raise InvalidTransition(kind, old, new, "unknown kind") from None
    enum_class = STATUS_ENUMS[transition_kind]
    try:
        old_status = enum_class(old)
        new_status = enum_class(new)
    except ValueError:
        raise InvalidTransition(kind, old, new, f"unknown {kind} status") from None
    if old_status == new_status:
        return False
    if new_status not in ALLOWED_TRANSITIONS[transition_kind][old_status]:
        raise InvalidTransition(kind, old, new)
    return True


# ---------------------------------------------------------------------------------------------------------
# Plan shape (frozen) and state (mutable, but the engine never mutates what it is given)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    step_id: str
    agent_name: str
    model: str = ""
    # Ids of steps of the same phase that must be complete (or skipped) first. Ids outside the phase are
    # treated as satisfied: earlier phases are complete before a phase starts (`validate_plan` forbids the rest).
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateSpec:
    gate_type: str
    command: str = ""
    description: str = ""


@dataclass(frozen=True)
class PhaseSpec:
    phase_id: int
    name: str = ""
    steps: tuple[StepSpec, ...] = ()
    gate: GateSpec | None = None
    requires_approval: bool = False
    approval_description: str = ""


PhaseLoader = Callable[[int], PhaseSpec]


@dataclass
class StepState:
    step_id: str
    status: StepStatus = StepStatus.PENDING
    # How many times the step was put in flight (dispatched, or recorded without a dispatch).
    attempts: int = 0

    def __post_init__(self) -> None:
        # Rows hold plain strings; the engine compares enum members.
        self.status = StepStatus(self.status)


@dataclass
class ExecutionState:
    """One execution's progress. Counters always equal what the step states and gate results say."""

    phase_count: int
    status: ExecutionStatus = ExecutionStatus.RUNNING
    current_phase: int = 0  # index of the current phase (see the module docstring)
    phase_status: PhaseStatus = PhaseStatus.PENDING  # status of the current phase
    # Steps by status, over the whole plan (pending = total - the four below).
    steps_running: int = 0
    steps_completed: int = 0
    steps_failed: int = 0
    steps_skipped: int = 0
    # Gates: every pass counts in gates_passed; the two after it say how many of those were not clean.
    gates_passed: int = 0
    gates_passed_with_notes: int = 0
    gates_approved: int = 0  # failed, then passed by a human's gate_approval "approve"
    gates_failed: int = 0  # gate runs recorded as "fail"
    # The open human decision, if any (at most one at a time), and the step an escalation is about.
    open_decision: DecisionType | None = None
    decision_step_id: str | None = None
    cancelled: bool = False
    failure_reason: str = ""
    outcome: TaskOutcome | None = None  # set when the execution becomes terminal

    def __post_init__(self) -> None:
        # Rows hold plain strings; the engine compares enum members.
        self.status = ExecutionStatus(self.status)
        self.phase_status = PhaseStatus(self.phase_status)
        self.open_decision = DecisionType(self.open_decision) if self.open_decision else None
        self.outcome = TaskOutcome(self.outcome) if self.outcome else None


# ---------------------------------------------------------------------------------------------------------
# What the engine returns
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class DecisionSpec:
    """A human decision the service must open (create the row, then publish `decision_needed_event`)."""

    decision_type: DecisionType
    summary: str
    options: tuple[DecisionOption, ...]
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One of the contract's ActionResponse items (without `parallel_actions`; see `group_actions`)."""

    action_type: ActionType
    message: str
    agent_name: str | None = None
    agent_model: str | None = None
    step_id: str | None = None
    gate_type: str | None = None
    gate_command: str | None = None
    phase_id: int | None = None
    summary: str | None = None


@dataclass(frozen=True)
class Transition:
    """One status hop, for the service's audit trail. `subject` is a step id or a phase index."""

    kind: TransitionKind
    subject: str
    old: str | None
    new: str
    reason: str


@dataclass
class Outcome:
    execution: ExecutionState
    steps: list[StepState] = field(default_factory=list)
    events: list[EventSpec] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    decision: DecisionSpec | None = None
    closed_decision: DecisionType | None = None
    phase_updates: dict[int, PhaseStatus] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    duplicate: bool = False  # the call repeated what was already recorded: nothing changed
    resumed: bool = False  # resolve_decision: the execution goes on (it was not failed by the choice)
    summary: str | None = None  # complete: "3 steps completed, 2 gates passed, outcome: SHIP"


def action_to_dict(action: Action) -> dict[str, Any]:
    """The contract's ActionResponse for one action, with an empty `parallel_actions`."""
    return {
        "action_type": str(action.action_type),
        "message": action.message,
        "agent_name": action.agent_name,
        "agent_model": action.agent_model,
        "step_id": action.step_id,
        "gate_type": action.gate_type,
        "gate_command": action.gate_command,
        "phase_id": action.phase_id,
        "summary": action.summary,
        "parallel_actions": [],
    }


def group_actions(actions: Iterable[Action]) -> list[dict[str, Any]]:
    """Build the contract's `next_actions`: the first dispatch carries the other dispatches in its
    `parallel_actions`; any other action stays a top-level item, in order."""
    grouped: list[dict[str, Any]] = []
    first_dispatch: dict[str, Any] | None = None
    for action in actions:
        item = action_to_dict(action)
        if action.action_type is ActionType.DISPATCH:
            if first_dispatch is None:
                first_dispatch = item
                grouped.append(item)
            else:
                first_dispatch["parallel_actions"].append(item)
        else:
            grouped.append(item)
    return grouped


def decision_needed_event(
    decision: DecisionSpec, request_id: str, context_files: Iterable[str] = ()
) -> EventSpec:
    """The `human.decision_needed` event a service publishes once it has created the decision row."""
    return EventSpec(
        HUMAN_DECISION_NEEDED,
        {
            "request_id": request_id,
            "decision_type": str(decision.decision_type),
            "summary": decision.summary,
            "options": [str(option) for option in decision.options],
            "context_files": list(context_files),
        },
    )


def decision_resolved_event(
    decision_type: str, option: str, request_id: str, rationale: str = "", resolved_by: str = "human"
) -> EventSpec:
    """The `human.decision_resolved` event a service publishes before the resolution's own events."""
    return EventSpec(
        HUMAN_DECISION_RESOLVED,
        {
            "request_id": request_id,
            "decision_type": str(decision_type),
            "chosen_option": str(option),
            "rationale": rationale,
            "resolved_by": resolved_by,
        },
    )


# ---------------------------------------------------------------------------------------------------------
# Derived values
# ---------------------------------------------------------------------------------------------------------


def all_phases_complete(execution: ExecutionState) -> bool:
    return (
        execution.current_phase == execution.phase_count - 1
        and execution.phase_status == PhaseStatus.COMPLETE
    )


def task_outcome(execution: ExecutionState) -> TaskOutcome:
    """BLOCK when failed; REVISE when a gate passed with notes or by approval, or a step was skipped."""
    if execution.status == ExecutionStatus.FAILED:
        return TaskOutcome.BLOCK
    if execution.gates_passed_with_notes or execution.gates_approved or execution.steps_skipped:
        return TaskOutcome.REVISE
    return TaskOutcome.SHIP


def summarize(execution: ExecutionState) -> str:
    """ "3 steps completed, 2 gates passed, outcome: SHIP" (singular for 1)."""
    steps = execution.steps_completed
    gates = execution.gates_passed
    return (
        f"{steps} step{'' if steps == 1 else 's'} completed, "
        f"{gates} gate{'' if gates == 1 else 's'} passed, outcome: {task_outcome(execution)}"
    )


def steps_remaining(execution: ExecutionState, total_steps: int) -> int:
    """Steps not yet started (the contract's `steps_remaining`)."""
    started = (
        execution.steps_running + execution.steps_completed + execution.steps_failed + execution.steps_skipped
    )
    return max(total_steps - started, 0)


def validate_plan(phases: Iterable[PhaseSpec]) -> None:
    """Whole-plan checks a service runs once, when it stores the plan: at least one phase, unique phase
    and step ids, dependencies only on earlier steps of the same phase or steps of earlier phases, no
    cycle. Raises `RuleViolation`. (The per-call functions rely on this and never see the whole plan.)"""
    seen_steps: set[str] = set()
    seen_phases: set[int] = set()
    phase_list = list(phases)
    if not phase_list:
        raise RuleViolation("The plan has no phases")
    for phase in phase_list:
        if phase.phase_id in seen_phases:
            raise RuleViolation(f"Duplicate phase_id {phase.phase_id}")
        seen_phases.add(phase.phase_id)
        phase_steps = {step.step_id for step in phase.steps}
        if len(phase_steps) != len(phase.steps) or phase_steps & seen_steps:
            raise RuleViolation(f"Duplicate step_id in phase {phase.phase_id}")
        for step in phase.steps:
            for dependency in step.depends_on:
                if dependency not in phase_steps and dependency not in seen_steps:
                    raise RuleViolation(
                        f"Step {step.step_id} depends on {dependency!r}, which is neither in its phase "
                        "nor in an earlier phase"
                    )
        _check_acyclic(phase)
        seen_steps |= phase_steps


def _check_acyclic(phase: PhaseSpec) -> None:
    in_phase = {step.step_id: step for step in phase.steps}
    remaining = {step.step_id: {dep for dep in step.depends_on if dep in in_phase} for step in phase.steps}
    while remaining:
        ready = [step_id for step_id, deps in remaining.items() if not deps]
        if not ready:
            raise RuleViolation(f"Dependency cycle in phase {phase.phase_id}: {', '.join(sorted(remaining))}")
        for step_id in ready:
            del remaining[step_id]
        for deps in remaining.values():
            deps.difference_update(ready)


def phase_spec_from_dict(data: Mapping[str, Any]) -> PhaseSpec:
    """Build a `PhaseSpec` from the contract's PlanPhaseResponse shape (extra keys are ignored)."""
    gate = data.get("gate")
    return PhaseSpec(
        phase_id=int(data["phase_id"]),
        name=str(data.get("name") or ""),
        steps=tuple(
            StepSpec(
                step_id=str(step["step_id"]),
                agent_name=str(step.get("agent_name") or ""),
                model=str(step.get("model") or ""),
                depends_on=tuple(str(dep) for dep in step.get("depends_on") or ()),
            )
            for step in data.get("steps") or ()
        ),
        gate=(
            GateSpec(
                gate_type=str(gate.get("gate_type") or ""),
                command=str(gate.get("command") or ""),
                description=str(gate.get("description") or ""),
            )
            if gate
            else None
        ),
        requires_approval=bool(data.get("requires_approval", data.get("approval_required", False))),
        approval_description=str(data.get("approval_description") or ""),
    )


# ---------------------------------------------------------------------------------------------------------
# The working copy every public function runs on
# ---------------------------------------------------------------------------------------------------------

_StatusEnum = TypeVar("_StatusEnum", bound=StrEnum)

_STEP_COUNTERS: Final[Mapping[StepStatus, str]] = {
    StepStatus.RUNNING: "steps_running",
    StepStatus.COMPLETE: "steps_completed",
    StepStatus.FAILED: "steps_failed",
    StepStatus.SKIPPED: "steps_skipped",
}


def _coerce(enum_class: type[_StatusEnum], value: str, what: str) -> _StatusEnum:
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise RuleViolation(f"Unknown {what} {value!r}; expected one of: {allowed}") from None


def _check_max_parallel(max_parallel: int) -> None:
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")


class _Run:
    """A copy-on-write working set for one engine call: the caller's objects are never mutated, so an
    exception leaves them exactly as they were."""

    def __init__(
        self,
        execution: ExecutionState,
        phase: PhaseSpec | None,
        steps: Iterable[StepState],
        load_phase: PhaseLoader | None,
        max_parallel: int,
    ) -> None:
        _check_max_parallel(max_parallel)
        self.execution = dataclasses.replace(execution)
        self.load_phase = load_phase
        self.max_parallel = max_parallel
        self.changed: dict[str, StepState] = {}
        self.events: list[EventSpec] = []
        self.actions: list[Action] = []
        self.decision: DecisionSpec | None = None
        self.closed_decision: DecisionType | None = None
        self.phase_updates: dict[int, PhaseStatus] = {}
        self.transitions: list[Transition] = []
        self._set_phase(phase, steps)

    def _set_phase(self, phase: PhaseSpec | None, steps: Iterable[StepState]) -> None:
        self.phase = phase if phase is not None else PhaseSpec(phase_id=self.execution.current_phase)
        self.specs = {spec.step_id: spec for spec in self.phase.steps}
        self.given: dict[str, StepState] = {}
        for state in steps:
            if state.step_id not in self.specs:
                raise ValueError(f"Step state {state.step_id!r} is not a step of phase {self.phase.phase_id}")
            # A copy, so that statuses assigned as plain strings after construction are coerced too.
            self.given[state.step_id] = dataclasses.replace(state)

    # -- reading ------------------------------------------------------------------------------------------

    def step(self, step_id: str) -> StepState:
        state = self.changed.get(step_id) or self.given.get(step_id)
        return state if state is not None else StepState(step_id)

    def phase_step_states(self) -> list[StepState]:
        return [self.step(spec.step_id) for spec in self.phase.steps]

    def dependencies_satisfied(self, spec: StepSpec) -> bool:
        return all(
            dependency not in self.specs or self.step(dependency).status in STEP_SATISFIED
            for dependency in spec.depends_on
        )

    def running_count(self) -> int:
        return sum(1 for state in self.phase_step_states() if state.status is StepStatus.RUNNING)

    # -- writing: the one place each kind of status changes ------------------------------------------------

    def set_execution_status(self, new: ExecutionStatus, reason: str) -> None:
        old = self.execution.status
        if check_transition(TransitionKind.EXECUTION, old, new):
            self.execution.status = new
            self.transitions.append(Transition(TransitionKind.EXECUTION, "execution", old, new, reason))

    def set_phase_status(self, new: PhaseStatus, reason: str) -> None:
        old = self.execution.phase_status
        if check_transition(TransitionKind.PHASE, old, new):
            self.execution.phase_status = new
            index = self.execution.current_phase
            self.phase_updates[index] = new
            self.transitions.append(Transition(TransitionKind.PHASE, str(index), old, new, reason))

    def set_step_status(self, step_id: str, new: StepStatus, reason: str, *, attempt: bool = False) -> None:
        state = self.step(step_id)
        old = state.status
        check_transition(TransitionKind.STEP, old, new)
        self.changed[step_id] = dataclasses.replace(
            state, status=new, attempts=state.attempts + (1 if attempt else 0)
        )
        if old in _STEP_COUNTERS:
            counter = _STEP_COUNTERS[old]
            setattr(self.execution, counter, getattr(self.execution, counter) - 1)
        if new in _STEP_COUNTERS:
            counter = _STEP_COUNTERS[new]
            setattr(self.execution, counter, getattr(self.execution, counter) + 1)
        self.transitions.append(Transition(TransitionKind.STEP, step_id, old, new, reason))

    def emit(self, topic: str, **payload: Any) -> None:
        self.events.append(EventSpec(topic, payload))

    def open_decision(
        self, decision_type: DecisionType, summary: str, step_id: str | None = None, **context: Any
    ) -> None:
        self.execution.open_decision = decision_type
        self.execution.decision_step_id = step_id
        self.decision = DecisionSpec(decision_type, summary, DECISION_OPTIONS[decision_type], context)

    def close_decision(self) -> None:
        self.execution.open_decision = None
        self.execution.decision_step_id = None

    # -- the rules --------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Move the execution forward as far as it can go without outside input, then say what it awaits.
        Each pass either returns (having appended the actions) or changes a status, so it terminates."""
        while True:
            execution = self.execution
            if execution.status in EXECUTION_TERMINAL or execution.open_decision is not None:
                self.actions.extend(self.describe())
                return
            if execution.phase_status is PhaseStatus.PENDING:
                self.start_phase()
            elif execution.phase_status is PhaseStatus.COMPLETE:
                if execution.current_phase + 1 >= execution.phase_count:
                    self.set_execution_status(ExecutionStatus.RUNNING, "all phases complete")
                    self.actions.extend(self.describe())
                    return
                self.enter_next_phase()
            elif execution.phase_status is PhaseStatus.GATE_PENDING:
                self.actions.extend(self.describe())
                return
            elif execution.phase_status is PhaseStatus.RUNNING:
                if self.escalate_first_failure():
                    continue
                if all(state.status in STEP_SATISFIED for state in self.phase_step_states()):
                    self.finish_steps()
                    continue
                self.dispatch_ready()
                return
            else:  # PhaseStatus.FAILED only accompanies a failed execution
                raise EngineError(f"Phase status {execution.phase_status} with execution {execution.status}")

    def describe(self) -> list[Action]:
        """What the execution awaits, as actions, without changing anything."""
        execution = self.execution
        phase = self.phase
        if execution.status is ExecutionStatus.FAILED:
            reason = execution.failure_reason or "failed"
            return [Action(ActionType.FAILED, f"Execution failed: {reason}", summary=summarize(execution))]
        if execution.status is ExecutionStatus.COMPLETE or all_phases_complete(execution):
            message = (
                "Execution complete"
                if execution.status is ExecutionStatus.COMPLETE
                else "All phases complete: finalize the execution"
            )
            return [Action(ActionType.COMPLETE, message, summary=summarize(execution))]
        decision = execution.open_decision
        if decision is DecisionType.PHASE_APPROVAL:
            return [
                Action(
                    ActionType.APPROVAL,
                    f"Approval required for phase {phase.phase_id}: {phase.name}".rstrip(": "),
                    phase_id=phase.phase_id,
                    summary=phase.approval_description or None,
                )
            ]
        if decision is not None:
            return [
                Action(
                    ActionType.WAIT,
                    f"Waiting for a human decision: {decision}",
                    step_id=execution.decision_step_id,
                    phase_id=phase.phase_id if decision is DecisionType.GATE_APPROVAL else None,
                )
            ]
        if execution.phase_status is PhaseStatus.GATE_PENDING and phase.gate is not None:
            return [self.gate_action()]
        running = self.running_count()
        return [
            Action(
                ActionType.WAIT,
                f"Waiting for {running} running step{'' if running == 1 else 's'}",
            )
        ]

    def gate(self) -> GateSpec:
        if self.phase.gate is None:
            raise EngineError(f"Phase {self.phase.phase_id} has no gate")
        return self.phase.gate

    def gate_action(self) -> Action:
        gate = self.gate()
        return Action(
            ActionType.GATE,
            f"Run QA gate: {gate.gate_type}",
            gate_type=gate.gate_type,
            gate_command=gate.command,
            phase_id=self.phase.phase_id,
            summary=gate.description or None,
        )

    def start_phase(self) -> None:
        self.set_phase_status(PhaseStatus.RUNNING, "phase started")
        self.set_execution_status(ExecutionStatus.RUNNING, "phase started")
        self.emit(
            PHASE_STARTED,
            phase_id=self.phase.phase_id,
            phase_name=self.phase.name,
            step_count=len(self.phase.steps),
        )

    def enter_next_phase(self) -> None:
        index = self.execution.current_phase + 1
        if self.load_phase is None:
            raise ValueError(f"Phase {index} must be entered but no load_phase was given")
        next_phase = self.load_phase(index)
        self.execution.current_phase = index
        # A phase not yet entered is pending and so are all its steps: phases run strictly in order.
        self.execution.phase_status = PhaseStatus.PENDING
        self._set_phase(next_phase, ())

    def escalate_first_failure(self) -> bool:
        for spec in self.phase.steps:
            if self.step(spec.step_id).status is StepStatus.FAILED:
                self.set_execution_status(ExecutionStatus.APPROVAL_PENDING, f"step {spec.step_id} failed")
                self.open_decision(
                    DecisionType.ESCALATION,
                    f"Step {spec.step_id} ({spec.agent_name}) failed. Retry it, skip it or abort the execution?",
                    step_id=spec.step_id,
                    phase_id=self.phase.phase_id,
                    agent_name=spec.agent_name,
                )
                return True
        return False

    def finish_steps(self) -> None:
        """Every step of the phase is done: the approval first, then the gate, then the phase is complete."""
        phase = self.phase
        if phase.requires_approval:
            self.set_phase_status(PhaseStatus.GATE_PENDING, "steps done, approval required")
            self.set_execution_status(ExecutionStatus.APPROVAL_PENDING, "phase approval required")
            self.emit(
                APPROVAL_REQUIRED,
                phase_id=phase.phase_id,
                phase_name=phase.name,
                description=phase.approval_description,
            )
            self.open_decision(
                DecisionType.PHASE_APPROVAL,
                f"Phase {phase.phase_id} ({phase.name}) requires approval before "
                + ("its gate." if phase.gate is not None else "it completes."),
                phase_id=phase.phase_id,
            )
        else:
            self.after_approval()

    def after_approval(self) -> None:
        if self.phase.gate is not None:
            self.require_gate("steps done, gate required")
        else:
            self.complete_phase("steps done, no gate")

    def require_gate(self, reason: str) -> None:
        gate = self.gate()
        self.set_phase_status(PhaseStatus.GATE_PENDING, reason)
        self.set_execution_status(ExecutionStatus.GATE_PENDING, reason)
        self.emit(GATE_REQUIRED, phase_id=self.phase.phase_id, gate_type=gate.gate_type, command=gate.command)

    def complete_phase(self, reason: str) -> None:
        self.set_phase_status(PhaseStatus.COMPLETE, reason)
        self.emit(PHASE_COMPLETED, phase_id=self.phase.phase_id, phase_name=self.phase.name)

    def pass_gate(self, result: str, notes: str, *, clean: bool, approved: bool = False) -> None:
        gate = self.gate()
        self.execution.gates_passed += 1
        if approved:
            self.execution.gates_approved += 1
        elif not clean:
            self.execution.gates_passed_with_notes += 1
        self.emit(
            GATE_PASSED, phase_id=self.phase.phase_id, gate_type=gate.gate_type, result=result, output=notes
        )
        self.complete_phase(f"gate {result}")

    def dispatch_ready(self) -> None:
        """Dispatch every pending step whose dependencies are satisfied, in plan order, up to the cap."""
        running = self.running_count()
        dispatched = 0
        for spec in self.phase.steps:
            if running + dispatched >= self.max_parallel:
                break
            if self.step(spec.step_id).status is StepStatus.PENDING and self.dependencies_satisfied(spec):
                self.dispatch(spec)
                dispatched += 1
        if dispatched:
            return
        if running == 0:
            # validate_plan rejects cycles and forward references, so this means corrupted input.
            raise EngineError(
                f"Phase {self.phase.phase_id} has pending steps but none can ever be dispatched"
            )
        self.actions.extend(self.describe())

    def dispatch(self, spec: StepSpec) -> None:
        self.set_step_status(spec.step_id, StepStatus.RUNNING, "dispatched", attempt=True)
        self.emit(
            STEP_DISPATCHED,
            step_id=spec.step_id,
            agent=spec.agent_name,
            agent_name=spec.agent_name,
            model=spec.model,
            attempt=self.step(spec.step_id).attempts,
        )
        self.actions.append(
            Action(
                ActionType.DISPATCH,
                f"Dispatch {spec.agent_name} for step {spec.step_id}",
                agent_name=spec.agent_name,
                agent_model=spec.model,
                step_id=spec.step_id,
            )
        )

    def fail(self, reason: FailureReason, failed_step_id: str | None = None) -> None:
        """Every path to `failed` goes through here, so exactly one task.failed is emitted."""
        self.set_execution_status(ExecutionStatus.FAILED, str(reason))
        if self.execution.phase_status not in PHASE_TERMINAL:
            self.set_phase_status(PhaseStatus.FAILED, str(reason))
        self.close_decision()
        self.execution.failure_reason = str(reason)
        self.execution.outcome = TaskOutcome.BLOCK
        self.emit(
            TASK_FAILED,
            reason=str(reason),
            failed_step_id=failed_step_id,
            outcome=str(TaskOutcome.BLOCK),
            summary=summarize(self.execution),
        )

    def outcome(self, **extra: Any) -> Outcome:
        return Outcome(
            execution=self.execution,
            steps=list(self.changed.values()),
            events=self.events,
            actions=self.actions,
            decision=self.decision,
            closed_decision=self.closed_decision,
            phase_updates=self.phase_updates,
            transitions=self.transitions,
            **extra,
        )

    def duplicate(self) -> Outcome:
        """The request repeats what is already recorded: no change, no events, the awaited actions."""
        return Outcome(execution=self.execution, actions=self.describe(), duplicate=True)


# ---------------------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------------------


def start(
    *,
    first_phase: PhaseSpec,
    phase_count: int,
    risk_level: str = "LOW",
    total_steps: int | None = None,
    task_summary: str = "",
    load_phase: PhaseLoader | None = None,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> Outcome:
    """Begin an execution; returns its new `ExecutionState`.

    A HIGH or CRITICAL plan opens a `plan_review` decision and waits in `approval_pending` (events:
    task.started). Otherwise phase 0 starts at once (task.started, phase.started, step.dispatched...) and the
    first dispatches are returned. The service should create a pending row for every step of the plan
    before applying `outcome.steps`, and should have run `validate_plan` on the whole plan.
    """
    if phase_count < 1:
        raise RuleViolation("The plan has no phases")
    needs_review = risk_level.upper() in REVIEWED_RISK_LEVELS
    status = ExecutionStatus.APPROVAL_PENDING if needs_review else ExecutionStatus.RUNNING
    run = _Run(
        ExecutionState(phase_count=phase_count, status=status), first_phase, (), load_phase, max_parallel
    )
    run.transitions.append(
        Transition(TransitionKind.EXECUTION, "execution", None, status, "execution started")
    )
    run.emit(
        TASK_STARTED,
        task_summary=task_summary,
        risk_level=risk_level.upper(),
        total_steps=total_steps,
        phase_count=phase_count,
    )
    if needs_review:
        run.open_decision(
            DecisionType.PLAN_REVIEW,
            f"The plan's risk level is {risk_level.upper()}: review it before the first dispatch.",
            risk_level=risk_level.upper(),
        )
    run.settle()
    return run.outcome()


def next_actions(
    execution: ExecutionState,
    phase: PhaseSpec,
    steps: Iterable[StepState],
    *,
    load_phase: PhaseLoader | None = None,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> Outcome:
    """What the execution should do now. Not a pure query: dispatch actions it returns mark their steps
    `running` and emit step.dispatched (so a step is never dispatched twice); in a state saved from another
    engine call it only dispatches anything if `max_parallel` was raised meanwhile. Otherwise it returns
    `wait` (steps in flight, or a human decision other than a phase approval), `gate`, `approval`,
    `complete` (all phases done, or finalized) or `failed`."""
    run = _Run(execution, phase, steps, load_phase, max_parallel)
    run.settle()
    return run.outcome()


def record_step(
    execution: ExecutionState,
    phase: PhaseSpec,
    steps: Iterable[StepState],
    *,
    step_id: str,
    status: str,
    agent: str | None = None,
    output_summary: str = "",
    tokens: int | None = None,
    duration_ms: int | None = None,
    earlier_step: StepState | None = None,
    load_phase: PhaseLoader | None = None,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> Outcome:
    """Record a step's `complete`, `failed` or `dispatched` and return the next actions.

    - `step_id` must be a step of the current phase; otherwise `RuleViolation`, except when the service
      passes that step's state as `earlier_step` (a step of an earlier phase, looked up by id) and the
      record repeats it (duplicate) or contradicts it (`Conflict`).
    - Repeating the recorded outcome (`complete` on complete, `failed` on failed or on a step skipped after
      failing, `dispatched` on running) is a no-op: `duplicate=True`, no events, the awaited actions.
    - Any other result for a complete, failed or skipped step raises `Conflict` (409).
    - `complete` emits step.completed and moves on (dispatches, gate.required, or the phase advances).
      `failed` emits step.failed and, unless a decision is already open, opens an `escalation` decision
      (execution `approval_pending`). Results for steps still in flight are accepted while a decision is
      open and after the execution failed (cancel is best-effort), without moving the execution on.
    """
    requested = _coerce(RecordStatus, status, "step status")
    run = _Run(execution, phase, steps, load_phase, max_parallel)
    if step_id not in run.specs:
        if earlier_step is not None and earlier_step.step_id == step_id:
            _check_repeat(dataclasses.replace(earlier_step), requested, run.phase.phase_id)
            return run.duplicate()
        raise RuleViolation(f"Step {step_id!r} is not a step of the current phase ({run.phase.phase_id})")
    spec = run.specs[step_id]
    current = run.step(step_id)
    if current.status not in (StepStatus.PENDING, StepStatus.RUNNING) or (
        current.status is StepStatus.RUNNING and requested is RecordStatus.DISPATCHED
    ):
        _check_repeat(current, requested, run.phase.phase_id)
        return run.duplicate()

    state = run.execution
    if state.status is ExecutionStatus.COMPLETE:
        raise RuleViolation("The execution is complete")
    in_flight_result = current.status is StepStatus.RUNNING and requested is not RecordStatus.DISPATCHED
    if state.status is ExecutionStatus.FAILED and not in_flight_result:
        raise RuleViolation("The execution has failed; only results of steps still in flight are accepted")
    if state.phase_status is PhaseStatus.PENDING:
        raise RuleViolation("The execution has not started: its plan awaits review")
    if current.status is StepStatus.PENDING:
        if not run.dependencies_satisfied(spec):
            waiting = [
                dep
                for dep in spec.depends_on
                if dep in run.specs and run.step(dep).status not in STEP_SATISFIED
            ]
            raise RuleViolation(
                f"Step {step_id} depends on steps that are not complete: {', '.join(waiting)}"
            )
        if requested is RecordStatus.DISPATCHED:
            if state.open_decision is not None:
                raise RuleViolation(f"The execution waits on a human decision ({state.open_decision})")
            if run.running_count() >= run.max_parallel:
                raise RuleViolation(f"{run.max_parallel} steps are already in flight (max_parallel)")

    if requested is RecordStatus.DISPATCHED:
        run.dispatch(spec)
        run.actions.clear()  # the client dispatched it itself; settle() reports what comes next
    else:
        new_status = StepStatus.COMPLETE if requested is RecordStatus.COMPLETE else StepStatus.FAILED
        run.set_step_status(
            step_id, new_status, f"recorded {requested}", attempt=current.status is StepStatus.PENDING
        )
        run.emit(
            STEP_COMPLETED if new_status is StepStatus.COMPLETE else STEP_FAILED,
            step_id=step_id,
            agent=agent or spec.agent_name,
            agent_name=agent or spec.agent_name,
            status=str(new_status),
            output_summary=output_summary,
            tokens=tokens,
            duration_ms=duration_ms,
        )
    run.settle()
    return run.outcome()


def _check_repeat(state: StepState, requested: RecordStatus, phase_id: int) -> None:
    """Return quietly when `requested` repeats what `state` records; raise otherwise."""
    repeats = {
        RecordStatus.COMPLETE: {StepStatus.COMPLETE},
        RecordStatus.FAILED: {StepStatus.FAILED, StepStatus.SKIPPED},
        RecordStatus.DISPATCHED: {StepStatus.RUNNING},
    }[requested]
    if state.status in repeats:
        return
    if state.status in (StepStatus.COMPLETE, StepStatus.FAILED, StepStatus.SKIPPED):
        raise Conflict(f"Step {state.step_id} is already {state.status}; cannot record {requested}")
    raise RuleViolation(f"Step {state.step_id!r} is not a step of the current phase ({phase_id})")


def record_gate(
    execution: ExecutionState,
    phase: PhaseSpec,
    *,
    phase_id: int,
    result: str,
    notes: str = "",
    load_phase: PhaseLoader | None = None,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> Outcome:
    """Record the result of the current phase's gate.

    The gate must be currently required (execution `gate_pending`, no decision open, `phase_id` is the
    current phase's), else `RuleViolation`; repeating `fail` while its gate_approval is open is a no-op.
    `pass`/`pass_with_notes`: gate.passed, phase.completed, then the next phase starts (phase.started and its
    dispatches) or, after the last phase, a `complete` action. `fail`: gate.failed and a `gate_approval`
    decision; the execution stays `gate_pending`. The current phase's step states are not needed.
    """
    gate_result = _coerce(GateResult, result, "gate result")
    run = _Run(execution, phase, (), load_phase, max_parallel)
    state = run.execution
    gate = run.phase.gate
    if phase_id != run.phase.phase_id or gate is None or state.status is not ExecutionStatus.GATE_PENDING:
        raise RuleViolation(f"No gate is required for phase {phase_id}")
    if state.open_decision is DecisionType.GATE_APPROVAL:
        if gate_result is GateResult.FAIL:
            return run.duplicate()
        raise RuleViolation(f"The failed gate of phase {phase_id} awaits a human decision (gate_approval)")
    if state.open_decision is not None or state.phase_status is not PhaseStatus.GATE_PENDING:
        raise RuleViolation(f"No gate is required for phase {phase_id}")

    if gate_result is GateResult.FAIL:
        state.gates_failed += 1
        run.emit(
            GATE_FAILED, phase_id=phase_id, gate_type=gate.gate_type, result=str(gate_result), output=notes
        )
        run.open_decision(
            DecisionType.GATE_APPROVAL,
            f"Gate {gate.gate_type} of phase {phase_id} failed. Approve to continue, retry it, or reject?",
            phase_id=phase_id,
            gate_type=gate.gate_type,
            notes=notes,
        )
    else:
        run.pass_gate(str(gate_result), notes, clean=gate_result is GateResult.PASS)
    run.settle()
    return run.outcome()


def resolve_decision(
    execution: ExecutionState,
    phase: PhaseSpec,
    steps: Iterable[StepState],
    *,
    decision_type: str,
    option: str,
    load_phase: PhaseLoader | None = None,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
) -> Outcome:
    """Apply a human's choice on the execution's open decision. `outcome.resumed` is True unless the choice
    failed the execution.

    - plan_review: approve starts phase 0; reject fails the execution.
    - gate_approval: approve counts the gate as passed (REVISE) and moves on; retry asks for the gate again
      (gate.required); reject fails.
    - escalation: retry puts the step back to pending and dispatches it again; skip marks it skipped
      (dependencies on it count as satisfied, REVISE) and continues; abort fails.
    - phase_approval: approve emits approval.resolved and goes on to the gate (or completes the phase);
      reject emits approval.resolved and fails.
    Raises `RuleViolation` when that decision type is not open or the option is not one of its options.
    """
    chosen_type = _coerce(DecisionType, decision_type, "decision type")
    chosen = _coerce(DecisionOption, option, "decision option")
    run = _Run(execution, phase, steps, load_phase, max_parallel)
    state = run.execution
    if state.open_decision is not chosen_type:
        raise RuleViolation(f"No {chosen_type} decision is open for this execution")
    if chosen not in DECISION_OPTIONS[chosen_type]:
        allowed = ", ".join(DECISION_OPTIONS[chosen_type])
        raise RuleViolation(f"Option {option!r} is not one of the {chosen_type} options: {allowed}")
    step_id = state.decision_step_id
    run.close_decision()

    if chosen_type is DecisionType.PLAN_REVIEW:
        if chosen is DecisionOption.REJECT:
            run.fail(FailureReason.PLAN_REJECTED)
        # approve: settle() starts phase 0.
    elif chosen_type is DecisionType.GATE_APPROVAL:
        if chosen is DecisionOption.APPROVE:
            run.pass_gate("approved", "", clean=False, approved=True)
        elif chosen is DecisionOption.RETRY:
            run.require_gate("gate retry")
        else:
            run.fail(FailureReason.GATE_REJECTED)
    elif chosen_type is DecisionType.ESCALATION:
        if step_id is None or step_id not in run.specs or run.step(step_id).status is not StepStatus.FAILED:
            raise ValueError(f"The escalation's step {step_id!r} is not a failed step of the current phase")
        if chosen is DecisionOption.RETRY:
            run.set_step_status(step_id, StepStatus.PENDING, "escalation: retry")
            run.set_execution_status(ExecutionStatus.RUNNING, "escalation: retry")
        elif chosen is DecisionOption.SKIP:
            run.set_step_status(step_id, StepStatus.SKIPPED, "escalation: skip")
            run.set_execution_status(ExecutionStatus.RUNNING, "escalation: skip")
        else:
            run.fail(FailureReason.STEP_ABORTED, failed_step_id=step_id)
    else:  # PHASE_APPROVAL
        run.emit(APPROVAL_RESOLVED, phase_id=run.phase.phase_id, result=str(chosen), feedback="")
        if chosen is DecisionOption.APPROVE:
            run.after_approval()
        else:
            run.fail(FailureReason.PHASE_REJECTED)
    run.settle()
    return run.outcome(resumed=run.execution.status is not ExecutionStatus.FAILED)


def cancel(execution: ExecutionState) -> Outcome:
    """Cancel an active execution: `failed` with `cancelled=True` and one task.failed (reason "cancelled").
    Steps in flight stay `running` (cancellation is best-effort); an open decision is returned in
    `closed_decision` for the service to expire. A terminal execution raises `RuleViolation`."""
    if execution.status in EXECUTION_TERMINAL:
        raise RuleViolation(f"The execution is already {execution.status}")
    run = _Run(execution, None, (), None, DEFAULT_MAX_PARALLEL)
    run.closed_decision = run.execution.open_decision
    run.execution.cancelled = True
    run.fail(FailureReason.CANCELLED)
    run.actions.extend(run.describe())
    return run.outcome()


def complete(execution: ExecutionState) -> Outcome:
    """Finalize an execution whose phases are all complete: status `complete`, outcome SHIP or REVISE,
    task.completed, and `outcome.summary`. Completing a complete execution again is a no-op
    (`duplicate=True`, same summary); a failed or unfinished one raises `RuleViolation`."""
    run = _Run(execution, None, (), None, DEFAULT_MAX_PARALLEL)
    state = run.execution
    if state.status is ExecutionStatus.COMPLETE:
        duplicate = run.duplicate()
        duplicate.summary = summarize(state)
        return duplicate
    if state.status is ExecutionStatus.FAILED:
        raise RuleViolation("The execution has failed; it cannot be completed")
    if not all_phases_complete(state):
        raise RuleViolation(
            f"Cannot complete: phase {state.current_phase + 1} of {state.phase_count} is {state.phase_status}"
        )
    run.set_execution_status(ExecutionStatus.COMPLETE, "completed")
    state.outcome = task_outcome(state)
    summary = summarize(state)
    run.emit(
        TASK_COMPLETED,
        outcome=str(state.outcome),
        summary=summary,
        steps_completed=state.steps_completed,
        gates_passed=state.gates_passed,
    )
    return run.outcome(summary=summary)
