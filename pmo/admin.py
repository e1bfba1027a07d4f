from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from baton_site.errors import BatonError
from pmo.models import PlanAssignment, Project, Signal
from pmo.services import project_remove, signal_resolve


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("project_id", "name", "program", "path", "registered_at")
    list_filter = ("program",)
    search_fields = ("project_id", "name", "path", "description")
    readonly_fields = ("registered_at", "updated_at")
    actions = ["remove_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registration validates the path: use the PMO projects page or the API

    def has_change_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return False  # through the action below, which calls the service

    @admin.action(description="Unregister the selected projects (their plans are kept)")
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            project_remove(project_id=project.project_id)
        self.message_user(request, f"Unregistered {queryset.count()} project(s).", messages.SUCCESS)


@admin.register(PlanAssignment)
class PlanAssignmentAdmin(admin.ModelAdmin):
    list_display = ("plan", "project_id", "priority", "source", "assigned_at")
    list_filter = ("priority", "source")
    search_fields = ("plan__plan_id", "project_id")
    readonly_fields = [field.name for field in PlanAssignment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = (
        "signal_id",
        "signal_type",
        "severity",
        "status",
        "title",
        "source_project_id",
        "created_at",
    )
    list_filter = ("status", "signal_type", "severity")
    search_fields = ("signal_id", "title", "description", "source_project_id", "forge_task_id")
    readonly_fields = [field.name for field in Signal._meta.fields]
    actions = ["resolve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resolve the selected signals")
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Signal]) -> None:
        resolved = 0
        for signal in queryset:
            try:
                signal_resolve(signal_id=signal.signal_id)
            except BatonError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                resolved += 1
        self.message_user(request, f"Resolved {resolved} signal(s).", messages.SUCCESS)
