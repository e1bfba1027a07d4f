"""PMO state: registered projects, the link of a plan to the project it was forged for, and signals.

The Kanban board itself is not stored: it is read from plans and executions by `pmo.selectors.pmo_board`.
"""

from __future__ import annotations

from django.db import models

from plans.models import Plan

PRIORITY_LABELS = {0: "normal", 1: "high", 2: "critical"}


class Column(models.TextChoices):
    """The board's columns, left to right (contract 4.9). Not stored: derived from the latest execution."""

    QUEUED = "queued", "Queued"
    PLANNING = "planning", "Planning"
    EXECUTING = "executing", "Executing"
    GATE_PENDING = "gate_pending", "Gate pending"
    DEPLOYED = "deployed", "Deployed"
    FAILED = "failed", "Failed"


# One line under each column heading, and the colour its cards and counts use (CSS custom property names).
COLUMN_HINTS = {
    Column.QUEUED: "Plans waiting to start",
    Column.PLANNING: "Waiting for plan review",
    Column.EXECUTING: "Agents at work",
    Column.GATE_PENDING: "Waiting on a gate or a human",
    Column.DEPLOYED: "Finished",
    Column.FAILED: "Failed or cancelled",
}
COLUMN_COLOURS = {
    Column.QUEUED: "slate",
    Column.PLANNING: "violet",
    Column.EXECUTING: "blue",
    Column.GATE_PENDING: "amber",
    Column.DEPLOYED: "green",
    Column.FAILED: "red",
}
RISK_COLOURS = {"LOW": "green", "MEDIUM": "amber", "HIGH": "orange", "CRITICAL": "red"}


class Project(models.Model):
    """A project registered with the PMO. Its plans are the board's cards. `path` is stored resolved."""

    project_id = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=4096)
    program = models.CharField(max_length=40, db_index=True)
    color = models.CharField(max_length=40, blank=True, default="")
    description = models.TextField(blank=True, default="")
    registered_at = models.DateTimeField(help_text="First registration; kept when the project is replaced.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "project_id"]

    def __str__(self) -> str:
        return f"{self.project_id} ({self.program})"


class AssignmentSource(models.TextChoices):
    FORGE = "forge"
    SIGNAL = "signal"


class PlanAssignment(models.Model):
    """The project a plan was forged for, and its priority.

    `project_id` is a plain value rather than a foreign key on purpose: unregistering a project hides its cards
    without forgetting which plans were its, so registering it again brings them back (the contract keeps plans
    and signals untouched on DELETE).
    """

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="pmo_assignment")
    project_id = models.CharField(max_length=80, db_index=True)
    priority = models.PositiveSmallIntegerField(default=0, help_text="0 normal, 1 high, 2 critical.")
    source = models.CharField(max_length=20, choices=AssignmentSource.choices, default=AssignmentSource.FORGE)
    assigned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(priority__lte=2), name="pmo_assignment_priority_0_to_2")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} -> {self.project_id} (P{self.priority})"


class SignalType(models.TextChoices):
    BUG = "bug"
    ESCALATION = "escalation"
    BLOCKER = "blocker"


class Severity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_COLOURS = {"low": "slate", "medium": "amber", "high": "orange", "critical": "red"}


class SignalStatus(models.TextChoices):
    OPEN = "open"
    TRIAGED = "triaged"
    RESOLVED = "resolved"


# The signal state machine: where each status may move. Resolving a resolved signal is a no-op, not an error.
SIGNAL_TRANSITIONS: dict[str, frozenset[str]] = {
    SignalStatus.OPEN: frozenset({SignalStatus.TRIAGED, SignalStatus.RESOLVED}),
    SignalStatus.TRIAGED: frozenset({SignalStatus.RESOLVED}),
    SignalStatus.RESOLVED: frozenset(),
}
SIGNAL_OPEN_STATUSES = (SignalStatus.OPEN, SignalStatus.TRIAGED)


class Signal(models.Model):
    """A bug, escalation or blocker raised against a project. Ids are chosen by the client and unique."""

    signal_id = models.CharField(max_length=120, unique=True)
    signal_type = models.CharField(max_length=20, choices=SignalType.choices)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    source_project_id = models.CharField(max_length=80, blank=True, default="")
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=20, choices=SignalStatus.choices, default=SignalStatus.OPEN)
    forge_task_id = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["severity"])]

    def __str__(self) -> str:
        return f"{self.signal_id} {self.signal_type} ({self.status})"


# Execution status -> column. A plan with no execution is queued; one waiting on its plan review is planning.
COLUMN_BY_EXECUTION_STATUS = {
    "running": Column.EXECUTING,
    "gate_pending": Column.GATE_PENDING,
    "approval_pending": Column.GATE_PENDING,
    "complete": Column.DEPLOYED,
    "failed": Column.FAILED,
}
PLAN_REVIEW = "plan_review"


def column_for(status: str | None, open_decision: str | None = None) -> Column:
    """The board column of a plan whose latest execution has `status` (None: never started)."""
    if status is None:
        return Column.QUEUED
    if status == "approval_pending" and open_decision == PLAN_REVIEW:
        return Column.PLANNING
    return COLUMN_BY_EXECUTION_STATUS.get(status, Column.EXECUTING)


def priority_for_risk(risk_level: str) -> int:
    """The priority of a plan nobody gave one to: critical risk is critical, high risk is high."""
    return {"CRITICAL": 2, "HIGH": 1}.get(risk_level, 0)
