"""plan_to_dict / plan_from_dict: lossless round trips and strict, path-precise validation."""

from __future__ import annotations

import copy
import json

import pytest

from plans.planner import (
    AgentInfo,
    Gate,
    Phase,
    Plan,
    PlanningError,
    PlanRequest,
    Stack,
    Step,
    make_plan,
    plan_from_dict,
    plan_to_dict,
)

PLAN_RESPONSE_FIELDS = {
    "plan_id",
    "task_summary",
    "risk_level",
    "budget_tier",
    "execution_mode",
    "git_strategy",
    "phases",
    "total_steps",
    "agents",
    "pattern_source",
    "created_at",
}
STEP_FIELDS = {
    "step_id",
    "agent_name",
    "task_description",
    "model",
    "depends_on",
    "deliverables",
    "allowed_paths",
    "blocked_paths",
    "context_files",
}
PYTHON = Stack(
    language="python", framework="django", test_command="pytest", build_command="python manage.py check"
)
REGISTRY = [
    AgentInfo.from_name(name, category=category, model=model)
    for name, category, model in (
        ("architect", "Architecture", "opus"),
        ("backend-engineer--python", "Engineering", "sonnet"),
        ("test-engineer--python", "Quality", "sonnet"),
        ("code-reviewer", "Quality", "sonnet"),
        ("security-reviewer", "Security", "opus"),
        ("auditor", "Security", "opus"),
        ("data-engineer", "Data", "sonnet"),
        ("subject-matter-expert", "Management", "opus"),
    )
]


def make(description: str) -> Plan:
    return make_plan(
        PlanRequest(description=description),
        REGISTRY,
        plan_id="task-0123abcd",
        created_at="2026-03-24T10:00:00+00:00",
        stack=PYTHON,
    )


def valid_dict() -> dict:
    """A small hand-written MachinePlan: two phases, an in-phase dependency and a gate."""
    return {
        "plan_id": "task-abc123",
        "task_summary": "Add user authentication with JWT tokens",
        "task_type": "new-feature",
        "risk_level": "HIGH",
        "budget_tier": "standard",
        "execution_mode": "phased",
        "git_strategy": "branch-per-phase",
        "phases": [
            {
                "phase_id": 0,
                "name": "Implementation",
                "steps": [
                    {
                        "step_id": "0.0",
                        "agent_name": "backend-engineer--python",
                        "task_description": "Implement",
                    },
                    {"step_id": "0.1", "agent_name": "test-engineer--python", "depends_on": ["0.0"]},
                ],
                "gate": {"gate_type": "test", "command": "pytest tests/", "fail_on": ["test failures"]},
                "requires_approval": True,
            },
            {"phase_id": 1, "name": "Review", "steps": [{"step_id": "1.0", "agent_name": "code-reviewer"}]},
        ],
        "pattern_source": None,
        "created_at": "2026-03-24T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    "description",
    [
        "Add a CSV export endpoint for invoices",
        "Fix the login bug where users get a 500 error",
        "Migrate the orders table to the new schema and drop the legacy price column in production",
        "Store patient records with GDPR and HIPAA compliance",
    ],
)
def test_round_trip_is_lossless(description):
    plan = make(description)
    data = plan_to_dict(plan)
    assert plan_from_dict(data) == plan
    # ... and survives JSON, which is how it is stored and sent.
    assert plan_from_dict(json.loads(json.dumps(data))) == plan


def test_dict_has_every_plan_response_field_plus_machine_fields():
    data = plan_to_dict(make("Add OAuth login with Google"))
    assert set(data) == PLAN_RESPONSE_FIELDS | {"task_type", "stack", "complexity"}
    assert data["total_steps"] == sum(len(phase["steps"]) for phase in data["phases"])
    assert data["agents"] == list(dict.fromkeys(s["agent_name"] for p in data["phases"] for s in p["steps"]))
    assert data["stack"] == "python/django"
    for phase in data["phases"]:
        assert set(phase) == {"phase_id", "name", "steps", "gate", "requires_approval"}
        for step in phase["steps"]:
            assert set(step) == STEP_FIELDS
    assert data["phases"][0]["requires_approval"] is True


