"""Every write to executions: start, record a step, record a gate, apply a human decision, cancel, complete.

Each service reads the execution row and the step rows of the current phase only, calls the pure engine, saves
what the engine's Outcome changed, and publishes the events in the same transaction. The plan's phases come from
a per-process cache, filled when the execution starts (or on the first call after a restart). The cost of a call
therefore does not grow with the size of the plan.

Every write of an execution advances its `version`, on condition that it is still the version read, so a write
made from an older read changes nothing. Two ways of reading use that:
- `record`, `gate` and `complete`, the calls agents make many times a run, read without a lock, compute the
  Outcome and its events, and only then open the transaction that writes, if the version is unchanged; if
  another writer came first, they read again (`_optimistically`: after OPTIMISTIC_TRIES, they read under the
  lock). On SQLite the database has one writer at a time, across every process, and before this a transaction
  held it from its first read to its commit: under the lifecycle benchmark a web process spent about a sixth of
  its time waiting for it.
- The others (start, decisions, cancel) lock the row first (`select_for_update`; SQLite serialises writers with
  its IMMEDIATE transactions instead) and read under the lock.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from baton_site import rows as table_rows
from baton_site.errors import ConcurrentModification, NotFound, RuleViolation
from executions import engine, events
from executions.models import (
    ACTIVE_STATUSES,
    AgentUsage,
    Execution,
    GateResult,
    Retrospective,
    StepResult,
    UsageRecord,
)
from plans.models import Plan, PlanPhase, PlanStep
from plans.selectors import plan_get, plan_to_dict
from plans.services import plan_record_outcome

# Execution columns that mirror engine.ExecutionState, saved after every engine call (those whose value changed).
_STATE_FIELDS = (
    "status",
    "current_phase",
    "phase_status",
    "steps_running",
    "steps_completed",
    "steps_failed",
    "steps_skipped",
    "gates_passed",
    "gates_passed_with_notes",
    "gates_approved",
    "gates_failed",
    "open_decision",
    "decision_step_id",
    "cancelled",
    "failure_reason",
    "outcome",
)


@dataclass
class ActionResult:
    """What a service call answers: the execution after the call and the contract's `next_actions`."""

    execution: Execution
    next_actions: list[dict[str, Any]]
    duplicate: bool = False
    resumed: bool = False
    summary: str | None = None
    request_id: str | None = None
    events: list[Any] = field(default_factory=list)


# --- Loading rows into engine dataclasses ----------------------------------------------------------------------


def _state(execution: Execution) -> engine.ExecutionState:
    return engine.ExecutionState(
        phase_count=execution.phase_count,
        status=engine.ExecutionStatus(execution.status),
        current_phase=execution.current_phase,
        phase_status=engine.PhaseStatus(execution.phase_status),
        steps_running=execution.steps_running,
        steps_completed=execution.steps_completed,
        steps_failed=execution.steps_failed,
        steps_skipped=execution.steps_skipped,
        gates_passed=execution.gates_passed,
        gates_passed_with_notes=execution.gates_passed_with_notes,
        gates_approved=execution.gates_approved,
        gates_failed=execution.gates_failed,
        open_decision=engine.DecisionType(execution.open_decision) if execution.open_decision else None,
        decision_step_id=execution.decision_step_id,
        cancelled=execution.cancelled,
        failure_reason=execution.failure_reason,
        outcome=engine.TaskOutcome(execution.outcome) if execution.outcome else None,
    )


