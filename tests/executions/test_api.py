"""The execution lifecycle through HTTP: start, record, gate, decisions, complete, cancel, observe."""

from __future__ import annotations

import pytest

from decisions.models import DecisionRequest
from executions.models import Event, Execution, StepResult
from tests.executions.plans import dispatched_step_ids, gate, inline_plan, record, start

pytestmark = pytest.mark.django_db


def topics(task_id: str) -> list[str]:
    return list(Event.objects.filter(task_id=task_id).order_by("sequence").values_list("topic", flat=True))


def assert_gap_free(task_id: str) -> None:
    sequences = list(
        Event.objects.filter(task_id=task_id).order_by("sequence").values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, len(sequences) + 1))


def test_full_lifecycle_to_ship(api):
    plan = inline_plan([[{}, {"depends_on": ["0.0"]}], [{"agent": "test-engineer--python"}]])
    body = start(api, plan)
    task_id = body["execution"]["task_id"]
    assert task_id == plan["plan_id"]
    assert body["execution"]["status"] == "running"
    assert body["execution"]["steps_remaining"] == 2  # one of three is already in flight
    assert body["execution"]["completed_at"] == ""
    assert dispatched_step_ids(body["next_actions"]) == ["0.0"]
    first = body["next_actions"][0]
    assert first["message"] == "Dispatch backend-engineer--python for step 0.0"
    assert first["agent_model"] == "sonnet"

    response = record(api, task_id, "0.0", output_summary="done", tokens=1200, duration_ms=3000)
    assert response.status_code == 200
    assert response.json()["recorded"] is True
    assert dispatched_step_ids(response.json()["next_actions"]) == ["0.1"]

    actions = record(api, task_id, "0.1").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["gate"]
    assert actions[0]["gate_type"] == "test"
    assert actions[0]["gate_command"] == "pytest"
    assert actions[0]["phase_id"] == 0

    actions = gate(api, task_id, 0, "pass", "all green").json()["next_actions"]
    assert dispatched_step_ids(actions) == ["1.0"]
    assert actions[0]["agent_name"] == "test-engineer--python"

    actions = record(api, task_id, "1.0", agent="test-engineer--python").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["gate"]
    actions = gate(api, task_id, 1, "pass").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["complete"]

    done = api.post(f"/api/v1/executions/{task_id}/complete")
    assert done.status_code == 200
    assert done.json() == {
        "task_id": task_id,
        "status": "complete",
        "summary": "3 steps completed, 2 gates passed, outcome: SHIP",
    }
    execution = api.get(f"/api/v1/executions/{task_id}").json()
    assert execution["status"] == "complete"
    assert execution["steps_completed"] == 3
    assert execution["steps_remaining"] == 0
    assert execution["gates_passed"] == 2
    assert execution["completed_at"]
    assert [row["step_id"] for row in execution["step_results"]] == ["0.0", "0.1", "1.0"]
    assert execution["step_results"][0]["tokens"] == 1200
    assert [row["result"] for row in execution["gate_results"]] == ["pass", "pass"]

    assert topics(task_id).count("task.completed") == 1
    assert "task.failed" not in topics(task_id)
    assert topics(task_id)[0] == "task.started"
    assert_gap_free(task_id)

    # Completing twice is harmless and answers the same summary.
    again = api.post(f"/api/v1/executions/{task_id}/complete")
    assert again.status_code == 200
    assert again.json()["summary"] == "3 steps completed, 2 gates passed, outcome: SHIP"
    assert topics(task_id).count("task.completed") == 1


def test_parallel_steps_are_grouped_and_capped(api, settings):
    settings.BATON_MAX_PARALLEL = 3
    body = start(api, inline_plan([[{}, {}, {}, {}, {}]]))
    actions = body["next_actions"]
    assert len(actions) == 1
    assert dispatched_step_ids(actions) == ["0.0", "0.1", "0.2"]
    assert [item["step_id"] for item in actions[0]["parallel_actions"]] == ["0.1", "0.2"]
    task_id = body["execution"]["task_id"]
    assert dispatched_step_ids(record(api, task_id, "0.1").json()["next_actions"]) == ["0.3"]


def test_start_by_plan_id_from_the_planner(api, registry):
    plan = api.post("/api/v1/plans", {"description": "Add a CSV export of invoices"}, format="json").json()
    response = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json")
    assert response.status_code == 201
    assert response.json()["execution"]["plan_id"] == plan["plan_id"]
    assert response.json()["execution"]["task_id"] == plan["plan_id"]


