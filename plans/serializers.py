from __future__ import annotations

from rest_framework import serializers

from baton_site.serializers import RequestSerializer


class PlanGateSerializer(serializers.Serializer):
    gate_type = serializers.CharField(help_text="test, build or review")
    command = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    fail_on = serializers.ListField(child=serializers.CharField())


class PlanStepSerializer(serializers.Serializer):
    step_id = serializers.CharField(help_text='"<phase>.<step>", both from 0')
    agent_name = serializers.CharField()
    task_description = serializers.CharField(allow_blank=True)
    model = serializers.CharField()
    depends_on = serializers.ListField(child=serializers.CharField())
    deliverables = serializers.ListField(child=serializers.CharField())
    allowed_paths = serializers.ListField(child=serializers.CharField())
    blocked_paths = serializers.ListField(child=serializers.CharField())
    context_files = serializers.ListField(child=serializers.CharField())


class PlanPhaseSerializer(serializers.Serializer):
    phase_id = serializers.IntegerField()
    name = serializers.CharField()
    steps = PlanStepSerializer(many=True)
    gate = PlanGateSerializer(allow_null=True)
    requires_approval = serializers.BooleanField()


class PlanSerializer(serializers.Serializer):
    """PlanResponse (and the MachinePlan dict): the contract's fields plus task_type, stack and complexity."""

    plan_id = serializers.CharField()
    task_summary = serializers.CharField()
    risk_level = serializers.ChoiceField(choices=["LOW", "MEDIUM", "HIGH", "CRITICAL"])
    budget_tier = serializers.CharField()
    execution_mode = serializers.CharField()
    git_strategy = serializers.CharField()
    phases = PlanPhaseSerializer(many=True)
    total_steps = serializers.IntegerField()
    agents = serializers.ListField(child=serializers.CharField())
    pattern_source = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    task_type = serializers.CharField()
    stack = serializers.CharField(allow_null=True)
    complexity = serializers.CharField()


class PlanSummarySerializer(serializers.Serializer):
    plan_id = serializers.CharField()
    task_summary = serializers.CharField()
    task_type = serializers.CharField()
    risk_level = serializers.CharField()
    budget_tier = serializers.CharField()
    total_steps = serializers.IntegerField()
    agents = serializers.ListField(child=serializers.CharField())
    pattern_source = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class CreatePlanRequestSerializer(RequestSerializer):
    description = serializers.CharField(min_length=1, max_length=100_000)
    task_type = serializers.CharField(required=False, allow_null=True, max_length=40)
    agents = serializers.ListField(
        child=serializers.CharField(max_length=120), required=False, allow_null=True, max_length=100
    )
    project_path = serializers.CharField(required=False, allow_null=True, max_length=4096)
