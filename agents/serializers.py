from __future__ import annotations

from rest_framework import serializers

from agents.models import AgentDefinition


class AgentSerializer(serializers.ModelSerializer):
    """AgentResponse: the definition without `instructions` and `source_path`."""

    class Meta:
        model = AgentDefinition
        fields = [
            "name",
            "description",
            "model",
            "permission_mode",
            "color",
            "tools",
            "category",
            "base_name",
            "flavor",
        ]


class AgentListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    agents = AgentSerializer(many=True)


class AgentListQuerySerializer(serializers.Serializer):
    category = serializers.CharField(
        required=False,
        help_text="Engineering, Quality, Architecture, Data, "
        "Operations, Management or Security (case-insensitive).",
    )
    stack = serializers.CharField(required=False, help_text='Flavour substring, e.g. "py" matches python.')
