"""Executions, their step and gate results, the event log, and the usage/trace records written on completion."""

from __future__ import annotations

from django.db import models

from executions import engine
from plans.models import Plan


class ExecutionStatus(models.TextChoices):
    RUNNING = engine.ExecutionStatus.RUNNING.value
    GATE_PENDING = engine.ExecutionStatus.GATE_PENDING.value
    APPROVAL_PENDING = engine.ExecutionStatus.APPROVAL_PENDING.value
    COMPLETE = engine.ExecutionStatus.COMPLETE.value
    FAILED = engine.ExecutionStatus.FAILED.value


ACTIVE_STATUSES = (ExecutionStatus.RUNNING, ExecutionStatus.GATE_PENDING, ExecutionStatus.APPROVAL_PENDING)


class StepStatus(models.TextChoices):
    PENDING = engine.StepStatus.PENDING.value
    RUNNING = engine.StepStatus.RUNNING.value
    COMPLETE = engine.StepStatus.COMPLETE.value
    FAILED = engine.StepStatus.FAILED.value
    SKIPPED = engine.StepStatus.SKIPPED.value


class Execution(models.Model):
    """One run of a plan, addressed by `task_id`. Mirrors the engine's ExecutionState field for field; only
    `executions.services` writes it: each write checks and advances `version` (see the services' docstring)."""

    task_id = models.CharField(max_length=120, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="executions")
    status = models.CharField(max_length=20, choices=ExecutionStatus.choices, default=ExecutionStatus.RUNNING)
    phase_count = models.PositiveIntegerField()
    total_steps = models.PositiveIntegerField()
    current_phase = models.PositiveIntegerField(default=0)
    phase_status = models.CharField(max_length=20, default=engine.PhaseStatus.PENDING.value)
    steps_running = models.PositiveIntegerField(default=0)
    steps_completed = models.PositiveIntegerField(default=0)
    steps_failed = models.PositiveIntegerField(default=0)
    steps_skipped = models.PositiveIntegerField(default=0)
    gates_passed = models.PositiveIntegerField(default=0)
    gates_passed_with_notes = models.PositiveIntegerField(default=0)
    gates_approved = models.PositiveIntegerField(default=0)
    gates_failed = models.PositiveIntegerField(default=0)
    open_decision = models.CharField(max_length=20, null=True, blank=True)
    decision_step_id = models.CharField(max_length=40, null=True, blank=True)
    pending_decisions = models.PositiveIntegerField(default=0)
    cancelled = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="", help_text="The last failure's message (PMO card).")
    outcome = models.CharField(max_length=20, null=True, blank=True)
    summary = models.TextField(blank=True, default="")
    max_parallel = models.PositiveIntegerField(default=3)
    finalized = models.BooleanField(default=False, help_text="POST .../complete has written trace and usage.")
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=0,
        help_text="Advanced by every write of the services; a write made from an older read is refused.",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-started_at"]),
            models.Index(fields=["-started_at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} ({self.status})"


class StepResult(models.Model):
    """The state of one plan step within one execution (a row per step, created pending at start)."""

    # Indexed by the unique (execution, step_id), which leads with it.
    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="step_results", db_index=False
    )
    step_id = models.CharField(max_length=40)
    phase_id = models.IntegerField()
    agent_name = models.CharField(max_length=120)
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    output_summary = models.TextField(blank=True, default="")
    tokens = models.PositiveBigIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["phase_id", "id"]
        constraints = [models.UniqueConstraint(fields=["execution", "step_id"], name="unique_step_result")]
        indexes = [models.Index(fields=["execution", "phase_id"])]

    def __str__(self) -> str:
        return f"{self.execution_id}:{self.step_id} {self.status}"


class GateResult(models.Model):
    """One recorded run of a phase's QA gate (a failed gate retried gives several rows)."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="gate_results")
    phase_id = models.IntegerField()
    gate_type = models.CharField(max_length=40, blank=True, default="")
    result = models.CharField(max_length=20)
    notes = models.TextField(blank=True, default="")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.execution_id}:gate {self.phase_id} {self.result}"


class EventStream(models.Model):
    """The per-task sequence counter: locked and advanced by `events.publish` in the writer's transaction."""

    task_id = models.CharField(max_length=120, unique=True)
    last_sequence = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.task_id} @{self.last_sequence}"


class Event(models.Model):
    """The durable event log: SSE replay, traces and webhook deliveries read it. Append-only.

    Indexed for what reads it: a task's events in order (the unique `task_id, sequence`) and the stream poll by
    primary key. Each event is written with every state change, in the writer's transaction, and each index is one
    more B-tree page that transaction writes; an index whose key is random (`event_id`) or spread over a few values
    (`topic`) puts each event of a transaction on a page of its own. So `event_id` (12 hex characters, 48 random
    bits) is looked up only within its task, and `topic` is not indexed (the admin's topic filter scans).
    """

    event_id = models.CharField(max_length=12)
    task_id = models.CharField(max_length=120)
    sequence = models.PositiveBigIntegerField()
    topic = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    timestamp = models.DateTimeField()
    request_id = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["task_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["task_id", "sequence"], name="unique_event_sequence")]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.sequence} {self.topic}"


class UsageRecord(models.Model):
    """Usage of one finished task (written by complete, and when an execution fails)."""

    task_id = models.CharField(max_length=120, unique=True)
    timestamp = models.DateTimeField(db_index=True)
    total_agents = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    risk_level = models.CharField(max_length=10, blank=True, default="")
    sequencing_mode = models.CharField(max_length=40, blank=True, default="phased")
    gates_passed = models.PositiveIntegerField(default=0)
    gates_failed = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["outcome"])]

    def __str__(self) -> str:
        return f"{self.task_id} {self.outcome}"


class AgentUsage(models.Model):
    """Per-agent usage within one task."""

    # Indexed by the unique (usage, agent_name), which leads with it.
    usage = models.ForeignKey(
        UsageRecord, on_delete=models.CASCADE, related_name="agents_used", db_index=False
    )
    agent_name = models.CharField(max_length=120)
    # The task's timestamp, copied here so "newest records of agent X" is one index range, not a sort.
    timestamp = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=40, blank=True, default="")
    steps = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    gate_results = models.JSONField(default=list, blank=True)
    estimated_tokens = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    # The task's outcome and totals, copied here (like `timestamp`) so the summary of one agent's usage is read
    # from one covering index range instead of joining every matching task record.
    outcome = models.CharField(max_length=20, blank=True, default="")
    task_tokens = models.PositiveBigIntegerField(default=0)
    task_agents = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["usage_id", "agent_name"]
        constraints = [models.UniqueConstraint(fields=["usage", "agent_name"], name="unique_agent_per_usage")]
        indexes = [
            models.Index(fields=["agent_name", "usage"]),
            models.Index(fields=["agent_name", "-timestamp", "-usage"], name="agentusage_agent_time"),
            models.Index(
                fields=["agent_name", "outcome", "timestamp", "task_tokens", "task_agents"],
                name="agentusage_agent_summary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.usage_id}:{self.agent_name}"


class Retrospective(models.Model):
    """What went well and what did not, written when an execution completes."""

    task_id = models.CharField(max_length=120, unique=True)
    outcome = models.CharField(max_length=20)
    summary = models.TextField()
    highlights = models.JSONField(default=list, blank=True)
    issues = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.task_id} {self.outcome}"
