from __future__ import annotations

from rest_framework import serializers

from baton_site.serializers import RequestSerializer


class ActionSerializer(serializers.Serializer):
    action_type = serializers.CharField(help_text="dispatch, gate, approval, wait, complete or failed")
    message = serializers.CharField(allow_blank=True)
    agent_name = serializers.CharField(allow_null=True)
    agent_model = serializers.CharField(allow_null=True)
    step_id = serializers.CharField(allow_null=True)
    gate_type = serializers.CharField(allow_null=True)
    gate_command = serializers.CharField(allow_null=True, allow_blank=True)
    phase_id = serializers.IntegerField(allow_null=True)
    summary = serializers.CharField(allow_null=True, allow_blank=True)
    parallel_actions = serializers.ListField(child=serializers.DictField(), help_text="Further dispatches")


class StepResultSerializer(serializers.Serializer):
    step_id = serializers.CharField()
    agent_name = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    output_summary = serializers.CharField(allow_blank=True)
    tokens = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    completed_at = serializers.CharField(allow_blank=True)


class ExecutionSummarySerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status = serializers.CharField(help_text="running, gate_pending, approval_pending, complete or failed")
    current_phase = serializers.IntegerField()
    steps_completed = serializers.IntegerField()
    steps_remaining = serializers.IntegerField()
    steps_failed = serializers.IntegerField()
    gates_passed = serializers.IntegerField()
    pending_decisions = serializers.IntegerField()
    plan_id = serializers.CharField()
    outcome = serializers.CharField(allow_null=True)
    started_at = serializers.CharField()
    completed_at = serializers.CharField(allow_blank=True, help_text="Empty while running")


class ExecutionSerializer(ExecutionSummarySerializer):
    current_step_index = serializers.IntegerField()
    step_results = StepResultSerializer(many=True)
    gate_results = serializers.ListField(child=serializers.DictField())


class StartExecutionRequestSerializer(RequestSerializer):
    plan_id = serializers.CharField(required=False, allow_null=True, max_length=120)
    plan = serializers.JSONField(
        required=False, allow_null=True, help_text="Inline plan dict (MachinePlan shape)"
    )


class StartExecutionResponseSerializer(serializers.Serializer):
    execution = ExecutionSerializer()
    next_actions = ActionSerializer(many=True)


class RecordStepRequestSerializer(RequestSerializer):
    step_id = serializers.CharField(max_length=40)
    agent = serializers.CharField(max_length=120)
    status = serializers.CharField(max_length=20, help_text='"complete", "failed" or "dispatched"')
    output_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    tokens = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**15)
    duration_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**15)


class RecordGateRequestSerializer(RequestSerializer):
    phase_id = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    result = serializers.CharField(max_length=20, help_text='"pass", "fail" or "pass_with_notes"')
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)


class RecordResponseSerializer(serializers.Serializer):
    recorded = serializers.BooleanField()
    next_actions = ActionSerializer(many=True)


class CompleteResponseSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status = serializers.CharField()
    summary = serializers.CharField()


class CancelResponseSerializer(serializers.Serializer):
    cancelled = serializers.BooleanField()
    task_id = serializers.CharField()


class ExecutionListQuerySerializer(RequestSerializer):
    status = serializers.ChoiceField(
        choices=["running", "gate_pending", "approval_pending", "complete", "failed"], required=False
    )
    limit = serializers.IntegerField(required=False, min_value=1)
    offset = serializers.IntegerField(required=False, min_value=0)


# --- Observe --------------------------------------------------------------------------------------------------


class DashboardSerializer(serializers.Serializer):
    dashboard_markdown = serializers.CharField()
    metrics = serializers.DictField()


class TraceEventSerializer(serializers.Serializer):
    timestamp = serializers.CharField()
    event_type = serializers.CharField()
    agent_name = serializers.CharField(allow_null=True)
    phase = serializers.IntegerField()
    step = serializers.IntegerField()
    details = serializers.DictField()
    duration_seconds = serializers.FloatField(allow_null=True)


class TraceSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    plan_snapshot = serializers.DictField()
    events = TraceEventSerializer(many=True)
    started_at = serializers.CharField()
    completed_at = serializers.CharField(allow_null=True)
    outcome = serializers.CharField(allow_null=True)


class AgentUsageSerializer(serializers.Serializer):
    name = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    steps = serializers.IntegerField()
    retries = serializers.IntegerField()
    gate_results = serializers.ListField(child=serializers.JSONField())
    estimated_tokens = serializers.IntegerField()
    duration_seconds = serializers.FloatField()


class TaskUsageSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    timestamp = serializers.CharField()
    agents_used = AgentUsageSerializer(many=True)
    total_agents = serializers.IntegerField()
    risk_level = serializers.CharField(allow_blank=True)
    sequencing_mode = serializers.CharField(allow_blank=True)
    gates_passed = serializers.IntegerField()
    gates_failed = serializers.IntegerField()
    outcome = serializers.CharField(allow_blank=True)


class UsageSummarySerializer(serializers.Serializer):
    total_tasks = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    total_agents = serializers.IntegerField()
    outcome_counts = serializers.DictField(child=serializers.IntegerField())


class UsageSerializer(serializers.Serializer):
    records = TaskUsageSerializer(many=True)
    summary = UsageSummarySerializer()


class UsageQuerySerializer(RequestSerializer):
    since = serializers.DateTimeField(required=False, help_text="ISO 8601; records at or after this time")
    agent = serializers.CharField(required=False, max_length=120)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