def test_contract_example_loads():
    plan = plan_from_dict(valid_dict())
    assert plan.plan_id == "task-abc123"
    assert plan.phases[0].gate == Gate("test", "pytest tests/", "", ["test failures"])
    assert plan.phases[0].steps[1].depends_on == ["0.0"]
    assert plan.phases[0].requires_approval
    assert plan.total_steps == 3
    assert plan.agents == ["backend-engineer--python", "test-engineer--python", "code-reviewer"]


def test_aliases_from_the_original_are_accepted():
    data = valid_dict()
    data["task_id"] = data.pop("plan_id")
    data["phases"][0]["approval_required"] = data["phases"][0].pop("requires_approval")
    data["phases"][0]["gate"]["type"] = data["phases"][0]["gate"].pop("gate_type")
    data["task_type"] = "feature"
    plan = plan_from_dict(data)
    assert plan.plan_id == "task-abc123"
    assert plan.phases[0].requires_approval
    assert plan.phases[0].gate is not None
    assert plan.phases[0].gate.gate_type == "test"
    assert plan.task_type == "new-feature"


def test_missing_optional_fields_get_defaults():
    plan = plan_from_dict({"task_id": "t-1", "phases": [{"steps": [{"agent_name": "backend-engineer"}]}]})
    assert plan == Plan(
        plan_id="t-1",
        task_summary="",
        task_type="generic",
        risk_level="LOW",
        budget_tier="lean",
        execution_mode="phased",
        git_strategy="commit-per-agent",
        phases=[Phase(0, "Phase 0", [Step("0.0", "backend-engineer", "", "sonnet")], None, False)],
        pattern_source=None,
        created_at="",
        stack=None,
        complexity="medium",
    )


def test_derived_and_unknown_keys_are_ignored():
    data = valid_dict()
    data["total_steps"] = 99
    data["agents"] = ["nobody"]
    data["plan_diagnostics"] = {"x": 1}
    assert plan_from_dict(data).total_steps == 3


def test_risk_level_is_case_insensitive():
    data = valid_dict()
    data["risk_level"] = "high"
    assert plan_from_dict(data).risk_level == "HIGH"


def _set(path, value):
    """A mutation of valid_dict(): set `value` at the key path (a list of keys and indexes)."""

    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data

    return mutate


def _delete(path):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return data

    return mutate


