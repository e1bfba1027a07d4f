"""Plan <-> MachinePlan dict, lossless both ways, with strict validation of dicts that come from clients.

`plan_to_dict` emits every PlanResponse field (including the derived `total_steps` and `agents`) plus
`task_type`, `stack`, `complexity` and each phase's `requires_approval`. `plan_from_dict` accepts that shape,
`task_id` in place of `plan_id` and `approval_required` in place of `requires_approval` (the original's
names), ignores unknown keys and derived fields, fills optional fields with defaults, and raises PlanningError
whose `field` is the JSON path of the first problem, e.g. ``phases[1].steps[0].step_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .classify import normalise_task_type
from .models import (
    BUDGET_TIERS,
    COMPLEXITIES,
    DEFAULT_MODEL,
    RISK_LEVELS,
    Gate,
    Phase,
    Plan,
    PlanningError,
    Step,
)

_REQUIRED: Any = object()
_STEP_LIST_FIELDS = ("depends_on", "deliverables", "allowed_paths", "blocked_paths", "context_files")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The MachinePlan dict that is stored and sent: plain JSON types only."""
    return {
        "plan_id": plan.plan_id,
        "task_summary": plan.task_summary,
        "task_type": plan.task_type,
        "risk_level": plan.risk_level,
        "budget_tier": plan.budget_tier,
        "execution_mode": plan.execution_mode,
        "git_strategy": plan.git_strategy,
        "phases": [_phase_to_dict(phase) for phase in plan.phases],
        "total_steps": plan.total_steps,
        "agents": plan.agents,
        "pattern_source": plan.pattern_source,
        "created_at": plan.created_at,
        "stack": plan.stack,
        "complexity": plan.complexity,
    }


def _phase_to_dict(phase: Phase) -> dict[str, Any]:
    return {
        "phase_id": phase.phase_id,
        "name": phase.name,
        "steps": [_step_to_dict(step) for step in phase.steps],
        "gate": _gate_to_dict(phase.gate) if phase.gate is not None else None,
        "requires_approval": phase.requires_approval,
    }


def _step_to_dict(step: Step) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "agent_name": step.agent_name,
        "task_description": step.task_description,
        "model": step.model,
        "depends_on": list(step.depends_on),
        "deliverables": list(step.deliverables),
        "allowed_paths": list(step.allowed_paths),
        "blocked_paths": list(step.blocked_paths),
        "context_files": list(step.context_files),
    }


def _gate_to_dict(gate: Gate) -> dict[str, Any]:
    return {
        "gate_type": gate.gate_type,
        "command": gate.command,
        "description": gate.description,
        "fail_on": list(gate.fail_on),
    }


# --- Loading ------------------------------------------------------------------------------------------------


def plan_from_dict(data: object) -> Plan:
    """Load and validate a MachinePlan dict (see the module docstring for what is accepted)."""
    if not isinstance(data, Mapping):
        raise _error("plan", f"must be a JSON object, got {_type_name(data)}")
    key = "plan_id" if data.get("plan_id") is not None else "task_id"
    if data.get(key) is None:
        raise _error("plan_id", "is required (task_id is accepted as an alias)")
    plan_id = _string(data, key, key)
    if not plan_id.strip():
        raise _error(key, "must not be empty")

    raw_phases = data.get("phases")
    if raw_phases is None:
        raise _error("phases", "is required")
    if not isinstance(raw_phases, list):
        raise _error("phases", f"must be a list, got {_type_name(raw_phases)}")
    if not raw_phases:
        raise _error("phases", "must contain at least one phase")
    phases = [_phase_from_dict(raw, index) for index, raw in enumerate(raw_phases)]
    _check_graph(phases)

    task_type = _string(data, "task_type", "task_type", "generic")
    try:
        task_type = normalise_task_type(task_type) or "generic"
    except PlanningError as error:
        raise PlanningError("task_type", error.message) from None
    agent_count = len({step.agent_name for phase in phases for step in phase.steps})
    default_budget = "lean" if agent_count <= 2 else "standard" if agent_count <= 5 else "full"
    return Plan(
        plan_id=plan_id,
        task_summary=_string(data, "task_summary", "task_summary", ""),
        task_type=task_type,
        risk_level=_choice(data, "risk_level", RISK_LEVELS, "LOW", upper=True),
        budget_tier=_choice(data, "budget_tier", BUDGET_TIERS, default_budget),
        execution_mode=_string(data, "execution_mode", "execution_mode", "phased"),
        git_strategy=_string(data, "git_strategy", "git_strategy", "commit-per-agent"),
        phases=phases,
        pattern_source=_optional_string(data, "pattern_source", "pattern_source"),
        created_at=_string(data, "created_at", "created_at", ""),
        stack=_optional_string(data, "stack", "stack"),
        complexity=_choice(data, "complexity", COMPLEXITIES, "medium"),
    )


