"""Decisions: listing, context files read safely, resolution rules, concurrent resolution."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from decisions import services
from decisions.models import DecisionRequest
from executions.models import Execution
from tests.executions.plans import gate, inline_plan, record, start

pytestmark = pytest.mark.django_db


def failed_gate_decision(api) -> tuple[str, DecisionRequest]:
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    record(api, task_id, "0.0")
    gate(api, task_id, 0, "fail", "boom")
    return task_id, DecisionRequest.objects.get(task_id=task_id)


def test_unknown_decision_is_404(api):
    assert api.get("/api/v1/decisions/dec-nope").status_code == 404
    response = api.post("/api/v1/decisions/dec-nope/resolve", {"option": "approve"}, format="json")
    assert response.status_code == 404
    assert "dec-nope" in response.json()["detail"]


def test_list_filters(api):
    task_id, decision = failed_gate_decision(api)
    assert api.get("/api/v1/decisions").json()["count"] == 1
    assert api.get("/api/v1/decisions", {"status": "resolved"}).json()["count"] == 0
    assert api.get("/api/v1/decisions", {"task_id": "task-other"}).json()["count"] == 0
    assert api.get("/api/v1/decisions", {"status": "sideways"}).status_code == 422


def test_resolve_body_validation(api):
    _, decision = failed_gate_decision(api)
    response = api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": ""}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "option"]
    wrong = api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "skip"}, format="json")
    assert wrong.status_code == 400
    assert "approve, reject, retry" in wrong.json()["detail"]
    decision.refresh_from_db()
    assert decision.status == "pending"


def test_a_decision_past_its_deadline_reads_expired_and_cannot_be_resolved(api):
    _, decision = failed_gate_decision(api)
    DecisionRequest.objects.filter(pk=decision.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    assert api.get(f"/api/v1/decisions/{decision.request_id}").json()["status"] == "expired"
    assert api.get("/api/v1/decisions", {"status": "expired"}).json()["count"] == 1
    assert api.get("/api/v1/decisions", {"status": "pending"}).json()["count"] == 0
    response = api.post(
        f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "approve"}, format="json"
    )
    assert response.status_code == 400
    assert api.get("/api/v1/ready").json()["pending_decisions"] == 0


def test_context_files_never_leave_their_roots(api, tmp_path, settings):
    task_id, decision = failed_gate_decision(api)
    inside = tmp_path / "inside.txt"
    inside.write_text("inside")
    outside_link = settings.DATA_DIR / "link-to-passwd"
    outside_link.unlink(missing_ok=True)
    outside_link.symlink_to("/etc/passwd")
    big = settings.DATA_DIR / "big.txt"
    big.write_text("x" * (300 * 1024))
    own = decision.context_files[0]
    decision.context_files = [
        own,
        "/etc/passwd",
        "../../../../etc/hostname",
        str(outside_link),
        str(big),
        str(settings.DATA_DIR / "missing.txt"),
        str(inside),
    ]
    decision.save(update_fields=["context_files"])
    contents = api.get(f"/api/v1/decisions/{decision.request_id}").json()["context_file_contents"]
    assert contents[own] == "boom"
    for path in decision.context_files[1:]:
        assert contents[path] is None, path


def test_project_files_are_readable_when_the_plan_names_the_project(api, registry, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname='p'\n")
    (project / "notes.md").write_text("project notes")
    plan = api.post(
        "/api/v1/plans",
        {"description": "Add login with passwords and JWT", "project_path": str(project)},
        format="json",
    ).json()
    task_id = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json").json()["execution"][
        "task_id"
    ]
    decision = DecisionRequest.objects.get(task_id=task_id)
    decision.context_files = ["notes.md", str(project / "notes.md")]
    decision.save(update_fields=["context_files"])
    contents = api.get(f"/api/v1/decisions/{decision.request_id}").json()["context_file_contents"]
    assert contents == {"notes.md": "project notes", str(project / "notes.md"): "project notes"}


def test_a_competing_resolution_between_read_and_claim_gets_409(api, monkeypatch):
    task_id, decision = failed_gate_decision(api)
    real_claim = services._claim

    def competing_claim(decision, **kwargs):
        # Another resolver claims the decision after our read, just before our compare-and-set.
        assert real_claim(decision, option="reject", rationale="", resolved_by="other")
        return real_claim(decision, **kwargs)

    monkeypatch.setattr(services, "_claim", competing_claim)
    response = api.post(
        f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "approve"}, format="json"
    )
    assert response.status_code == 409
    execution = Execution.objects.get(task_id=task_id)
    assert execution.status == "gate_pending"  # the losing resolution changed nothing
    assert execution.gates_approved == 0


def test_list_is_bounded_by_limit_and_offset(api):
    for _ in range(3):
        failed_gate_decision(api)
    newest_first = [row["request_id"] for row in api.get("/api/v1/decisions").json()["decisions"]]
    assert len(newest_first) == 3
    page = api.get("/api/v1/decisions", {"limit": 2, "offset": 1}).json()
    assert page["count"] == 2
    assert [row["request_id"] for row in page["decisions"]] == newest_first[1:3]
    assert api.get("/api/v1/decisions", {"limit": 501}).status_code == 422
