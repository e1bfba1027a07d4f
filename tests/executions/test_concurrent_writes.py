"""Writers of one execution at the same time (real threads, real transactions, outside any test transaction).

`record` and `gate` read the execution without holding it and write only if nobody wrote it since; these tests
make them race and check that every write counted exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from executions import services
from executions.models import Event, Execution, GateResult, Retrospective, StepResult, UsageRecord
from tests.executions.plans import inline_plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _wide(settings):
    settings.BATON_MAX_PARALLEL = 8  # every step of a phase in flight at once


def race(calls: list[Callable[[APIClient], object]]) -> list[object]:
    """Run the calls at once, one thread and client each; their results in order (exceptions re-raised)."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            client = APIClient()
            start.wait()
            results[index] = calls[index](client)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def start(steps: int) -> str:
    plan = inline_plan([[{} for _ in range(steps)], [{}]])
    response = APIClient().post("/api/v1/executions", {"plan": plan}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    dispatched = [body["next_actions"][0], *body["next_actions"][0]["parallel_actions"]]
    assert len(dispatched) == steps
    return body["execution"]["task_id"]


def record(task_id: str, step_id: str, status: str = "complete") -> Callable[[APIClient], object]:
    def call(client: APIClient) -> object:
        return client.post(
            f"/api/v1/executions/{task_id}/record",
            {"step_id": step_id, "agent": "backend-engineer--python", "status": status, "tokens": 10},
            format="json",
        )

    return call


def test_parallel_steps_recorded_at_once_each_count_once():
    steps = 8
    task_id = start(steps)

    responses = race([record(task_id, f"0.{index}") for index in range(steps)])

    assert [response.status_code for response in responses] == [200] * steps
    execution = Execution.objects.get(task_id=task_id)
    assert (execution.steps_completed, execution.steps_running) == (steps, 0)
    assert execution.phase_status == "gate_pending"
    assert set(
        StepResult.objects.filter(execution=execution, phase_id=0).values_list("status", flat=True)
    ) == {"complete"}
    assert StepResult.objects.filter(execution=execution, phase_id=0, tokens=10).count() == steps
    topics = list(Event.objects.filter(task_id=task_id).order_by("sequence").values_list("topic", flat=True))
    assert topics.count("step.completed") == steps
    sequences = list(
        Event.objects.filter(task_id=task_id).order_by("sequence").values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, len(sequences) + 1))
    # Exactly one of the answers was the last step's: it alone offers the gate.
    offering_gate = [
        response
        for response in responses
        if any(a["action_type"] == "gate" for a in response.json()["next_actions"])
    ]
    assert len(offering_gate) == 1


def test_one_gate_recorded_by_many_at_once_is_stored_once():
    task_id = start(2)
    race([record(task_id, "0.0"), record(task_id, "0.1")])

    def gate(client: APIClient) -> object:
        return client.post(
            f"/api/v1/executions/{task_id}/gate", {"phase_id": 0, "result": "pass"}, format="json"
        )

    responses = race([gate] * 6)

    # One passes the gate; the others then name a phase that is no longer the current one.
    assert sorted(response.status_code for response in responses) == [200] + [400] * 5
    execution = Execution.objects.get(task_id=task_id)
    assert (execution.gates_passed, execution.current_phase) == (1, 1)
    assert GateResult.objects.filter(execution=execution).count() == 1
    assert Event.objects.filter(task_id=task_id, topic="gate.passed").count() == 1
    # The phase after the gate was dispatched once, by the one call that passed it.
    assert Event.objects.filter(task_id=task_id, topic="step.dispatched", payload__step_id="1.0").count() == 1


def test_a_conflicting_outcome_raced_against_a_completion_is_refused_or_applied_never_both():
    task_id = start(1)

    responses = race([record(task_id, "0.0", "complete"), record(task_id, "0.0", "failed")])

    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 409]
    execution = Execution.objects.get(task_id=task_id)
    assert execution.steps_completed + execution.steps_failed == 1
    finished = Event.objects.filter(task_id=task_id, topic__in=["step.completed", "step.failed"]).count()
    assert finished == 1


def test_an_execution_completed_by_many_at_once_is_finalised_once():
    task_id = start(1)
    race([record(task_id, "0.0")])
    client = APIClient()
    for path, body in [
        ("gate", {"phase_id": 0, "result": "pass"}),
        ("record", {"step_id": "1.0", "agent": "backend-engineer--python", "status": "complete"}),
        ("gate", {"phase_id": 1, "result": "pass"}),
    ]:
        assert client.post(f"/api/v1/executions/{task_id}/{path}", body, format="json").status_code == 200

    def complete(client: APIClient) -> object:
        return client.post(f"/api/v1/executions/{task_id}/complete")

    responses = race([complete] * 5)

    assert [response.status_code for response in responses] == [200] * 5
    assert Event.objects.filter(task_id=task_id, topic="task.completed").count() == 1
    assert UsageRecord.objects.filter(task_id=task_id).count() == 1
    usage = UsageRecord.objects.get(task_id=task_id)
    assert list(usage.agents_used.values_list("agent_name", "steps")) == [("backend-engineer--python", 2)]
    assert Retrospective.objects.filter(task_id=task_id).count() == 1
    assert Execution.objects.get(task_id=task_id).status == "complete"


def test_a_failure_whose_write_is_read_again_leaves_only_the_referenced_context_file(monkeypatch):
    """A failed step opens a decision with a context file. When another writer changes the execution between the
    read and the write, the write is made again from a new read: the decision the client sees must name the only
    file written."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database has no unlocked reads: the write is never read again")
    task_id = start(2)
    prepare = services._changes
    raced: list[int] = []
    calls: list[str] = []

    def prepare_then_race(*args, **kwargs):
        changes = prepare(*args, **kwargs)
        calls.append(changes.request_id or "")
        if len(calls) == 1:  # another writer records the other step before this write goes through
            other = threading.Thread(
                target=lambda: raced.append(record(task_id, "0.1")(APIClient()).status_code)
            )
            other.start()
            other.join()
        return changes

    monkeypatch.setattr(services, "_changes", prepare_then_race)
    response = record(task_id, "0.0", "failed")(APIClient())

    assert (response.status_code, raced) == (200, [200])
    assert len(calls) == 3  # the failure, the other step's completion, the failure again from a new read
    (decision,) = APIClient().get("/api/v1/decisions", {"task_id": task_id}).json()["decisions"]
    folder = Path(settings.DATA_DIR) / "context" / task_id
    assert sorted(str(path) for path in folder.iterdir()) == decision["context_files"]
    assert len(decision["context_files"]) == 1