@pytest.mark.parametrize(
    ("phases", "options"),
    [
        ([[{}, {"depends_on": ["0.0"]}], [{}]], {}),
        ([[{}], [{}]], {"gates": [False, True]}),  # no gate: the second phase starts when the first step ends
        ([[{}]], {"risk_level": "HIGH"}),  # waits on a plan review
        ([[{}, {}, {}, {}]], {"approvals": [True]}),
    ],
)
def test_start_answers_the_execution_as_it_then_reads(api, phases, options):
    body = start(api, inline_plan(phases, **options))
    task_id = body["execution"]["task_id"]
    assert body["execution"] == api.get(f"/api/v1/executions/{task_id}").json()


def test_a_second_run_of_a_plan_answers_its_own_execution(api, registry):
    plan = api.post("/api/v1/plans", {"description": "Add a CSV export of invoices"}, format="json").json()
    first = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json").json()
    assert api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json").status_code == 409
    api.delete(f"/api/v1/executions/{first['execution']['task_id']}")
    second = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json")
    assert second.status_code == 201
    execution = second.json()["execution"]
    assert execution["task_id"] == f"{plan['plan_id']}-run2"
    assert execution == api.get(f"/api/v1/executions/{execution['task_id']}").json()


def test_plan_response_sent_back_inline_with_task_id_is_accepted(api, registry):
    plan = api.post("/api/v1/plans", {"description": "Document the public API"}, format="json").json()
    machine = dict(plan)
    machine["task_id"] = machine.pop("plan_id")
    response = api.post("/api/v1/executions", {"plan": machine}, format="json")
    assert response.status_code == 201
    assert response.json()["execution"]["plan_id"] == plan["plan_id"]


@pytest.mark.parametrize(
    "body", [{}, {"plan_id": "task-x", "plan": {"phases": []}}, {"plan_id": None, "plan": None}]
)
def test_start_needs_exactly_one_of_plan_id_and_plan(api, body):
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 400
    assert "exactly one" in response.json()["detail"]


