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


VALIDATION_ERROR_RESPONSE = {
    "description": "Request validation failed (path, query or body)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}},
}


def document_validation_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every operation that takes path or query parameters or a body can answer 422 (malformed input, NUL
    characters); say so wherever a view did not already."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "ValidationError",
        {
            "type": "object",
            "properties": {
                "detail": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                        "required": ["loc", "msg", "type"],
                    },
                }
            },
            "required": ["detail"],
        },
    )
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if operation.get("parameters") or operation.get("requestBody"):
                operation["responses"].setdefault("422", VALIDATION_ERROR_RESPONSE)
    return result