@functools.lru_cache(maxsize=256)
def _plan_phases(plan_pk: int, plan_id: str) -> tuple[engine.PhaseSpec, ...]:
    """Every phase of a plan as engine specs, read in two plain statements (`baton_site.rows`: the ORM's
    compilation of the two queries was a third of `POST /executions`). Plans never change once stored, so the specs
    are cached per process, keyed by the plan's primary key and its unique id: `record`, `gate` and the decisions
    then read no plan rows at all, and a plan's phases are read once, when its execution starts."""
    phases = table_rows.values(
        PlanPhase,
        ("id", "phase_id", "name", "gate_type", "gate_command", "gate_description", "requires_approval"),
        order_by=("phase_id",),
        plan_id=plan_pk,
    )
    steps: dict[int, list[engine.StepSpec]] = {}
    for phase_pk, step_id, agent, model, depends_on in table_rows.values(
        PlanStep,
        ("phase_id", "step_id", "agent_name", "model", "depends_on"),
        order_by=("phase_id", "position"),
        plan_id=plan_pk,
    ):
        steps.setdefault(phase_pk, []).append(
            engine.StepSpec(step_id=step_id, agent_name=agent, model=model, depends_on=tuple(depends_on))
        )
    return tuple(
        engine.PhaseSpec(
            phase_id=phase_id,
            name=name,
            steps=tuple(steps.get(pk, ())),
            gate=engine.GateSpec(gate_type, gate_command or "", gate_description) if gate_type else None,
            requires_approval=requires_approval,
        )
        for pk, phase_id, name, gate_type, gate_command, gate_description, requires_approval in phases
    )