def test_start_unknown_plan_is_404(api):
    response = api.post("/api/v1/executions", {"plan_id": "task-nope"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("plan", "fragment"),
    [
        ({"task_summary": "x", "phases": []}, "phases"),
        ("not a dict", "object"),
        (
            {"task_summary": "x", "phases": [{"phase_id": 0, "name": "A", "steps": [{"step_id": "0.0"}]}]},
            "agent_name",
        ),
    ],
)
def test_invalid_inline_plan_is_400_naming_the_problem(api, plan, fragment):
    response = api.post("/api/v1/executions", {"plan": plan}, format="json")
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert Execution.objects.count() == 0


def test_unknown_execution_is_404_everywhere(api):
    assert api.get("/api/v1/executions/task-none").status_code == 404
    assert record(api, "task-none", "0.0").status_code == 404
    assert gate(api, "task-none", 0).status_code == 404
    assert api.post("/api/v1/executions/task-none/complete").status_code == 404
    assert api.delete("/api/v1/executions/task-none").status_code == 404


def test_record_validation(api):
    task_id = start(api, inline_plan([[{}, {}]]))["execution"]["task_id"]
    unknown = record(api, task_id, "9.9")
    assert unknown.status_code == 400
    assert "9.9" in unknown.json()["detail"]
    bad_status = record(api, task_id, "0.0", status="exploded")
    assert bad_status.status_code == 400
    negative = record(api, task_id, "0.0", tokens=-1)
    assert negative.status_code == 422
    assert negative.json()["detail"][0]["loc"] == ["body", "tokens"]
    missing = api.post(f"/api/v1/executions/{task_id}/record", {"step_id": "0.0"}, format="json")
    assert missing.status_code == 422
    assert {tuple(item["loc"]) for item in missing.json()["detail"]} == {
        ("body", "agent"),
        ("body", "status"),
    }


def test_recording_twice_is_idempotent_and_a_conflict_is_409(api):
    task_id = start(api, inline_plan([[{}, {}]]))["execution"]["task_id"]
    first = record(api, task_id, "0.0")
    second = record(api, task_id, "0.0")
    assert first.status_code == second.status_code == 200
    assert topics(task_id).count("step.completed") == 1
    conflict = record(api, task_id, "0.0", status="failed")
    assert conflict.status_code == 409
    assert StepResult.objects.get(execution__task_id=task_id, step_id="0.0").status == "complete"


def test_failed_gate_opens_a_decision_and_approval_gives_revise(api):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    record(api, task_id, "0.0")
    actions = gate(api, task_id, 0, "fail", "2 tests failed").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["wait"]
    execution = api.get(f"/api/v1/executions/{task_id}").json()
    assert execution["status"] == "gate_pending"
    assert execution["pending_decisions"] == 1

    listing = api.get("/api/v1/decisions", {"status": "pending", "task_id": task_id}).json()
    assert listing["count"] == 1
    decision = listing["decisions"][0]
    assert decision["decision_type"] == "gate_approval"
    assert decision["options"] == ["approve", "reject", "retry"]
    assert decision["status"] == "pending"
    assert decision["context_file_contents"] is None

    detail = api.get(f"/api/v1/decisions/{decision['request_id']}").json()
    assert list(detail["context_file_contents"].values()) == ["2 tests failed"]
    assert "human.decision_needed" in topics(task_id)

    resolved = api.post(
        f"/api/v1/decisions/{decision['request_id']}/resolve",
        {"option": "approve", "rationale": "flaky", "resolved_by": "dave"},
        format="json",
    )
    assert resolved.status_code == 200
    assert resolved.json()["resolved"] is True
    assert resolved.json()["execution_resumed"] is True
    assert "human.decision_resolved" in topics(task_id)
    assert api.get(f"/api/v1/executions/{task_id}").json()["pending_decisions"] == 0
    summary = api.post(f"/api/v1/executions/{task_id}/complete").json()["summary"]
    assert summary == "1 step completed, 1 gate passed, outcome: REVISE"
    stored = DecisionRequest.objects.get(request_id=decision["request_id"])
    assert (stored.status, stored.chosen_option, stored.resolved_by) == ("resolved", "approve", "dave")

    again = api.post(
        f"/api/v1/decisions/{decision['request_id']}/resolve", {"option": "approve"}, format="json"
    )
    assert again.status_code == 400
    assert "not pending" in again.json()["detail"]


def test_gate_retry_and_reject(api):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    record(api, task_id, "0.0")
    gate(api, task_id, 0, "fail")
    request_id = DecisionRequest.objects.get(task_id=task_id).request_id
    retried = api.post(f"/api/v1/decisions/{request_id}/resolve", {"option": "retry"}, format="json").json()
    assert [action["action_type"] for action in retried["next_actions"]] == ["gate"]
    actions = api.post(f"/api/v1/executions/{task_id}/next").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["gate"]
    gate(api, task_id, 0, "fail")
    second = DecisionRequest.objects.get(task_id=task_id, status="pending").request_id
    response = api.post(f"/api/v1/decisions/{second}/resolve", {"option": "reject"}, format="json")
    assert (response.json()["resolved"], response.json()["execution_resumed"]) == (True, False)
    execution = api.get(f"/api/v1/executions/{task_id}").json()
    assert execution["status"] == "failed"
    assert topics(task_id).count("task.failed") == 1
    assert api.post(f"/api/v1/executions/{task_id}/complete").status_code == 400


def test_failed_step_escalation_retry_then_skip(api):
    task_id = start(api, inline_plan([[{}, {"depends_on": ["0.0"]}]]))["execution"]["task_id"]
    record(api, task_id, "0.0", status="failed", output_summary="compile error")
    execution = api.get(f"/api/v1/executions/{task_id}").json()
    assert execution["status"] == "approval_pending"
    assert execution["steps_failed"] == 1
    decision = DecisionRequest.objects.get(task_id=task_id)
    assert (decision.decision_type, decision.options) == ("escalation", ["retry", "skip", "abort"])
    retried = api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "retry"}, format="json")
    assert dispatched_step_ids(retried.json()["next_actions"]) == ["0.0"]
    # The step is in flight again: asking what to do now says wait, it is never dispatched twice.
    actions = api.post(f"/api/v1/executions/{task_id}/next").json()["next_actions"]
    assert [action["action_type"] for action in actions] == ["wait"]
    assert topics(task_id).count("step.dispatched") == 2
    record(api, task_id, "0.0", status="failed")
    second = DecisionRequest.objects.get(task_id=task_id, status="pending")
    skipped = api.post(f"/api/v1/decisions/{second.request_id}/resolve", {"option": "skip"}, format="json")
    assert dispatched_step_ids(skipped.json()["next_actions"]) == ["0.1"]


