"""Random plans driven through the HTTP API with random outcomes: the stored state and the event log stay sound."""

from __future__ import annotations

import random

import pytest

from decisions.models import DecisionRequest
from executions.models import Event, Execution, StepResult
from tests.executions.plans import inline_plan

pytestmark = pytest.mark.django_db

RUNS = 60
TERMINAL_TOPICS = ("task.completed", "task.failed")


def random_plan(rng: random.Random) -> dict:
    phases = []
    for _ in range(rng.randint(1, 3)):
        count = rng.randint(1, 4)
        steps = []
        for position in range(count):
            earlier = list(range(position))
            depends = rng.sample(earlier, k=rng.randint(0, min(2, len(earlier))))
            steps.append({"depends_on": [f"{len(phases)}.{d}" for d in sorted(depends)]})
        phases.append(steps)
    gates = [rng.random() < 0.7 for _ in phases]
    risk = rng.choice(["LOW", "LOW", "MEDIUM", "HIGH"])
    return inline_plan(phases, gates=gates, risk_level=risk)


def drive(api, rng: random.Random, plan: dict, max_parallel: int) -> str:
    body = api.post("/api/v1/executions", {"plan": plan}, format="json").json()
    task_id = body["execution"]["task_id"]
    in_flight: set[str] = set()
    actions = body["next_actions"]
    for _ in range(200):
        for action in actions:
            if action["action_type"] == "dispatch":
                in_flight.add(action["step_id"])
                in_flight.update(item["step_id"] for item in action["parallel_actions"])
        assert len(in_flight) <= max_parallel
        kinds = {action["action_type"] for action in actions}
        pending = DecisionRequest.objects.filter(task_id=task_id, status="pending").first()
        if pending is not None:
            option = rng.choice(pending.options)
            response = api.post(
                f"/api/v1/decisions/{pending.request_id}/resolve", {"option": option}, format="json"
            )
            assert response.status_code == 200, response.content
            actions = response.json()["next_actions"]
            if pending.decision_type == "escalation" and option == "retry":
                in_flight.discard(pending.context.get("step_id", ""))
            continue
        if "complete" in kinds:
            assert api.post(f"/api/v1/executions/{task_id}/complete").status_code == 200
            return task_id
        if "failed" in kinds or Execution.objects.get(task_id=task_id).status == "failed":
            return task_id
        if "gate" in kinds:
            gate_action = next(action for action in actions if action["action_type"] == "gate")
            result = rng.choice(["pass", "pass", "pass_with_notes", "fail"])
            response = api.post(
                f"/api/v1/executions/{task_id}/gate",
                {"phase_id": gate_action["phase_id"], "result": result},
                format="json",
            )
            assert response.status_code == 200, response.content
            actions = response.json()["next_actions"]
            continue
        if in_flight:
            step_id = rng.choice(sorted(in_flight))
            in_flight.discard(step_id)
            status = "failed" if rng.random() < 0.15 else "complete"
            response = api.post(
                f"/api/v1/executions/{task_id}/record",
                {"step_id": step_id, "agent": "backend-engineer--python", "status": status},
                format="json",
            )
            assert response.status_code == 200, response.content
            actions = response.json()["next_actions"]
            continue
        if rng.random() < 0.1:
            assert api.delete(f"/api/v1/executions/{task_id}").status_code == 200
            return task_id
        actions = api.post(f"/api/v1/executions/{task_id}/next").json()["next_actions"]
        in_flight = set(
            StepResult.objects.filter(execution__task_id=task_id, status="running").values_list(
                "step_id", flat=True
            )
        )
    pytest.fail(f"{task_id} did not finish")


def test_random_lifecycles_keep_state_and_events_consistent(api, settings):
    rng = random.Random(20261126)
    settings.BATON_MAX_PARALLEL = 2
    for _ in range(RUNS):
        task_id = drive(api, rng, random_plan(rng), max_parallel=2)
        execution = Execution.objects.get(task_id=task_id)
        assert execution.status in ("complete", "failed")
        rows = StepResult.objects.filter(execution=execution)
        assert execution.steps_completed == rows.filter(status="complete").count()
        assert execution.steps_failed == rows.filter(status="failed").count()
        assert execution.steps_skipped == rows.filter(status="skipped").count()
        assert execution.pending_decisions == 0
        assert not DecisionRequest.objects.filter(task_id=task_id, status="pending").exists()
        events = list(
            Event.objects.filter(task_id=task_id).order_by("sequence").values_list("sequence", "topic")
        )
        assert [sequence for sequence, _ in events] == list(range(1, len(events) + 1))
        terminal = [topic for _, topic in events if topic in TERMINAL_TOPICS]
        assert len(terminal) == 1
        assert terminal[0] == ("task.completed" if execution.status == "complete" else "task.failed")
        assert events[-1][1] in TERMINAL_TOPICS or execution.status == "failed"
