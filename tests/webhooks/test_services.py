"""The delivery pipeline in process: the outbox subscriber, the task body against a real HTTP receiver on loopback,
retries, auto-disable, claims, the sweep and the failure log. Tasks run as plain calls (`tasks.deliver(pk)`);
what they enqueue is read from the on-commit callbacks."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from executions import events
from executions.models import Event
from tests.webhooks.receiver import SLOW
from webhooks import services, signing, tasks
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Webhook
from webhooks.policy import Verdict
from webhooks.transport import PostResult

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t"


def make_webhook(url: str, events_: list[str], secret: str = "", **fields) -> Webhook:
    webhook = services.webhook_create(url=url, events=events_, secret=secret)
    if fields:
        Webhook.objects.filter(pk=webhook.pk).update(**fields)
        webhook.refresh_from_db()
    return webhook


def enqueued(callbacks) -> list[tuple[list[int], float | None]]:
    return [
        (callback.args[0], callback.args[1])
        for callback in callbacks
        if isinstance(callback, partial) and callback.func is tasks.enqueue
    ]


def publish(capture, task_id: str, topic: str, payload: dict | None = None) -> tuple[Event, list]:
    with capture() as callbacks:
        event = events.publish(task_id, topic, payload or {})
    return event, enqueued(callbacks)


def attempt(capture, delivery: Delivery) -> tuple[Verdict | None, list]:
    """Run the task's body; run the failure-log writes it registered on commit; return what it would enqueue."""
    with capture() as callbacks:
        verdict = services.delivery_attempt(delivery_pk=delivery.pk)
    for callback in callbacks:
        if isinstance(callback, partial) and callback.func is services.failure_log_append:
            callback()
    return verdict, enqueued(callbacks)


def failure_lines(settings) -> list[dict]:
    path = settings.BATON_WEBHOOK_FAILURE_LOG
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


# --- The outbox ------------------------------------------------------------------------------------------------


def test_each_event_gets_one_delivery_per_matching_enabled_webhook_enqueued_on_commit(receiver, capture):
    steps = make_webhook(receiver.url("/steps"), ["step.*"])
    both = make_webhook(receiver.url("/both"), ["step.completed", "gate.*", "step.*"])
    make_webhook(receiver.url("/off"), ["*"], enabled=False)
    make_webhook(receiver.url("/gates"), ["gate.required"])
    with capture() as callbacks:
        published = events.publish_many("task-1", [("step.completed", {}), ("task.started", {})])
    deliveries = list(Delivery.objects.order_by("pk"))
    assert [(d.webhook_id, d.event_id) for d in deliveries] == [
        (steps.pk, published[0].pk),
        (both.pk, published[0].pk),  # once, although two of its patterns match
    ]
    assert all(d.status == DeliveryStatus.PENDING and d.next_attempt_at for d in deliveries)
    assert enqueued(callbacks) == [([d.pk for d in deliveries], None)]
    assert receiver.received() == []  # nothing is sent before the task runs


def test_a_rolled_back_publish_leaves_no_delivery_and_enqueues_nothing(receiver, capture):
    make_webhook(receiver.url("/all"), ["*"])
    with capture() as callbacks:
        try:
            with transaction.atomic():
                events.publish("task-1", "step.completed", {})
                raise RuntimeError("the write failed after publishing")
        except RuntimeError:
            pass
    assert not Delivery.objects.exists()
    assert not Event.objects.exists()
    assert enqueued(callbacks) == []


def test_no_webhook_means_no_delivery_and_no_message(capture):
    _, messages = publish(capture, "task-1", "step.completed")
    assert messages == []
    assert not Delivery.objects.exists()


def test_the_same_event_cannot_get_two_deliveries_to_one_webhook(receiver, capture):
    webhook = make_webhook(receiver.url("/a"), ["*"])
    event, _ = publish(capture, "task-1", "step.completed")
    with pytest.raises(Exception, match="UNIQUE|unique"), transaction.atomic():
        Delivery.objects.create(
            delivery_id="dlv_dup",
            webhook=webhook,
            event=event,
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )


# --- One attempt -----------------------------------------------------------------------------------------------