def _phase_from_dict(raw: object, index: int) -> Phase:
    path = f"phases[{index}]"
    if not isinstance(raw, Mapping):
        raise _error(path, f"must be an object, got {_type_name(raw)}")
    phase_id = raw.get("phase_id", index)
    if isinstance(phase_id, bool) or not isinstance(phase_id, int):
        raise _error(f"{path}.phase_id", f"must be an integer, got {_type_name(phase_id)}")
    if phase_id < 0:
        raise _error(f"{path}.phase_id", "must not be negative")
    name = _string(raw, "name", f"{path}.name", f"Phase {phase_id}")
    raw_steps = raw.get("steps")
    if raw_steps is None:
        raise _error(f"{path}.steps", "is required")
    if not isinstance(raw_steps, list):
        raise _error(f"{path}.steps", f"must be a list, got {_type_name(raw_steps)}")
    if not raw_steps:
        raise _error(f"{path}.steps", "must contain at least one step")
    steps = [
        _step_from_dict(step, f"{path}.steps[{position}]", phase_id, position)
        for position, step in enumerate(raw_steps)
    ]
    raw_gate = raw.get("gate")
    gate = None if raw_gate is None else _gate_from_dict(raw_gate, f"{path}.gate")
    approval_key = "requires_approval" if "requires_approval" in raw else "approval_required"
    requires_approval = raw.get(approval_key, False)
    if requires_approval is None:
        requires_approval = False
    if not isinstance(requires_approval, bool):
        raise _error(f"{path}.{approval_key}", f"must be true or false, got {_type_name(requires_approval)}")
    return Phase(phase_id=phase_id, name=name, steps=steps, gate=gate, requires_approval=requires_approval)


def _step_from_dict(raw: object, path: str, phase_id: int, position: int) -> Step:
    if not isinstance(raw, Mapping):
        raise _error(path, f"must be an object, got {_type_name(raw)}")
    agent_name = _string(raw, "agent_name", f"{path}.agent_name")
    if not agent_name.strip():
        raise _error(f"{path}.agent_name", "must not be empty")
    step_id = _string(raw, "step_id", f"{path}.step_id", f"{phase_id}.{position}")
    if not step_id.strip():
        raise _error(f"{path}.step_id", "must not be empty")
    lists = {name: _string_list(raw, name, f"{path}.{name}") for name in _STEP_LIST_FIELDS}
    model = _string(raw, "model", f"{path}.model", DEFAULT_MODEL) or DEFAULT_MODEL
    return Step(
        step_id=step_id,
        agent_name=agent_name,
        task_description=_string(raw, "task_description", f"{path}.task_description", ""),
        model=model,
        **lists,
    )


def _gate_from_dict(raw: object, path: str) -> Gate:
    if not isinstance(raw, Mapping):
        raise _error(path, f"must be an object or null, got {_type_name(raw)}")
    key = "gate_type" if "gate_type" in raw else "type"
    gate_type = _string(raw, key, f"{path}.gate_type")
    if not gate_type.strip():
        raise _error(f"{path}.gate_type", "must not be empty")
    return Gate(
        gate_type=gate_type,
        command=_string(raw, "command", f"{path}.command", ""),
        description=_string(raw, "description", f"{path}.description", ""),
        fail_on=_string_list(raw, "fail_on", f"{path}.fail_on"),
    )


def _check_graph(phases: list[Phase]) -> None:
    """Unique phase and step ids; every dependency names a step that comes earlier (same or earlier phase)."""
    seen_phase_ids: dict[int, int] = {}
    positions: dict[str, tuple[int, int]] = {}
    for phase_index, phase in enumerate(phases):
        if phase.phase_id in seen_phase_ids:
            first = seen_phase_ids[phase.phase_id]
            raise _error(
                f"phases[{phase_index}].phase_id",
                f"{phase.phase_id} is used twice (also by phases[{first}])",
            )
        seen_phase_ids[phase.phase_id] = phase_index
        for step_index, step in enumerate(phase.steps):
            if step.step_id in positions:
                first_phase, first_step = positions[step.step_id]
                raise _error(
                    f"phases[{phase_index}].steps[{step_index}].step_id",
                    f"{step.step_id!r} is used twice (also by phases[{first_phase}].steps[{first_step}])",
                )
            positions[step.step_id] = (phase_index, step_index)
    for phase_index, phase in enumerate(phases):
        for step_index, step in enumerate(phase.steps):
            for dep_index, dependency in enumerate(step.depends_on):
                path = f"phases[{phase_index}].steps[{step_index}].depends_on[{dep_index}]"
                if dependency not in positions:
                    raise _error(path, f"names unknown step {dependency!r}")
                dep_phase, dep_step = positions[dependency]
                if dep_phase > phase_index:
                    raise _error(
                        path, f"names step {dependency!r}, which is in a later phase (phases[{dep_phase}])"
                    )
                if dep_phase == phase_index and dep_step >= step_index:
                    raise _error(
                        path, f"names step {dependency!r}, which does not come before step {step.step_id!r}"
                    )


# --- Field helpers ------------------------------------------------------------------------------------------


def _error(path: str, problem: str) -> PlanningError:
    """PlanningError with the JSON path as `field` and a message naming the key ("step_id is used twice")."""
    return PlanningError(path, f"{_leaf(path)} {problem}")


def _leaf(path: str) -> str:
    last = path.rsplit(".", 1)[-1]
    if last.endswith("]"):
        name = last.split("[", 1)[0]
        return {"phases": "phase", "steps": "step"}.get(name, f"{name} entry")
    return last


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _string(data: Mapping[str, Any], key: str, path: str, default: Any = _REQUIRED) -> str:
    value = data.get(key)
    if value is None:
        if default is _REQUIRED:
            raise _error(path, "is required")
        return str(default)
    if not isinstance(value, str):
        raise _error(path, f"must be a string, got {_type_name(value)}")
    return value


def _optional_string(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _error(path, f"must be a string or null, got {_type_name(value)}")
    return value


def _string_list(data: Mapping[str, Any], key: str, path: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _error(path, f"must be a list of strings, got {_type_name(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _error(f"{path}[{index}]", f"must be a string, got {_type_name(item)}")
    return list(value)


def _choice(
    data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str, *, upper: bool = False
) -> str:
    value = _string(data, key, key, default)
    normalised = value.strip().upper() if upper else value.strip().lower()
    if normalised not in allowed:
        raise _error(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return normalised
