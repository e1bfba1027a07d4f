"""Observe endpoints: dashboard, traces and usage, built from what executions stored."""

from __future__ import annotations

import pytest

from tests.executions.plans import gate, inline_plan, record, start

pytestmark = pytest.mark.django_db


def finished_run(api, *, agent: str = "backend-engineer--python", fail_gate: bool = False) -> str:
    task_id = start(api, inline_plan([[{"agent": agent}, {"agent": "code-reviewer"}]]))["execution"][
        "task_id"
    ]
    record(api, task_id, "0.0", agent=agent, tokens=1000, duration_ms=2000)
    record(api, task_id, "0.1", agent="code-reviewer", tokens=500, duration_ms=1000)
    if fail_gate:
        gate(api, task_id, 0, "fail", "lint errors")
        from decisions.models import DecisionRequest

        decision = DecisionRequest.objects.get(task_id=task_id, status="pending")
        api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "approve"}, format="json")
    else:
        gate(api, task_id, 0, "pass")
    assert api.post(f"/api/v1/executions/{task_id}/complete").status_code == 200
    return task_id


def test_trace_of_a_finished_task(api):
    task_id = finished_run(api)
    response = api.get(f"/api/v1/traces/{task_id}")
    assert response.status_code == 200
    trace = response.json()
    assert trace["task_id"] == task_id
    assert trace["outcome"] == "SHIP"
    assert trace["completed_at"]
    assert trace["plan_snapshot"]["plan_id"] == task_id
    types = [event["event_type"] for event in trace["events"]]
    assert types[0] == "task_start"
    assert types[-1] == "task_complete"
    assert types.count("agent_complete") == 2
    completed = [event for event in trace["events"] if event["event_type"] == "agent_complete"]
    assert completed[0]["agent_name"] == "backend-engineer--python"
    assert completed[0]["duration_seconds"] == 2.0
    assert (completed[1]["phase"], completed[1]["step"]) == (0, 1)


def test_trace_of_unknown_task_is_404(api):
    assert api.get("/api/v1/traces/task-unknown").status_code == 404


def test_usage_records_and_summary(api):
    first = finished_run(api)
    second = finished_run(api, agent="backend-engineer--node", fail_gate=True)
    body = api.get("/api/v1/usage").json()
    assert [record["task_id"] for record in body["records"]] == [second, first]
    assert body["summary"] == {
        "total_tasks": 2,
        "total_tokens": 3000,
        "total_agents": 4,
        "outcome_counts": {"SHIP": 1, "REVISE": 1},
    }
    record_one = body["records"][1]
    assert record_one["gates_passed"] == 1
    assert record_one["outcome"] == "SHIP"
    assert {agent["name"]: agent["estimated_tokens"] for agent in record_one["agents_used"]} == {
        "backend-engineer--python": 1000,
        "code-reviewer": 500,
    }
    node_only = api.get("/api/v1/usage", {"agent": "backend-engineer--node"}).json()
    assert [record["task_id"] for record in node_only["records"]] == [second]
    assert node_only["summary"]["total_tasks"] == 1
    assert node_only["summary"]["outcome_counts"] == {"REVISE": 1}
    # An agent used by both tasks: its summary counts each task once, with the task's own totals.
    reviewer = api.get("/api/v1/usage", {"agent": "code-reviewer"}).json()
    assert reviewer["summary"] == body["summary"]
    since_past = api.get("/api/v1/usage", {"agent": "code-reviewer", "since": "2000-01-01T00:00:00Z"}).json()
    assert since_past["summary"] == body["summary"]
    reviewer_future = {"agent": "code-reviewer", "since": "2999-01-01T00:00:00Z"}
    assert api.get("/api/v1/usage", reviewer_future).json()["summary"]["total_tasks"] == 0
    future = api.get("/api/v1/usage", {"since": "2999-01-01T00:00:00Z"}).json()
    assert future["summary"]["total_tasks"] == 0
    assert api.get("/api/v1/usage", {"since": "yesterday"}).status_code == 422


def test_usage_filter_runs_in_the_database(api, django_assert_max_num_queries):
    finished_run(api)
    with django_assert_max_num_queries(4):
        api.get("/api/v1/usage", {"agent": "code-reviewer"})


def test_dashboard_markdown_and_metrics_agree(api):
    finished_run(api)
    finished_run(api, fail_gate=True)
    body = api.get("/api/v1/dashboard").json()
    metrics = body["metrics"]
    assert metrics["total_tasks"] == 2
    assert metrics["outcome_counts"] == {"SHIP": 1, "REVISE": 1}
    assert metrics["gates_passed"] == 2
    assert metrics["gates_failed"] == 1
    assert metrics["gate_pass_rate"] == 66.7
    assert {row["agent_name"] for row in metrics["agents"]} == {"backend-engineer--python", "code-reviewer"}
    markdown = body["dashboard_markdown"]
    assert markdown.startswith("# Baton usage dashboard")
    assert "| SHIP | 1 |" in markdown
    assert "| REVISE | 1 |" in markdown
    assert "66.7%" in markdown


def test_empty_dashboard(api):
    body = api.get("/api/v1/dashboard").json()
    assert body["metrics"]["total_tasks"] == 0
    assert body["metrics"]["gate_pass_rate"] is None
    assert "No finished tasks yet." in body["dashboard_markdown"]


def test_usage_of_a_task_with_a_retried_step(api):
    plan = inline_plan([[{}, {"agent": "code-reviewer"}, {}]])
    task_id = start(api, plan)["execution"]["task_id"]
    record(api, task_id, "0.0", tokens=100, duration_ms=1500)
    record(api, task_id, "0.1", agent="code-reviewer", status="failed", output_summary="flaky")
    from decisions.models import DecisionRequest
    from executions.models import Retrospective

    decision = DecisionRequest.objects.get(task_id=task_id, status="pending")
    api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "retry"}, format="json")
    record(api, task_id, "0.1", agent="code-reviewer", tokens=40, duration_ms=250)
    record(api, task_id, "0.2", tokens=60, duration_ms=500)
    gate(api, task_id, 0, "pass")
    assert api.post(f"/api/v1/executions/{task_id}/complete").status_code == 200

    usage = api.get("/api/v1/usage").json()
    assert usage["summary"]["total_tokens"] == 200
    (row,) = usage["records"]
    assert row["total_agents"] == 2
    agents = {agent["name"]: agent for agent in row["agents_used"]}
    assert agents["backend-engineer--python"] | {"gate_results": None} == {
        "name": "backend-engineer--python",
        "model": "sonnet",
        "steps": 2,
        "retries": 0,
        "gate_results": None,
        "estimated_tokens": 160,
        "duration_seconds": 2.0,
    }
    assert (agents["code-reviewer"]["steps"], agents["code-reviewer"]["retries"]) == (1, 1)
    assert agents["code-reviewer"]["estimated_tokens"] == 40
    assert agents["code-reviewer"]["duration_seconds"] == 0.25
    assert "1 step(s) needed a retry." in Retrospective.objects.get(task_id=task_id).issues
