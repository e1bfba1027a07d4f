"""Liveness and readiness probes (contract section 4.1); both exempt from authentication."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baton_site import runtime

logger = logging.getLogger(__name__)


class HealthResponseSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='Always "healthy".')
    version = serializers.CharField()
    uptime_seconds = serializers.FloatField()


class ReadyResponseSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    daemon_running = serializers.BooleanField(help_text="Whether at least one execution is active.")
    pending_decisions = serializers.IntegerField()
    reason = serializers.CharField(
        required=False, help_text="Why the server is not ready (only when not ready)."
    )


class HealthView(APIView):
    @extend_schema(operation_id="health", tags=["Health"], responses=HealthResponseSerializer, auth=[])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "status": "healthy",
                "version": runtime.package_version(),
                "uptime_seconds": runtime.uptime_seconds(),
            }
        )


def _readiness_counts() -> tuple[int, int]:
    """Active executions and pending decisions; both zero until those apps store anything."""
    from baton_site import probes

    return probes.active_executions(), probes.pending_decisions()


class ReadyView(APIView):
    @extend_schema(operation_id="ready", tags=["Health"], responses=ReadyResponseSerializer, auth=[])
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            active, pending = _readiness_counts()
        except DatabaseError:
            logger.exception("readiness check failed")
            return Response(
                {
                    "ready": False,
                    "daemon_running": False,
                    "pending_decisions": 0,
                    "reason": "database unavailable",
                }
            )
        return Response({"ready": True, "daemon_running": active > 0, "pending_decisions": pending})
