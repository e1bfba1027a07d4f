"""Every write of the webhooks app: subscriptions, the delivery outbox, attempts, auto-disable and the sweep.

Delivery lifecycle (states and moves in `models.DELIVERY_TRANSITIONS`):

1. `delivery_create_for_events` runs inside the transaction that publishes events (an `events.subscribe` hook):
   one `pending` Delivery per (event, matching enabled webhook), and a Celery message per delivery on commit.
2. `delivery_attempt` (the Celery task's body) claims the row with a conditional UPDATE (`pending` and due, or
   `sending` with a claim older than BATON_WEBHOOK_CLAIM_TIMEOUT, whose holder must be dead); a duplicated
   message, or one for a delivery already sent, changes no row and does nothing. It then re-checks the URL,
   POSTs outside any transaction, and `delivery_record_attempt` stores the attempt and the next state.
3. A retry keeps its due time on the row (`next_attempt_at`) and is enqueued with a countdown; the sweep
   (`delivery_sweep`, run by every worker) re-enqueues deliveries whose message was lost, so neither a crash nor a
   broker's visibility timeout can lose or delay a delivery for long.

Delivery is therefore at least once: a receiver may see a delivery twice (a worker killed after sending, before
recording), and dedupes on the stable `webhook-id` header.

In a worker on SQLite, the claims and attempt records of concurrent deliveries share transactions (`_write`, group
commit: baton_site/db/group.py), one turn of the single writer lock for many deliveries.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from baton_site import rows as table_rows
from baton_site.celery import app as celery_app
from baton_site.db import group
from baton_site.db.group import GroupCommit
from baton_site.errors import NotFound, RuleViolation, ValidationFailed
from executions import events
from executions.models import Event
from webhooks import payloads, policy, transport, urlsafety
from webhooks.matching import topic_matches
from webhooks.models import (
    SYSTEM_TASK_ID,
    TOPIC_PING,
    TOPIC_WEBHOOK_DISABLED,
    TOPIC_WEBHOOK_ENABLED,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Webhook,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Topics delivered only to the webhook they name, never matched against subscriptions.
UNMATCHED_TOPICS = frozenset({TOPIC_PING})


def new_webhook_id() -> str:
    return secrets.token_hex(8)


def new_delivery_id() -> str:
    return f"dlv_{secrets.token_hex(12)}"


def url_policy() -> urlsafety.UrlPolicy:
    return urlsafety.UrlPolicy.from_entries(
        settings.BATON_WEBHOOK_ALLOW_HOSTS, allow_loopback=settings.BATON_WEBHOOK_ALLOW_LOOPBACK
    )


def _enqueue_on_commit(delivery_pks: Sequence[int], countdown: float | None = None) -> None:
    # The message must not reach a worker before the rows it names are committed, and a broker that is down must
    # not fail a write that already committed: `robust` logs the error and the sweep sends the delivery later.
    from webhooks.tasks import enqueue

    if delivery_pks:
        transaction.on_commit(partial(enqueue, list(delivery_pks), countdown), robust=True)


# --- Subscriptions --------------------------------------------------------------------------------------------


def webhook_check_url(*, url: str) -> urlsafety.Target:
    """The URL rules of registration; ValidationFailed (422, `loc` body.url) when the URL is refused."""
    try:
        return urlsafety.check_url(url, url_policy())
    except urlsafety.UrlRefused as exc:
        raise ValidationFailed(
            ["body", "url"], exc.message, "url_refused" if exc.kind != "invalid" else "url_parsing"
        ) from None


def webhook_create(*, url: str, events: list[str], secret: str | None = None) -> Webhook:
    """Register a subscription after checking its URL (DNS is resolved before the transaction opens)."""
    webhook_check_url(url=url)
    for _ in range(3):
        try:
            with transaction.atomic():
                return Webhook.objects.create(
                    webhook_id=new_webhook_id(),
                    url=url,
                    events=list(events),
                    secret=secret or "",
                    created=timezone.now(),
                )
        except IntegrityError:  # a 64-bit id collided: draw again
            continue
    raise RuntimeError("could not allocate a webhook id")


def webhook_delete(*, webhook_id: str) -> None:
    """Remove a subscription and its delivery log. An attempt in flight finds its row gone and records nothing."""
    deleted, _ = Webhook.objects.filter(webhook_id=webhook_id).delete()
    if not deleted:
        raise NotFound(f"Webhook '{webhook_id}' not found.")


def webhook_enable(*, webhook_id: str) -> Webhook:
    """Re-enable a (typically auto-disabled) webhook with a clean failure count. Enabling an enabled webhook is a
    no-op; a real change publishes `webhook.enabled`."""
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().filter(webhook_id=webhook_id).first()
        if webhook is None:
            raise NotFound(f"Webhook '{webhook_id}' not found.")
        if webhook.enabled:
            return webhook
        webhook.enabled = True
        webhook.consecutive_failures = 0
        webhook.disabled_at = None
        webhook.save(update_fields=["enabled", "consecutive_failures", "disabled_at"])
        events.publish(
            SYSTEM_TASK_ID, TOPIC_WEBHOOK_ENABLED, {"webhook_id": webhook.webhook_id, "url": webhook.url}
        )
    return webhook


def webhook_ping(*, webhook_id: str) -> Delivery:
    """Publish a `ping` event (task id `system`) delivered to this webhook only, through the normal pipeline.
    RuleViolation (400) when the webhook is disabled: enable it first."""
    with transaction.atomic():
        webhook = Webhook.objects.filter(webhook_id=webhook_id).first()
        if webhook is None:
            raise NotFound(f"Webhook '{webhook_id}' not found.")
        if not webhook.enabled:
            raise RuleViolation(f"Webhook '{webhook_id}' is disabled; enable it before testing it.")
        event = events.publish(
            SYSTEM_TASK_ID,
            TOPIC_PING,
            {
                "webhook_id": webhook.webhook_id,
                "message": "Ping from Agent Baton: this webhook is reachable.",
            },
        )
        now = timezone.now()
        delivery = Delivery.objects.create(
            delivery_id=new_delivery_id(), webhook=webhook, event=event, next_attempt_at=now, created_at=now
        )
        _enqueue_on_commit([delivery.pk])
    return delivery


# --- The outbox -----------------------------------------------------------------------------------------------


def delivery_create_for_events(new_events: Sequence[Event]) -> list[Delivery]:
    """Event-bus subscriber: inside the publishing transaction, one pending Delivery per (event, matching enabled
    webhook), enqueued on commit. A rolled-back publish therefore leaves neither deliveries nor messages."""
    matchable = [event for event in new_events if event.topic not in UNMATCHED_TOPICS]
    if not matchable:
        return []
    hooks = _enabled_subscriptions()
    if not hooks:
        return []
    now = timezone.now()
    rows = [
        Delivery(
            delivery_id=new_delivery_id(),
            webhook_id=pk,
            event=event,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for event in matchable
        for pk, patterns in hooks
        if topic_matches(patterns, event.topic)
    ]
    if not rows:
        return []
    if table_rows.can_return_rows():
        by_id = {row.delivery_id: row for row in rows}
        stored = table_rows.insert(
            Delivery,
            _DELIVERY_COLUMNS,
            [[getattr(row, name) for name in _DELIVERY_COLUMNS] for row in rows],
            returning=("id", "delivery_id"),
        )
        for pk, delivery_id in stored:
            table_rows.attach(by_id[delivery_id], pk)
    else:
        Delivery.objects.bulk_create(rows)
    _enqueue_on_commit([row.pk for row in rows])
    return rows


# The columns written for a new delivery (values from the instance, model defaults included); the columns left
# out are nullable and start NULL.
_DELIVERY_COLUMNS = (
    "delivery_id", "webhook_id", "event_id", "status", "attempts", "failed_attempts", "next_attempt_at",
    "claim_token", "last_error", "created_at",
)  # fmt: skip


def _enabled_subscriptions() -> list[tuple[int, list[str]]]:
    """(pk, patterns) of every enabled webhook (this runs in every publishing transaction)."""
    return table_rows.values(Webhook, ("id", "events"), enabled=True)


# --- Attempts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A worker's exclusive right to make attempt number `attempt` of a delivery, with what the attempt needs
    (plain data, loaded in the claim's second statement)."""

    delivery_pk: int
    delivery_id: str
    token: str
    attempt: int
    failed_attempts: int
    webhook_pk: int
    webhook_id: str
    url: str
    secret: str
    enabled: bool
    event: dict[str, Any]  # the contract's event dict
    request_id: str = ""  # the API request that caused the event (sent as X-Request-ID)