class _PhaseLoader:
    """The phases of one plan, by index (see `_plan_phases`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan_pk = plan.pk
        self.plan_id = plan.plan_id

    @property
    def phases(self) -> tuple[engine.PhaseSpec, ...]:
        return _plan_phases(self.plan_pk, self.plan_id)

    def __call__(self, index: int) -> engine.PhaseSpec:
        return self.phases[index]


def _step_states(execution: Execution, phase_id: int) -> list[engine.StepState]:
    rows = table_rows.values(
        StepResult,
        ("step_id", "status", "attempts"),
        order_by=("id",),  # creation order: the plan's order within the phase
        execution_id=execution.pk,
        phase_id=phase_id,
    )
    return [engine.StepState(step_id=s, status=engine.StepStatus(st), attempts=a) for s, st, a in rows]


# The plan columns moving an execution reads (its phases and steps load through `_plan_phases`'s cache).
_LOCKED_PLAN_FIELDS = ("plan_id", "risk_level", "execution_mode", "task_type", "total_steps", "created_at")


def _load(task_id: str, *, lock: bool) -> Execution:
    """The execution row with the few plan columns it needs (the plan's text and JSON columns stay deferred),
    locked for the caller's transaction when `lock` is set. The statement is written from the models' metadata:
    the ORM's compilation of this join cost more than everything else `record` does in the database."""
    execution = table_rows.fetch_locked(
        Execution, "plan", _LOCKED_PLAN_FIELDS, for_update=lock, task_id=task_id
    )
    if execution is None:
        raise NotFound(f"Execution '{task_id}' not found")
    return cast(Execution, execution)


def _lock(task_id: str) -> Execution:
    """The execution row, locked for the caller's transaction (see `_load`)."""
    return _load(task_id, lock=True)


class _Stale(Exception):  # noqa: N818 - a signal between two functions here, not an error anyone sees
    """The execution was written by someone else since it was read: read it again."""


# Reads from which an optimistic write is tried before the last try, which reads under the lock.
OPTIMISTIC_TRIES = 3


def _optimistically(attempt: Callable[[bool], ActionResult]) -> ActionResult:
    """Run `attempt(locked)`: first from unlocked reads, then, if the execution kept changing under it, under the
    execution's lock (see the module docstring). It runs locked at once inside a caller's transaction (which
    cannot be retried from here) and on an in-memory SQLite database (the test suite's), where a read and a write
    of two connections do not run side by side: one fails at once with "table is locked"."""
    connection = transaction.get_connection()
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    if not connection.in_atomic_block and not in_memory:
        for _ in range(OPTIMISTIC_TRIES):
            try:
                return attempt(False)
            except _Stale:
                continue
    try:
        with transaction.atomic():
            return attempt(True)
    except _Stale as exc:  # cannot happen under the lock; kept an answer rather than a crash
        raise ConcurrentModification(str(exc)) from exc


def _engine_call(function: Callable[..., engine.Outcome], *args: Any, **kwargs: Any) -> engine.Outcome:
    """Call the engine, translating its errors into the API's vocabulary."""
    try:
        return function(*args, **kwargs)
    except engine.Conflict as exc:
        raise ConcurrentModification(str(exc)) from exc
    except engine.RuleViolation as exc:
        raise RuleViolation(str(exc)) from exc


# --- Applying an engine Outcome -------------------------------------------------------------------------------


def _context_path(execution: Execution, name: str) -> Path:
    """Where a decision's context (gate output, step output) is kept: the data directory's folder of the task."""
    return Path(settings.DATA_DIR) / "context" / execution.task_id.replace("/", "_") / name


def _write_context(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@dataclass
class _Changes:
    """What applying an engine Outcome writes, made before the write's transaction (`_changes`)."""

    execution: dict[str, Any]
    steps: list[tuple[str, dict[str, Any]]]
    events: list[Any]
    request_id: str | None
    # A decision's context file: written by `_save` once the write goes through, so that a write that is read
    # again and retried leaves no file behind.
    context: tuple[Path, str] | None = None


def _apply(execution: Execution, outcome: engine.Outcome, **options: Any) -> tuple[list[Any], str | None]:
    """Save what the Outcome changed and publish its events, in the caller's transaction: `_changes` (which takes
    the `options`), then `_save`."""
    changes = _changes(execution, outcome, **options)
    return _save(execution, changes), changes.request_id


def _changes(
    execution: Execution,
    outcome: engine.Outcome,
    *,
    before: Sequence[engine.EventSpec] = (),
    decision_closed: bool = False,
    step_details: dict[str, dict[str, Any]] | None = None,
    error: str | None = None,
    context_text: str = "",
    also: Sequence[str] = (),
) -> _Changes:
    """The execution's new column values (its state, plus the fields named in `also`), the changed steps, the
    decision to open if asked (with its context file's path and text), and the events in order; nothing is
    written.

    Of the state columns only those whose value changed are written: most calls change a few counters, and a
    column left out of the UPDATE leaves the indexes that hold it (`status`) untouched, one page fewer to write."""
    now = timezone.now()
    state = outcome.execution
    stored = {name: getattr(execution, name) for name in _STATE_FIELDS}
    for name in _STATE_FIELDS:
        value = getattr(state, name)
        setattr(execution, name, str(value) if isinstance(value, StrEnum) else value)
    execution.open_decision = str(state.open_decision) if state.open_decision else None
    execution.outcome = str(state.outcome) if state.outcome else None
    update_fields = [name for name in _STATE_FIELDS if getattr(execution, name) != stored[name]]
    update_fields += ["updated_at", *also]
    if error is not None:
        execution.error = error
        update_fields.append("error")
    if (
        state.status in (engine.ExecutionStatus.COMPLETE, engine.ExecutionStatus.FAILED)
        and not execution.completed_at
    ):
        execution.completed_at = now
        update_fields.append("completed_at")

    details = step_details or {}
    steps = []
    for step in outcome.steps:
        values: dict[str, Any] = {"status": str(step.status), "attempts": step.attempts}
        if step.status is engine.StepStatus.RUNNING:
            values["dispatched_at"] = now
        elif step.status in (engine.StepStatus.COMPLETE, engine.StepStatus.FAILED, engine.StepStatus.SKIPPED):
            values["completed_at"] = now
        values.update(details.get(step.step_id, {}))
        steps.append((step.step_id, values))

    items = [(spec.topic, spec.payload) for spec in before]
    items += [(spec.topic, spec.payload) for spec in outcome.events]
    request_id = None
    context = None
    if outcome.decision is not None:
        request_id = f"dec-{secrets.token_hex(6)}"
        context_files = []
        if context_text:
            context = (_context_path(execution, f"{request_id}.txt"), context_text)
            context_files.append(str(context[0]))
        needed = engine.decision_needed_event(outcome.decision, request_id, context_files)
        payload = dict(needed.payload)
        payload.update(
            {
                "task_id": execution.task_id,
                "context": outcome.decision.context,
                "deadline": _deadline(now),
                "created_at": now.isoformat(timespec="seconds"),
            }
        )
        items.append((needed.topic, payload))
        execution.pending_decisions += 1
        update_fields.append("pending_decisions")
    if decision_closed or outcome.closed_decision is not None:
        execution.pending_decisions = max(0, execution.pending_decisions - 1)
        update_fields.append("pending_decisions")
    execution.updated_at = now
    return _Changes(
        execution={name: getattr(execution, name) for name in dict.fromkeys(update_fields)},
        steps=steps,
        events=events.prepare(execution.task_id, items),
        request_id=request_id,
        context=context,
    )


def _save(execution: Execution, changes: _Changes) -> list[Any]:
    """Write `changes` in the caller's transaction: first the execution's row, on condition that its `version`
    is still the one read (else `_Stale`, and nothing is written), then a decision's context file, the steps and
    the events."""
    read = execution.version
    written = table_rows.update(
        Execution, {**changes.execution, "version": read + 1}, id=execution.pk, version=read
    )
    if not written:
        raise _Stale(f"Execution '{execution.task_id}' was changed concurrently")
    execution.version = read + 1
    if changes.context is not None:
        _write_context(*changes.context)
    for step_id, values in changes.steps:
        table_rows.update(StepResult, values, execution_id=execution.pk, step_id=step_id)
    return events.publish_prepared(changes.events)


def _deadline(now: datetime) -> str | None:
    hours = settings.BATON_DECISION_TTL_HOURS
    return (now + timedelta(hours=hours)).isoformat(timespec="seconds") if hours else None


def _result(
    execution: Execution, outcome: engine.Outcome, published: list[Any], request_id: str | None
) -> ActionResult:
    return ActionResult(
        execution=execution,
        next_actions=engine.group_actions(outcome.actions),
        duplicate=outcome.duplicate,
        resumed=outcome.resumed,
        summary=outcome.summary,
        request_id=request_id,
        events=published,
    )


# --- Services -------------------------------------------------------------------------------------------------


def _new_task_id(plan: Plan) -> str:
    statuses = [
        status for (status,) in table_rows.values(Execution, ("status",), order_by=(), plan_id=plan.pk)
    ]
    if any(status in ACTIVE_STATUSES for status in statuses):
        raise ConcurrentModification(f"Plan '{plan.plan_id}' already has an active execution")
    return plan.plan_id if not statuses else f"{plan.plan_id}-run{len(statuses) + 1}"


# The columns of a step's row when its execution starts; `dispatched_at` and `completed_at` start NULL.
_NEW_STEP_COLUMNS = (
    "execution_id", "step_id", "phase_id", "agent_name", "status", "attempts", "output_summary", "tokens",
    "duration_ms", "error",
)  # fmt: skip


def execution_start(*, plan: Plan, max_parallel: int | None = None) -> ActionResult:
    """Start executing a stored plan: creates the execution and a pending row per step, then lets the engine
    start (a HIGH/CRITICAL plan first opens a plan_review decision). The task id is the plan id for the first
    run of a plan and `<plan_id>-run<n>` for later runs; a plan with an active execution is a 409."""
    parallel = max_parallel or settings.BATON_MAX_PARALLEL
    # A stored plan never changes, so its phases are read before the transaction: on SQLite its time is the
    # single writer's.
    loader = _PhaseLoader(plan)
    phase_count = len(loader.phases)
    if phase_count == 0:
        raise RuleViolation(f"Plan '{plan.plan_id}' has no phases")
    try:
        with transaction.atomic():
            # Serialise starts of one plan (a row lock on PostgreSQL; SQLite's IMMEDIATE transaction already).
            table_rows.lock(Plan, id=plan.pk)
            execution = table_rows.create(
                Execution(
                    task_id=_new_task_id(plan),
                    plan=plan,
                    phase_count=phase_count,
                    total_steps=plan.total_steps,
                    max_parallel=parallel,
                    started_at=timezone.now(),
                )
            )
            pending = str(engine.StepStatus.PENDING)
            table_rows.insert(
                StepResult,
                _NEW_STEP_COLUMNS,
                [
                    (execution.pk, step.step_id, phase.phase_id, step.agent_name, pending, 0, "", 0, 0, "")
                    for phase in loader.phases
                    for step in phase.steps
                ],
            )
            outcome = _engine_call(
                engine.start,
                first_phase=loader(0),
                phase_count=phase_count,
                risk_level=plan.risk_level,
                total_steps=plan.total_steps,
                task_summary=plan.task_summary,
                load_phase=loader,
                max_parallel=parallel,
            )
            published, request_id = _apply(
                execution,
                outcome,
                context_text=_plan_review_text(plan) if outcome.decision is not None else "",
            )
    except IntegrityError as exc:  # two starts raced for the same task id
        raise ConcurrentModification(f"Plan '{plan.plan_id}' was started concurrently") from exc
    return _result(execution, outcome, published, request_id)


def _plan_review_text(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan_get(plan_id=plan.plan_id)), indent=2)


def execution_next_actions(*, task_id: str) -> ActionResult:
    with transaction.atomic():
        execution = _lock(task_id)
        loader = _PhaseLoader(execution.plan)
        outcome = _engine_call(
            engine.next_actions,
            _state(execution),
            loader(execution.current_phase),
            _step_states(execution, loader(execution.current_phase).phase_id),
            load_phase=loader,
            max_parallel=execution.max_parallel,
        )
        published, request_id = _apply(execution, outcome)
    return _result(execution, outcome, published, request_id)


def step_record_result(
    *,
    task_id: str,
    step_id: str,
    agent: str,
    status: str,
    output_summary: str = "",
    tokens: int | None = None,
    duration_ms: int | None = None,
) -> ActionResult:
    """Record a step's outcome (complete, failed or dispatched). Same outcome twice: no-op; a conflicting
    outcome for a finished step: 409; an unknown step id: 400."""

    def attempt(locked: bool) -> ActionResult:
        execution = _load(task_id, lock=locked)
        loader = _PhaseLoader(execution.plan)
        phase = loader(execution.current_phase)
        earlier = None
        if step_id not in {spec.step_id for spec in phase.steps}:
            row = (
                StepResult.objects.filter(execution=execution, step_id=step_id)
                .values_list("status", "attempts")
                .first()
            )
            if row is None:
                raise RuleViolation(f"Unknown step_id '{step_id}' for execution '{task_id}'")
            earlier = engine.StepState(step_id=step_id, status=engine.StepStatus(row[0]), attempts=row[1])
        outcome = _engine_call(
            engine.record_step,
            _state(execution),
            phase,
            _step_states(execution, phase.phase_id),
            step_id=step_id,
            status=status,
            agent=agent,
            output_summary=output_summary,
            tokens=tokens,
            duration_ms=duration_ms,
            earlier_step=earlier,
            load_phase=loader,
            max_parallel=execution.max_parallel,
        )
        if outcome.duplicate:
            return _result(execution, outcome, [], None)
        details = {}
        error = None
        if status in ("complete", "failed"):
            details[step_id] = {
                "output_summary": output_summary,
                "tokens": tokens or 0,
                "duration_ms": duration_ms or 0,
                "agent_name": agent or "",
            }
            if status == "failed":
                error = f"Step {step_id} ({agent}) failed" + (f": {output_summary}" if output_summary else "")
                details[step_id]["error"] = output_summary
        changes = _changes(
            execution, outcome, step_details=details, error=error, context_text=output_summary or error or ""
        )
        with transaction.atomic(savepoint=False):
            published = _save(execution, changes)
        return _result(execution, outcome, published, changes.request_id)

    return _optimistically(attempt)


_GATE_COLUMNS = ("execution_id", "phase_id", "gate_type", "result", "notes", "recorded_at")


def gate_record_result(*, task_id: str, phase_id: int, result: str, notes: str = "") -> ActionResult:
    """Record the current phase's gate: pass/pass_with_notes move on; fail opens a gate_approval decision."""

    def attempt(locked: bool) -> ActionResult:
        execution = _load(task_id, lock=locked)
        loader = _PhaseLoader(execution.plan)
        phase = loader(execution.current_phase)
        outcome = _engine_call(
            engine.record_gate,
            _state(execution),
            phase,
            phase_id=phase_id,
            result=result,
            notes=notes,
            load_phase=loader,
            max_parallel=execution.max_parallel,
        )
        if outcome.duplicate:
            return _result(execution, outcome, [], None)
        gate_type = phase.gate.gate_type if phase.gate else ""
        error = None
        if result == "fail":
            error = f"Gate {gate_type} of phase {phase_id} failed" + (f": {notes}" if notes else "")
        changes = _changes(execution, outcome, error=error, context_text=notes or error or "")
        with transaction.atomic(savepoint=False):
            published = _save(execution, changes)
            table_rows.insert(
                GateResult,
                _GATE_COLUMNS,
                [(execution.pk, phase_id, gate_type, result, notes, timezone.now())],
            )
        return _result(execution, outcome, published, changes.request_id)

    return _optimistically(attempt)


def execution_resolve_decision(
    *,
    task_id: str,
    decision_type: str,
    option: str,
    request_id: str,
    rationale: str = "",
    resolved_by: str = "human",
) -> ActionResult:
    """Apply a human's choice on the execution's open decision (called by `decisions.services`, which has already
    claimed the decision row in the same transaction). Publishes human.decision_resolved first."""
    with transaction.atomic():
        execution = _lock(task_id)
        loader = _PhaseLoader(execution.plan)
        phase = loader(execution.current_phase)
        outcome = _engine_call(
            engine.resolve_decision,
            _state(execution),
            phase,
            _step_states(execution, phase.phase_id),
            decision_type=decision_type,
            option=option,
            load_phase=loader,
            max_parallel=execution.max_parallel,
        )
        resolved = engine.decision_resolved_event(decision_type, option, request_id, rationale, resolved_by)
        error = "" if outcome.resumed else f"{decision_type} resolved with '{option}' by {resolved_by}"
        published, new_request = _apply(
            execution, outcome, before=[resolved], decision_closed=True, error=error
        )
    return _result(execution, outcome, published, new_request)


def execution_cancel(*, task_id: str) -> ActionResult:
    """Cancel an active execution (best effort: status failed, task.failed with reason cancelled)."""
    with transaction.atomic():
        execution = _lock(task_id)
        outcome = _engine_call(engine.cancel, _state(execution))
        published, _ = _apply(execution, outcome, error="Cancelled")
        _write_usage(execution, _agent_totals(execution))
    return _result(execution, outcome, published, None)


def execution_complete(*, task_id: str) -> ActionResult:
    """Finalize an execution whose phases are all complete: status complete, outcome, summary, and the trace
    (the event log), usage record, retrospective and plan outcome written. Completing again is a no-op."""

    def attempt(locked: bool) -> ActionResult:
        execution = _load(task_id, lock=locked)
        outcome = _engine_call(engine.complete, _state(execution))
        if outcome.duplicate:
            return _result(execution, outcome, [], None)
        execution.summary = outcome.summary or ""
        execution.error = ""
        execution.finalized = True
        changes = _changes(execution, outcome, also=("summary", "error", "finalized"))
        # Read after the execution: a step written since would have moved its version, and `_save` would refuse.
        totals = _agent_totals(execution)
        with transaction.atomic(savepoint=False):
            published = _save(execution, changes)
            _usage, retried = _write_usage(execution, totals)
            _write_retrospective(execution, retried_steps=retried)
        return _result(execution, outcome, published, None)

    return _optimistically(attempt)


_AGENT_USAGE_COLUMNS = (
    "usage_id", "agent_name", "timestamp", "model", "steps", "retries", "gate_results", "estimated_tokens",
    "duration_seconds", "outcome", "task_tokens", "task_agents",
)  # fmt: skip


@dataclass
class _AgentTotals:
    steps: int = 0
    tokens: int = 0
    duration_ms: int = 0
    attempts: int = 0
    retried: int = 0


def _agent_totals(execution: Execution) -> dict[str, _AgentTotals]:
    """The execution's step rows (read in one plain statement) totalled per agent; steps never run are left out."""
    totals: dict[str, _AgentTotals] = {}
    for agent, status, tokens, duration_ms, attempts in table_rows.values(
        StepResult,
        ("agent_name", "status", "tokens", "duration_ms", "attempts"),
        order_by=(),
        execution_id=execution.pk,
    ):
        if status == engine.StepStatus.PENDING.value:
            continue
        entry = totals.setdefault(agent, _AgentTotals())
        entry.steps += 1
        entry.tokens += tokens or 0
        entry.duration_ms += duration_ms or 0
        entry.attempts += attempts or 0
        entry.retried += 1 if (attempts or 0) > 1 else 0
    return totals


def _write_usage(execution: Execution, totals: dict[str, _AgentTotals]) -> tuple[UsageRecord, int]:
    """The usage record of a finished execution from its per-agent totals, and how many of its steps ran more
    than once."""
    outcome = execution.outcome or str(engine.TaskOutcome.BLOCK)
    models = {
        step.agent_name: step.model for phase in _PhaseLoader(execution.plan).phases for step in phase.steps
    }
    now = timezone.now()
    values = {
        "timestamp": now,
        "risk_level": execution.plan.risk_level,
        "sequencing_mode": execution.plan.execution_mode,
        "gates_passed": execution.gates_passed,
        "gates_failed": execution.gates_failed,
        "outcome": outcome,
        "total_agents": len(totals),
        "total_tokens": sum(entry.tokens for entry in totals.values()),
    }
    # Every writer of this task's usage has just written its execution row (a row lock, or SQLite's one writer,
    # held to the end of the transaction): they are serialised, no savepoint dance needed.
    usage = table_rows.find(UsageRecord, task_id=execution.task_id)
    if usage is None:
        usage = table_rows.create(UsageRecord(task_id=execution.task_id, **values))
    else:
        for name, value in values.items():
            setattr(usage, name, value)
        usage.save(update_fields=list(values))
        usage.agents_used.all().delete()
    table_rows.insert(
        AgentUsage,
        _AGENT_USAGE_COLUMNS,
        [
            (
                usage.pk,
                agent,
                now,
                models.get(agent, ""),
                entry.steps,
                max(0, entry.attempts - entry.steps),
                [],
                entry.tokens,
                round(entry.duration_ms / 1000, 3),
                outcome,
                usage.total_tokens,
                usage.total_agents,
            )
            for agent, entry in sorted(totals.items())
        ],
    )
    plan_record_outcome(plan=execution.plan, task_id=execution.task_id, outcome=outcome)
    return usage, sum(entry.retried for entry in totals.values())


def _write_retrospective(execution: Execution, *, retried_steps: int) -> Retrospective:
    highlights = []
    issues = []
    if execution.gates_failed == 0 and execution.steps_failed == 0:
        highlights.append("Every step and gate succeeded on the first attempt.")
    if execution.gates_failed:
        issues.append(f"{execution.gates_failed} gate run(s) failed before passing.")
    if execution.gates_approved:
        issues.append(f"{execution.gates_approved} gate(s) passed only by human approval.")
    if execution.gates_passed_with_notes:
        issues.append(f"{execution.gates_passed_with_notes} gate(s) passed with notes.")
    if execution.steps_skipped:
        issues.append(f"{execution.steps_skipped} step(s) skipped after failing.")
    if retried_steps:
        issues.append(f"{retried_steps} step(s) needed a retry.")
    values = {
        "outcome": execution.outcome or "",
        "summary": execution.summary,
        "highlights": highlights,
        "issues": issues,
        "created_at": timezone.now(),
    }
    retro = table_rows.find(Retrospective, task_id=execution.task_id)  # serialised as the usage record is
    if retro is None:
        return Retrospective.objects.create(task_id=execution.task_id, **values)
    for name, value in values.items():
        setattr(retro, name, value)
    retro.save(update_fields=list(values))
    return retro
