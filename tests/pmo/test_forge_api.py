"""Forge: plan (not saved), approve (saved, linked, plan.json inside the project), interview, regenerate."""

from __future__ import annotations

import json

import pytest

from plans.models import Plan
from pmo.models import PlanAssignment
from tests.executions.plans import inline_plan

pytestmark = pytest.mark.django_db


def forge(api, **body) -> dict:
    payload = {"description": "Add a CSV export endpoint for invoices", "program": "NDS", "project_id": "nds"}
    payload.update(body)
    response = api.post("/api/v1/pmo/forge/plan", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_forge_plan_returns_a_plan_and_saves_nothing(api, registry, project):
    plan = forge(api, task_type="new-feature", priority=1)
    assert plan["plan_id"].startswith("task-")
    assert plan["phases"]
    assert plan["total_steps"] >= 1
    assert plan["priority"] == 1
    assert plan["stack"]
    assert plan["stack"].startswith("python")
    assert not Plan.objects.exists()


def test_forge_plan_unknown_project_is_404(api, registry):
    response = api.post(
        "/api/v1/pmo/forge/plan", {"description": "x", "program": "NDS", "project_id": "nope"}, format="json"
    )
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_forge_plan_refused_by_the_planner_is_400(api, registry, project):
    response = api.post(
        "/api/v1/pmo/forge/plan",
        {"description": "Add export", "program": "NDS", "project_id": "nds", "task_type": "sideways"},
        format="json",
    )
    assert response.status_code == 400


def test_forge_plan_body_validation_is_422(api, project):
    response = api.post("/api/v1/pmo/forge/plan", {"program": "NDS", "project_id": "nds"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "description"]
    response = api.post(
        "/api/v1/pmo/forge/plan",
        {"description": "x", "program": "NDS", "project_id": "nds", "priority": 7},
        format="json",
    )
    assert response.status_code == 422


def test_approve_saves_links_and_writes_plan_json(api, registry, project, project_dir):
    plan = forge(api, priority=2)
    plan["task_summary"] = "Edited by the reviewer"
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert response.status_code == 200
    body = response.json()
    target = project_dir.resolve() / ".claude" / "team-context" / "plan.json"
    assert body == {
        "saved": True,
        "plan_id": plan["plan_id"],
        "project_id": "nds",
        "priority": 2,
        "path": str(target),
    }
    written = json.loads(target.read_text())
    assert written["plan_id"] == written["task_id"] == plan["plan_id"]
    assert written["task_summary"] == "Edited by the reviewer"
    assert written["priority"] == 2
    stored = Plan.objects.get(plan_id=plan["plan_id"])
    assert stored.project_path == str(project_dir.resolve())
    assert PlanAssignment.objects.get(plan=stored).priority == 2
    card = api.get("/api/v1/pmo/board").json()["cards"][0]
    assert (card["card_id"], card["column"], card["title"], card["priority"]) == (
        plan["plan_id"],
        "queued",
        "Edited by the reviewer",
        2,
    )
    # Approving again is idempotent.
    again = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert again.status_code == 200
    assert Plan.objects.count() == 1


def test_approve_gives_an_id_to_a_plan_without_one(api, project):
    plan = inline_plan([[{}]])
    del plan["plan_id"]
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert response.status_code == 200
    assert response.json()["plan_id"].startswith("task-")


def test_approve_never_writes_outside_the_project(api, project, project_dir, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project_dir / ".claude").symlink_to(outside)
    plan = inline_plan([[{}]], plan_id="../../../escape")
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert response.status_code == 400
    assert "outside the project" in response.json()["detail"]
    assert list(outside.iterdir()) == []
    assert not Plan.objects.exists()  # nothing saved when the file cannot be written


def test_a_hostile_plan_id_stays_a_value_not_a_path(api, project, project_dir):
    plan = inline_plan([[{}]], plan_id="../../../escape")
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert response.status_code == 200
    assert response.json()["path"] == str(project_dir.resolve() / ".claude" / "team-context" / "plan.json")


def test_a_plan_of_another_project_cannot_be_approved_for_this_one(api, project, tmp_path):
    from tests.pmo.conftest import register

    other = tmp_path / "atl"
    other.mkdir()
    register(api, other, project_id="atl", program="ATL")
    plan = inline_plan([[{}]])
    assert (
        api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json").status_code
        == 200
    )
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "atl"}, format="json")
    assert response.status_code == 400
    assert "belongs to project 'nds'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ({"plan_id": "task-x", "phases": []}, "phases"),
        ({"plan_id": "task-x", "phases": [{"steps": [{"agent_name": ""}]}]}, "agent_name"),
        ({"plan_id": "task-x" * 30, "phases": [{"steps": [{"agent_name": "a"}]}]}, "longer than 120"),
        ({"plan_id": "task-x", "phases": [{"steps": [{"agent_name": "a\u0000"}]}]}, "NUL"),
    ],
)
def test_approve_invalid_plan_is_400(api, project, plan, problem):
    response = api.post("/api/v1/pmo/forge/approve", {"plan": plan, "project_id": "nds"}, format="json")
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert response.json()["detail"].startswith("Invalid plan payload")


