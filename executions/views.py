from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site.errors import QueryValidationError, RuleViolation
from baton_site.pagination import BatonPagination
from baton_site.schema import ERROR_400, ERROR_404, ERROR_409, ERROR_422, EnvelopeAutoSchema, page_of
from executions import selectors, services
from executions.serializers import (
    CancelResponseSerializer,
    CompleteResponseSerializer,
    DashboardSerializer,
    ExecutionListQuerySerializer,
    ExecutionSerializer,
    ExecutionSummarySerializer,
    RecordGateRequestSerializer,
    RecordResponseSerializer,
    RecordStepRequestSerializer,
    StartExecutionRequestSerializer,
    StartExecutionResponseSerializer,
    TraceSerializer,
    UsageQuerySerializer,
    UsageSerializer,
)
from plans.selectors import plan_row
from plans.services import plan_store_inline


def _query(serializer_class: type, request: Request) -> dict:
    query = serializer_class(data=request.query_params)
    if not query.is_valid():
        raise QueryValidationError(query.errors)
    return query.validated_data


class ExecutionViewSet(viewsets.ViewSet):
    """Execution lifecycle (contract 4.3). Any number of executions run at once, each addressed by task id."""

    schema = EnvelopeAutoSchema()

    lookup_field = "task_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="executions_start",
        tags=["Executions"],
        request=StartExecutionRequestSerializer,
        responses={
            201: StartExecutionResponseSerializer,
            400: ERROR_400,
            404: ERROR_404,
            409: ERROR_409,
            422: ERROR_422,
        },
        description="Start a plan by `plan_id` or from an inline `plan` dict (exactly one of the two). An inline "
        "PlanResponse or MachinePlan dict may name its id `plan_id` or `task_id`.",
    )
    def create(self, request: Request) -> Response:
        body = StartExecutionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan_id = body.validated_data.get("plan_id")
        inline = body.validated_data.get("plan")
        if (plan_id is None) == (inline is None):
            raise RuleViolation("Provide exactly one of 'plan_id' or 'plan'.")
        plan = plan_row(plan_id=plan_id) if plan_id is not None else plan_store_inline(data=inline)
        result = services.execution_start(plan=plan)
        return Response(
            {
                "execution": selectors.execution_dict(result.execution, just_started=True),
                "next_actions": result.next_actions,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="executions_list",
        tags=["Executions"],
        parameters=[ExecutionListQuerySerializer],
        responses={200: page_of(ExecutionSummarySerializer, "ExecutionPage"), 422: ERROR_422},
        description="Executions, newest first, filtered by `status`, paginated with `limit` (max 200) and `offset`.",
    )
    def list(self, request: Request) -> Response:
        query = _query(ExecutionListQuerySerializer, request)
        paginator = BatonPagination()
        page = paginator.paginate_queryset(
            selectors.execution_list(status=query.get("status")), request, view=self
        )
        return paginator.get_paginated_response([selectors.execution_summary_dict(row) for row in page])

    @extend_schema(
        operation_id="executions_get",
        tags=["Executions"],
        responses={200: ExecutionSerializer, 404: ERROR_404},
    )
    def retrieve(self, request: Request, task_id: str) -> Response:
        return Response(selectors.execution_dict(selectors.execution_get(task_id=task_id)))

    @extend_schema(
        operation_id="executions_cancel",
        tags=["Executions"],
        responses={200: CancelResponseSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    def destroy(self, request: Request, task_id: str) -> Response:
        services.execution_cancel(task_id=task_id)
        return Response({"cancelled": True, "task_id": task_id})

    @extend_schema(
        operation_id="executions_record",
        tags=["Executions"],
        request=RecordStepRequestSerializer,
        responses={
            200: RecordResponseSerializer,
            400: ERROR_400,
            404: ERROR_404,
            409: ERROR_409,
            422: ERROR_422,
        },
    )
    @action(detail=True, methods=["post"])
    def record(self, request: Request, task_id: str) -> Response:
        body = RecordStepRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.step_record_result(task_id=task_id, **body.validated_data)
        return Response({"recorded": True, "next_actions": result.next_actions})

    @extend_schema(
        operation_id="executions_gate",
        tags=["Executions"],
        request=RecordGateRequestSerializer,
        responses={200: RecordResponseSerializer, 400: ERROR_400, 404: ERROR_404, 422: ERROR_422},
    )
    @action(detail=True, methods=["post"])
    def gate(self, request: Request, task_id: str) -> Response:
        body = RecordGateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.gate_record_result(task_id=task_id, **body.validated_data)
        return Response({"recorded": True, "next_actions": result.next_actions})

    @extend_schema(
        operation_id="executions_next",
        tags=["Executions"],
        request=None,
        responses={200: RecordResponseSerializer, 404: ERROR_404},
        description="Baton addition: the next actions now (dispatches it returns are marked in flight).",
    )
    @action(detail=True, methods=["post"], url_path="next")
    def next_actions(self, request: Request, task_id: str) -> Response:
        result = services.execution_next_actions(task_id=task_id)
        return Response({"recorded": True, "next_actions": result.next_actions})

    @extend_schema(
        operation_id="executions_complete",
        tags=["Executions"],
        request=None,
        responses={200: CompleteResponseSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, task_id: str) -> Response:
        result = services.execution_complete(task_id=task_id)
        return Response({"task_id": task_id, "status": "complete", "summary": result.summary or ""})


@extend_schema(operation_id="dashboard", tags=["Observe"], responses={200: DashboardSerializer})
@api_view(["GET"])
def dashboard(request: Request) -> Response:
    metrics = selectors.dashboard_metrics()
    return Response({"dashboard_markdown": selectors.dashboard_markdown(metrics), "metrics": metrics})


@extend_schema(
    operation_id="traces_get",
    tags=["Observe"],
    parameters=[OpenApiParameter("task_id", str, OpenApiParameter.PATH)],
    responses={200: TraceSerializer, 404: ERROR_404},
)
@api_view(["GET"])
def trace(request: Request, task_id: str) -> Response:
    return Response(selectors.trace_get(task_id=task_id))


@extend_schema(
    operation_id="usage",
    tags=["Observe"],
    parameters=[UsageQuerySerializer],
    responses={200: UsageSerializer, 422: ERROR_422},
    description="Usage records (newest first, at most `limit`) and a summary over every matching record.",
)
@api_view(["GET"])
def usage(request: Request) -> Response:
    query = _query(UsageQuerySerializer, request)
    since, agent = query.get("since"), query.get("agent")
    page = selectors.usage_page(since=since, agent=agent, limit=query["limit"])
    return Response(
        {
            "records": selectors.usage_records(page),
            "summary": (
                selectors.usage_summary_of_agent(agent=agent, since=since)
                if agent
                else selectors.usage_summary(selectors.usage_query(since=since))
            ),
        }
    )
