"""Every write of the PMO (projects, signals, approved plans), and the Forge's planning calls.

Forge calls that store nothing (`forge_plan`, `forge_interview`, `forge_regenerate`) live here too because they
run the planner through `plans.services`; the rules they apply are the pure `pmo.forge`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import AgentDefinition
from baton_site.errors import ConcurrentModification, InvalidTransition, NotFound, RuleViolation
from plans import planner
from plans.models import Plan
from plans.planner.gates import test_gate
from plans.selectors import plan_get, plan_to_dict
from plans.services import (
    new_plan_id,
    plan_generate,
    plan_parse,
    plan_refuse_nul,
    plan_store,
    resolve_project_path,
)
from pmo import forge
from pmo.models import (
    SIGNAL_TRANSITIONS,
    AssignmentSource,
    PlanAssignment,
    Project,
    Signal,
    SignalStatus,
    priority_for_risk,
)
from pmo.selectors import project_get

TEAM_CONTEXT = (".claude", "team-context")
PLAN_FILE = "plan.json"
# Keys of a plan dict that Baton derives or models itself; anything else a client sends is kept as `extra`.
_DERIVED_KEYS = ("task_id", "total_steps", "agents", "priority")
SEVERITY_PRIORITY = {"critical": 2, "high": 1}


# --- Projects -------------------------------------------------------------------------------------------------


def project_register(
    *,
    project_id: str,
    name: str,
    path: str,
    program: str,
    color: str = "",
    description: str = "",
) -> Project:
    """Register a project, or replace the one with the same id (keeping its first `registered_at`).

    The path must be an absolute path to an existing directory inside the allowed project roots; it is stored
    resolved (symlinks included), which is how plans record their project path. RuleViolation (400) otherwise.
    """
    resolved = str(resolve_project_path(path))
    fields = {"name": name, "path": resolved, "program": program, "color": color, "description": description}
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(project_id=project_id).first()
        if project is not None:
            for key, value in fields.items():
                setattr(project, key, value)
            project.save(update_fields=[*fields, "updated_at"])
            return project
        try:
            with transaction.atomic():
                return Project.objects.create(project_id=project_id, registered_at=timezone.now(), **fields)
        except IntegrityError as exc:  # registered by a concurrent request between our read and our insert
            raise ConcurrentModification(f"Project '{project_id}' was registered concurrently") from exc


def project_remove(*, project_id: str) -> None:
    """Unregister a project. Its plans, executions and signals stay; registering it again shows them again."""
    deleted, _ = Project.objects.filter(project_id=project_id).delete()
    if not deleted:
        raise NotFound(f"Project '{project_id}' not found")


# --- Writing plan.json ----------------------------------------------------------------------------------------


def _team_context_dir(project: Project) -> Path:
    """`<project>/.claude/team-context`, created if needed. Every component is resolved and must stay inside the
    project's resolved path, so a symlinked `.claude` cannot send the file elsewhere."""
    root = resolve_project_path(project.path)
    current = root
    for part in TEAM_CONTEXT:
        candidate = current / part
        try:
            candidate.mkdir(exist_ok=True)
            resolved = candidate.resolve(strict=True)
        except OSError as exc:
            raise RuleViolation(f"Cannot create {candidate}: {exc.strerror or exc}") from exc
        if not resolved.is_relative_to(root) or not resolved.is_dir():
            raise RuleViolation(f"{candidate} leads outside the project's path; the plan was not written.")
        current = resolved
    return current


def _write_plan_file(project: Project, data: dict[str, Any]) -> Path:
    """Write `data` as the project's team-context `plan.json`, atomically (a temporary file renamed over it;
    the rename replaces a symlink rather than following it)."""
    folder = _team_context_dir(project)
    target = folder / PLAN_FILE
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=".plan-", suffix=".tmp", delete=False
        ) as handle:
            handle.write(text)
            temporary = Path(handle.name)
        os.replace(temporary, target)
    except OSError as exc:
        raise RuleViolation(f"Cannot write {target}: {exc.strerror or exc}") from exc
    return target


def _plan_file_data(plan: Plan, project: Project, priority: int) -> dict[str, Any]:
    data = plan_to_dict(plan_get(plan_id=plan.plan_id))
    data.update(plan.extra or {})
    data.update({"task_id": plan.plan_id, "project_id": project.project_id, "priority": priority})
    return data


def _assign(plan: Plan, project: Project, priority: int, source: str) -> PlanAssignment:
    assignment, _ = PlanAssignment.objects.update_or_create(
        plan=plan,
        defaults={
            "project_id": project.project_id,
            "priority": priority,
            "source": source,
            "assigned_at": timezone.now(),
        },
    )
    return assignment


