"""Writes of plans: planning a request, storing a plan (made here or sent inline), recording outcomes."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from baton_site import rows
from baton_site.errors import RuleViolation
from plans import planner
from plans.models import Plan, PlanOutcome, PlanPhase, PlanStep
from plans.selectors import past_outcomes, registry_snapshot


def new_plan_id() -> str:
    return f"task-{secrets.token_hex(6)}"


def resolve_project_path(project_path: str | None) -> Path:
    """The project directory a plan is for: absolute, existing, symlinks resolved, inside an allowed root.

    Omitted, the server's working directory. RuleViolation (400) otherwise.
    """
    if project_path is None or project_path == "":
        return Path.cwd().resolve()
    if "\x00" in project_path:
        raise RuleViolation("project_path must not contain NUL characters.")
    raw = Path(project_path)
    if not raw.is_absolute():
        raise RuleViolation(f"project_path must be an absolute path, got '{project_path}'.")
    try:
        resolved = raw.resolve(strict=True)
    except (OSError, RuntimeError):
        raise RuleViolation(f"project_path '{project_path}' does not exist.") from None
    if not resolved.is_dir():
        raise RuleViolation(f"project_path '{project_path}' is not a directory.")
    roots = settings.BATON_PROJECT_ROOTS
    if roots and not any(resolved.is_relative_to(root) for root in roots):
        raise RuleViolation(f"project_path '{project_path}' is outside the allowed project roots.")
    return resolved


def plan_generate(
    *,
    description: str,
    task_type: str | None = None,
    agents: list[str] | None = None,
    project_path: str | None = None,
) -> tuple[planner.Plan, Path]:
    """Run the planner for a request (nothing stored). RuleViolation (400) for what the planner refuses."""
    project = resolve_project_path(project_path)
    request = planner.PlanRequest(
        description=description,
        task_type=task_type,
        agents=tuple(agents) if agents is not None else None,
        project_path=str(project),
    )
    try:
        plan = planner.make_plan(
            request,
            registry_snapshot(),
            past_outcomes(),
            plan_id=new_plan_id(),
            created_at=timezone.now().isoformat(timespec="seconds"),
            stack=planner.detect_stack(str(project)),
        )
    except planner.PlanningError as exc:
        raise RuleViolation(exc.message) from exc
    return plan, project


def plan_create(
    *,
    description: str,
    task_type: str | None = None,
    agents: list[str] | None = None,
    project_path: str | None = None,
) -> planner.Plan:
    """Plan a task and store the plan; the plan as stored (what `plan_to_dict(plan_get(...))` reads back)."""
    plan, project = plan_generate(
        description=description, task_type=task_type, agents=agents, project_path=project_path
    )
    plan_store(plan=plan, description=description, project_path=str(project))
    return plan


def _created_at(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return timezone.now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.get_current_timezone())


@transaction.atomic
def plan_store(
    *, plan: planner.Plan, description: str = "", project_path: str = "", extra: dict[str, Any] | None = None
) -> Plan:
    """Store a planner Plan as rows (phases and steps in two plain inserts). The plan id must be new."""
    if rows.values(Plan, ("id",), order_by=(), plan_id=plan.plan_id):
        raise RuleViolation(f"A plan with id '{plan.plan_id}' already exists.")
    row = rows.create(
        Plan(
            plan_id=plan.plan_id,
            task_summary=plan.task_summary,
            description=description or plan.task_summary,
            task_type=plan.task_type,
            risk_level=plan.risk_level,
            budget_tier=plan.budget_tier,
            execution_mode=plan.execution_mode,
            git_strategy=plan.git_strategy,
            pattern_source=plan.pattern_source,
            stack=plan.stack,
            complexity=plan.complexity,
            project_path=project_path,
            total_steps=plan.total_steps,
            agents=plan.agents,
            extra=extra or {},
            created_at=_created_at(plan.created_at),
        )
    )
    phase_rows = [
        (
            row.pk,
            phase.phase_id,
            phase.name,
            phase.requires_approval,
            phase.gate.gate_type if phase.gate else None,
            phase.gate.command if phase.gate else None,
            phase.gate.description if phase.gate else "",
            list(phase.gate.fail_on) if phase.gate else [],
        )
        for phase in plan.phases
    ]
    if rows.can_return_rows():
        phase_pks = dict(
            cast(
                list[tuple[int, int]],
                rows.insert(PlanPhase, _PHASE_COLUMNS, phase_rows, returning=("phase_id", "id")),
            )
        )
    else:  # an SQLite before 3.35: read the new phases' ids back
        rows.insert(PlanPhase, _PHASE_COLUMNS, phase_rows)
        phase_pks = dict(PlanPhase.objects.filter(plan=row).values_list("phase_id", "id"))
    rows.insert(
        PlanStep,
        _STEP_COLUMNS,
        [
            (
                row.pk,
                phase_pks[phase.phase_id],
                step.step_id,
                position,
                step.agent_name,
                step.task_description,
                step.model,
                list(step.depends_on),
                list(step.deliverables),
                list(step.allowed_paths),
                list(step.blocked_paths),
                list(step.context_files),
            )
            for phase in plan.phases
            for position, step in enumerate(phase.steps)
        ],
    )
    return row


_PHASE_COLUMNS = (
    "plan_id", "phase_id", "name", "requires_approval", "gate_type", "gate_command", "gate_description",
    "gate_fail_on",
)  # fmt: skip
_STEP_COLUMNS = (
    "plan_id", "phase_id", "step_id", "position", "agent_name", "task_description", "model", "depends_on",
    "deliverables", "allowed_paths", "blocked_paths", "context_files",
)  # fmt: skip


def _nul_path(value: object, path: str = "plan") -> str | None:
    """The JSON path of the first string holding a NUL character (databases refuse them), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) or _nul_path(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _check_lengths(plan: planner.Plan, prefix: str) -> None:
    """Every value fits its column (the planner's dataclasses do not know the database's limits)."""

    def check(model: type[models.Model], field: str, value: object, where: str) -> None:
        limit = getattr(model._meta.get_field(field), "max_length", None)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise RuleViolation(f"{prefix}: {where} is longer than {limit} characters.")

    for field in (
        "plan_id",
        "task_type",
        "risk_level",
        "budget_tier",
        "execution_mode",
        "git_strategy",
        "pattern_source",
        "stack",
        "complexity",
    ):
        check(Plan, field, getattr(plan, field), field)
    for phase_index, phase in enumerate(plan.phases):
        check(PlanPhase, "name", phase.name, f"phases[{phase_index}].name")
        if phase.gate is not None:
            check(PlanPhase, "gate_type", phase.gate.gate_type, f"phases[{phase_index}].gate.gate_type")
        for step_index, step in enumerate(phase.steps):
            where = f"phases[{phase_index}].steps[{step_index}]"
            for field in ("step_id", "agent_name", "model"):
                check(PlanStep, field, getattr(step, field), f"{where}.{field}")


def plan_refuse_nul(data: object, *, prefix: str = "Invalid plan") -> None:
    """RuleViolation (400) naming the first string of a client's plan dict that holds a NUL character (the
    databases refuse them; PostgreSQL would fail even a lookup)."""
    nul_at = _nul_path(data)
    if nul_at:
        raise RuleViolation(f"{prefix}: {nul_at} contains a NUL character.")


def plan_parse(data: object, *, prefix: str = "Invalid plan", assign_id: bool = False) -> planner.Plan:
    """A plan dict sent by a client (checked with `plan_refuse_nul` first) as the planner's Plan, every value
    fitting the column that will hold it; RuleViolation (400) naming the first problem. A missing `created_at`
    is now; with `assign_id`, a dict without `plan_id` or `task_id` gets a new id."""
    candidate = dict(data) if isinstance(data, dict) else data
    if isinstance(candidate, dict):
        candidate.setdefault("created_at", timezone.now().isoformat(timespec="seconds"))
        if assign_id and not candidate.get("plan_id") and not candidate.get("task_id"):
            candidate["plan_id"] = new_plan_id()
    try:
        plan = planner.plan_from_dict(candidate)
    except planner.PlanningError as exc:
        raise RuleViolation(f"{prefix}: {exc.field}: {exc.message}") from exc
    _check_lengths(plan, prefix)
    return plan


def plan_store_inline(*, data: dict[str, Any]) -> Plan:
    """Validate a MachinePlan/PlanResponse dict sent by a client and store it; an id already stored wins.

    RuleViolation (400) naming the problem for an invalid dict.
    """
    if not isinstance(data, dict):
        raise RuleViolation("plan must be a JSON object.")
    plan_refuse_nul(data)
    plan_id = data.get("plan_id") or data.get("task_id")
    if isinstance(plan_id, str) and plan_id:
        existing = Plan.objects.filter(plan_id=plan_id).first()
        if existing is not None:
            return existing
    plan = plan_parse(data, assign_id=True)
    known = set(planner.plan_to_dict(plan))
    extra = {
        key: value
        for key, value in data.items()
        if key not in known and key not in ("task_id", "total_steps", "agents")
    }
    return plan_store(plan=plan, description=str(data.get("description") or plan.task_summary), extra=extra)


def plan_record_outcome(*, plan: Plan, task_id: str, outcome: str) -> PlanOutcome:
    """Remember how an execution of `plan` ended (idempotent per task; the caller holds the execution's lock, so
    no savepoint is needed around the insert)."""
    existing = rows.find(PlanOutcome, task_id=task_id)
    if existing is not None:
        return existing
    return rows.create(PlanOutcome(plan=plan, task_id=task_id, outcome=outcome, recorded_at=timezone.now()))