INVALID = [
    ("not a dict", lambda data: [data], "plan", "plan must be a JSON object, got list"),
    ("no plan id", _delete(["plan_id"]), "plan_id", "plan_id is required"),
    ("empty plan id", _set(["plan_id"], " "), "plan_id", "plan_id must not be empty"),
    ("numeric plan id", _set(["plan_id"], 7), "plan_id", "plan_id must be a string, got number"),
    ("no phases", _delete(["phases"]), "phases", "phases is required"),
    ("phases not a list", _set(["phases"], {"0": {}}), "phases", "phases must be a list, got object"),
    ("empty phases", _set(["phases"], []), "phases", "phases must contain at least one phase"),
    (
        "phase not an object",
        _set(["phases", 1], "Review"),
        "phases[1]",
        "phase must be an object, got string",
    ),
    (
        "string phase id",
        _set(["phases", 1, "phase_id"], "1"),
        "phases[1].phase_id",
        "must be an integer, got string",
    ),
    ("boolean phase id", _set(["phases", 0, "phase_id"], True), "phases[0].phase_id", "got boolean"),
    ("float phase id", _set(["phases", 0, "phase_id"], 0.5), "phases[0].phase_id", "got number"),
    ("negative phase id", _set(["phases", 0, "phase_id"], -1), "phases[0].phase_id", "must not be negative"),
    ("duplicate phase id", _set(["phases", 1, "phase_id"], 0), "phases[1].phase_id", "0 is used twice"),
    ("no steps", _delete(["phases", 1, "steps"]), "phases[1].steps", "steps is required"),
    ("empty steps", _set(["phases", 1, "steps"], []), "phases[1].steps", "must contain at least one step"),
    (
        "step not an object",
        _set(["phases", 0, "steps", 0], "x"),
        "phases[0].steps[0]",
        "step must be an object",
    ),
    (
        "step without agent",
        _delete(["phases", 1, "steps", 0, "agent_name"]),
        "phases[1].steps[0].agent_name",
        "agent_name is required",
    ),
    (
        "empty agent",
        _set(["phases", 1, "steps", 0, "agent_name"], ""),
        "phases[1].steps[0].agent_name",
        "agent_name must not be empty",
    ),
    (
        "agent not a string",
        _set(["phases", 1, "steps", 0, "agent_name"], ["code-reviewer"]),
        "phases[1].steps[0].agent_name",
        "agent_name must be a string, got list",
    ),
    (
        "duplicate step id",
        _set(["phases", 1, "steps", 0, "step_id"], "0.0"),
        "phases[1].steps[0].step_id",
        "'0.0' is used twice (also by phases[0].steps[0])",
    ),
    (
        "unknown dependency",
        _set(["phases", 0, "steps", 1, "depends_on"], ["9.9"]),
        "phases[0].steps[1].depends_on[0]",
        "names unknown step '9.9'",
    ),
    (
        "dependency in a later phase",
        _set(["phases", 0, "steps", 1, "depends_on"], ["1.0"]),
        "phases[0].steps[1].depends_on[0]",
        "which is in a later phase (phases[1])",
    ),
    (
        "dependency on a later step of the same phase",
        _set(["phases", 0, "steps", 0, "depends_on"], ["0.1"]),
        "phases[0].steps[0].depends_on[0]",
        "which does not come before step '0.0'",
    ),
    (
        "self dependency",
        _set(["phases", 0, "steps", 1, "depends_on"], ["0.1"]),
        "phases[0].steps[1].depends_on[0]",
        "does not come before",
    ),
    (
        "depends_on not a list",
        _set(["phases", 0, "steps", 1, "depends_on"], "0.0"),
        "phases[0].steps[1].depends_on",
        "depends_on must be a list of strings, got string",
    ),
    (
        "depends_on entry not a string",
        _set(["phases", 0, "steps", 1, "depends_on"], [0]),
        "phases[0].steps[1].depends_on[0]",
        "depends_on entry must be a string, got number",
    ),
    (
        "deliverables not a list",
        _set(["phases", 0, "steps", 0, "deliverables"], "auth/jwt.py"),
        "phases[0].steps[0].deliverables",
        "must be a list of strings",
    ),
    (
        "task description not a string",
        _set(["phases", 0, "steps", 0, "task_description"], 3),
        "phases[0].steps[0].task_description",
        "must be a string",
    ),
    (
        "gate not an object",
        _set(["phases", 0, "gate"], "pytest"),
        "phases[0].gate",
        "gate must be an object or null",
    ),
    (
        "gate without type",
        _delete(["phases", 0, "gate", "gate_type"]),
        "phases[0].gate.gate_type",
        "gate_type is required",
    ),
    (
        "gate fail_on not a list",
        _set(["phases", 0, "gate", "fail_on"], "test failures"),
        "phases[0].gate.fail_on",
        "must be a list of strings",
    ),
    (
        "approval not a boolean",
        _set(["phases", 0, "requires_approval"], "yes"),
        "phases[0].requires_approval",
        "must be true or false, got string",
    ),
    (
        "unknown risk level",
        _set(["risk_level"], "SEVERE"),
        "risk_level",
        "must be one of LOW, MEDIUM, HIGH, CRITICAL",
    ),
    (
        "unknown budget tier",
        _set(["budget_tier"], "huge"),
        "budget_tier",
        "must be one of lean, standard, full",
    ),
    ("unknown complexity", _set(["complexity"], "epic"), "complexity", "must be one of light, medium, heavy"),
    ("unknown task type", _set(["task_type"], "epic"), "task_type", "unknown task_type 'epic'"),
    (
        "pattern source not a string",
        _set(["pattern_source"], 1),
        "pattern_source",
        "must be a string or null",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "message"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_dicts_name_the_problem(mutate, field, message):
    data = mutate(copy.deepcopy(valid_dict()))
    with pytest.raises(PlanningError) as error:
        plan_from_dict(data)
    assert error.value.field == field
    assert message in error.value.message
    assert str(error.value) == error.value.message


def test_generated_plans_always_validate():
    for description in (
        "Fix the crash when saving an empty profile form",
        "Migrate payment records to a new ledger",
    ):
        data = plan_to_dict(make(description))
        assert plan_from_dict(copy.deepcopy(data)) == plan_from_dict(data)
