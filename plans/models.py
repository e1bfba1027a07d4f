"""Plans, normalised into phases and steps so operators can browse them; immutable once created."""

from __future__ import annotations

from django.db import models


class RiskLevel(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class Plan(models.Model):
    """A plan made by the planner (or sent inline to start an execution). `plan_id` is the contract's id."""

    plan_id = models.CharField(max_length=120, unique=True)
    task_summary = models.TextField()
    description = models.TextField(blank=True, default="")
    task_type = models.CharField(max_length=40, blank=True, default="")
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    budget_tier = models.CharField(max_length=20, default="standard")
    execution_mode = models.CharField(max_length=40, default="phased")
    git_strategy = models.CharField(max_length=40, default="commit-per-agent")
    pattern_source = models.CharField(max_length=200, null=True, blank=True)
    stack = models.CharField(max_length=80, null=True, blank=True)
    complexity = models.CharField(max_length=20, blank=True, default="")
    project_path = models.CharField(max_length=1000, blank=True, default="")
    # Derived at creation (plans never change) so that lists need no join over steps.
    total_steps = models.PositiveIntegerField(default=0)
    agents = models.JSONField(default=list, blank=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Fields of an inline plan Baton does not model."
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"]), models.Index(fields=["task_type"])]

    def __str__(self) -> str:
        return self.plan_id


class PlanPhase(models.Model):
    # Indexed by the unique (plan, phase_id), which leads with it.
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="phases", db_index=False)
    phase_id = models.IntegerField()
    name = models.CharField(max_length=200)
    requires_approval = models.BooleanField(default=False)
    gate_type = models.CharField(max_length=40, null=True, blank=True)
    gate_command = models.TextField(null=True, blank=True)
    gate_description = models.TextField(blank=True, default="")
    gate_fail_on = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["plan_id", "phase_id"]
        constraints = [models.UniqueConstraint(fields=["plan", "phase_id"], name="unique_phase_per_plan")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.phase_id} {self.name}"

    @property
    def has_gate(self) -> bool:
        return self.gate_type is not None


class PlanStep(models.Model):
    # Indexed by the unique (plan, step_id), which leads with it.
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps", db_index=False)
    phase = models.ForeignKey(PlanPhase, on_delete=models.CASCADE, related_name="steps")
    step_id = models.CharField(max_length=40)
    position = models.PositiveIntegerField(help_text="Order within the phase.")
    agent_name = models.CharField(max_length=120)
    task_description = models.TextField(blank=True, default="")
    model = models.CharField(max_length=40, default="sonnet")
    depends_on = models.JSONField(default=list, blank=True)
    deliverables = models.JSONField(default=list, blank=True)
    allowed_paths = models.JSONField(default=list, blank=True)
    blocked_paths = models.JSONField(default=list, blank=True)
    context_files = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["phase_id", "position"]
        constraints = [models.UniqueConstraint(fields=["plan", "step_id"], name="unique_step_per_plan")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.step_id} {self.agent_name}"


class PlanOutcome(models.Model):
    """How an execution of a plan ended; the planner learns from these (pattern_source)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="outcomes")
    task_id = models.CharField(max_length=120, unique=True)
    outcome = models.CharField(max_length=20)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["outcome", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.task_id} {self.outcome}"
