"""Shared OpenAPI pieces: the contract's error bodies."""

from __future__ import annotations

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
