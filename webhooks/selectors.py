"""Reads of the webhooks app, shaped as the API answers them. The secret is never part of any answer."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from baton_site.errors import NotFound
from webhooks.models import Delivery, DeliveryAttempt, Webhook


def webhook_get(*, webhook_id: str) -> Webhook:
    webhook = Webhook.objects.filter(webhook_id=webhook_id).first()
    if webhook is None:
        raise NotFound(f"Webhook '{webhook_id}' not found.")
    return webhook


def webhook_list() -> QuerySet[Webhook]:
    """Every subscription, enabled and disabled, in registration order (one query)."""
    return Webhook.objects.order_by("created", "id")


def delivery_list(*, webhook: Webhook, status: str | None = None) -> QuerySet[Delivery]:
    """A webhook's delivery log, newest first, with each delivery's event and attempts (three queries a page)."""
    deliveries = (
        Delivery.objects.filter(webhook=webhook)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("attempt")))
        .order_by("-created_at", "-id")
    )
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_to_dict(webhook: Webhook) -> dict[str, Any]:
    """WebhookResponse (the contract's four fields) plus state; `has_secret` says whether bodies are signed."""
    return {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "events": list(webhook.events),
        "created": webhook.created.isoformat(timespec="seconds"),
        "enabled": webhook.enabled,
        "consecutive_failures": webhook.consecutive_failures,
        "has_secret": bool(webhook.secret),
        "disabled_at": webhook.disabled_at.isoformat(timespec="seconds") if webhook.disabled_at else None,
    }


def attempt_to_dict(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "started_at": _iso(attempt.started_at),
        "finished_at": _iso(attempt.finished_at),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "succeeded": attempt.succeeded,
    }


def delivery_to_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event.event_id,
        "event_topic": delivery.event.topic,
        "task_id": delivery.event.task_id,
        "status": delivery.status,
        "attempt": delivery.attempts,
        "status_code": delivery.last_status_code,
        "error": delivery.last_error,
        "created_at": _iso(delivery.created_at),
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "completed_at": _iso(delivery.completed_at),
        "attempts": [attempt_to_dict(attempt) for attempt in delivery.attempt_log.all()],
    }
