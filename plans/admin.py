from __future__ import annotations

from django.contrib import admin

from plans.models import Plan, PlanOutcome, PlanPhase, PlanStep


class PlanPhaseInline(admin.TabularInline):
    model = PlanPhase
    extra = 0
    fields = ("phase_id", "name", "requires_approval", "gate_type", "gate_command")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class PlanStepInline(admin.TabularInline):
    model = PlanStep
    extra = 0
    fields = ("step_id", "agent_name", "model", "task_description", "depends_on")
    readonly_fields = fields
    can_delete = False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Plans are immutable records of what the planner produced: browse, never edit."""

    list_display = ("plan_id", "task_summary", "task_type", "risk_level", "total_steps", "created_at")
    list_filter = ("risk_level", "task_type", "budget_tier")
    search_fields = ("plan_id", "task_summary", "description")
    date_hierarchy = "created_at"
    inlines = [PlanPhaseInline]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(PlanPhase)
class PlanPhaseAdmin(admin.ModelAdmin):
    list_display = ("plan", "phase_id", "name", "gate_type", "requires_approval")
    search_fields = ("plan__plan_id", "name")
    inlines = [PlanStepInline]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(PlanOutcome)
class PlanOutcomeAdmin(admin.ModelAdmin):
    """Outcomes record how executions ended (the planner learns from them): browse, never edit."""

    list_display = ("task_id", "plan", "outcome", "recorded_at")
    list_filter = ("outcome",)
    search_fields = ("task_id", "plan__plan_id")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
