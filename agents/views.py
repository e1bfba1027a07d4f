from __future__ import annotations

import threading

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agents import selectors
from agents.serializers import AgentListQuerySerializer, AgentListSerializer, AgentSerializer
from baton_site.errors import QueryValidationError
from baton_site.schema import ERROR_400, ERROR_404, EnvelopeAutoSchema


class _ListBodies:
    """Rendered `GET /agents` bodies per filter, valid while the registry's stamp is unchanged.

    The agent list is the hottest read of dashboards and CI and changes only on a reload or an admin edit, so a
    request that hits costs one small aggregate query instead of a query, JSON decoding and rendering of every
    row. Each process keeps its own copy; the stamp is read from the database, so edits made by any process
    (or the admin) are seen on the next request.
    """

    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._bodies: dict[tuple[object, ...], bytes] = {}
        self._lock = threading.Lock()

    def get(self, category: str | None, stack: str | None) -> bytes:
        stamp = selectors.registry_stamp()
        key = (stamp, category, stack)
        body = self._bodies.get(key)
        if body is not None:
            return body
        agents = selectors.agent_list_rows(category=category, stack=stack)
        body = JSONRenderer().render({"count": len(agents), "agents": agents})
        # Cache only if nothing changed while the rows were read (they were read after the first stamp).
        if selectors.registry_stamp() == stamp:
            with self._lock:
                if len(self._bodies) >= self.MAX_ENTRIES:
                    self._bodies.clear()
                self._bodies[key] = body
        return body


_list_bodies = _ListBodies()


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
    def list(self, request: Request) -> HttpResponse:
        filters: dict[str, str] = {}
        if request.query_params:
            query = AgentListQuerySerializer(data=request.query_params)
            if not query.is_valid():
                raise QueryValidationError(query.errors)
            filters = query.validated_data
        body = _list_bodies.get(filters.get("category"), filters.get("stack"))
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        operation_id="agents_get", tags=["Agents"], responses={200: AgentSerializer, 404: ERROR_404}
    )
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(AgentSerializer(selectors.agent_get(name=name)).data)
