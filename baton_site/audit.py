"""`GET /api/v1/audit`: the audit log, newest first, paginated."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site import auditlog
from baton_site.errors import QueryValidationError
from baton_site.models import AuditEntry
from baton_site.pagination import BatonPagination
from baton_site.schema import ERROR_422


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["timestamp", "actor", "method", "route", "path", "target_ids", "status_code", "request_id"]


class AuditQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="ISO 8601: entries at or after this time")
    target = serializers.CharField(required=False, max_length=200, help_text="Only entries naming this id")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)
    offset = serializers.IntegerField(required=False, min_value=0)


class AuditPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = AuditEntrySerializer(many=True)


@extend_schema(
    operation_id="audit_list",
    tags=["Audit"],
    parameters=[AuditQuerySerializer],
    responses={200: AuditPageSerializer, 422: ERROR_422},
)
@api_view(["GET"])
def audit_list(request: Request) -> Response:
    query = AuditQuerySerializer(data=request.query_params)
    if not query.is_valid():
        raise QueryValidationError(query.errors)
    auditlog.writer.flush()  # this process's queued entries first, so a client reads its own writes
    entries = AuditEntry.objects.order_by("-timestamp", "-id")
    if "since" in query.validated_data:
        entries = entries.filter(timestamp__gte=query.validated_data["since"])
    target = query.validated_data.get("target")
    if target:
        # JSON containment is not portable to SQLite; the serialised list always holds the id as a quoted string.
        entries = entries.filter(target_ids__icontains=f'"{target}"')
    paginator = BatonPagination()
    page = paginator.paginate_queryset(entries, request)
    return paginator.get_paginated_response(AuditEntrySerializer(page, many=True).data)
