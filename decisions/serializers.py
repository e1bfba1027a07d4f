from __future__ import annotations

from rest_framework import serializers

from baton_site.serializers import RequestSerializer
from decisions.models import DecisionRequest
from executions.serializers import ActionSerializer


class DecisionSerializer(serializers.ModelSerializer):
    """DecisionResponse. `status` reads `expired` for a pending decision past its deadline."""

    status = serializers.CharField(source="effective_status")
    deadline = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    context_file_contents = serializers.SerializerMethodField()

    class Meta:
        model = DecisionRequest
        fields = [
            "request_id",
            "task_id",
            "decision_type",
            "summary",
            "options",
            "deadline",
            "context_files",
            "created_at",
            "status",
            "context_file_contents",
        ]

    def get_context_file_contents(self, decision: DecisionRequest) -> dict[str, str | None] | None:
        return self.context.get("contents")


class DecisionListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    decisions = DecisionSerializer(many=True)


class DecisionListQuerySerializer(RequestSerializer):
    status = serializers.ChoiceField(choices=["pending", "resolved", "expired"], required=False)
    task_id = serializers.CharField(required=False, max_length=120)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


class ResolveDecisionRequestSerializer(RequestSerializer):
    option = serializers.CharField(min_length=1, max_length=40)
    rationale = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    resolved_by = serializers.CharField(required=False, allow_blank=True, default="human", max_length=200)


class ResolveResponseSerializer(serializers.Serializer):
    resolved = serializers.BooleanField()
    execution_resumed = serializers.BooleanField()
    next_actions = ActionSerializer(
        many=True,
        help_text="Baton addition: what the execution does now (dispatches here are already in flight).",
    )