def test_delivery_posts_the_signed_generic_body_with_every_header(receiver, capture, settings):
    webhook = make_webhook(receiver.url("/hook"), ["step.*"], secret=SECRET, consecutive_failures=3)
    event, _ = publish(capture, "task-7", "step.completed", {"step_id": "0.0", "note": "café"})
    delivery = Delivery.objects.get()

    verdict, messages = attempt(capture, delivery)

    assert verdict is Verdict.SUCCEEDED
    assert messages == []
    (request,) = receiver.received()
    assert request.path == "/hook"
    stored = events.event_to_dict(Event.objects.get(pk=event.pk))  # as stored (PostgreSQL orders jsonb keys)
    assert request.json() == stored
    assert request.body == json.dumps(stored, separators=(",", ":")).encode()
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "AgentBaton-Webhook/1.0"
    assert headers["x-baton-event"] == "step.completed"
    assert headers["x-baton-event-id"] == event.event_id
    assert headers["webhook-id"] == delivery.delivery_id
    assert signing.verify_baton_signature(SECRET, request.body, headers["x-baton-signature"])
    timestamp = int(headers["webhook-timestamp"])
    assert abs(timestamp - timezone.now().timestamp()) < 30
    assert signing.verify_standard_signature(
        SECRET, delivery.delivery_id, timestamp, request.body, headers["webhook-signature"]
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.failed_attempts) == (DeliveryStatus.SUCCEEDED, 1, 0)
    assert delivery.last_status_code == 200
    assert delivery.completed_at
    assert delivery.next_attempt_at is None
    (row,) = DeliveryAttempt.objects.all()
    assert (row.attempt, row.status_code, row.succeeded, row.error) == (1, 200, True, "")
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0  # any success resets the count
    assert failure_lines(settings) == []


def test_unsigned_delivery_has_no_signature_headers(receiver, capture):
    make_webhook(receiver.url("/hook"), ["*"])
    publish(capture, "task-1", "task.started")
    with capture():
        tasks.deliver(Delivery.objects.get().pk)  # the Celery task itself, run in process
    (request,) = receiver.received()
    assert "x-baton-signature" not in request.headers
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"].startswith("dlv_")


def test_slack_urls_get_block_kit_for_decisions(receiver, capture):
    make_webhook(receiver.url("/services/hooks.slack/T0/B0"), ["human.*"])
    payload = {
        "request_id": "dec-9",
        "decision_type": "plan_review",
        "summary": "Review",
        "options": ["approve"],
    }
    event, _ = publish(capture, "task-2", "human.decision_needed", payload)
    attempt(capture, Delivery.objects.get())
    body = receiver.received()[0].json()
    assert body["text"] == "Decision required for task `task-2`: plan_review"
    assert body["blocks"][-1]["elements"][0]["value"] == "dec-9::approve"
    assert body["blocks"][4]["elements"][0]["text"].endswith(
        f"*At:* {events.event_to_dict(event)['timestamp']}"
    )


def test_a_duplicated_message_sends_nothing_twice(receiver, capture):
    make_webhook(receiver.url("/hook"), ["*"])
    publish(capture, "task-1", "step.completed")
    delivery = Delivery.objects.get()
    attempt(capture, delivery)
    verdict, messages = attempt(capture, delivery)  # the same message again (redelivery after a lost ack)
    assert verdict is None
    assert messages == []
    assert len(receiver.received()) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_a_delivery_claimed_by_a_live_worker_is_left_alone(receiver, capture):
    make_webhook(receiver.url("/hook"), ["*"])
    publish(capture, "task-1", "step.completed")
    delivery = Delivery.objects.get()
    claim = services.delivery_claim(delivery_pk=delivery.pk)
    assert claim is not None
    assert claim.attempt == 1
    assert services.delivery_claim(delivery_pk=delivery.pk) is None
    verdict, _ = attempt(capture, delivery)
    assert verdict is None
    assert receiver.received() == []


# --- Retries ---------------------------------------------------------------------------------------------------