def delivery_claim(*, delivery_pk: int, now: datetime | None = None) -> Claim | None:
    """Claim a due delivery with one conditional UPDATE. None when no row changed: the delivery is gone, done,
    claimed by a live worker, or not yet due."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.BATON_WEBHOOK_CLAIM_TIMEOUT)
    token = secrets.token_hex(16)
    # A transaction of one statement: on SQLite it queues behind the process's other writers (baton_site.db)
    # instead of meeting their lock in SQLite's sleeping busy handler.
    if not _write(partial(_claim_row, delivery_pk=delivery_pk, token=token, now=now, stale=stale)):
        return None
    return _load_claim(delivery_pk=delivery_pk, token=token)


group_commit = GroupCommit()


def group_commit_enable(enabled: bool = True) -> None:
    """Let this process's delivery writes share transactions (`baton_site.db.group`). The worker turns it on
    (webhooks.tasks); where it cannot apply (not a SQLite file, or inside a transaction) writes stay separate."""
    global _group_commit_enabled
    _group_commit_enabled = enabled


_group_commit_enabled = False


def _write(operation: Callable[[], _T]) -> _T:
    """Run a short write operation in a transaction: shared with other threads' ones when group commit is on."""
    if _group_commit_enabled and group.usable_for(connection):
        return cast("_T", group_commit.run(operation))
    with transaction.atomic():
        return operation()


