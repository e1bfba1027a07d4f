"""Two people resolve the same decision at the same moment against a live server: exactly one wins."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.executions.plans import inline_plan
from tests.integration.servers import baton_server

pytestmark = pytest.mark.integration


def open_gate_decision(url: str) -> str:
    plan = inline_plan([[{}]])
    task_id = requests.post(f"{url}/api/v1/executions", json={"plan": plan}, timeout=10).json()["execution"][
        "task_id"
    ]
    requests.post(
        f"{url}/api/v1/executions/{task_id}/record",
        json={"step_id": "0.0", "agent": "backend-engineer--python", "status": "complete"},
        timeout=10,
    )
    requests.post(
        f"{url}/api/v1/executions/{task_id}/gate", json={"phase_id": 0, "result": "fail"}, timeout=10
    )
    decisions = requests.get(f"{url}/api/v1/decisions", params={"task_id": task_id}, timeout=10).json()
    return decisions["decisions"][0]["request_id"]


def post_at_once(url: str, bodies: list[dict]) -> list[int]:
    """POST each body to `url` from its own thread and connection, released together; the status codes."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def post(body: dict) -> None:
        session = requests.Session()
        barrier.wait()
        statuses.append(session.post(url, json=body, timeout=30).status_code)

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_resolutions_exactly_one_succeeds(tmp_path):
    with baton_server(tmp_path, "--no-worker") as server:
        losers: list[int] = []
        # A true overlap (both read "pending" before either claims) depends on scheduling: race until one has been
        # seen, at least 5 rounds and at most 30.
        while len(losers) < 5 or (409 not in losers and len(losers) < 30):
            request_id = open_gate_decision(server.url)
            statuses = post_at_once(
                f"{server.url}/api/v1/decisions/{request_id}/resolve",
                [{"option": "approve"}, {"option": "reject"}],
            )
            assert sorted(statuses)[0] == 200
            assert statuses.count(200) == 1
            losers.append(max(statuses))
            decision = requests.get(f"{server.url}/api/v1/decisions/{request_id}", timeout=10).json()
            assert decision["status"] == "resolved"
        # The loser either lost the compare-and-set (409) or arrived after the winner committed (400, not pending).
        assert set(losers) <= {409, 400}
        assert 409 in losers


def test_concurrent_starts_of_one_plan_make_one_execution(tmp_path):
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        for _ in range(3):
            plan = inline_plan([[{}]])
            plan_id = requests.post(
                f"{server.url}/api/v1/executions", json={"plan": plan}, timeout=10
            ).json()["execution"]["plan_id"]
            requests.delete(f"{server.url}/api/v1/executions/{plan_id}", timeout=10)
            statuses = post_at_once(f"{server.url}/api/v1/executions", [{"plan_id": plan_id}] * 4)
            assert sorted(statuses) == [201, 409, 409, 409]
            listed = requests.get(f"{server.url}/api/v1/executions", params={"limit": 200}, timeout=10).json()
            runs = [row for row in listed["results"] if row["plan_id"] == plan_id]
            assert sorted(row["task_id"] for row in runs) == [plan_id, f"{plan_id}-run2"]


def test_parallel_steps_recorded_at_once_by_two_processes_each_count_once(tmp_path):
    """`record`, `gate` and `complete` read the execution without holding the database and write only if nobody
    wrote it since: eight agents reporting their parallel steps at once, through two web processes, must each be
    counted once, and a gate or a completion sent many times at once must take effect once."""
    steps = 8
    with baton_server(tmp_path, "--no-worker", "--workers", "2", "--max-parallel", str(steps)) as server:
        for _ in range(3):
            plan = inline_plan([[{} for _ in range(steps)], [{}]])
            task_id = requests.post(
                f"{server.url}/api/v1/executions", json={"plan": plan}, timeout=10
            ).json()["execution"]["task_id"]
            statuses = post_at_once(
                f"{server.url}/api/v1/executions/{task_id}/record",
                [
                    {"step_id": f"0.{index}", "agent": "backend-engineer--python", "status": "complete"}
                    for index in range(steps)
                ],
            )
            assert statuses == [200] * steps
            execution = requests.get(f"{server.url}/api/v1/executions/{task_id}", timeout=10).json()
            assert execution["steps_completed"] == steps
            trace = requests.get(f"{server.url}/api/v1/traces/{task_id}", timeout=10).json()
            topics = [event["details"]["topic"] for event in trace["events"]]
            assert topics.count("step.completed") == steps
            sequences = [event["details"]["sequence"] for event in trace["events"]]
            assert sequences == list(range(1, len(sequences) + 1))
            statuses = post_at_once(
                f"{server.url}/api/v1/executions/{task_id}/gate", [{"phase_id": 0, "result": "pass"}] * 4
            )
            assert sorted(statuses) == [200, 400, 400, 400]
            after = requests.get(f"{server.url}/api/v1/executions/{task_id}", timeout=10).json()
            assert (after["current_phase"], after["gates_passed"], after["status"]) == (1, 1, "running")
            for path, body in [
                ("record", {"step_id": "1.0", "agent": "backend-engineer--python", "status": "complete"}),
                ("gate", {"phase_id": 1, "result": "pass"}),
            ]:
                assert requests.post(
                    f"{server.url}/api/v1/executions/{task_id}/{path}", json=body, timeout=10
                ).ok
            statuses = post_at_once(f"{server.url}/api/v1/executions/{task_id}/complete", [{}] * 4)
            assert statuses == [200] * 4
            trace = requests.get(f"{server.url}/api/v1/traces/{task_id}", timeout=10).json()
            assert [event["details"]["topic"] for event in trace["events"]].count("task.completed") == 1
            usage = requests.get(f"{server.url}/api/v1/usage", timeout=10).json()
            assert [record["task_id"] for record in usage["records"]].count(task_id) == 1
        assert "Traceback" not in server.log()