def test_a_failed_attempt_schedules_the_retry_on_the_row_and_enqueues_it_with_a_countdown(
    receiver, capture, settings
):
    webhook = make_webhook(receiver.script("/flaky", 503, 200), ["*"])
    event, _ = publish(capture, "task-1", "step.failed")
    delivery = Delivery.objects.get()

    verdict, messages = attempt(capture, delivery)

    assert verdict is Verdict.RETRY
    assert messages == [([delivery.pk], 5.0)]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.failed_attempts) == (DeliveryStatus.PENDING, 1, 1)
    assert delivery.last_status_code == 503
    assert delivery.last_error == "HTTP 503: nope"
    row = DeliveryAttempt.objects.get()
    expected_due = row.finished_at + timedelta(seconds=5)
    assert delivery.next_attempt_at == expected_due
    assert failure_lines(settings) == [
        {
            "timestamp": row.finished_at.isoformat(timespec="seconds"),
            "webhook_id": webhook.webhook_id,
            "url": webhook.url,
            "event_id": event.event_id,
            "event_topic": "step.failed",
            "task_id": "task-1",
            "attempt": 1,
        }
    ]

    # The retry's message arrives early (another clock): nothing is sent, the message waits for the due time.
    verdict, messages = attempt(capture, delivery)
    assert verdict is None
    assert len(receiver.received()) == 1
    ((pks, countdown),) = messages
    assert pks == [delivery.pk]
    assert 0 < countdown <= 5.0

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    verdict, _ = attempt(capture, delivery)
    assert verdict is Verdict.SUCCEEDED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.failed_attempts) == (DeliveryStatus.SUCCEEDED, 2, 1)
    assert webhook.deliveries.get().last_status_code == 200
    assert len(failure_lines(settings)) == 1


def test_four_attempts_then_the_delivery_fails_and_counts_against_the_webhook(receiver, capture, settings):
    settings.BATON_WEBHOOK_RETRY_DELAYS = [0.0, 0.0, 0.0]
    webhook = make_webhook(receiver.script("/down", 500), ["*"])
    publish(capture, "task-1", "step.completed")
    delivery = Delivery.objects.get()
    verdicts = [attempt(capture, delivery)[0] for _ in range(5)]
    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.RETRY, Verdict.FAILED, None]
    assert len(receiver.received()) == 4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.failed_attempts) == (DeliveryStatus.FAILED, 4, 4)
    assert delivery.next_attempt_at is None
    assert delivery.completed_at
    assert [line["attempt"] for line in failure_lines(settings)] == [1, 2, 3, 4]
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1
    assert webhook.enabled


@pytest.mark.parametrize("status", [400, 404, 410, 301])
def test_failures_that_cannot_heal_end_the_delivery_at_once(receiver, capture, settings, status):
    webhook = make_webhook(receiver.script("/gone", status), ["*"])
    publish(capture, "task-1", "step.completed")
    verdict, messages = attempt(capture, Delivery.objects.get())
    assert verdict is Verdict.FAILED
    assert messages == []
    assert len(receiver.received()) == 1
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1
    assert len(failure_lines(settings)) == 1


def test_timeouts_and_429_are_retried(receiver, capture, settings):
    settings.BATON_WEBHOOK_TIMEOUT = 0.3
    receiver.slow_seconds = 1.0
    make_webhook(receiver.script("/slow", SLOW), ["step.*"])
    make_webhook(receiver.script("/busy", 429), ["task.*"])
    publish(capture, "task-1", "step.completed")
    publish(capture, "task-1", "task.started")
    slow, busy = Delivery.objects.order_by("pk")
    assert attempt(capture, slow)[0] is Verdict.RETRY
    assert attempt(capture, busy)[0] is Verdict.RETRY
    slow.refresh_from_db()
    assert slow.last_status_code is None
    assert slow.last_error.startswith("timed out")


def test_a_url_that_now_resolves_to_a_refused_address_is_not_called(receiver, capture, settings):
    webhook = make_webhook(f"http://localhost:{receiver.port}/hook", ["*"])
    publish(capture, "task-1", "step.completed")
    settings.BATON_WEBHOOK_ALLOW_LOOPBACK = (
        False  # the check at delivery time refuses what registration allowed
    )
    verdict, _ = attempt(capture, Delivery.objects.get())
    assert verdict is Verdict.FAILED
    assert receiver.received() == []
    row = DeliveryAttempt.objects.get()
    assert row.status_code is None
    assert "loopback" in row.error
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1


