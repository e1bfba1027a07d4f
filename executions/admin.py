from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from baton_site.errors import BatonError
from executions.models import AgentUsage, Event, Execution, GateResult, Retrospective, StepResult, UsageRecord
from executions.services import execution_cancel


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    max_num = 0

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [field.name for field in self.model._meta.fields]


class StepResultInline(ReadOnlyInline):
    model = StepResult
    fields = ("step_id", "agent_name", "status", "attempts", "tokens", "duration_ms", "output_summary")


class GateResultInline(ReadOnlyInline):
    model = GateResult
    fields = ("phase_id", "gate_type", "result", "notes", "recorded_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """State changes go through services; the admin shows rows and offers service-backed actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "task_id",
        "status",
        "current_phase",
        "steps_completed",
        "total_steps",
        "gates_passed",
        "pending_decisions",
        "outcome",
        "started_at",
    )
    list_filter = ("status", "outcome", "cancelled")
    search_fields = ("task_id", "plan__plan_id", "error")
    date_hierarchy = "started_at"
    inlines = [StepResultInline, GateResultInline]
    actions = ["cancel_selected"]
    readonly_fields = ("event_log",)

    @admin.display(description="Events")
    def event_log(self, execution: Execution) -> str:
        """The task's event log, in sequence order (events are keyed by task id, so they are not an inline)."""
        rows = Event.objects.filter(task_id=execution.task_id).order_by("sequence")[:500]
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (event.sequence, event.timestamp.isoformat(timespec="seconds"), event.topic, event.payload)
                for event in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>Time</th><th>Topic</th><th>Payload</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.action(description="Cancel the selected executions")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        for execution in queryset:
            try:
                execution_cancel(task_id=execution.task_id)
            except BatonError as exc:
                self.message_user(request, f"{execution.task_id}: {exc.detail}", messages.WARNING)
            else:
                self.message_user(request, f"Cancelled {execution.task_id}.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("task_id", "sequence", "topic", "event_id", "timestamp")
    list_filter = ("topic",)
    search_fields = ("task_id", "event_id")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class AgentUsageInline(ReadOnlyInline):
    model = AgentUsage


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "task_id",
        "timestamp",
        "outcome",
        "total_agents",
        "total_tokens",
        "gates_passed",
        "gates_failed",
    )
    list_filter = ("outcome", "risk_level")
    search_fields = ("task_id", "agents_used__agent_name")
    inlines = [AgentUsageInline]


@admin.register(Retrospective)
class RetrospectiveAdmin(ReadOnlyAdmin):
    list_display = ("task_id", "outcome", "created_at")
    search_fields = ("task_id",)