# The statements every delivery runs (claim, load, compare-and-set, failure-count reset) are written in SQL: the
# ORM's compilation of each cost several times the statement itself, and these run hundreds of times a second.
# Identifiers come from the models' metadata; every value is a query parameter.


def _sql(statement: str, params: Sequence[Any]) -> int:
    """Run one UPDATE; returns the number of rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def _when(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _claim_row(*, delivery_pk: int, token: str, now: datetime, stale: datetime) -> bool:
    """UPDATE ... SET status = sending WHERE the delivery is pending and due, or sending under a stale claim."""
    statement = (
        f"UPDATE {_table(Delivery)} SET status = %s, claim_token = %s, claimed_at = %s, attempts = attempts + 1 "  # noqa: S608
        "WHERE id = %s AND ((status = %s AND next_attempt_at <= %s) OR (status = %s AND claimed_at < %s))"
    )
    sending, pending = DeliveryStatus.SENDING.value, DeliveryStatus.PENDING.value
    params = [sending, token, _when(now), delivery_pk, pending, _when(now), sending, _when(stale)]
    return _sql(statement, params) == 1


def _load_claim(*, delivery_pk: int, token: str) -> Claim | None:
    """The claimed delivery with its webhook and event, in one SELECT. None when it vanished meanwhile."""
    statement = (
        "SELECT d.delivery_id, d.attempts, d.failed_attempts, w.id, w.webhook_id, w.url, w.secret, w.enabled, "  # noqa: S608
        "e.event_id, e.timestamp, e.topic, e.task_id, e.sequence, e.payload, e.request_id "
        f"FROM {_table(Delivery)} d JOIN {_table(Webhook)} w ON w.id = d.webhook_id "
        f"JOIN {_table(Event)} e ON e.id = d.event_id WHERE d.id = %s AND d.claim_token = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [delivery_pk, token])
        row = cursor.fetchone()
    if row is None:
        return None
    delivery_id, attempts, failed, webhook_pk, webhook_id, url, secret, enabled, *event = row
    event_id, timestamp, topic, task_id, sequence, payload, request_id = event
    return Claim(
        delivery_pk=delivery_pk,
        delivery_id=delivery_id,
        token=token,
        attempt=attempts,
        failed_attempts=failed,
        webhook_pk=webhook_pk,
        webhook_id=webhook_id,
        url=url,
        secret=secret,
        enabled=bool(enabled),
        event={
            "event_id": event_id,
            "timestamp": _datetime(timestamp).isoformat(timespec="seconds"),
            "topic": topic,
            "task_id": task_id,
            "sequence": sequence,
            "payload": json.loads(payload) if isinstance(payload, str | bytes) else payload,
        },
        request_id=request_id or "",
    )


def _datetime(value: datetime | str) -> datetime:
    """A timestamp column as read by a raw cursor: a datetime (PostgreSQL) or UTC text (SQLite)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _reset_failures(*, webhook_pk: int) -> None:
    statement = (
        f"UPDATE {_table(Webhook)} SET consecutive_failures = 0 WHERE id = %s AND consecutive_failures > 0"  # noqa: S608
    )
    _sql(statement, [webhook_pk])


