"""Request validation and response shapes of the PMO API (contract 4.9)."""

from __future__ import annotations

from datetime import datetime

from rest_framework import serializers

from plans.serializers import PlanSerializer
from pmo.models import Severity, SignalType

SLUG = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
SLUG_MESSAGE = "Use letters, digits, '.', '_', ':' or '-', starting with a letter or digit."


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the UTC offset written out (`+00:00`, as the contract's examples) and microseconds."""

    def to_representation(self, value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None


def _slug(max_length: int, **kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        SLUG, max_length=max_length, min_length=1, error_messages={"invalid": SLUG_MESSAGE}, **kwargs
    )


# --- Projects -------------------------------------------------------------------------------------------------


class ProjectSerializer(serializers.Serializer):
    """PmoProjectResponse."""

    project_id = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField(help_text="Absolute path, symlinks resolved")
    program = serializers.CharField()
    color = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    registered_at = IsoDateTimeField(help_text="First registration (kept when the project is replaced)")


class RegisterProjectRequestSerializer(serializers.Serializer):
    project_id = _slug(80, help_text='Unique project slug, e.g. "nds"')
    name = serializers.CharField(min_length=1, max_length=200)
    path = serializers.CharField(
        min_length=1,
        max_length=4096,
        help_text="Absolute path of an existing directory (inside BATON_PROJECT_ROOTS when that is set)",
    )
    program = serializers.CharField(min_length=1, max_length=40, help_text='Program code, e.g. "NDS"')
    color = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")


# --- Board and health -----------------------------------------------------------------------------------------


class CardSerializer(serializers.Serializer):
    """PmoCardResponse."""

    card_id = serializers.CharField(help_text="Plan id (the task id of its first execution)")
    project_id = serializers.CharField(allow_blank=True)
    program = serializers.CharField(allow_blank=True)
    title = serializers.CharField(allow_blank=True)
    column = serializers.ChoiceField(
        choices=["queued", "planning", "executing", "gate_pending", "deployed", "failed"]
    )
    risk_level = serializers.CharField()
    priority = serializers.IntegerField(min_value=0, max_value=2, help_text="0 normal, 1 high, 2 critical")
    agents = serializers.ListField(child=serializers.CharField())
    steps_completed = serializers.IntegerField()
    steps_total = serializers.IntegerField()
    gates_passed = serializers.IntegerField()
    current_phase = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()
    updated_at = serializers.CharField()


class ProgramHealthSerializer(serializers.Serializer):
    """ProgramHealthResponse."""

    program = serializers.CharField()
    total_plans = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    failed = serializers.IntegerField()
    completion_pct = serializers.FloatField()


class BoardSerializer(serializers.Serializer):
    """PmoBoardResponse."""

    cards = CardSerializer(many=True)
    health = serializers.DictField(child=ProgramHealthSerializer(), help_text="Keyed by program code")


# The health response is a bare object keyed by program code (drf-spectacular documents no root DictField).
HEALTH_SCHEMA = {
    "type": "object",
    "description": "Keyed by program code",
    "additionalProperties": {"$ref": "#/components/schemas/ProgramHealth"},
}


# --- Forge ----------------------------------------------------------------------------------------------------


class ForgePlanSerializer(PlanSerializer):
    """The MachinePlan dict, with the priority the Forge was asked for."""

    priority = serializers.IntegerField(min_value=0, max_value=2)


class RegeneratedPlanSerializer(ForgePlanSerializer):
    shared_context = serializers.CharField(allow_blank=True, help_text="Answers kept as notes for the agents")
    refinements = serializers.ListField(child=serializers.CharField(), help_text="What the answers changed")
    regenerated_from = serializers.CharField(help_text="The id of the plan that was refined")


class CreateForgeRequestSerializer(serializers.Serializer):
    description = serializers.CharField(min_length=1, max_length=100_000)
    program = serializers.CharField(min_length=1, max_length=40)
    project_id = serializers.CharField(min_length=1, max_length=80)
    task_type = serializers.CharField(required=False, allow_null=True, max_length=40)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=2, default=0)


class ApproveForgeRequestSerializer(serializers.Serializer):
    plan = serializers.DictField(help_text="The plan dict (MachinePlan shape), possibly edited")
    project_id = serializers.CharField(min_length=1, max_length=80)
    priority = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2,
        help_text="Overrides the plan dict's priority",
    )


class ApproveForgeResponseSerializer(serializers.Serializer):
    saved = serializers.BooleanField()
    plan_id = serializers.CharField()
    project_id = serializers.CharField()
    priority = serializers.IntegerField()
    path = serializers.CharField(help_text="The plan.json written in the project's team-context folder")


class InterviewRequestSerializer(serializers.Serializer):
    plan = serializers.DictField(help_text="The current plan dict (MachinePlan shape)")
    feedback = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20_000)


class InterviewQuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    question = serializers.CharField()
    context = serializers.CharField()
    answer_type = serializers.ChoiceField(choices=["choice", "text"])
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)


class InterviewResponseSerializer(serializers.Serializer):
    questions = InterviewQuestionSerializer(many=True)


class InterviewAnswerSerializer(serializers.Serializer):
    question_id = serializers.CharField(min_length=1, max_length=80)
    answer = serializers.CharField(allow_blank=True, max_length=20_000)


class RegenerateRequestSerializer(serializers.Serializer):
    project_id = serializers.CharField(min_length=1, max_length=80)
    description = serializers.CharField(min_length=1, max_length=100_000)
    task_type = serializers.CharField(required=False, allow_null=True, max_length=40)
    priority = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2)
    original_plan = serializers.DictField()
    answers = InterviewAnswerSerializer(many=True, max_length=50)


# --- ADO ------------------------------------------------------------------------------------------------------


class AdoSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class AdoWorkItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    type = serializers.CharField()
    program = serializers.CharField()
    owner = serializers.CharField()
    priority = serializers.CharField(help_text='e.g. "P0"')
    description = serializers.CharField(allow_blank=True)


class AdoSearchResponseSerializer(serializers.Serializer):
    items = AdoWorkItemSerializer(many=True)


# --- Signals --------------------------------------------------------------------------------------------------


class SignalSerializer(serializers.Serializer):
    """PmoSignalResponse (plus `resolved_at`)."""

    signal_id = serializers.CharField()
    signal_type = serializers.ChoiceField(choices=SignalType.choices)
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    source_project_id = serializers.CharField(allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.CharField(help_text="open, triaged or resolved")
    created_at = IsoDateTimeField()
    resolved_at = IsoDateTimeField(allow_null=True)
    forge_task_id = serializers.CharField(allow_blank=True)


class ResolvedSignalSerializer(SignalSerializer):
    resolved = serializers.BooleanField()


class CreateSignalRequestSerializer(serializers.Serializer):
    signal_id = _slug(120)
    signal_type = serializers.ChoiceField(choices=SignalType.choices)
    title = serializers.CharField(min_length=1, max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, default="")
    source_project_id = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)


class SignalForgeRequestSerializer(serializers.Serializer):
    project_id = serializers.CharField(min_length=1, max_length=80)
    plan = serializers.DictField(
        required=False, allow_null=True, help_text="Ignored: the plan comes from the signal"
    )


class SignalForgeResponseSerializer(serializers.Serializer):
    signal_id = serializers.CharField()
    plan_id = serializers.CharField()
    path = serializers.CharField()