# --- Forge ----------------------------------------------------------------------------------------------------


def _load_plan(data: object, prefix: str, *, assign_id: bool = False) -> planner.Plan:
    """A client's plan dict as the planner's Plan; RuleViolation (400) naming the first problem."""
    plan_refuse_nul(data, prefix=prefix)
    return plan_parse(data, prefix=prefix, assign_id=assign_id)


def _priority(value: object, fallback: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2:
        return value
    return fallback


def forge_plan(
    *, project_id: str, description: str, task_type: str | None = None, priority: int = 0
) -> dict[str, Any]:
    """Plan a task for a registered project (nothing stored): the MachinePlan dict, with `priority` carried along
    so that approving the plan keeps it. NotFound for an unknown project; RuleViolation for what the planner
    refuses."""
    project = project_get(project_id=project_id)
    plan, _ = plan_generate(description=description, task_type=task_type, project_path=project.path)
    return {**planner.plan_to_dict(plan), "priority": priority}


def forge_approve(*, project_id: str, data: dict[str, Any], priority: int | None = None) -> tuple[Plan, Path]:
    """Save an approved plan dict for a project and write it as the project's team-context `plan.json`.

    The plan is stored (an id already stored is kept as stored; one that belongs to another project is refused),
    linked to the project with its priority (the request's, else the dict's, else derived from risk), and the file
    written, all in one transaction: a plan that cannot be written is not saved. NotFound for an unknown project,
    RuleViolation (400) for an invalid plan or a file that cannot be written inside the project,
    ConcurrentModification (409) when the same new plan is approved twice at the same moment.
    """
    project = project_get(project_id=project_id)
    plan = _load_plan(data, "Invalid plan payload", assign_id=True)
    chosen = _priority(priority, _priority(data.get("priority"), priority_for_risk(plan.risk_level)))
    known = set(planner.plan_to_dict(plan))
    extra = {key: value for key, value in data.items() if key not in known and key not in _DERIVED_KEYS}
    project_path = str(resolve_project_path(project.path))
    try:
        with transaction.atomic():
            row = Plan.objects.select_for_update().filter(plan_id=plan.plan_id).first()
            if row is None:
                description = data.get("description")
                row = plan_store(
                    plan=plan,
                    description=description if isinstance(description, str) else plan.task_summary,
                    project_path=project_path,
                    extra=extra,
                )
            else:
                owner = PlanAssignment.objects.filter(plan=row).values_list("project_id", flat=True).first()
                if owner is not None and owner != project.project_id:
                    raise RuleViolation(f"Plan '{plan.plan_id}' already belongs to project '{owner}'.")
            _assign(row, project, chosen, AssignmentSource.FORGE)
            path = _write_plan_file(project, _plan_file_data(row, project, chosen))
    except IntegrityError as exc:  # the same new plan approved twice at once: the other request stored it
        raise ConcurrentModification(f"Plan '{plan.plan_id}' was approved concurrently") from exc
    return row, path


def _registered_agents(language: str | None) -> tuple[set[str], dict[str, str]]:
    """Registered agent names, and per base name the agent to use (the stack's flavour when there is one)."""
    rows = list(AgentDefinition.objects.values_list("name", "base_name", "flavor").order_by("name"))
    names = {name for name, _, _ in rows}
    by_base: dict[str, str] = {}
    for name, base, flavor in rows:
        if flavor is None:
            by_base.setdefault(base, name)
    for name, base, flavor in rows:
        if language and flavor == language:
            by_base[base] = name
    return names, by_base


def forge_interview(*, data: dict[str, Any], feedback: str = "") -> list[forge.Question]:
    """Interview questions for a plan dict (nothing stored). RuleViolation (400) for an invalid plan."""
    plan = _load_plan(data, "Invalid plan")
    names, _ = _registered_agents(None)
    return forge.interview_questions(plan, feedback=feedback, known_agents=names)


def forge_regenerate(
    *,
    project_id: str,
    description: str,
    original_plan: dict[str, Any],
    answers: list[dict[str, str]],
    task_type: str | None = None,
    priority: int | None = None,
) -> dict[str, Any]:
    """The plan refined by the interview answers (nothing stored), under a new plan id. The answers are applied
    deterministically (`pmo.forge.apply_answers`); `refinements` lists what changed and `shared_context` keeps
    the answers that changed nothing. NotFound for an unknown project; RuleViolation for an invalid plan."""
    project = project_get(project_id=project_id)
    original = _load_plan(original_plan, "Invalid original_plan")
    project_path = resolve_project_path(project.path)
    stack = planner.detect_stack(str(project_path))
    names, by_base = _registered_agents(stack.language)
    existing_tester = next(
        (name for name in original.agents if name.partition("--")[0] == "test-engineer"), None
    )
    test_agent = existing_tester or by_base.get("test-engineer", "test-engineer")
    by_answer = {item["question_id"]: item["answer"] for item in answers}
    refinement = forge.apply_answers(
        original, by_answer, test_gate=test_gate(stack), test_agent=test_agent, registered_agents=by_base
    )
    plan = dataclasses.replace(
        refinement.plan,
        plan_id=new_plan_id(),
        created_at=timezone.now().isoformat(timespec="seconds"),
        task_summary=original.task_summary or description,
    )
    if task_type:
        try:
            plan = dataclasses.replace(
                plan, task_type=planner.normalise_task_type(task_type) or plan.task_type
            )
        except planner.PlanningError as exc:
            raise RuleViolation(exc.message) from exc
    chosen = _priority(priority, _priority(original_plan.get("priority"), priority_for_risk(plan.risk_level)))
    return {
        **planner.plan_to_dict(plan),
        "priority": chosen,
        "shared_context": forge.shared_context(original_plan.get("shared_context"), refinement.notes),
        "refinements": refinement.changes,
        "regenerated_from": original.plan_id,
    }


# --- Signals --------------------------------------------------------------------------------------------------


def signal_create(
    *,
    signal_id: str,
    signal_type: str,
    title: str,
    description: str = "",
    source_project_id: str = "",
    severity: str = "medium",
) -> Signal:
    """Raise a signal; it starts open. A signal id already used is a 409 (never an overwrite)."""
    if Signal.objects.filter(signal_id=signal_id).exists():
        raise ConcurrentModification(f"Signal '{signal_id}' already exists")
    try:
        with transaction.atomic():
            return Signal.objects.create(
                signal_id=signal_id,
                signal_type=signal_type,
                title=title,
                description=description,
                source_project_id=source_project_id,
                severity=severity,
                status=SignalStatus.OPEN,
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ConcurrentModification(f"Signal '{signal_id}' already exists") from exc


def _lock_signal(signal_id: str) -> Signal:
    signal = Signal.objects.select_for_update().filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"Signal '{signal_id}' not found")
    return signal


def _check_move(signal: Signal, target: str) -> None:
    if target not in SIGNAL_TRANSITIONS[signal.status]:
        raise InvalidTransition(f"Signal '{signal.signal_id}' is {signal.status}; it cannot become {target}")


def signal_resolve(*, signal_id: str) -> Signal:
    """Mark a signal resolved (open or triaged). Resolving a resolved signal again changes nothing."""
    with transaction.atomic():
        signal = _lock_signal(signal_id)
        if signal.status == SignalStatus.RESOLVED:
            return signal
        _check_move(signal, SignalStatus.RESOLVED)
        signal.status = SignalStatus.RESOLVED
        signal.resolved_at = timezone.now()
        signal.save(update_fields=["status", "resolved_at"])
    return signal


def signal_forge(*, signal_id: str, project_id: str) -> tuple[Signal, Plan, Path]:
    """Triage an open signal: plan a bug fix from it for the project, save the plan, link it to the project
    (priority from the signal's severity) and to the signal, write the project's `plan.json`, and mark the
    signal triaged, all in one transaction. NotFound for an unknown project (checked first) or signal;
    InvalidTransition (400) for a signal that is not open."""
    project = project_get(project_id=project_id)
    signal = Signal.objects.filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"Signal '{signal_id}' not found")
    _check_move(signal, SignalStatus.TRIAGED)
    description = forge.signal_description(signal.title, signal.description)
    generated, project_path = plan_generate(
        description=description, task_type="bug-fix", project_path=project.path
    )
    priority = SEVERITY_PRIORITY.get(signal.severity, 0)
    with transaction.atomic():
        signal = _lock_signal(signal_id)
        _check_move(signal, SignalStatus.TRIAGED)  # again, under the lock: a concurrent triage loses here
        row = plan_store(
            plan=generated,
            description=description,
            project_path=str(project_path),
            extra={"signal_id": signal.signal_id},
        )
        _assign(row, project, priority, AssignmentSource.SIGNAL)
        path = _write_plan_file(project, _plan_file_data(row, project, priority))
        signal.status = SignalStatus.TRIAGED
        signal.forge_task_id = row.plan_id
        signal.save(update_fields=["status", "forge_task_id"])
    return signal, row, path
