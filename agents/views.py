from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from agents import selectors
from agents.serializers import AgentListQuerySerializer, AgentListSerializer, AgentSerializer
from baton_site.errors import QueryValidationError
from baton_site.schema import ERROR_400, ERROR_404, EnvelopeAutoSchema


class AgentViewSet(viewsets.ViewSet):
    """The agent registry (contract 4.4)."""

    schema = EnvelopeAutoSchema()

    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="agents_list",
        tags=["Agents"],
        parameters=[AgentListQuerySerializer],
        responses={200: AgentListSerializer, 400: ERROR_400},
    )
    def list(self, request: Request) -> Response:
        query = AgentListQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise QueryValidationError(query.errors)
        agents = selectors.agent_list_rows(**query.validated_data)
        return Response({"count": len(agents), "agents": agents})

    @extend_schema(
        operation_id="agents_get", tags=["Agents"], responses={200: AgentSerializer, 404: ERROR_404}
    )
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(AgentSerializer(selectors.agent_get(name=name)).data)
