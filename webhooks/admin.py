"""Operators' view of webhooks: subscriptions (secret never shown), deliveries and attempts, read-only; the
actions call services."""

from __future__ import annotations

from django.contrib import admin, messages

from baton_site.errors import BatonError
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Subscriptions are registered through the API (which checks the URL); here they are watched, tested,
    re-enabled and deleted. The secret is in no list, form or detail page."""

    list_display = (
        "webhook_id",
        "url",
        "events",
        "enabled",
        "consecutive_failures",
        "created",
        "disabled_at",
    )
    list_filter = ("enabled",)
    search_fields = ("webhook_id", "url")
    fields = ("webhook_id", "url", "events", "enabled", "consecutive_failures", "created", "disabled_at")
    readonly_fields = fields
    actions = ["enable_webhooks", "send_test_ping"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def get_deleted_objects(self, objs, request):  # type: ignore[no-untyped-def]
        # A webhook's delivery log goes with it; deliveries themselves are not deletable one by one.
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        services.webhook_delete(webhook_id=obj.webhook_id)

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        for webhook_id in queryset.values_list("webhook_id", flat=True):
            services.webhook_delete(webhook_id=webhook_id)

    @admin.action(description="Enable (and reset the failure count)")
    def enable_webhooks(self, request, queryset):  # type: ignore[no-untyped-def]
        for webhook_id in queryset.values_list("webhook_id", flat=True):
            services.webhook_enable(webhook_id=webhook_id)
        self.message_user(request, "Enabled.", messages.SUCCESS)

    @admin.action(description="Send a test ping")
    def send_test_ping(self, request, queryset):  # type: ignore[no-untyped-def]
        for webhook_id in queryset.values_list("webhook_id", flat=True):
            try:
                services.webhook_ping(webhook_id=webhook_id)
            except BatonError as exc:
                self.message_user(request, exc.detail, messages.WARNING)
        self.message_user(request, "Ping queued; see the deliveries.", messages.SUCCESS)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ("attempt", "started_at", "duration_ms", "status_code", "error", "succeeded")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "delivery_id",
        "webhook",
        "topic",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event__topic")
    search_fields = ("delivery_id", "webhook__webhook_id", "event__event_id", "event__task_id")
    list_select_related = ("webhook", "event")
    date_hierarchy = "created_at"
    fields = (
        "delivery_id",
        "webhook",
        "event",
        "status",
        "attempts",
        "failed_attempts",
        "next_attempt_at",
        "claimed_at",
        "swept_at",
        "last_status_code",
        "last_error",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]

    @admin.display(description="topic", ordering="event__topic")
    def topic(self, obj: Delivery) -> str:
        return obj.event.topic

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
