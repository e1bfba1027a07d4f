from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from agents.models import AgentDefinition
from agents.services import registry_reload


@admin.register(AgentDefinition)
class AgentDefinitionAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "model", "permission_mode", "flavor", "updated_at")
    list_filter = ("category", "model", "permission_mode")
    search_fields = ("name", "description", "base_name", "flavor")
    readonly_fields = ("updated_at", "source_path")
    actions = ["reload_from_files"]

    @admin.action(description="Reload every agent from the definition files")
    def reload_from_files(self, request: HttpRequest, queryset: QuerySet[AgentDefinition]) -> None:
        report = registry_reload()
        self.message_user(
            request,
            f"{len(report.created)} created, {len(report.updated)} updated, {len(report.removed)} removed",
            messages.SUCCESS,
        )
        for error in report.errors:
            self.message_user(request, f"Skipped {error}", messages.WARNING)
