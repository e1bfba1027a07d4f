from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site.pagination import BatonPagination
from baton_site.schema import ERROR_400, ERROR_404, ERROR_422, EnvelopeAutoSchema, page_of
from plans import planner, selectors, services
from plans.serializers import CreatePlanRequestSerializer, PlanSerializer, PlanSummarySerializer


class PlanViewSet(viewsets.ViewSet):
    """Plans (contract 4.2): generate with the planner, read back any plan ever created."""

    schema = EnvelopeAutoSchema()

    lookup_field = "plan_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="plans_create",
        tags=["Plans"],
        request=CreatePlanRequestSerializer,
        responses={201: PlanSerializer, 400: ERROR_400, 422: ERROR_422},
    )
    def create(self, request: Request) -> Response:
        body = CreatePlanRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_create(**body.validated_data)
        return Response(planner.plan_to_dict(plan), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="plans_get", tags=["Plans"], responses={200: PlanSerializer, 404: ERROR_404})
    def retrieve(self, request: Request, plan_id: str) -> Response:
        return Response(selectors.plan_to_dict(selectors.plan_get(plan_id=plan_id)))

    @extend_schema(
        operation_id="plans_list",
        tags=["Plans"],
        responses={200: page_of(PlanSummarySerializer, "PlanPage")},
        description="Every stored plan, newest first, paginated with `limit` (max 200) and `offset`.",
    )
    def list(self, request: Request) -> Response:
        paginator = BatonPagination()
        page = paginator.paginate_queryset(selectors.plan_list(), request, view=self)
        return paginator.get_paginated_response(PlanSummarySerializer(page, many=True).data)
