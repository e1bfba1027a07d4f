from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from baton_site import auditlog
from baton_site.models import AuditEntry, AuthFailure, IdempotencyRecord


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: browse and search, never add, change or delete."""

    list_display = ("timestamp", "actor", "method", "path", "status_code", "request_id")
    list_filter = ("method", "status_code")
    search_fields = ("actor", "path", "route", "request_id", "target_ids")
    date_hierarchy = "timestamp"

    def changelist_view(self, request: HttpRequest, extra_context=None):  # type: ignore[no-untyped-def]
        auditlog.writer.flush()  # this process's queued entries first
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "scope", "key", "status_code")
    search_fields = ("key", "scope")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(AuthFailure)
class AuthFailureAdmin(admin.ModelAdmin):
    """Failed authentications inside the throttle's window (older ones are dropped). Deleting a client's rows lifts
    its throttle."""

    list_display = ("failed_at", "client")
    search_fields = ("client",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
