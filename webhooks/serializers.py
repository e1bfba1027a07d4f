"""Request validation and the response shapes of the webhooks API (output is built by `selectors`; these
classes document it for the OpenAPI schema). No serializer has a `secret` output field."""

from __future__ import annotations

from rest_framework import serializers

from webhooks.models import DeliveryStatus


class RegisterWebhookSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2048, help_text="https endpoint (http only for loopback hosts)")
    events = serializers.ListField(
        child=serializers.CharField(max_length=200),
        allow_empty=False,
        max_length=100,
        help_text="Event topic patterns (fnmatch globs such as `step.*`); at least one.",
    )
    secret = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=512,
        trim_whitespace=False,
        write_only=True,
        help_text="Shared secret for X-Baton-Signature and webhook-signature; stored, never returned.",
    )


class WebhookResponseSerializer(serializers.Serializer):
    """WebhookResponse plus state."""

    webhook_id = serializers.CharField(help_text="16 hex characters")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    created = serializers.CharField(help_text="ISO 8601")
    enabled = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    has_secret = serializers.BooleanField()
    disabled_at = serializers.CharField(allow_null=True)


class WebhookDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    webhook_id = serializers.CharField()


class WebhookDeliveryAttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    succeeded = serializers.BooleanField()


class WebhookDeliverySerializer(serializers.Serializer):
    delivery_id = serializers.CharField(help_text="Stable across attempts; sent as the `webhook-id` header.")
    event_id = serializers.CharField()
    event_topic = serializers.CharField()
    task_id = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt = serializers.IntegerField(help_text="Attempts made so far.")
    status_code = serializers.IntegerField(allow_null=True, help_text="Of the last attempt.")
    error = serializers.CharField(allow_blank=True, help_text="Of the last attempt.")
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    attempts = WebhookDeliveryAttemptSerializer(many=True)


class DeliveryListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1)
    offset = serializers.IntegerField(required=False, min_value=0)


class WebhookTestSerializer(serializers.Serializer):
    webhook_id = serializers.CharField()
    delivery_id = serializers.CharField()
    event_id = serializers.CharField()
    status = serializers.CharField()


class PaginatedWebhookDeliveryListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = WebhookDeliverySerializer(many=True)