def delivery_attempt(*, delivery_pk: int) -> policy.Verdict | None:
    """Make the next attempt of a delivery if it is due and unclaimed: claim, re-check the URL, POST (no
    transaction or lock is held meanwhile), record. Returns the verdict, or None when there was nothing to do."""
    claim = delivery_claim(delivery_pk=delivery_pk)
    if claim is None:
        _requeue_if_early(delivery_pk)
        return None
    if not claim.enabled:
        _delivery_cancel(claim)
        return None
    event = claim.event
    body = payloads.encode(payloads.body_for(claim.url, event))
    started_at = timezone.now()
    try:
        target = urlsafety.check_url(claim.url, url_policy())
    except urlsafety.UrlRefused as exc:
        kind = {"dns": policy.FailureKind.DNS, "address": policy.FailureKind.REFUSED_ADDRESS}.get(
            exc.kind, policy.FailureKind.INVALID_URL
        )
        result = transport.PostResult(None, kind, exc.message, 0, None)
    else:
        headers = payloads.request_headers(
            topic=event["topic"],
            event_id=event["event_id"],
            delivery_id=claim.delivery_id,
            timestamp=int(time.time()),
            body=body,
            secret=claim.secret,
        )
        if claim.request_id:
            headers["X-Request-ID"] = claim.request_id
        result = transport.post(target, body, headers, settings.BATON_WEBHOOK_TIMEOUT)
    return delivery_record_attempt(claim=claim, started_at=started_at, result=result)


def _requeue_if_early(delivery_pk: int) -> None:
    # A message may arrive before its delivery is due (a countdown computed on another clock, a duplicate of an
    # earlier retry): wait for the due time instead of dropping it. Each message gives at most one successor.
    # (Eager mode, which ignores countdowns, would turn this into a busy loop: there the sweep catches up.)
    if celery_app.conf.task_always_eager:
        return
    row = Delivery.objects.filter(pk=delivery_pk).values("status", "next_attempt_at").first()
    now = timezone.now()
    if (
        row
        and row["status"] == DeliveryStatus.PENDING
        and row["next_attempt_at"]
        and row["next_attempt_at"] > now
    ):
        _enqueue_on_commit([delivery_pk], (row["next_attempt_at"] - now).total_seconds())


def _delivery_cancel(claim: Claim) -> None:
    """The webhook was disabled after the delivery was written: end it without an attempt."""
    Delivery.objects.filter(
        pk=claim.delivery_pk, claim_token=claim.token, status=DeliveryStatus.SENDING
    ).update(
        status=DeliveryStatus.CANCELLED,
        attempts=F("attempts") - 1,
        next_attempt_at=None,
        completed_at=timezone.now(),
        last_error="webhook disabled",
    )