def test_abort_fails_the_execution(api):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    record(api, task_id, "0.0", status="failed")
    decision = DecisionRequest.objects.get(task_id=task_id)
    result = api.post(
        f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "abort"}, format="json"
    ).json()
    assert (result["resolved"], result["execution_resumed"]) == (True, False)
    assert Execution.objects.get(task_id=task_id).status == "failed"


def test_high_risk_plan_starts_with_a_plan_review(api):
    body = start(api, inline_plan([[{}]], risk_level="HIGH"))
    task_id = body["execution"]["task_id"]
    assert body["execution"]["status"] == "approval_pending"
    assert dispatched_step_ids(body["next_actions"]) == []
    decision = DecisionRequest.objects.get(task_id=task_id)
    assert (decision.decision_type, decision.options) == ("plan_review", ["approve", "reject"])
    bad = api.post(f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "skip"}, format="json")
    assert bad.status_code == 400
    approved = api.post(
        f"/api/v1/decisions/{decision.request_id}/resolve", {"option": "approve"}, format="json"
    )
    assert dispatched_step_ids(approved.json()["next_actions"]) == ["0.0"]


def test_cancel(api):
    task_id = start(api, inline_plan([[{}]], risk_level="CRITICAL"))["execution"]["task_id"]
    response = api.delete(f"/api/v1/executions/{task_id}")
    assert response.status_code == 200
    assert response.json() == {"cancelled": True, "task_id": task_id}
    assert api.get(f"/api/v1/executions/{task_id}").json()["status"] == "failed"
    assert DecisionRequest.objects.get(task_id=task_id).status == "expired"
    assert api.get("/api/v1/ready").json()["pending_decisions"] == 0
    assert api.delete(f"/api/v1/executions/{task_id}").status_code == 400
    assert topics(task_id).count("task.failed") == 1


def test_complete_before_the_end_is_400(api):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    response = api.post(f"/api/v1/executions/{task_id}/complete")
    assert response.status_code == 400


def test_gate_not_required_is_400(api):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    response = gate(api, task_id, 0, "pass")
    assert response.status_code == 400
    assert gate(api, task_id, 0, "maybe").status_code == 400


def test_a_plan_runs_again_under_a_new_task_id_once_finished(api):
    plan = inline_plan([[{}]])
    first = start(api, plan)["execution"]["task_id"]
    busy = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json")
    assert busy.status_code == 409
    api.delete(f"/api/v1/executions/{first}")
    second = api.post("/api/v1/executions", {"plan_id": plan["plan_id"]}, format="json").json()
    assert second["execution"]["task_id"] == f"{plan['plan_id']}-run2"


def test_list_and_ready(api):
    running = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    waiting = start(api, inline_plan([[{}]], risk_level="HIGH"))["execution"]["task_id"]
    page = api.get("/api/v1/executions", {"status": "running"}).json()
    assert [row["task_id"] for row in page["results"]] == [running]
    assert api.get("/api/v1/executions").json()["count"] == 2
    assert api.get("/api/v1/executions", {"status": "bogus"}).status_code == 422
    assert api.get("/api/v1/ready").json() == {"ready": True, "daemon_running": True, "pending_decisions": 1}
    assert waiting


def test_record_cost_does_not_grow_with_plan_size(api, django_assert_max_num_queries, settings):
    settings.BATON_MAX_PARALLEL = 1
    small = start(api, inline_plan([[{}, {}]]))["execution"]["task_id"]
    big = start(api, inline_plan([[{} for _ in range(100)] for _ in range(10)]))["execution"]["task_id"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for task_id in (small, big):
        with CaptureQueriesContext(connection) as captured:
            assert record(api, task_id, "0.0").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda plan: plan["phases"][0]["steps"][0].update(agent_name="a" * 500), "longer than 120"),
        (lambda plan: plan.update(task_summary="nul\x00byte"), "NUL"),
        (lambda plan: plan["phases"][0].update(name="n" * 300), "longer than 200"),
    ],
)
def test_inline_plans_that_do_not_fit_the_database_are_400(api, mutate, fragment):
    plan = inline_plan([[{}]])
    mutate(plan)
    response = api.post("/api/v1/executions", {"plan": plan}, format="json")
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
