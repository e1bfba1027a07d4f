"""Webhooks through the embedded default: `baton serve` (daphne + its Celery worker on the filesystem broker, no
external server), a real HTTP receiver on loopback, events published by separate processes."""

from __future__ import annotations

import json

import pytest
import requests

from tests.integration.servers import baton_server, fresh_database_url
from tests.webhooks.processes import (
    FAST_WEBHOOKS,
    Api,
    process_env,
    publish,
    publish_then_crash_after_commit,
    wait_until,
)
from tests.webhooks.receiver import running_receiver
from webhooks import signing

pytestmark = pytest.mark.integration

SECRET = "integration-secret"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One server for the module: (server, api, receiver, env for extra processes)."""
    tmp_path = tmp_path_factory.mktemp("webhooks-embedded")
    with fresh_database_url() as database_url, running_receiver() as receiver:
        env = dict(FAST_WEBHOOKS)
        if database_url:
            env["DATABASE_URL"] = database_url
        with baton_server(tmp_path, env=env) as server:
            yield server, Api(server.url), receiver, process_env(server.data_dir, database_url, FAST_WEBHOOKS)
        assert "Traceback" not in server.log(), server.log()


def failure_log(server) -> list[dict]:
    path = server.data_dir / "webhook-failures.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_events_are_matched_signed_and_delivered_by_the_embedded_worker(stack):
    server, api, receiver, env = stack
    steps = api.register(receiver.url("/e/steps"), ["step.*"], secret=SECRET)
    gates = api.register(receiver.url("/e/gates"), ["gate.required", "human.*"])
    slack = api.register(receiver.url("/e/hooks.slack/T0/B0"), ["human.decision_needed"])
    decision = json.dumps(
        {
            "request_id": "dec-7",
            "decision_type": "gate_approval",
            "summary": "Gate failed",
            "options": ["approve"],
        }
    )
    *published, needed = publish(
        env,
        "step.completed",
        "gate.required",
        "task.started",
        "human.decision_needed",
        task_id="task-e1",
        payload=decision,
    )

    receiver.wait_for(lambda seen: len([r for r in seen if r.path.startswith("/e/")]) == 4)
    by_path = {request.path: request for request in receiver.received() if request.path.startswith("/e/")}

    step = by_path["/e/steps"]
    assert step.headers["x-baton-event"] == "step.completed"
    assert step.headers["x-baton-event-id"] == published[0]
    assert step.headers["user-agent"] == "AgentBaton-Webhook/1.0"
    assert step.headers["content-type"] == "application/json"
    assert signing.verify_baton_signature(SECRET, step.body, step.headers["x-baton-signature"])
    assert signing.verify_standard_signature(
        SECRET,
        step.headers["webhook-id"],
        int(step.headers["webhook-timestamp"]),
        step.body,
        step.headers["webhook-signature"],
    )
    body = step.json()
    assert set(body) == {"event_id", "timestamp", "topic", "task_id", "sequence", "payload"}
    assert (body["event_id"], body["topic"], body["task_id"], body["sequence"]) == (
        published[0],
        "step.completed",
        "task-e1",
        1,
    )

    gate_topics = sorted(r.json()["topic"] for r in receiver.received("/e/gates"))
    assert gate_topics == ["gate.required", "human.decision_needed"]  # generic JSON: not a Slack URL
    assert "x-baton-signature" not in by_path["/e/gates"].headers

    slack_body = by_path["/e/hooks.slack/T0/B0"].json()
    assert slack_body["text"] == "Decision required for task `task-e1`: gate_approval"
    assert slack_body["blocks"][-1]["elements"][0]["value"] == "dec-7::approve"
    assert by_path["/e/hooks.slack/T0/B0"].headers["x-baton-event-id"] == needed

    for webhook, count in ((steps, 1), (gates, 2), (slack, 1)):
        rows = api.settled(webhook["webhook_id"], count)
        assert all(row["status"] == "succeeded" and row["attempt"] == 1 for row in rows)

    ping = api.ping(steps["webhook_id"])
    received = receiver.wait_for(lambda seen: any(r.headers.get("x-baton-event") == "ping" for r in seen))
    (pinged,) = [r for r in received if r.headers.get("x-baton-event") == "ping"]
    assert pinged.path == "/e/steps"
    assert pinged.headers["webhook-id"] == ping["delivery_id"]
    assert pinged.json()["task_id"] == "system"


def test_retries_follow_the_schedule_and_every_failed_attempt_is_logged(stack):
    server, api, receiver, env = stack
    webhook = api.register(receiver.script("/r/flaky", 503, 503, 200), ["step.*"])
    (event_id,) = publish(env, "step.failed", task_id="task-r1")

    seen = receiver.wait_for(lambda seen: len([r for r in seen if r.path == "/r/flaky"]) == 3)
    times = [r.at for r in seen if r.path == "/r/flaky"]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert 0.2 <= gaps[0] < 1.5, gaps
    assert 0.4 <= gaps[1] < 1.7, gaps
    assert {r.headers["webhook-id"] for r in seen if r.path == "/r/flaky"} == {
        seen[-1].headers["webhook-id"]
    }  # one stable delivery id across attempts

    (row,) = api.settled(webhook["webhook_id"], 1)
    assert (row["status"], row["attempt"], row["status_code"]) == ("succeeded", 3, 200)
    assert [(a["attempt"], a["status_code"], a["succeeded"]) for a in row["attempts"]] == [
        (1, 503, False),
        (2, 503, False),
        (3, 200, True),
    ]
    lines = [line for line in failure_log(server) if line["webhook_id"] == webhook["webhook_id"]]
    assert [(line["event_id"], line["event_topic"], line["task_id"], line["attempt"]) for line in lines] == [
        (event_id, "step.failed", "task-r1", 1),
        (event_id, "step.failed", "task-r1", 2),
    ]
    assert all(line["url"] == webhook["url"] for line in lines)
    assert api.webhook(webhook["webhook_id"])["consecutive_failures"] == 0


def test_ten_exhausted_deliveries_disable_the_webhook_and_publish_it(stack):
    server, api, receiver, env = stack
    failing = api.register(receiver.script("/d/down", 500), ["build.*"])
    watcher = api.register(receiver.url("/d/watch"), ["webhook.disabled"])
    publish(env, *[f"build.n{index}" for index in range(10)], task_id="task-d1")

    receiver.wait_for(lambda seen: any(r.path == "/d/watch" for r in seen), timeout=30)
    notice = receiver.received("/d/watch")[0].json()
    assert notice["topic"] == "webhook.disabled"
    assert notice["task_id"] == "system"
    assert notice["payload"]["webhook_id"] == failing["webhook_id"]

    state = api.webhook(failing["webhook_id"])
    assert state["enabled"] is False
    assert state["consecutive_failures"] == 10
    rows = api.settled(failing["webhook_id"], 10, timeout=20)
    assert all(row["status"] == "failed" and row["attempt"] == 4 for row in rows)
    assert len(receiver.received("/d/down")) == 40  # 10 events x (first attempt + 3 retries)
    lines = [line for line in failure_log(server) if line["webhook_id"] == failing["webhook_id"]]
    assert sorted(line["attempt"] for line in lines) == sorted([1, 2, 3, 4] * 10)
    api.settled(watcher["webhook_id"], 1)

    # Disabled: no more deliveries (not even a test ping); re-enabling resets the count and delivery resumes.
    assert (
        requests.post(f"{server.url}/api/v1/webhooks/{failing['webhook_id']}/test", timeout=10).status_code
        == 400
    )
    receiver.script("/d/down", 200)
    enabled = api.enable(failing["webhook_id"])
    assert enabled["enabled"] is True
    assert enabled["consecutive_failures"] == 0
    ping = api.ping(failing["webhook_id"])
    wait_until(
        lambda: any(r.headers["webhook-id"] == ping["delivery_id"] for r in receiver.received("/d/down")), 10
    )


def test_an_event_committed_by_a_process_that_dies_at_once_is_still_delivered(stack):
    server, api, receiver, env = stack
    webhook = api.register(receiver.url("/c/hook"), ["crash.*"])
    publish_then_crash_after_commit(env, "crash.commit", "task-c1")
    # No message was ever sent: the worker's sweep finds the overdue delivery row and enqueues it.
    request = receiver.wait_for(lambda seen: any(r.path == "/c/hook" for r in seen), timeout=15)[-1]
    assert request.json()["topic"] == "crash.commit"
    (row,) = api.settled(webhook["webhook_id"], 1)
    assert row["status"] == "succeeded"
