"""Webhooks in the scaled-out shape: a real redis-server as the broker, `baton serve --no-worker` (daphne only) and
separate `baton worker` processes, a real HTTP receiver on loopback. Includes the SIGKILL test: a worker killed in
the middle of a delivery loses nothing."""

from __future__ import annotations

import shutil

import pytest

from tests.integration.servers import baton_server, fresh_database_url, redis_server
from tests.webhooks.processes import (
    FAST_WEBHOOKS,
    Api,
    Worker,
    process_env,
    publish,
    publish_then_crash_after_commit,
    running_worker,
    wait_until,
)
from tests.webhooks.receiver import BLOCK, running_receiver
from webhooks import signing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

SECRET = "redis-secret"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Redis, a daphne without embedded worker, and the environment a worker needs to join them."""
    tmp_path = tmp_path_factory.mktemp("webhooks-redis")
    with (
        redis_server(tmp_path) as redis_url,
        fresh_database_url() as database_url,
        running_receiver() as receiver,
    ):
        env = {**FAST_WEBHOOKS, "REDIS_URL": redis_url}
        if database_url:
            env["DATABASE_URL"] = database_url
        with baton_server(tmp_path, "--no-worker", env=env) as server:
            yield server, Api(server.url), receiver, process_env(server.data_dir, database_url, env), tmp_path
        assert "Traceback" not in server.log(), server.log()


def test_a_separate_worker_delivers_through_redis(stack):
    server, api, receiver, env, tmp_path = stack
    webhook = api.register(receiver.url("/w/hook"), ["step.*", "gate.*"], secret=SECRET)
    assert not (server.data_dir / "broker" / "queue").exists() or not any(
        (server.data_dir / "broker" / "queue").iterdir()
    )
    with running_worker(env, tmp_path / "worker-basic.log", "--concurrency", "4"):
        published = publish(env, "step.completed", "task.started", "gate.passed", task_id="task-w1")
        ping = api.ping(webhook["webhook_id"])
        seen = receiver.wait_for(lambda seen: len([r for r in seen if r.path == "/w/hook"]) == 3)
    requests_ = [r for r in seen if r.path == "/w/hook"]
    assert sorted(r.headers["x-baton-event-id"] for r in requests_) == sorted(
        [published[0], published[2], ping["event_id"]]
    )
    for request in requests_:
        assert signing.verify_baton_signature(SECRET, request.body, request.headers["x-baton-signature"])
    rows = api.settled(webhook["webhook_id"], 3)
    assert all(row["status"] == "succeeded" for row in rows)


def test_sigkill_in_the_middle_of_a_delivery_loses_nothing(stack):
    server, api, receiver, env, tmp_path = stack
    webhook = api.register(receiver.script("/k/hook", BLOCK, 200), ["job.*"], secret=SECRET)
    first = Worker(env, tmp_path / "worker-killed.log", "--concurrency", "2")
    try:
        first.wait_ready()
        (held,) = publish(env, "job.first", task_id="task-k1")
        assert receiver.wait_blocked(20), first.log()  # the worker is inside the POST, waiting for an answer
        first.kill()
    finally:
        first.stop()
    receiver.release()  # the receiver finishes the held request; nobody is there to read the answer

    # Events published while no worker runs wait in Redis; the killed worker's delivery is mid-claim.
    later = publish(env, "job.second", "job.third", task_id="task-k1")
    publish_then_crash_after_commit(env, "job.fourth", "task-k1")  # committed, never enqueued
    with running_worker(env, tmp_path / "worker-restarted.log", "--concurrency", "2"):
        rows = api.settled(webhook["webhook_id"], 4, timeout=30)
    assert all(row["status"] == "succeeded" for row in rows), rows
    delivered = {r.headers["x-baton-event-id"] for r in receiver.received("/k/hook")}
    assert {held, *later} <= delivered
    assert len(delivered) == 4  # every event, the crashed publisher's included
    held_requests = [r for r in receiver.received("/k/hook") if r.headers["x-baton-event-id"] == held]
    assert len(held_requests) == 2  # at least once: sent again after the crash ...
    assert len({r.headers["webhook-id"] for r in held_requests}) == 1  # ... with the same id to dedupe on
    (held_row,) = [row for row in rows if row["event_id"] == held]
    assert held_row["attempt"] == 2  # the crashed attempt and the one that succeeded
    assert [a["attempt"] for a in held_row["attempts"]] == [2]  # only finished attempts have a row


def test_retries_and_auto_disable_through_a_separate_worker(stack):
    server, api, receiver, env, tmp_path = stack
    failing = api.register(receiver.script("/x/down", 503), ["load.*"])
    with running_worker(env, tmp_path / "worker-retries.log", "--concurrency", "8"):
        publish(env, *[f"load.n{index}" for index in range(10)], task_id="task-x1")
        wait_until(lambda: not api.webhook(failing["webhook_id"])["enabled"], 30, "webhook not disabled")
        rows = api.settled(failing["webhook_id"], 10, timeout=20)
    assert all(row["status"] == "failed" and row["attempt"] == 4 for row in rows)
    assert api.webhook(failing["webhook_id"])["consecutive_failures"] == 10
    assert len(receiver.received("/x/down")) == 40
    lines = (server.data_dir / "webhook-failures.jsonl").read_text().splitlines()
    assert sum(failing["webhook_id"] in line for line in lines) == 40
