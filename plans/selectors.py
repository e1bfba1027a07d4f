"""Reads of plans, converting rows back into the planner's dataclasses and the contract's dict shape."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

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


def plan_to_dict(plan: Plan) -> dict:
    """The contract's PlanResponse / MachinePlan dict for a stored plan."""
    return planner.plan_to_dict(plan_to_planner(plan))


def past_outcomes(limit: int = PATTERN_HISTORY_LIMIT) -> list[planner.PastOutcome]:
    """The most recent execution outcomes with their plans' shapes, for learned patterns (two queries)."""
    outcomes = list(PlanOutcome.objects.select_related("plan").order_by("-recorded_at", "-id")[:limit])
    plan_ids = {outcome.plan_id for outcome in outcomes}
    phase_names: dict[int, list[str]] = {}
    for plan_pk, name in (
        PlanPhase.objects.filter(plan_id__in=plan_ids)
        .order_by("plan_id", "phase_id")
        .values_list("plan_id", "name")
    ):
        phase_names.setdefault(plan_pk, []).append(name)
    return [
        planner.PastOutcome(
            task_type=outcome.plan.task_type,
            outcome=outcome.outcome,
            agents=tuple(outcome.plan.agents),
            phase_names=tuple(phase_names.get(outcome.plan_id, ())),
            stack=outcome.plan.stack,
            plan_id=outcome.plan.plan_id,
        )
        for outcome in outcomes
    ]
