from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site.errors import QueryValidationError
from baton_site.schema import ERROR_400, ERROR_404, ERROR_409, ERROR_422, EnvelopeAutoSchema
from decisions import selectors, services
from decisions.serializers import (
    DecisionListQuerySerializer,
    DecisionListSerializer,
    DecisionSerializer,
    ResolveDecisionRequestSerializer,
    ResolveResponseSerializer,
)


class DecisionViewSet(viewsets.ViewSet):
    """Human decisions (contract 4.5)."""

    schema = EnvelopeAutoSchema()

    lookup_field = "request_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="decisions_list",
        tags=["Decisions"],
        parameters=[DecisionListQuerySerializer],
        responses={200: DecisionListSerializer, 422: ERROR_422},
        description="Newest first; at most `limit` (default 100, max 500) decisions from `offset`.",
    )
    def list(self, request: Request) -> Response:
        query = DecisionListQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise QueryValidationError(query.errors)
        limit = query.validated_data.pop("limit")
        offset = query.validated_data.pop("offset")
        decisions = list(selectors.decision_list(**query.validated_data)[offset : offset + limit])
        return Response(
            {
                "count": len(decisions),
                "decisions": DecisionSerializer(decisions, many=True, context={"contents": None}).data,
            }
        )

    @extend_schema(
        operation_id="decisions_get",
        tags=["Decisions"],
        responses={200: DecisionSerializer, 404: ERROR_404},
        description="The decision with `context_file_contents`: each context file's text, read only from inside "
        "the project root or the data directory; a path outside them, missing or too large reads as null.",
    )
    def retrieve(self, request: Request, request_id: str) -> Response:
        decision = selectors.decision_get(request_id=request_id)
        contents = selectors.context_file_contents(decision)
        return Response(DecisionSerializer(decision, context={"contents": contents}).data)

    @extend_schema(
        operation_id="decisions_resolve",
        tags=["Decisions"],
        request=ResolveDecisionRequestSerializer,
        responses={
            200: ResolveResponseSerializer,
            400: ERROR_400,
            404: ERROR_404,
            409: ERROR_409,
            422: ERROR_422,
        },
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, request_id: str) -> Response:
        body = ResolveDecisionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _, result = services.decision_resolve(request_id=request_id, **body.validated_data)
        return Response(
            {"resolved": True, "execution_resumed": result.resumed, "next_actions": result.next_actions}
        )