# --- Failure count and auto-disable ----------------------------------------------------------------------------


def test_the_tenth_exhausted_delivery_disables_the_webhook_and_says_so(receiver, capture, settings):
    watcher = make_webhook(receiver.url("/watch"), ["webhook.*"])
    failing = make_webhook(receiver.script("/down", 404), ["step.*"], consecutive_failures=9)
    publish(capture, "task-1", "step.completed")
    delivery = Delivery.objects.get(webhook=failing)

    verdict, messages = attempt(capture, delivery)

    assert verdict is Verdict.FAILED
    failing.refresh_from_db()
    assert failing.enabled is False
    assert failing.consecutive_failures == 10
    assert failing.disabled_at
    disabled = Event.objects.get(topic="webhook.disabled")
    assert disabled.task_id == "system"
    assert disabled.payload == {
        "webhook_id": failing.webhook_id,
        "url": failing.url,
        "consecutive_failures": 10,
        "reason": "10 consecutive deliveries failed",
    }
    notice = Delivery.objects.get(event=disabled)
    assert notice.webhook == watcher  # other subscriptions hear about it; the disabled one does not
    assert messages == [([notice.pk], None)]

    # A disabled webhook gets no new deliveries, and a pending one is cancelled without a request.
    publish(capture, "task-1", "step.completed")
    assert not Delivery.objects.filter(webhook=failing, status=DeliveryStatus.PENDING).exists()
    late = Delivery.objects.create(
        delivery_id="dlv_late",
        webhook=failing,
        event=Event.objects.filter(topic="step.completed").last(),
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    assert attempt(capture, late)[0] is None
    late.refresh_from_db()
    assert late.status == DeliveryStatus.CANCELLED
    assert late.attempts == 0
    assert [r.path for r in receiver.received()] == ["/down"]


def test_the_disable_is_published_once_even_past_the_threshold(receiver, capture):
    failing = make_webhook(receiver.script("/down", 404), ["step.*"], consecutive_failures=9)
    publish(capture, "task-1", "step.completed")
    publish(capture, "task-1", "step.failed")
    first, second = Delivery.objects.order_by("pk")
    attempt(capture, first)
    attempt(capture, second)  # disabled meanwhile: cancelled, not counted
    failing.refresh_from_db()
    assert failing.consecutive_failures == 10
    assert Event.objects.filter(topic="webhook.disabled").count() == 1


def test_re_enabling_resets_and_deliveries_resume(receiver, capture):
    webhook = make_webhook(receiver.url("/ok"), ["step.*"], enabled=False, consecutive_failures=10)
    with capture():
        services.webhook_enable(webhook_id=webhook.webhook_id)
    webhook.refresh_from_db()
    assert webhook.enabled
    assert webhook.consecutive_failures == 0
    publish(capture, "task-1", "step.completed")
    assert attempt(capture, Delivery.objects.get())[0] is Verdict.SUCCEEDED


# --- Claims taken over, deletes in flight ----------------------------------------------------------------------


def test_a_claim_older_than_the_timeout_is_taken_over_and_the_old_holder_cannot_move_the_state(
    receiver, capture
):
    make_webhook(receiver.url("/ok"), ["*"])
    publish(capture, "task-1", "step.completed")
    delivery = Delivery.objects.get()
    presumed_dead = services.delivery_claim(delivery_pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(seconds=151))

    successor = services.delivery_claim(delivery_pk=delivery.pk)
    assert successor is not None
    assert successor.attempt == 2

    late = PostResult(status_code=500, failure=None, error="", duration_ms=5, address="127.0.0.1")
    with capture():
        assert (
            services.delivery_record_attempt(claim=presumed_dead, started_at=timezone.now(), result=late)
            is None
        )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING
    assert delivery.claim_token == successor.token
    ok = PostResult(status_code=200, failure=None, error="", duration_ms=5, address="127.0.0.1")
    with capture():
        assert (
            services.delivery_record_attempt(claim=successor, started_at=timezone.now(), result=ok)
            is Verdict.SUCCEEDED
        )
    assert sorted(DeliveryAttempt.objects.values_list("attempt", flat=True)) == [1, 2]


def test_an_attempt_whose_webhook_was_deleted_records_nothing(receiver, capture):
    webhook = make_webhook(receiver.url("/ok"), ["*"])
    publish(capture, "task-1", "step.completed")
    claim = services.delivery_claim(delivery_pk=Delivery.objects.get().pk)
    services.webhook_delete(webhook_id=webhook.webhook_id)
    ok = PostResult(status_code=200, failure=None, error="", duration_ms=5, address="127.0.0.1")
    with capture():
        assert services.delivery_record_attempt(claim=claim, started_at=timezone.now(), result=ok) is None
    assert not DeliveryAttempt.objects.exists()
    assert services.delivery_attempt(delivery_pk=claim.delivery_pk) is None


# --- The sweep -------------------------------------------------------------------------------------------------


def test_the_sweep_re_enqueues_lost_messages_once(receiver, capture, settings):
    make_webhook(receiver.url("/ok"), ["*"])
    for topic in ("a", "b", "c", "d"):
        publish(capture, "task-1", topic)
    lost, fresh, crashed, done = Delivery.objects.order_by("pk")
    now = timezone.now()
    Delivery.objects.filter(pk=lost.pk).update(next_attempt_at=now - timedelta(seconds=61))
    Delivery.objects.filter(pk=crashed.pk).update(
        status=DeliveryStatus.SENDING,
        claimed_at=now - timedelta(seconds=151),
        next_attempt_at=now - timedelta(hours=1),
    )
    Delivery.objects.filter(pk=done.pk).update(
        status=DeliveryStatus.SUCCEEDED, next_attempt_at=now - timedelta(hours=1)
    )

    with capture() as callbacks:
        requeued = services.delivery_sweep()
    assert sorted(requeued) == sorted([lost.pk, crashed.pk])
    assert sorted(enqueued(callbacks)[0][0]) == sorted([lost.pk, crashed.pk])

    with capture() as callbacks:
        assert services.delivery_sweep() == []  # swept a moment ago: not again (another worker's sweep)
    assert enqueued(callbacks) == []

    assert attempt(capture, crashed)[0] is Verdict.SUCCEEDED  # the takeover of a dead worker's claim
    crashed.refresh_from_db()
    assert crashed.attempts == 1
    assert crashed.status == DeliveryStatus.SUCCEEDED
    assert fresh.pk not in requeued


def test_the_sweep_comes_back_to_a_row_after_the_requeue_interval(receiver, capture):
    make_webhook(receiver.url("/ok"), ["*"])
    publish(capture, "task-1", "a")
    delivery = Delivery.objects.get()
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now - timedelta(seconds=200))
    with capture():
        assert services.delivery_sweep(now=now) == [delivery.pk]
    with capture():
        assert services.delivery_sweep(now=now + timedelta(seconds=30)) == []
    with capture():
        assert services.delivery_sweep(now=now + timedelta(seconds=61)) == [delivery.pk]


