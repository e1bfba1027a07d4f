"""Bearer-token authentication for the API.

With a token configured, every request under /api/ (and /ws/ and /metrics) outside the contract's exempt paths
needs `Authorization: Bearer <token>`; failures get 401 with the contract's exact body. The comparison is
constant-time. CORS runs outside this middleware, so pre-flight requests never reach it with a 401 and every
401 still carries CORS headers. Admin and HTML pages authenticate with Django sessions instead.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

EXEMPT_PATHS = frozenset(
    {"/api/v1/health", "/api/v1/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
PROTECTED_PREFIXES = ("/api/", "/ws/")
UNAUTHORIZED_BODY = {"error": "unauthorized", "detail": "Valid Bearer token required."}


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


def request_is_authorized(request: HttpRequest) -> bool:
    if not request_needs_token(request.method or "GET", request.path):
        return True
    return token_matches(bearer_credential(request.headers.get("Authorization")), settings.BATON_API_TOKEN)


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