def delivery_record_attempt(
    *, claim: Claim, started_at: datetime, result: transport.PostResult
) -> policy.Verdict | None:
    """Store one attempt and move the delivery (succeeded, pending for a retry, or failed) in one short
    transaction. The move is a compare-and-set on the claim; if another worker took the claim over meanwhile
    (this one was presumed dead), the attempt is logged but the state is left to the new holder. A success resets
    the webhook's failure count; an exhausted delivery increments it (F()) and may disable the webhook.
    None when the delivery is gone (its webhook was deleted) or was taken over."""
    finished_at = timezone.now()
    succeeded = result.failure is None
    # `failed_attempts` only changes under a claim, so the value loaded with the claim is current while it holds.
    failed_attempts = claim.failed_attempts + (0 if succeeded else 1)
    decision = policy.decide(
        succeeded=succeeded,
        kind=result.failure,
        status_code=result.status_code,
        failed_attempts=failed_attempts,
        delays=settings.BATON_WEBHOOK_RETRY_DELAYS,
    )
    changes: dict[str, Any] = {
        "failed_attempts": failed_attempts,
        "last_status_code": result.status_code,
        "last_error": result.error[:2000],
        "claim_token": "",
    }
    if decision.verdict is policy.Verdict.RETRY:
        changes |= {
            "status": DeliveryStatus.PENDING,
            "next_attempt_at": finished_at + timedelta(seconds=decision.retry_in or 0),
        }
    else:
        status = DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED
        changes |= {"status": status, "next_attempt_at": None, "completed_at": finished_at}
    attempt = DeliveryAttempt(
        delivery_id=claim.delivery_pk,
        attempt=claim.attempt,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        error=result.error[:2000],
        succeeded=succeeded,
    )
    attempt_row = [getattr(attempt, name) for name in _ATTEMPT_COLUMNS]

    def move() -> policy.Verdict | None:
        # Compare-and-set on the claim: the move applies only while the delivery is sending under this token.
        moved = (
            table_rows.update(
                Delivery,
                changes,
                id=claim.delivery_pk,
                status=DeliveryStatus.SENDING,
                claim_token=claim.token,
            )
            == 1
        )
        if not moved and not Delivery.objects.filter(pk=claim.delivery_pk).exists():
            return None
        table_rows.insert(DeliveryAttempt, _ATTEMPT_COLUMNS, [attempt_row])
        if not succeeded:
            transaction.on_commit(
                partial(failure_log_append, failure_line(attempt=attempt, claim=claim)), robust=True
            )
        if not moved:
            return None
        if decision.verdict is policy.Verdict.SUCCEEDED:
            _reset_failures(webhook_pk=claim.webhook_pk)
        elif decision.verdict is policy.Verdict.FAILED:
            _webhook_count_failure(webhook_pk=claim.webhook_pk)
        else:
            _enqueue_on_commit([claim.delivery_pk], decision.retry_in)
        return decision.verdict

    try:
        return _write(move)
    except IntegrityError:  # the delivery was deleted between the statements (its attempt row has no parent)
        logger.warning("delivery %s vanished while its attempt was recorded", claim.delivery_id)
        return None


_ATTEMPT_COLUMNS = (
    "delivery_id", "attempt", "started_at", "finished_at", "duration_ms", "status_code", "error", "succeeded",
)  # fmt: skip


def _webhook_count_failure(*, webhook_pk: int) -> None:
    """One more exhausted delivery (atomic F() increment); at the threshold, disable the webhook with a
    conditional UPDATE (only the writer that flips `enabled` publishes `webhook.disabled`). Caller holds a
    transaction."""
    Webhook.objects.filter(pk=webhook_pk).update(consecutive_failures=F("consecutive_failures") + 1)
    threshold = settings.BATON_WEBHOOK_AUTO_DISABLE_AFTER
    now = timezone.now()
    flipped = Webhook.objects.filter(pk=webhook_pk, enabled=True, consecutive_failures__gte=threshold).update(
        enabled=False, disabled_at=now
    )
    if flipped:
        webhook = Webhook.objects.get(pk=webhook_pk)
        logger.error(
            "webhook %s (%s) disabled after %d consecutive failed deliveries",
            webhook.webhook_id,
            webhook.url,
            webhook.consecutive_failures,
        )
        events.publish(
            SYSTEM_TASK_ID,
            TOPIC_WEBHOOK_DISABLED,
            {
                "webhook_id": webhook.webhook_id,
                "url": webhook.url,
                "consecutive_failures": webhook.consecutive_failures,
                "reason": f"{threshold} consecutive deliveries failed",
            },
        )


