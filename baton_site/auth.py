"""Bearer-token authentication for the API.

With a token configured, every request under /api/ (and /ws/ and /metrics) outside the contract's exempt paths
needs `Authorization: Bearer <token>`; failures get 401 with the contract's exact body. The comparison is
constant-time. CORS runs outside this middleware, so pre-flight requests never reach it with a 401 and every
401 still carries CORS headers. Admin and HTML pages authenticate with Django sessions instead.

Event streams: a browser's `EventSource` cannot send headers, so the SSE path `/api/v1/events/{task_id}` (and only
that path) also accepts the token as `?token=`. WebSocket handshakes (`/ws/...`) never pass through Django's
middleware; `baton_site.routing` checks them with `scope_is_authorized` (the header or `?token=`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

EXEMPT_PATHS = frozenset(
    {"/api/v1/health", "/api/v1/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
PROTECTED_PREFIXES = ("/api/", "/ws/")
UNAUTHORIZED_BODY = {"error": "unauthorized", "detail": "Valid Bearer token required."}
# The only HTTP path where the token may travel in the query string (EventSource cannot send headers).
QUERY_TOKEN_PATH = re.compile(r"/api/v1/events/[^/]+")
QUERY_TOKEN_PARAMETER = "token"  # noqa: S105 - the parameter's name, not a secret


def token_matches(candidate: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented credential with the configured token."""
    if not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), expected.encode("utf-8"))


def bearer_credential(header: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <credential>` header, else None."""
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return None
    return credential


def request_needs_token(method: str, path: str) -> bool:
    if not settings.BATON_API_TOKEN or method == "OPTIONS":
        return False
    if path.rstrip("/") in EXEMPT_PATHS or path in EXEMPT_PATHS:
        return False
    return path.startswith(PROTECTED_PREFIXES)


def query_token_allowed(method: str, path: str) -> bool:
    """Whether this request may carry the token as `?token=` (the SSE stream, read with GET, only)."""
    return method == "GET" and QUERY_TOKEN_PATH.fullmatch(path) is not None


def request_is_authorized(request: HttpRequest) -> bool:
    method = request.method or "GET"
    if not request_needs_token(method, request.path):
        return True
    expected = settings.BATON_API_TOKEN
    if token_matches(bearer_credential(request.headers.get("Authorization")), expected):
        return True
    return query_token_allowed(method, request.path) and token_matches(
        request.GET.get(QUERY_TOKEN_PARAMETER), expected
    )


def scope_is_authorized(scope: Mapping[str, Any]) -> bool:
    """A WebSocket handshake's credentials: `Authorization: Bearer <token>` or `?token=<token>`, constant-time."""
    expected = settings.BATON_API_TOKEN
    if not expected:
        return True
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    header = headers.get(b"authorization", b"").decode("latin-1")
    if token_matches(bearer_credential(header), expected):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    candidates = query.get(QUERY_TOKEN_PARAMETER, [])
    return len(candidates) == 1 and token_matches(candidates[0], expected)


def unauthorized_response() -> JsonResponse:
    return JsonResponse(UNAUTHORIZED_BODY, status=401)


class BearerTokenMiddleware:
    """Refuses unauthenticated API requests before any view runs; works under both WSGI and ASGI."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if self.is_async:
            return self.__acall__(request)
        if not request_is_authorized(request):
            return unauthorized_response()
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not request_is_authorized(request):
            return unauthorized_response()
        return await self.get_response(request)  # type: ignore[misc]
