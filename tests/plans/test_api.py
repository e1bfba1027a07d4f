"""POST/GET /api/v1/plans through HTTP, with the real planner and the shipped registry."""

from __future__ import annotations

import pytest

from plans.models import Plan
from plans.selectors import plan_get
from plans.services import plan_record_outcome

pytestmark = pytest.mark.django_db

PLAN_FIELDS = {
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


@pytest.fixture
def python_project(tmp_path):
    project = tmp_path / "shop"
    (project / "src" / "shop").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\ndependencies = ["django"]\n')
    (project / "manage.py").write_text("")
    (project / "README.md").write_text("# shop\n")
    return project


def create(api, **body):
    return api.post("/api/v1/plans", body, format="json")


def test_create_returns_201_with_every_plan_response_field(api, registry, python_project):
    response = create(
        api, description="Add a CSV export endpoint for invoices", project_path=str(python_project)
    )
    assert response.status_code == 201
    plan = response.json()
    assert set(plan) >= PLAN_FIELDS
    assert plan["plan_id"].startswith("task-")
    assert plan["task_summary"]
    assert plan["risk_level"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert plan["budget_tier"] in {"lean", "standard", "full"}
    assert plan["execution_mode"] == "phased"
    assert plan["total_steps"] == sum(len(phase["steps"]) for phase in plan["phases"]) > 0
    assert plan["pattern_source"] is None
    assert plan["created_at"].endswith("+00:00")
    assert [phase["phase_id"] for phase in plan["phases"]] == list(range(len(plan["phases"])))
    used = []
    for phase in plan["phases"]:
        for index, step in enumerate(phase["steps"]):
            assert set(step) >= STEP_FIELDS
            assert step["step_id"] == f"{phase['phase_id']}.{index}"
            used.append(step["agent_name"])
    assert plan["agents"] == list(dict.fromkeys(used))
    assert "backend-engineer--python" in plan["agents"]
    assert any(phase["gate"] and "pytest" in phase["gate"]["command"] for phase in plan["phases"])
    assert Plan.objects.filter(plan_id=plan["plan_id"]).exists()


def test_get_returns_the_same_plan(api, registry, python_project):
    created = create(
        api, description="Fix the crash when a cart is empty", project_path=str(python_project)
    ).json()
    response = api.get(f"/api/v1/plans/{created['plan_id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_get_unknown_plan_is_404(api, registry):
    response = api.get("/api/v1/plans/task-doesnotexist")
    assert response.status_code == 404
    assert "task-doesnotexist" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc", "error_type"),
    [
        ({"description": ""}, ["body", "description"], "string_too_short"),
        ({"description": "   "}, ["body", "description"], "string_too_short"),
        ({}, ["body", "description"], "missing"),
        ({"description": "x", "agents": "architect"}, ["body", "agents"], "list_type"),
        ({"description": "x", "agents": ["architect", {}]}, ["body", "agents", 1], "invalid"),
    ],
)
def test_invalid_bodies_get_the_contract_422(api, registry, body, loc, error_type):
    response = create(api, **body)
    assert response.status_code == 422
    items = response.json()["detail"]
    assert all(set(item) == {"loc", "msg", "type"} for item in items)
    assert any(item["loc"] == loc and item["type"] == error_type and item["msg"] for item in items), items
    assert Plan.objects.count() == 0


def test_malformed_json_is_422(api, registry):
    response = api.generic("POST", "/api/v1/plans", "{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_unknown_agent_in_override_is_400_naming_it(api, registry):
    response = create(api, description="Add search", agents=["architect", "wizard-of-oz", "ghost--python"])
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "wizard-of-oz" in detail
    assert "ghost--python" in detail
    assert Plan.objects.count() == 0


def test_agent_override_sets_the_roster(api, registry, python_project):
    response = create(
        api,
        description="Add a health dashboard",
        agents=["backend-engineer--python", "test-engineer--python"],
        project_path=str(python_project),
    )
    assert response.status_code == 201
    assert {"backend-engineer--python", "test-engineer--python"} <= set(response.json()["agents"])


def test_unknown_task_type_is_400(api, registry):
    response = create(api, description="Do it", task_type="teleportation")
    assert response.status_code == 400
    assert "teleportation" in response.json()["detail"]


@pytest.mark.parametrize("task_type", ["feature", "bugfix", "refactor", "new-feature", "bug-fix"])
def test_task_type_aliases_are_accepted(api, registry, task_type):
    assert create(api, description="Improve the export", task_type=task_type).status_code == 201


def test_project_path_must_be_an_absolute_existing_directory(api, registry, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for path, fragment in [
        ("relative/path", "absolute"),
        (str(tmp_path / "missing"), "does not exist"),
        (str(a_file), "not a directory"),
    ]:
        response = create(api, description="Add a feature", project_path=path)
        assert response.status_code == 400, path
        assert fragment in response.json()["detail"]
    assert Plan.objects.count() == 0


def test_project_roots_setting_confines_project_paths(api, registry, settings, tmp_path, python_project):
    settings.BATON_PROJECT_ROOTS = [tmp_path / "elsewhere"]
    response = create(api, description="Add a feature", project_path=str(python_project))
    assert response.status_code == 400
    assert "outside" in response.json()["detail"]


def test_omitted_project_path_uses_the_working_directory(api, registry, python_project, monkeypatch):
    monkeypatch.chdir(python_project)
    plan = create(api, description="Add an invoice PDF renderer").json()
    assert "backend-engineer--python" in plan["agents"]
    assert Plan.objects.get(plan_id=plan["plan_id"]).project_path == str(python_project.resolve())


def test_list_is_newest_first_and_paginated(api, registry, django_assert_max_num_queries):
    ids = [create(api, description=f"Add feature number {n}").json()["plan_id"] for n in range(5)]
    with django_assert_max_num_queries(2):
        page = api.get("/api/v1/plans", {"limit": 2}).json()
    assert page["count"] == 5
    assert [item["plan_id"] for item in page["results"]] == ids[::-1][:2]
    assert page["next"]
    second = api.get("/api/v1/plans", {"limit": 2, "offset": 2}).json()
    assert [item["plan_id"] for item in second["results"]] == ids[::-1][2:4]


def test_get_costs_a_fixed_number_of_queries(api, registry, django_assert_num_queries):
    plan_id = create(api, description="Refactor the billing module into services").json()["plan_id"]
    with django_assert_num_queries(3):
        api.get(f"/api/v1/plans/{plan_id}")


def test_learned_pattern_after_enough_shipped_runs(api, registry, python_project):
    description = "Add a REST endpoint that lists invoices"
    first = create(api, description=description, project_path=str(python_project)).json()
    assert first["pattern_source"] is None
    for _ in range(3):
        plan_id = create(api, description=description, project_path=str(python_project)).json()["plan_id"]
        plan_record_outcome(plan=plan_get(plan_id=plan_id), task_id=plan_id, outcome="SHIP")
    learned = create(api, description=description, project_path=str(python_project)).json()
    assert learned["pattern_source"]
    assert "new-feature" in learned["pattern_source"]


def test_storing_a_plan_id_twice_is_refused_and_keeps_the_first(api, registry):
    from baton_site.errors import RuleViolation
    from plans import planner
    from plans.services import plan_store

    created = create(api, description="Add a CSV export of invoices").json()
    again = planner.plan_from_dict({**created, "task_summary": "Something else"})
    with pytest.raises(RuleViolation, match="already exists"):
        plan_store(plan=again)
    assert Plan.objects.filter(plan_id=created["plan_id"]).count() == 1
    assert api.get(f"/api/v1/plans/{created['plan_id']}").json() == created