# --- The failure log and the command ---------------------------------------------------------------------------


def test_an_unwritable_failure_log_does_not_fail_the_delivery(receiver, capture, settings, tmp_path):
    settings.BATON_WEBHOOK_FAILURE_LOG = tmp_path / "missing-dir" / "webhook-failures.jsonl"
    make_webhook(receiver.script("/down", 404), ["*"])
    publish(capture, "task-1", "step.completed")
    with capture(execute=True):
        verdict = services.delivery_attempt(delivery_pk=Delivery.objects.get().pk)
    assert verdict is Verdict.FAILED
    assert not settings.BATON_WEBHOOK_FAILURE_LOG.exists()


def test_failure_log_lines_are_written_on_commit_in_the_contract_format(receiver, capture, settings):
    webhook = make_webhook(receiver.script("/down", 404), ["*"])
    event, _ = publish(capture, "task-é", "step.completed")
    with capture(execute=True):
        services.delivery_attempt(delivery_pk=Delivery.objects.get().pk)
    text = settings.BATON_WEBHOOK_FAILURE_LOG.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert text.count("\n") == 1
    line = json.loads(text)
    assert list(line) == ["timestamp", "webhook_id", "url", "event_id", "event_topic", "task_id", "attempt"]
    assert line["webhook_id"] == webhook.webhook_id
    assert line["event_id"] == event.event_id
    assert '"task_id": "task-é"' in text  # default separators, non-ASCII kept


