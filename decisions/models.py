"""Human decisions: requests opened by the engine and resolved by people (API, admin, pages)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DecisionStatus(models.TextChoices):
    PENDING = "pending"
    RESOLVED = "resolved"
    EXPIRED = "expired"


class DecisionRequest(models.Model):
    """One decision a human must take for an execution. At most one is pending per task (a database
    constraint); resolution is a compare-and-set on `status`, so two resolvers never both succeed."""

    request_id = models.CharField(max_length=40, unique=True)
    task_id = models.CharField(max_length=120, db_index=True)
    decision_type = models.CharField(max_length=20)
    summary = models.TextField()
    options = models.JSONField(default=list)
    context = models.JSONField(default=dict, blank=True)
    context_files = models.JSONField(default=list, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.PENDING)
    chosen_option = models.CharField(max_length=40, blank=True, default="")
    rationale = models.TextField(blank=True, default="")
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task_id"], condition=models.Q(status="pending"), name="one_pending_decision_per_task"
            )
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.request_id} {self.decision_type} ({self.effective_status})"

    @property
    def effective_status(self) -> str:
        """`expired` for a pending decision whose deadline has passed."""
        if (
            self.status == DecisionStatus.PENDING
            and self.deadline is not None
            and self.deadline <= timezone.now()
        ):
            return DecisionStatus.EXPIRED
        return self.status