def test_approve_unknown_project_is_404_and_bad_body_422(api, project):
    response = api.post(
        "/api/v1/pmo/forge/approve", {"plan": inline_plan([[{}]]), "project_id": "x"}, format="json"
    )
    assert response.status_code == 404
    response = api.post("/api/v1/pmo/forge/approve", {"plan": [1, 2], "project_id": "nds"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "plan"]


# --- Interview ------------------------------------------------------------------------------------------------


def test_interview_asks_about_the_plans_gaps(api, registry):
    plan = inline_plan(
        [
            [{"agent": "architect", "task": "Design it"}],
            [{"task": "Build it"}, {"agent": "frontend-engineer", "task": "UI"}],
        ],
        risk_level="HIGH",
        gates=[False, False],
    )
    response = api.post("/api/v1/pmo/forge/interview", {"plan": plan}, format="json")
    assert response.status_code == 200
    questions = response.json()["questions"]
    assert [q["id"] for q in questions] == ["q-testing", "q-risk", "q-coordination", "q-gates"]
    for question in questions:
        assert set(question) == {"id", "question", "context", "answer_type", "choices"}
        assert question["answer_type"] == "choice"
        assert len(question["choices"]) >= 2


def test_interview_pads_a_tidy_plan_to_three_questions(api, registry):
    plan = inline_plan([[{"task": "Write the tests"}]])
    questions = api.post("/api/v1/pmo/forge/interview", {"plan": plan}, format="json").json()["questions"]
    assert [q["id"] for q in questions] == ["q-priority", "q-acceptance", "q-constraints"]
    assert all(q["answer_type"] == "text" and q["choices"] is None for q in questions)


def test_interview_feedback_comes_first_and_unknown_agents_are_asked_about(api, registry):
    plan = inline_plan([[{"agent": "wizard", "task": "Write tests"}]])
    questions = api.post(
        "/api/v1/pmo/forge/interview", {"plan": plan, "feedback": "too slow"}, format="json"
    ).json()["questions"]
    assert questions[0]["id"] == "q-feedback"
    assert "too slow" in questions[0]["question"]
    assert "q-roster" in [q["id"] for q in questions]
    assert 3 <= len(questions) <= 5


def test_interview_invalid_plan_is_400_and_bad_body_422(api):
    response = api.post("/api/v1/pmo/forge/interview", {"plan": {"phases": "no"}}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid plan")
    assert api.post("/api/v1/pmo/forge/interview", {}, format="json").status_code == 422


# --- Regenerate -----------------------------------------------------------------------------------------------


def regenerate(api, plan: dict, answers: dict[str, str], **extra):
    return api.post(
        "/api/v1/pmo/forge/regenerate",
        {
            "project_id": "nds",
            "description": "Add a CSV export endpoint",
            "original_plan": plan,
            "answers": [{"question_id": key, "answer": value} for key, value in answers.items()],
            **extra,
        },
        format="json",
    )


def test_regenerate_applies_the_answers(api, registry, project):
    plan = inline_plan(
        [
            [{"agent": "architect", "task": "Design"}],
            [{"task": "Build"}, {"agent": "frontend-engineer", "task": "UI"}],
            [{"agent": "code-reviewer", "task": "Review"}],
        ],
        risk_level="HIGH",
        gates=[False, False, False],
    )
    plan["phases"][2]["name"] = "Review"
    response = regenerate(
        api,
        plan,
        {
            "q-testing": "Add both",
            "q-risk": "Human approval after every phase",
            "q-coordination": "One step at a time within each phase",
            "q-gates": "Test gate after every phase",
            "q-constraints": "Never touch migrations/ or .env",
            "q-acceptance": "The export downloads in under a second",
        },
        priority=2,
    )
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["plan_id"] != plan["plan_id"]
    assert new["regenerated_from"] == plan["plan_id"]
    assert [phase["name"] for phase in new["phases"]] == ["Phase 0", "Phase 1", "Test", "Review"]
    test_step = new["phases"][2]["steps"][0]
    assert test_step["agent_name"] == "test-engineer--python"
    assert "unit and integration tests" in test_step["task_description"]
    assert all(phase["requires_approval"] for phase in new["phases"])
    assert all(phase["gate"] and phase["gate"]["command"] == "pytest" for phase in new["phases"])
    assert new["phases"][1]["steps"][1]["depends_on"] == ["1.0"]
    assert all(
        {"migrations/", ".env"} <= set(step["blocked_paths"])
        for phase in new["phases"]
        for step in phase["steps"]
    )
    assert "q-acceptance: The export downloads in under a second" in new["shared_context"]
    assert new["priority"] == 2
    assert len(new["refinements"]) >= 5
    assert not Plan.objects.exists()


def test_regenerate_removes_and_reorders_phases_by_name(api, registry, project):
    plan = inline_plan([[{"task": "Design tests"}], [{"task": "Build"}], [{"task": "Document"}]])
    plan["phases"][2]["name"] = "Docs"
    new = regenerate(api, plan, {"q-scope": "Remove Docs, then move Phase 1 first. Keep it small."}).json()
    assert [phase["name"] for phase in new["phases"]] == ["Phase 1", "Phase 0"]
    assert [step["step_id"] for phase in new["phases"] for step in phase["steps"]] == ["0.0", "1.0"]
    assert "Removed the Docs phase." in new["refinements"]
    assert "keep it small" in new["shared_context"]


def test_regenerate_skip_testing_is_refused_for_high_risk(api, registry, project):
    plan = inline_plan([[{"task": "Build"}], [{"task": "Run tests"}]], risk_level="HIGH")
    plan["phases"][1]["name"] = "Test"
    new = regenerate(api, plan, {"q-testing": "Skip testing"}).json()
    assert [phase["name"] for phase in new["phases"]] == ["Phase 0", "Test"]
    low = inline_plan([[{"task": "Build"}], [{"task": "Run tests"}]])
    low["phases"][1]["name"] = "Test"
    assert [p["name"] for p in regenerate(api, low, {"q-testing": "Skip testing"}).json()["phases"]] == [
        "Phase 0"
    ]


def test_regenerate_errors(api, project):
    assert regenerate(api, {"phases": []}, {}).status_code == 400
    response = api.post(
        "/api/v1/pmo/forge/regenerate",
        {"project_id": "nope", "description": "x", "original_plan": inline_plan([[{}]]), "answers": []},
        format="json",
    )
    assert response.status_code == 404
    assert api.post("/api/v1/pmo/forge/regenerate", {"project_id": "nds"}, format="json").status_code == 422


# --- ADO ------------------------------------------------------------------------------------------------------


def test_ado_search(api):
    everything = api.get("/api/v1/pmo/ado/search").json()["items"]
    assert len(everything) == 5
    assert set(everything[0]) == {"id", "title", "type", "program", "owner", "priority", "description"}
    assert [item["id"] for item in api.get("/api/v1/pmo/ado/search", {"q": "nds"}).json()["items"]] == [
        "F-4202",
        "F-4203",
        "B-901",
    ]
    assert [item["id"] for item in api.get("/api/v1/pmo/ado/search", {"q": "cargo"}).json()["items"]] == [
        "F-4230"
    ]
    assert [item["id"] for item in api.get("/api/v1/pmo/ado/search", {"q": "b-9"}).json()["items"]] == [
        "B-901"
    ]
    assert api.get("/api/v1/pmo/ado/search", {"q": "x" * 300}).status_code == 422


def test_approving_the_same_new_plan_twice_at_once_is_409(api, project, project_dir, monkeypatch):
    from django.db import IntegrityError

    from pmo import services

    def the_other_request_stored_it(**kwargs):
        raise IntegrityError("UNIQUE constraint failed: plans_plan.plan_id")

    monkeypatch.setattr(services, "plan_store", the_other_request_stored_it)
    response = api.post(
        "/api/v1/pmo/forge/approve", {"plan": inline_plan([[{}]]), "project_id": "nds"}, format="json"
    )
    assert response.status_code == 409
    assert not PlanAssignment.objects.exists()
    assert not (project_dir / ".claude" / "team-context" / "plan.json").exists()