def test_publish_test_event_command_publishes_through_the_bus(receiver, capture, capsys):
    make_webhook(receiver.url("/all"), ["gate.*"])
    with capture():
        call_command(
            "publish_test_event", "gate.required", "step.done", "--task-id", "task-x", "--payload", '{"a": 1}'
        )
    ids = capsys.readouterr().out.split()
    assert list(Event.objects.order_by("sequence").values_list("event_id", "topic", "payload")) == [
        (ids[0], "gate.required", {"a": 1}),
        (ids[1], "step.done", {"a": 1}),
    ]
    assert Delivery.objects.get().event.topic == "gate.required"


def test_delivery_carries_the_request_id_of_the_request_that_caused_it(receiver, capture):
    from baton_site.context import current_request_id

    make_webhook(receiver.url("/hook"), ["*"])
    token = current_request_id.set("req-abc-123")
    try:
        publish(capture, "task-9", "step.completed")
    finally:
        current_request_id.reset(token)
    verdict, _ = attempt(capture, Delivery.objects.get())
    assert verdict is Verdict.SUCCEEDED
    (request,) = receiver.received()
    assert request.headers["x-request-id"] == "req-abc-123"
    assert "request_id" not in request.json()  # the body stays the contract's event dict


# --- Retention -------------------------------------------------------------------------------------------------


def test_prune_deletes_only_deliveries_that_finished_before_the_retention(receiver, capture, settings):
    settings.BATON_WEBHOOK_RETENTION_DAYS = 30
    make_webhook(receiver.url("/all"), ["step.*"])
    for number in range(5):
        publish(capture, "task-prune", "step.completed", {"n": number})
    done_old, done_recent, failed_old, cancelled_old, pending_old = Delivery.objects.order_by("pk")
    for delivery in (done_old, done_recent):
        assert attempt(capture, delivery)[0] is Verdict.SUCCEEDED
    now = timezone.now()
    long_ago = now - timedelta(days=31)
    Delivery.objects.filter(pk=done_old.pk).update(completed_at=long_ago)
    Delivery.objects.filter(pk=done_recent.pk).update(completed_at=now - timedelta(days=29))
    Delivery.objects.filter(pk=failed_old.pk).update(status=DeliveryStatus.FAILED, completed_at=long_ago)
    Delivery.objects.filter(pk=cancelled_old.pk).update(
        status=DeliveryStatus.CANCELLED, completed_at=long_ago
    )
    # A delivery still waiting is kept however old it is (and whatever its completed_at says).
    Delivery.objects.filter(pk=pending_old.pk).update(created_at=long_ago, completed_at=long_ago)
    assert DeliveryAttempt.objects.filter(delivery=done_old).count() == 1

    assert services.delivery_prune(now=now, batch=2) == 3  # in batches smaller than the work

    assert set(Delivery.objects.values_list("pk", flat=True)) == {done_recent.pk, pending_old.pk}
    assert not DeliveryAttempt.objects.filter(delivery_id=done_old.pk).exists()
    assert DeliveryAttempt.objects.filter(delivery=done_recent).count() == 1
    assert Event.objects.filter(task_id="task-prune").count() == 5  # the event log is not pruned
    assert services.delivery_prune(now=now) == 0


def test_prune_keeps_everything_when_retention_is_zero(receiver, capture, settings):
    settings.BATON_WEBHOOK_RETENTION_DAYS = 0
    make_webhook(receiver.url("/all"), ["step.*"])
    publish(capture, "task-keep", "step.completed")
    delivery = Delivery.objects.get()
    attempt(capture, delivery)
    Delivery.objects.filter(pk=delivery.pk).update(completed_at=timezone.now() - timedelta(days=3650))
    assert services.delivery_prune() == 0
    assert Delivery.objects.filter(pk=delivery.pk).exists()
