"""Reads of plans, converting rows back into the planner's dataclasses and the contract's dict shape."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from agents.models import AgentDefinition
from baton_site import rows
from baton_site.errors import NotFound
from plans import planner
from plans.models import Plan, PlanOutcome, PlanPhase, PlanStep

PATTERN_HISTORY_LIMIT = 500


def plan_get(*, plan_id: str) -> Plan:
    """A plan with its phases and steps prefetched (three queries); NotFound otherwise."""
    steps = Prefetch("steps", queryset=PlanStep.objects.order_by("position"))
    phases = Prefetch("phases", queryset=PlanPhase.objects.order_by("phase_id").prefetch_related(steps))
    plan = Plan.objects.prefetch_related(phases).filter(plan_id=plan_id).first()
    if plan is None:
        raise NotFound(f"Plan '{plan_id}' not found")
    return plan


def plan_row(*, plan_id: str) -> Plan:
    """The plan row alone (no phases or steps; one plain statement); NotFound otherwise."""
    plan = rows.one(Plan, plan_id=plan_id)
    if plan is None:
        raise NotFound(f"Plan '{plan_id}' not found")
    return plan


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.order_by("-created_at", "-id")


def _step(row: PlanStep) -> planner.Step:
    return planner.Step(
        step_id=row.step_id,
        agent_name=row.agent_name,
        task_description=row.task_description,
        model=row.model,
        depends_on=list(row.depends_on),
        deliverables=list(row.deliverables),
        allowed_paths=list(row.allowed_paths),
        blocked_paths=list(row.blocked_paths),
        context_files=list(row.context_files),
    )


def phase_to_planner(row: PlanPhase, steps: list[PlanStep]) -> planner.Phase:
    gate = None
    if row.gate_type is not None:
        gate = planner.Gate(
            gate_type=row.gate_type,
            command=row.gate_command or "",
            description=row.gate_description,
            fail_on=list(row.gate_fail_on),
        )
    return planner.Phase(
        phase_id=row.phase_id,
        name=row.name,
        steps=[_step(step) for step in steps],
        gate=gate,
        requires_approval=row.requires_approval,
    )


def plan_to_planner(plan: Plan) -> planner.Plan:
    """The stored plan as the planner's dataclass (uses prefetched phases and steps when present)."""
    return planner.Plan(
        plan_id=plan.plan_id,
        task_summary=plan.task_summary,
        task_type=plan.task_type,
        risk_level=plan.risk_level,
        budget_tier=plan.budget_tier,
        execution_mode=plan.execution_mode,
        git_strategy=plan.git_strategy,
        phases=[phase_to_planner(phase, list(phase.steps.all())) for phase in plan.phases.all()],
        pattern_source=plan.pattern_source,
        created_at=plan.created_at.isoformat(timespec="seconds"),
        stack=plan.stack,
        complexity=plan.complexity,
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The contract's PlanResponse / MachinePlan dict for a stored plan."""
    return planner.plan_to_dict(plan_to_planner(plan))


def _history_row(
    recorded_at: datetime,
    pk: int,
    outcome: str,
    plan_id: str,
    task_type: str,
    agents: list[str] | None,
    stack: Any,
    phase_names: list[str],
) -> tuple[datetime, int, planner.PastOutcome]:
    """One outcome of the history, with its plan's shape, keyed for ordering by (time, id)."""
    return (
        recorded_at,
        pk,
        planner.PastOutcome(
            task_type=task_type,
            outcome=outcome,
            agents=tuple(agents or ()),
            phase_names=tuple(phase_names),
            stack=stack,
            plan_id=plan_id,
        ),
    )


FEW_ADDED = 4  # up to this many new outcomes are read in plain statements (three per outcome)


class _OutcomeHistory:
    """The planner's learning history, kept per process and brought up to date by a stamp query.

    Every `POST /plans` needs the latest outcomes with their plans' shapes. Reading them whole each time cost
    12 ms at 240 outcomes and grows to the limit (500 plans and their phases). Outcome rows are only ever added
    (by `execution_complete`) or deleted (with their plan; plans and outcomes are read-only in the admin), so a
    stamp of (row count, highest id, latest time) tells what changed: nothing (one aggregate query), rows added only (those
    rows are read and merged), or anything else (a full reload). Other processes' writes show on the next call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, Any] | None = None
        self._rows: list[tuple[datetime, int, planner.PastOutcome]] = []  # newest first

    def get(self, limit: int) -> list[planner.PastOutcome]:
        with self._lock:
            count, top, latest = rows.stamp(PlanOutcome, "recorded_at")
            stamp = (count or 0, top or 0, latest)
            if stamp != self._stamp:
                added = None
                if self._stamp is not None:
                    fresh = stamp[0] - self._stamp[0]
                    if 0 < fresh <= FEW_ADDED:
                        added = self._read_added(self._stamp[1])
                    else:
                        added = self._read(id__gt=self._stamp[1])
                if added is not None and self._stamp is not None and len(added) == stamp[0] - self._stamp[0]:
                    self._rows = sorted([*self._rows, *added], key=lambda row: (row[0], row[1]), reverse=True)
                else:
                    self._rows = self._read()
                self._rows = self._rows[:PATTERN_HISTORY_LIMIT]
                self._stamp = stamp
            return [outcome for _, _, outcome in self._rows[:limit]]

    def _read_added(self, after_pk: int) -> list[tuple[datetime, int, planner.PastOutcome]]:
        """The outcomes stored since `after_pk` (at most FEW_ADDED; usually one), in plain statements: compiling
        `_read`'s two queries was a third of `POST /plans`."""
        added = []
        for recorded_at, pk, outcome, plan_pk in rows.values(
            PlanOutcome, ("recorded_at", "id", "outcome", "plan"), order_by=(), above=("id", after_pk)
        ):
            plan = rows.values(Plan, ("plan_id", "task_type", "agents", "stack"), order_by=(), id=plan_pk)
            if not plan:
                continue  # deleted meanwhile: the next stamp differs and reloads
            plan_id, task_type, agents, stack = plan[0]
            names = [
                name for (name,) in rows.values(PlanPhase, ("name",), order_by=("phase_id",), plan=plan_pk)
            ]
            added.append(_history_row(recorded_at, pk, outcome, plan_id, task_type, agents, stack, names))
        return added

    def _read(self, **filters: Any) -> list[tuple[datetime, int, planner.PastOutcome]]:
        """Outcomes (newest first, at most the limit) with their plans' shapes, in two queries."""
        rows = list(
            PlanOutcome.objects.filter(**filters)
            .order_by("-recorded_at", "-id")
            .values_list(
                "recorded_at", "id", "outcome", "plan_id",
                "plan__plan_id", "plan__task_type", "plan__agents", "plan__stack",
            )[:PATTERN_HISTORY_LIMIT]
        )  # fmt: skip
        phase_names: dict[int, list[str]] = {}
        for plan_pk, name in (
            PlanPhase.objects.filter(plan_id__in={row[3] for row in rows})
            .order_by("plan_id", "phase_id")
            .values_list("plan_id", "name")
        ):
            phase_names.setdefault(plan_pk, []).append(name)
        return [
            _history_row(
                recorded_at, pk, outcome, plan_id, task_type, agents, stack, phase_names.get(plan_pk, [])
            )
            for recorded_at, pk, outcome, plan_pk, plan_id, task_type, agents, stack in rows
        ]


_history = _OutcomeHistory()


def past_outcomes(limit: int = PATTERN_HISTORY_LIMIT) -> list[planner.PastOutcome]:
    """The most recent execution outcomes (at most PATTERN_HISTORY_LIMIT) with their plans' shapes, for learned
    patterns. One aggregate query when nothing changed since the last call in this process."""
    return _history.get(limit)


class _RegistrySnapshot:
    """The agent roster as the planner sees it, kept per process and brought up to date by a stamp query.

    Every `POST /plans` needs the whole roster; reading and converting its rows was an eighth of the request.
    Definitions are added (new ids), deleted (the count drops) or saved with a new `updated_at` (`auto_now`;
    the registry reload and the admin both save), so (row count, highest id, latest `updated_at`) tells whether
    anything changed. Other processes' changes show on the next call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._agents: list[planner.AgentInfo] = []

    def get(self) -> list[planner.AgentInfo]:
        with self._lock:
            stamp = rows.stamp(AgentDefinition, "updated_at")
            if stamp != self._stamp:
                self._agents = [
                    planner.AgentInfo(name=n, base_name=b, flavor=f, category=c, model=m, description=d)
                    for n, b, f, c, m, d in AgentDefinition.objects.order_by("name").values_list(
                        "name", "base_name", "flavor", "category", "model", "description"
                    )
                ]
                self._stamp = stamp
            return list(self._agents)


_registry = _RegistrySnapshot()


def registry_snapshot() -> list[planner.AgentInfo]:
    """Every agent definition, by name, for the planner. One aggregate query when nothing changed since the last
    call in this process."""
    return _registry.get()
