"""Webhooks in the scaled-out shape: a real redis-server as the broker, `baton serve --no-worker` (daphne only) and
a separate `baton worker` process, a real HTTP receiver on loopback. Ends with the SIGKILL test: a worker killed in
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
    wait_until,
)
from tests.webhooks.receiver import BLOCK, running_receiver
from webhooks import signing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

SECRET = "redis-secret"


class Workers:
    """The module's one `baton worker` process at a time (the SIGKILL test replaces it)."""

    def __init__(self, env, tmp_path) -> None:
        self.env, self.tmp_path, self.count = env, tmp_path, 0
        self.current = self.start()

    def start(self) -> Worker:
        self.count += 1
        worker = Worker(self.env, self.tmp_path / f"worker-{self.count}.log", "--concurrency", "8")
        worker.wait_ready()
        return worker


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Redis, a daphne without embedded worker, a separate worker, and the environment they share."""
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
            workers = Workers(process_env(server.data_dir, database_url, env), tmp_path)
            try:
                yield server, Api(server.url), receiver, workers
            finally:
                workers.current.stop()
        assert "Traceback" not in server.log(), server.log()


def test_a_separate_worker_delivers_through_redis(stack):
    server, api, receiver, workers = stack
    webhook = api.register(receiver.url("/w/hook"), ["step.*", "gate.*"], secret=SECRET)
    published = publish(workers.env, "step.completed", "task.started", "gate.passed", task_id="task-w1")
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
    # Redis carried the messages: the filesystem broker's queue was never used.
    queue = server.data_dir / "broker" / "queue"
    assert not queue.exists() or not any(queue.iterdir())


def test_retries_and_auto_disable_through_a_separate_worker(stack):
    server, api, receiver, workers = stack
    failing = api.register(receiver.script("/x/down", 503), ["load.*"])
    publish(workers.env, *[f"load.n{index}" for index in range(10)], task_id="task-x1")
    wait_until(lambda: not api.webhook(failing["webhook_id"])["enabled"], 30, "webhook not disabled")
    rows = api.settled(failing["webhook_id"], 10, timeout=20)
    assert all(row["status"] == "failed" and row["attempt"] == 4 for row in rows)
    assert api.webhook(failing["webhook_id"])["consecutive_failures"] == 10
    assert len(receiver.received("/x/down")) == 40
    lines = (server.data_dir / "webhook-failures.jsonl").read_text().splitlines()
    assert sum(failing["webhook_id"] in line for line in lines) == 40


def test_sigkill_in_the_middle_of_a_delivery_loses_nothing(stack):
    server, api, receiver, workers = stack
    webhook = api.register(receiver.script("/k/hook", BLOCK, 200), ["job.*"], secret=SECRET)
    (held,) = publish(workers.env, "job.first", task_id="task-k1")
    assert receiver.wait_blocked(20), (
        workers.current.log()
    )  # the worker is inside the POST, awaiting the answer
    workers.current.kill()
    receiver.release()  # the receiver finishes the held request; nobody is left to read the answer

    # While no worker runs: two events wait in Redis, and one is committed by a process that dies before
    # enqueueing it (its message never exists).
    later = publish_then_crash_after_commit(
        workers.env, "job.fourth", "task-k1", first=("job.second", "job.third")
    )
    assert len(later) == 3
    workers.current = workers.start()

    rows = api.settled(webhook["webhook_id"], 4, timeout=30)
    assert all(row["status"] == "succeeded" for row in rows), rows
    delivered = {r.headers["x-baton-event-id"] for r in receiver.received("/k/hook")}
    assert delivered == {held, *later}  # every event, none lost
    held_requests = [r for r in receiver.received("/k/hook") if r.headers["x-baton-event-id"] == held]
    assert len(held_requests) == 2  # at least once: sent again after the crash ...
    assert len({r.headers["webhook-id"] for r in held_requests}) == 1  # ... with the same id to dedupe on
    (held_row,) = [row for row in rows if row["event_id"] == held]
    assert held_row["attempt"] == 2  # the attempt the crash interrupted, and the one that succeeded
    assert [a["attempt"] for a in held_row["attempts"]] == [2]  # only a finished attempt has a row
