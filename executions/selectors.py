"""Reads of executions: the contract's ExecutionResponse, lists, traces, usage and the dashboard figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, QuerySet, Sum, prefetch_related_objects

from baton_site.errors import NotFound
from executions import engine
from executions.models import (
    ACTIVE_STATUSES,
    AgentUsage,
    Event,
    Execution,
    GateResult,
    StepResult,
    UsageRecord,
)

FINISHED_STEP_STATUSES = ("complete", "failed", "skipped")


def execution_get(*, task_id: str) -> Execution:
    execution = Execution.objects.select_related("plan").filter(task_id=task_id).first()
    if execution is None:
        raise NotFound(f"Execution '{task_id}' not found")
    return execution


def execution_list(*, status: str | None = None) -> QuerySet[Execution]:
    executions = Execution.objects.select_related("plan").order_by("-started_at", "-id")
    if status:
        executions = executions.filter(status=status)
    return executions


def active_execution_count() -> int:
    return Execution.objects.filter(status__in=ACTIVE_STATUSES).count()


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def step_result_dict(row: StepResult) -> dict[str, Any]:
    return {
        "step_id": row.step_id,
        "agent_name": row.agent_name,
        "status": row.status,
        "output_summary": row.output_summary,
        "tokens": row.tokens,
        "duration_ms": row.duration_ms,
        "attempts": row.attempts,
        "error": row.error,
        "completed_at": _iso(row.completed_at),
    }


def gate_result_dict(row: GateResult) -> dict[str, Any]:
    return {
        "phase_id": row.phase_id,
        "gate_type": row.gate_type,
        "result": row.result,
        "notes": row.notes,
        "recorded_at": _iso(row.recorded_at),
    }


def execution_summary_dict(execution: Execution) -> dict[str, Any]:
    """The counters of ExecutionResponse, without the result lists."""
    state_remaining = execution.total_steps - (
        execution.steps_completed + execution.steps_failed + execution.steps_skipped + execution.steps_running
    )
    return {
        "task_id": execution.task_id,
        "status": execution.status,
        "current_phase": execution.current_phase,
        "steps_completed": execution.steps_completed,
        "steps_remaining": max(0, state_remaining),
        "steps_failed": execution.steps_failed,
        "gates_passed": execution.gates_passed,
        "pending_decisions": execution.pending_decisions,
        "plan_id": execution.plan.plan_id,
        "outcome": execution.outcome,
        "started_at": _iso(execution.started_at),
        "completed_at": _iso(execution.completed_at),
    }


def execution_dict(execution: Execution, *, just_started: bool = False) -> dict[str, Any]:
    """ExecutionResponse: counters plus the results of finished steps and every gate run (three queries).

    `just_started`: the execution was created by the caller's request, so no step has finished and no gate has run
    yet (no queries)."""
    if just_started:
        return {
            **execution_summary_dict(execution),
            "current_step_index": 0,
            "step_results": [],
            "gate_results": [],
        }
    steps = list(
        StepResult.objects.filter(execution=execution, status__in=FINISHED_STEP_STATUSES).order_by(
            "phase_id", "id"
        )
    )
    current_phase_steps = StepResult.objects.filter(
        execution=execution, phase_id=_current_phase_id(execution)
    )
    finished_in_phase = current_phase_steps.filter(status__in=("complete", "skipped")).count()
    body = execution_summary_dict(execution)
    body.update(
        {
            "current_step_index": finished_in_phase,
            "step_results": [step_result_dict(row) for row in steps],
            "gate_results": [
                gate_result_dict(row) for row in execution.gate_results.order_by("recorded_at", "id")
            ],
        }
    )
    return body


def _current_phase_id(execution: Execution) -> int:
    phase_ids = list(execution.plan.phases.order_by("phase_id").values_list("phase_id", flat=True))
    return phase_ids[min(execution.current_phase, len(phase_ids) - 1)] if phase_ids else 0


# --- Traces ---------------------------------------------------------------------------------------------------

_TRACE_TYPES = {
    engine.STEP_DISPATCHED: "agent_start",
    engine.STEP_COMPLETED: "agent_complete",
    engine.STEP_FAILED: "agent_failed",
    engine.GATE_REQUIRED: "gate_required",
    engine.GATE_PASSED: "gate_check",
    engine.GATE_FAILED: "gate_check",
    engine.PHASE_STARTED: "phase_start",
    engine.PHASE_COMPLETED: "phase_complete",
    engine.HUMAN_DECISION_NEEDED: "decision_needed",
    engine.HUMAN_DECISION_RESOLVED: "decision_resolved",
    engine.TASK_STARTED: "task_start",
    engine.TASK_COMPLETED: "task_complete",
    engine.TASK_FAILED: "task_failed",
}


def _step_position(step_id: Any) -> tuple[int, int]:
    if isinstance(step_id, str) and "." in step_id:
        phase, _, step = step_id.partition(".")
        if phase.isdigit() and step.isdigit():
            return int(phase), int(step)
    return -1, -1


def trace_get(*, task_id: str) -> dict[str, Any]:
    """The execution trace built from the event log (404 when the task has no events)."""
    events = list(Event.objects.filter(task_id=task_id).order_by("sequence"))
    if not events:
        raise NotFound(f"No trace found for task '{task_id}'")
    execution = Execution.objects.select_related("plan").filter(task_id=task_id).first()
    plan_snapshot: dict[str, Any] = {}
    if execution is not None:
        from plans.selectors import plan_get, plan_to_dict

        plan_snapshot = plan_to_dict(plan_get(plan_id=execution.plan.plan_id))
    trace_events = []
    for event in events:
        payload = event.payload or {}
        phase, step = _step_position(payload.get("step_id"))
        if phase < 0 and isinstance(payload.get("phase_id"), int):
            phase = payload["phase_id"]
        duration_ms = payload.get("duration_ms")
        trace_events.append(
            {
                "timestamp": _iso(event.timestamp),
                "event_type": _TRACE_TYPES.get(event.topic, event.topic),
                "agent_name": payload.get("agent") or payload.get("agent_name"),
                "phase": max(phase, 0),
                "step": max(step, 0),
                "details": {"topic": event.topic, "sequence": event.sequence, **payload},
                "duration_seconds": round(duration_ms / 1000, 3)
                if isinstance(duration_ms, int | float)
                else None,
            }
        )
    return {
        "task_id": task_id,
        "plan_snapshot": plan_snapshot,
        "events": trace_events,
        "started_at": _iso(execution.started_at if execution else events[0].timestamp),
        "completed_at": _iso(execution.completed_at) if execution and execution.completed_at else None,
        "outcome": execution.outcome if execution else None,
    }


# --- Usage ----------------------------------------------------------------------------------------------------


def usage_query(*, since: datetime | None = None, agent: str | None = None) -> QuerySet[UsageRecord]:
    """Usage records filtered in the database (indexes on timestamp and on agent name)."""
    records = UsageRecord.objects.order_by("-timestamp", "-id")
    if since is not None:
        records = records.filter(timestamp__gte=since)
    if agent:
        records = records.filter(pk__in=AgentUsage.objects.filter(agent_name=agent).values("usage_id"))
    return records


def usage_page(
    *, since: datetime | None = None, agent: str | None = None, limit: int = 100
) -> list[UsageRecord]:
    """The newest matching usage records. With `agent`, walks the (agent_name, -timestamp) index of the per-agent
    rows instead of sorting every matching task."""
    if not agent:
        return list(usage_query(since=since)[:limit])
    rows = AgentUsage.objects.filter(agent_name=agent)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    ids = list(rows.order_by("-timestamp", "-usage_id").values_list("usage_id", flat=True)[:limit])
    by_id = {record.pk: record for record in UsageRecord.objects.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def usage_summary(records: QuerySet[UsageRecord]) -> dict[str, Any]:
    """Totals and outcome counts in one grouped query (one pass over the matching rows)."""
    groups = (
        records.order_by()
        .values("outcome")
        .annotate(tasks=Count("id"), tokens=Sum("total_tokens"), agents=Sum("total_agents"))
    )
    return _summary(groups)


def usage_summary_of_agent(*, agent: str, since: datetime | None = None) -> dict[str, Any]:
    """`usage_summary` of the tasks that used `agent`, read from the agent's rows alone: each carries its task's
    outcome and totals, and one covering index holds them in (agent, outcome) order, so no task record is read.
    """
    rows = AgentUsage.objects.filter(agent_name=agent)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    groups = (
        rows.order_by()
        .values("outcome")
        .annotate(tasks=Count("*"), tokens=Sum("task_tokens"), agents=Sum("task_agents"))
    )
    return _summary(groups)


def _summary(groups: Iterable[dict[str, Any]]) -> dict[str, Any]:
    summary = {"total_tasks": 0, "total_tokens": 0, "total_agents": 0, "outcome_counts": {}}
    for group in groups:
        summary["total_tasks"] += group["tasks"]
        summary["total_tokens"] += group["tokens"] or 0
        summary["total_agents"] += group["agents"] or 0
        summary["outcome_counts"][group["outcome"]] = group["tasks"]
    return summary


def usage_records(records: list[UsageRecord]) -> list[dict[str, Any]]:
    rows = list(records)
    prefetch_related_objects(
        rows, Prefetch("agents_used", queryset=AgentUsage.objects.order_by("agent_name"))
    )
    return [
        {
            "task_id": row.task_id,
            "timestamp": _iso(row.timestamp),
            "agents_used": [
                {
                    "name": agent.agent_name,
                    "model": agent.model,
                    "steps": agent.steps,
                    "retries": agent.retries,
                    "gate_results": agent.gate_results,
                    "estimated_tokens": agent.estimated_tokens,
                    "duration_seconds": agent.duration_seconds,
                }
                for agent in row.agents_used.all()
            ],
            "total_agents": row.total_agents,
            "risk_level": row.risk_level,
            "sequencing_mode": row.sequencing_mode,
            "gates_passed": row.gates_passed,
            "gates_failed": row.gates_failed,
            "outcome": row.outcome,
        }
        for row in rows
    ]


# --- Dashboard ------------------------------------------------------------------------------------------------


def dashboard_metrics(recent: int = 10) -> dict[str, Any]:
    """The observe figures as structured data (a fixed number of aggregate queries)."""
    records = UsageRecord.objects.all()
    summary = usage_summary(records)
    by_agent = list(
        AgentUsage.objects.values("agent_name")
        .annotate(
            tasks=Count("usage", distinct=True),
            steps=Sum("steps"),
            tokens=Sum("estimated_tokens"),
            retries=Sum("retries"),
        )
        .order_by("-tokens", "agent_name")
    )
    gates = records.aggregate(passed=Sum("gates_passed"), failed=Sum("gates_failed"))
    passed, failed = gates["passed"] or 0, gates["failed"] or 0
    statuses = dict(
        Execution.objects.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    recent_rows = list(
        records.order_by("-timestamp", "-id")[:recent].values(
            "task_id", "timestamp", "outcome", "total_agents", "total_tokens", "risk_level"
        )
    )
    return {
        **summary,
        "executions_by_status": statuses,
        "gates_passed": passed,
        "gates_failed": failed,
        "gate_pass_rate": round(passed / (passed + failed) * 100, 1) if passed + failed else None,
        "agents": [
            {
                "agent_name": row["agent_name"],
                "tasks": row["tasks"],
                "steps": row["steps"] or 0,
                "tokens": row["tokens"] or 0,
                "retries": row["retries"] or 0,
            }
            for row in by_agent
        ],
        "recent_tasks": [{**row, "timestamp": _iso(row["timestamp"])} for row in recent_rows],
    }


def dashboard_markdown(metrics: dict[str, Any]) -> str:
    lines = ["# Baton usage dashboard", ""]
    lines += [
        "## Totals",
        "",
        "| Tasks | Tokens | Agent uses | Gates passed | Gates failed | Gate pass rate |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {metrics['total_tasks']} | {metrics['total_tokens']} | {metrics['total_agents']} | "
        f"{metrics['gates_passed']} | {metrics['gates_failed']} | "
        f"{'n/a' if metrics['gate_pass_rate'] is None else str(metrics['gate_pass_rate']) + '%'} |",
        "",
        "## Outcomes",
        "",
    ]
    if metrics["outcome_counts"]:
        lines += ["| Outcome | Tasks |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in sorted(metrics["outcome_counts"].items())]
    else:
        lines.append("No finished tasks yet.")
    lines += ["", "## Agents", ""]
    if metrics["agents"]:
        lines += ["| Agent | Tasks | Steps | Tokens | Retries |", "|---|---:|---:|---:|---:|"]
        lines += [
            f"| {row['agent_name']} | {row['tasks']} | {row['steps']} | {row['tokens']} | {row['retries']} |"
            for row in metrics["agents"]
        ]
    else:
        lines.append("No agent usage recorded yet.")
    lines += ["", "## Recent tasks", ""]
    if metrics["recent_tasks"]:
        lines += ["| Task | Finished | Outcome | Agents | Tokens | Risk |", "|---|---|---|---:|---:|---|"]
        lines += [
            f"| {row['task_id']} | {row['timestamp']} | {row['outcome']} | {row['total_agents']} | "
            f"{row['total_tokens']} | {row['risk_level']} |"
            for row in metrics["recent_tasks"]
        ]
    else:
        lines.append("No tasks yet.")
    return "\n".join(lines) + "\n"
