"""Signals: create (201, validated, 409 on a duplicate id), list open ones, resolve, triage through the Forge."""

from __future__ import annotations

import json

import pytest

from plans.models import Plan
from pmo.models import PlanAssignment, Signal

pytestmark = pytest.mark.django_db


def raise_signal(api, signal_id: str = "sig-001", **extra) -> dict:
    body = {"signal_id": signal_id, "signal_type": "bug", "title": "R2 blocks missing on Off day"}
    body.update(extra)
    response = api.post("/api/v1/pmo/signals", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_the_signal(api):
    body = raise_signal(
        api, description="Crew schedules", source_project_id="nds", severity="critical", status="resolved"
    )
    assert body == {
        "signal_id": "sig-001",
        "signal_type": "bug",
        "title": "R2 blocks missing on Off day",
        "description": "Crew schedules",
        "source_project_id": "nds",
        "severity": "critical",
        "status": "open",  # a status in the body is ignored
        "created_at": body["created_at"],
        "resolved_at": None,
        "forge_task_id": "",
    }
    assert body["created_at"].endswith("+00:00")


def test_severity_defaults_to_medium(api):
    assert raise_signal(api)["severity"] == "medium"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"signal_type": "rumour"}, ["body", "signal_type"]),
        ({"severity": "apocalyptic"}, ["body", "severity"]),
        ({"title": ""}, ["body", "title"]),
        ({"signal_id": ""}, ["body", "signal_id"]),
        ({"signal_id": "has/slash"}, ["body", "signal_id"]),
    ],
)
def test_invalid_signals_are_422(api, change, loc):
    body = {"signal_id": "sig-1", "signal_type": "bug", "title": "t", **change}
    response = api.post("/api/v1/pmo/signals", body, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert not Signal.objects.exists()


def test_duplicate_id_is_409_and_changes_nothing(api):
    raise_signal(api)
    Signal.objects.filter(signal_id="sig-001").update(status="triaged", forge_task_id="task-1")
    response = api.post(
        "/api/v1/pmo/signals",
        {"signal_id": "sig-001", "signal_type": "blocker", "title": "Other"},
        format="json",
    )
    assert response.status_code == 409
    assert "sig-001" in response.json()["detail"]
    signal = Signal.objects.get()
    assert (signal.status, signal.forge_task_id, signal.title) == (
        "triaged",
        "task-1",
        "R2 blocks missing on Off day",
    )


def test_list_shows_open_and_triaged_oldest_first(api):
    raise_signal(api, "sig-a")
    raise_signal(api, "sig-b")
    raise_signal(api, "sig-c")
    Signal.objects.filter(signal_id="sig-b").update(status="triaged")
    api.post("/api/v1/pmo/signals/sig-c/resolve")
    response = api.get("/api/v1/pmo/signals")
    assert response.status_code == 200
    assert [(s["signal_id"], s["status"]) for s in response.json()] == [
        ("sig-a", "open"),
        ("sig-b", "triaged"),
    ]


def test_resolve_answers_the_signal_and_is_idempotent(api):
    raise_signal(api)
    response = api.post("/api/v1/pmo/signals/sig-001/resolve")
    assert response.status_code == 200
    body = response.json()
    assert body["resolved"] is True
    assert body["status"] == "resolved"
    assert body["signal_id"] == "sig-001"
    assert body["resolved_at"]
    again = api.post("/api/v1/pmo/signals/sig-001/resolve")
    assert again.status_code == 200
    assert again.json()["resolved_at"] == body["resolved_at"]


def test_resolve_unknown_is_404(api):
    response = api.post("/api/v1/pmo/signals/nope/resolve")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_forge_triages_the_signal_into_a_saved_bug_fix_plan(api, registry, project, project_dir):
    raise_signal(api, description="Crew schedules lose their reserve blocks", severity="high")
    response = api.post("/api/v1/pmo/signals/sig-001/forge", {"project_id": "nds"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    path = project_dir.resolve() / ".claude" / "team-context" / "plan.json"
    assert body == {"signal_id": "sig-001", "plan_id": body["plan_id"], "path": str(path)}
    plan = Plan.objects.get(plan_id=body["plan_id"])
    assert plan.task_type == "bug-fix"
    assert plan.description.startswith("Bug fix: R2 blocks missing on Off day\n\nCrew schedules")
    assert json.loads(path.read_text())["plan_id"] == plan.plan_id
    assignment = PlanAssignment.objects.get(plan=plan)
    assert (assignment.project_id, assignment.priority, assignment.source) == ("nds", 1, "signal")
    signal = api.get("/api/v1/pmo/signals").json()[0]
    assert (signal["status"], signal["forge_task_id"]) == ("triaged", plan.plan_id)
    card = api.get("/api/v1/pmo/board").json()["cards"][0]
    assert (card["card_id"], card["column"], card["priority"]) == (plan.plan_id, "queued", 1)


def test_forge_accepts_and_ignores_a_plan(api, registry, project):
    raise_signal(api)
    response = api.post(
        "/api/v1/pmo/signals/sig-001/forge", {"project_id": "nds", "plan": {"anything": 1}}, format="json"
    )
    assert response.status_code == 201


def test_forge_errors(api, registry, project):
    raise_signal(api)
    # Unknown project first, then unknown signal.
    response = api.post("/api/v1/pmo/signals/nope/forge", {"project_id": "ghost"}, format="json")
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]
    response = api.post("/api/v1/pmo/signals/nope/forge", {"project_id": "nds"}, format="json")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert api.post("/api/v1/pmo/signals/sig-001/forge", {}, format="json").status_code == 422
    # Only an open signal can be triaged.
    assert (
        api.post("/api/v1/pmo/signals/sig-001/forge", {"project_id": "nds"}, format="json").status_code == 201
    )
    again = api.post("/api/v1/pmo/signals/sig-001/forge", {"project_id": "nds"}, format="json")
    assert again.status_code == 400
    assert "triaged" in again.json()["detail"]
    assert Plan.objects.count() == 1


def test_a_failed_write_leaves_the_signal_open(api, registry, project, project_dir):
    raise_signal(api)
    (project_dir / ".claude").write_text("not a directory")
    response = api.post("/api/v1/pmo/signals/sig-001/forge", {"project_id": "nds"}, format="json")
    assert response.status_code == 400
    signal = Signal.objects.get()
    assert (signal.status, signal.forge_task_id) == ("open", "")
    assert not Plan.objects.exists()
