"""Shared OpenAPI pieces: the contract's error bodies."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorDetailSerializer = inline_serializer("ErrorDetail", fields={"detail": serializers.CharField()})
ValidationItemSerializer = inline_serializer(
    "ValidationErrorItem",
    fields={
        "loc": serializers.ListField(child=serializers.JSONField()),
        "msg": serializers.CharField(),
        "type": serializers.CharField(),
    },
)
ValidationErrorSerializer = inline_serializer(
    "ValidationError", fields={"detail": ValidationItemSerializer.__class__(many=True)}
)

ERROR_400 = OpenApiResponse(ErrorDetailSerializer, description="Invalid request or business-rule violation")
ERROR_404 = OpenApiResponse(ErrorDetailSerializer, description="Not found")
ERROR_409 = OpenApiResponse(ErrorDetailSerializer, description="Concurrent modification")
ERROR_422 = OpenApiResponse(ValidationErrorSerializer, description="Request validation failed")


class EnvelopeAutoSchema(AutoSchema):
    """For `list` actions whose response is an envelope object (`{count, agents}` or a page), not a bare array:
    drf-spectacular would otherwise wrap the declared response in an array."""

    def _is_list_view(self, serializer: object | None = None) -> bool:
        return False


def page_of(serializer: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The OpenAPI shape of a `limit`/`offset` page of `serializer` items."""
    return inline_serializer(
        name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer(many=True),
        },
    )
