"""One error vocabulary for the whole API, translated into the contract's bodies in one place.

Services and the engine raise `BatonError` subclasses; `exception_handler` (DRF's EXCEPTION_HANDLER) turns them,
and DRF's own validation, parsing and routing errors, into the contract's shapes: `{"detail": "..."}` for most
errors and, for request validation, 422 with `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("baton.errors")


class BatonError(Exception):
    """Base domain error: a machine code, an HTTP status and a human-readable detail."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(BatonError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class RuleViolation(BatonError):
    """A business rule refuses the request (the contract's 400)."""

    code = "rule_violation"


class InvalidTransition(RuleViolation):
    code = "invalid_transition"


class ConcurrentModification(BatonError):
    """Another writer changed the row first (the contract's 409)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ValidationFailed(BatonError):
    """Request validation failure reported with the contract's 422 list body."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "validation_failed"

    def __init__(self, loc: Sequence[str | int], msg: str, error_type: str = "value_error") -> None:
        super().__init__(msg)
        self.items = [{"loc": list(loc), "msg": msg, "type": error_type}]


# DRF error codes -> the pydantic-style `type` names clients of the contract expect.
_TYPE_BY_CODE = {
    "required": "missing",
    "null": "missing",
    "blank": "string_too_short",
    "min_length": "string_too_short",
    "max_length": "string_too_long",
    "empty": "too_short",
    "invalid_choice": "enum",
    "not_a_list": "list_type",
    "not_a_dict": "dict_type",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "max_string_length": "string_too_long",
    "max_whole_digits": "decimal_type",
}


def _validation_items(detail: Any, loc: list[str | int]) -> Iterator[dict[str, Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            child = loc if key in ("non_field_errors", "__all__") else [*loc, key]
            yield from _validation_items(value, child)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                yield from _validation_items(value, [*loc, index])
            else:
                yield from _validation_items(value, loc)
    else:
        code = getattr(detail, "code", None) or "value_error"
        yield {"loc": loc, "msg": str(detail), "type": _TYPE_BY_CODE.get(code, code)}


def validation_body(detail: Any, location: str = "body") -> dict[str, Any]:
    """The contract's 422 body for a DRF ValidationError detail."""
    items = list(_validation_items(detail, [location]))
    return {"detail": items or [{"loc": [location], "msg": "Invalid input", "type": "value_error"}]}


class QueryValidationError(drf_exceptions.ValidationError):
    """A ValidationError raised while validating query parameters (reported with `loc` starting at "query")."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ValidationFailed):
        return Response({"detail": exc.items}, status=exc.status_code)
    if isinstance(exc, BatonError):
        return Response({"detail": exc.detail}, status=exc.status_code)
    if isinstance(exc, QueryValidationError):
        return Response(validation_body(exc.detail, "query"), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(validation_body(exc.detail), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, drf_exceptions.ParseError):
        body = {"detail": [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]}
        return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return Response({"detail": "Method Not Allowed"}, status=exc.status_code)
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return Response({"detail": "Not Found"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        from baton_site.middleware import request_too_large

        return Response(
            json.loads(request_too_large().content), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, PermissionDenied):
        return Response({"detail": "Forbidden"}, status=status.HTTP_403_FORBIDDEN)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Unknown paths: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> Any:
    """Unexpected exceptions (already logged by django.request): JSON without a traceback under /api/."""
    if _is_api(request):
        return JsonResponse({"detail": "Internal Server Error"}, status=500)
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)