# --- The failure log ------------------------------------------------------------------------------------------


def failure_line(*, attempt: DeliveryAttempt, claim: Claim) -> dict[str, Any]:
    """The contract's failure-log record, built from an attempt row (and the claim it was made under)."""
    return {
        "timestamp": attempt.finished_at.astimezone(UTC).isoformat(timespec="seconds"),
        "webhook_id": claim.webhook_id,
        "url": claim.url,
        "event_id": claim.event["event_id"],
        "event_topic": claim.event["topic"],
        "task_id": claim.event["task_id"],
        "attempt": attempt.attempt,
    }


def failure_log_append(line: dict[str, Any]) -> None:
    """Append one line to DATA_DIR/webhook-failures.jsonl (one write of a whole line, in append mode, so lines
    from concurrent workers never interleave). The database stays the source of truth: errors are logged only."""
    text = json.dumps(line, ensure_ascii=False) + "\n"
    try:
        with open(settings.BATON_WEBHOOK_FAILURE_LOG, "a", encoding="utf-8") as log:
            log.write(text)
    except OSError:
        logger.exception("could not append to %s", settings.BATON_WEBHOOK_FAILURE_LOG)


# --- The sweep ------------------------------------------------------------------------------------------------


def delivery_sweep(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Re-enqueue deliveries whose message was lost: pending and overdue by BATON_WEBHOOK_REQUEUE_AFTER, or
    claimed longer than BATON_WEBHOOK_CLAIM_TIMEOUT ago. Each row is stamped (`swept_at`) with a conditional
    UPDATE first, so workers sweeping at the same time do not both enqueue it. Returns the ids enqueued."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.BATON_WEBHOOK_REQUEUE_AFTER)
    stale = now - timedelta(seconds=settings.BATON_WEBHOOK_CLAIM_TIMEOUT)
    lost = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=overdue) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=stale
    )
    not_recently_swept = Q(swept_at__isnull=True) | Q(swept_at__lt=overdue)
    candidates = list(
        Delivery.objects.filter(lost, not_recently_swept)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:  # the usual case: no write transaction (on SQLite, no turn of the writer lock)
        return []
    with transaction.atomic():
        requeued = [
            pk
            for pk in candidates
            if Delivery.objects.filter(lost, not_recently_swept, pk=pk).update(swept_at=now)
        ]
        _enqueue_on_commit(requeued)
    if requeued:
        logger.warning("webhook sweep: re-enqueued %d deliveries whose message was lost", len(requeued))
    return requeued


FINISHED_DELIVERY_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)


def delivery_prune(*, now: datetime | None = None, batch: int = 500) -> int:
    """Delete deliveries that finished (succeeded, failed or cancelled) more than BATON_WEBHOOK_RETENTION_DAYS
    ago, with their attempt logs, in short transactions of `batch` rows. Pending and in-flight deliveries are
    never touched, whatever their age; the events stay (the event table is the durable log). 0 days keeps
    everything. Returns the number of deliveries deleted."""
    days = settings.BATON_WEBHOOK_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = Delivery.objects.filter(completed_at__lt=cutoff, status__in=FINISHED_DELIVERY_STATUSES)
    total = 0
    while True:
        pks = list(expired.order_by("completed_at", "pk").values_list("pk", flat=True)[:batch])
        if not pks:
            break
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=pks).delete()
            total += expired.filter(pk__in=pks).delete()[0]
        if len(pks) < batch:
            break
    if total:
        logger.info("webhook deliveries pruned: %d finished more than %g days ago", total, days)
    return total
