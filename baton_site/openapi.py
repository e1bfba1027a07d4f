"""drf-spectacular hooks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView


class PlainJsonOpenApiRenderer(OpenApiJsonRenderer):
    media_type = "application/json"


def only_api_paths(
    endpoints: list[tuple[str, str, str, Any]], **kwargs: Any
) -> list[tuple[str, str, str, Any]]:
    """Document the REST API only (not the admin or the HTML pages)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


class OpenApiDocumentView(SpectacularAPIView):
    """The OpenAPI document as plain `application/json` at /openapi.json, as FastAPI serves it."""

    renderer_classes = [PlainJsonOpenApiRenderer]
