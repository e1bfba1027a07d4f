"""Inline plan dicts (the contract's MachinePlan shape) for execution tests."""

from __future__ import annotations

import itertools
from typing import Any

_counter = itertools.count(1)


def inline_plan(
    phases: list[list[dict[str, Any]]],
    *,
    risk_level: str = "LOW",
    gates: list[bool] | None = None,
    approvals: list[bool] | None = None,
    plan_id: str | None = None,
) -> dict[str, Any]:
    """A plan whose phase i has the given steps (dicts with optional agent/depends_on); ids are "i.j"."""
    number = next(_counter)
    body_phases = []
    for index, steps in enumerate(phases):
        has_gate = True if gates is None else gates[index]
        body_phases.append(
            {
                "phase_id": index,
                "name": f"Phase {index}",
                "steps": [
                    {
                        "step_id": f"{index}.{position}",
                        "agent_name": step.get("agent", "backend-engineer--python"),
                        "task_description": step.get("task", f"Do part {position} of phase {index}"),
                        "model": "sonnet",
                        "depends_on": step.get("depends_on", []),
                        "deliverables": [],
                        "allowed_paths": [],
                        "blocked_paths": [],
                        "context_files": [],
                    }
                    for position, step in enumerate(steps)
                ],
                "gate": {"gate_type": "test", "command": "pytest", "description": "Run tests", "fail_on": []}
                if has_gate
                else None,
                "requires_approval": bool(approvals and approvals[index]),
            }
        )
    return {
        "plan_id": plan_id or f"task-test{number:06d}",
        "task_summary": f"Test plan {number}",
        "task_type": "new-feature",
        "risk_level": risk_level,
        "budget_tier": "standard",
        "execution_mode": "phased",
        "git_strategy": "commit-per-agent",
        "phases": body_phases,
        "pattern_source": None,
        "created_at": "2026-11-26T10:00:00+00:00",
    }


def start(api, plan: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/executions", {"plan": plan}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def record(
    api,
    task_id: str,
    step_id: str,
    status: str = "complete",
    agent: str = "backend-engineer--python",
    **extra,
):
    return api.post(
        f"/api/v1/executions/{task_id}/record",
        {"step_id": step_id, "agent": agent, "status": status, **extra},
        format="json",
    )


def gate(api, task_id: str, phase_id: int, result: str = "pass", notes: str = ""):
    return api.post(
        f"/api/v1/executions/{task_id}/gate",
        {"phase_id": phase_id, "result": result, "notes": notes},
        format="json",
    )


def dispatched_step_ids(actions: list[dict[str, Any]]) -> list[str]:
    ids = []
    for action in actions:
        if action["action_type"] == "dispatch":
            ids.append(action["step_id"])
            ids.extend(item["step_id"] for item in action["parallel_actions"])
    return ids
