"""Cross-cutting records: idempotency keys, the audit log and failed authentications."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """The first request made with an `Idempotency-Key` on a route, and its stored response.

    The unique constraint on (key, scope) is what makes retries safe across processes: a second request with the
    same key fails to insert and reads the first one's record instead.
    """

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=300, help_text="METHOD and path of the route")
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while in progress")
    response_body = models.BinaryField(blank=True, default=b"")
    content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "scope"], name="unique_idempotency_key_per_route")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class AuditEntry(models.Model):
    """One mutating API request or admin action: who, when, what, which targets, how it ended. Append-only."""

    timestamp = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, help_text='"token:<fingerprint>", "user:<name>" or "anonymous"')
    method = models.CharField(max_length=10)
    route = models.CharField(
        max_length=300, help_text="The URL pattern, e.g. api/v1/executions/<task_id>/record"
    )
    path = models.CharField(max_length=1000)
    target_ids = models.JSONField(default=list, blank=True)
    status_code = models.PositiveSmallIntegerField()
    request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor} {self.method} {self.path} {self.status_code}"


class AuthFailure(models.Model):
    """One failed authentication (an answer 401) from a client address.

    The throttle of repeated failures reads these, so that every web process counts the same failures: kept in
    process memory, the limit would be multiplied by the number of processes serving the port.
    """

    client = models.CharField(max_length=100, help_text="The client's address")
    failed_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["client", "failed_at"], name="auth_failure_client_time")]

    def __str__(self) -> str:
        return f"{self.failed_at:%Y-%m-%d %H:%M:%S} {self.client}"
