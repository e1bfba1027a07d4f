"""Webhook subscriptions, their deliveries (the outbox) and one attempt row per try.

A `Delivery` is written in the same transaction as the `Event` it carries (see `services.deliveries_create`), so a
committed event always has its deliveries, and the Celery message that carries a delivery id is only a wake-up
call: the row holds the state (status, attempts, next attempt time, claim) and the payload is the event row's.
"""

from __future__ import annotations

from django.db import models

from executions.models import Event

# Event topics the webhooks app publishes, and the event stream of events tied to no task.
SYSTEM_TASK_ID = "system"
TOPIC_PING = "ping"
TOPIC_WEBHOOK_DISABLED = "webhook.disabled"
TOPIC_WEBHOOK_ENABLED = "webhook.enabled"


class Webhook(models.Model):
    """An outbound subscription. `secret` is stored for signing and never leaves the server: no serializer, admin
    list or form shows it."""

    webhook_id = models.CharField(max_length=16, unique=True)
    url = models.CharField(max_length=2048)
    events = models.JSONField(help_text="Glob patterns (fnmatch) matched against event topics.")
    secret = models.CharField(max_length=512, blank=True, default="")
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["enabled"])]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (`next_attempt_at`)
    SENDING = "sending"  # claimed by a worker, attempt in flight
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # attempts exhausted, or a failure that cannot heal
    CANCELLED = "cancelled"  # the webhook was disabled before the delivery could be made


# The delivery state machine. Every move is a compare-and-set UPDATE filtered on the old status (services.py);
# `sending -> sending` is a worker reclaiming a claim whose holder died.
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.SENDING, DeliveryStatus.CANCELLED}),
    DeliveryStatus.SENDING: frozenset(
        {
            DeliveryStatus.SENDING,
            DeliveryStatus.PENDING,
            DeliveryStatus.SUCCEEDED,
            DeliveryStatus.FAILED,
            DeliveryStatus.CANCELLED,
        }
    ),
    DeliveryStatus.SUCCEEDED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
    DeliveryStatus.CANCELLED: frozenset(),
}
TERMINAL_DELIVERY_STATUSES = frozenset(s for s, moves in DELIVERY_TRANSITIONS.items() if not moves)


class Delivery(models.Model):
    """One event to one webhook. `delivery_id` is stable across attempts (the Standard Webhooks `webhook-id`)."""

    delivery_id = models.CharField(max_length=32, unique=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts started (a crashed one included).")
    failed_attempts = models.PositiveIntegerField(default=0, help_text="Attempts that ended in a failure.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    swept_at = models.DateTimeField(null=True, blank=True, help_text="Last re-enqueued by the sweep.")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="unique_delivery_per_event")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["webhook", "-created_at", "-id"]),
            models.Index(fields=["completed_at"], name="delivery_completed_at"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status}"


class DeliveryAttempt(models.Model):
    """One try of a delivery: what was answered (status code or error) and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["attempt"]
        constraints = [models.UniqueConstraint(fields=["delivery", "attempt"], name="unique_attempt_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.attempt} {self.status_code or self.error[:40]}"
