"""Cross-cutting HTTP middleware: request ids, body-size and failed-auth limits, the audit log, idempotency keys.

The outer middlewares (request id, limits) are async-capable, so under daphne a request reaches the sync part of the
stack in a single thread hop. The audit and idempotency middlewares write to the database and are sync-only: they
sit innermost, next to the (sync) DRF views, in the same thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from baton_site import auditlog
from baton_site.auth import bearer_credential, request_needs_token
from baton_site.context import current_request_id

logger = logging.getLogger(__name__)

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

GetResponse = Callable[[HttpRequest], Any]


class _Hybrid:
    """Base for middleware that works in both sync and async stacks without a thread hop of its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._async_call(request)
        early = self.before(request)
        if early is not None:
            return self.after(request, early)
        return self.after(request, self.get_response(request))

    async def _async_call(self, request: HttpRequest) -> HttpResponse:
        early = self.before(request)
        if early is not None:
            return self.after(request, early)
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


# --- Request ids ----------------------------------------------------------------------------------------------


class RequestIdMiddleware(_Hybrid):
    """Every response carries `X-Request-ID`: the client's `X-Request-ID`/`X-Correlation-ID` when it is a sane
    token, else a new one. The id is in a context variable for logs, events and webhook deliveries."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        candidate = request.headers.get("X-Request-ID") or request.headers.get("X-Correlation-ID") or ""
        request_id = candidate if _SAFE_REQUEST_ID.fullmatch(candidate) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        current_request_id.set(request_id)
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response["X-Request-ID"] = getattr(request, "request_id", "")
        return response


# --- Abuse limits ---------------------------------------------------------------------------------------------


class BodySizeLimitMiddleware(_Hybrid):
    """Refuses request bodies larger than BATON_MAX_BODY_BYTES with 413 (declared length; Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE catches undeclared ones when the body is read)."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        nul = _nul_location(request)
        if nul is not None:
            # Databases refuse NUL characters (PostgreSQL raises): stop them at the door, for every route.
            item = {
                "loc": nul,
                "msg": "Null characters are not allowed.",
                "type": "null_characters_not_allowed",
            }
            return JsonResponse({"detail": [item]}, status=422)
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        if length > settings.BATON_MAX_BODY_BYTES:
            return request_too_large()
        return None


def _nul_location(request: HttpRequest) -> list[str] | None:
    if "\x00" in request.path:
        return ["path"]
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return ["query", name.replace("\x00", "")]
    return None


def request_too_large() -> JsonResponse:
    return JsonResponse(
        {"detail": f"Request body too large (limit {settings.BATON_MAX_BODY_BYTES} bytes)."}, status=413
    )


def _auth_failure_retry_after(client: str, limit: int, window: float) -> int:
    """Seconds until `client` may try again: 0 while it has had fewer than `limit` failures in the window."""
    from baton_site.models import AuthFailure

    now = timezone.now()
    recent = list(
        AuthFailure.objects.filter(client=client, failed_at__gt=now - timedelta(seconds=window))
        .order_by("failed_at")
        .values_list("failed_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0
    return max(1, int(window - (now - recent[0]).total_seconds()) + 1)


def _record_auth_failure(client: str, window: float) -> None:
    """Store one failure, and drop every failure older than the window (they no longer count for anyone)."""
    from baton_site.models import AuthFailure

    now = timezone.now()
    AuthFailure.objects.filter(failed_at__lte=now - timedelta(seconds=window)).delete()
    AuthFailure.objects.create(client=client[:100], failed_at=now)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


class AuthFailureThrottleMiddleware(_Hybrid):
    """After BATON_AUTH_FAILURE_LIMIT failed authentications from one client within BATON_AUTH_FAILURE_WINDOW
    seconds, its token-protected requests get 429 with Retry-After until the window has passed. The failures are
    rows of the database, so every web process counts them all. In the async chain (the streams) the two database
    calls take a thread hop; nothing else here touches the database."""

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._throttled_async(request)
        if not request_needs_token(request.method or "GET", request.path):
            return self.get_response(request)
        refusal = _throttle_refusal(request)
        if refusal is not None:
            return refusal
        response = self.get_response(request)
        if response.status_code == 401:
            _record_auth_failure(client_address(request), settings.BATON_AUTH_FAILURE_WINDOW)
        return response

    async def _throttled_async(self, request: HttpRequest) -> HttpResponse:
        if not request_needs_token(request.method or "GET", request.path):
            return await self.get_response(request)
        refusal = await sync_to_async(_throttle_refusal)(request)
        if refusal is not None:
            return refusal
        response = await self.get_response(request)
        if response.status_code == 401:
            await sync_to_async(_record_auth_failure)(
                client_address(request), settings.BATON_AUTH_FAILURE_WINDOW
            )
        return response


def _throttle_refusal(request: HttpRequest) -> HttpResponse | None:
    retry_after = _auth_failure_retry_after(
        client_address(request), settings.BATON_AUTH_FAILURE_LIMIT, settings.BATON_AUTH_FAILURE_WINDOW
    )
    if not retry_after:
        return None
    response = JsonResponse({"detail": "Too many failed authentication attempts."}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


# --- Audit log ------------------------------------------------------------------------------------------------


def actor_of(request: HttpRequest) -> str:
    """Who made the request: a token fingerprint (never the token), a logged-in user, or anonymous."""
    credential = bearer_credential(request.headers.get("Authorization"))
    if credential and settings.BATON_API_TOKEN and request.path.startswith("/api/"):
        return "token:" + hashlib.sha256(credential.encode("utf-8")).hexdigest()[:12]
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return "anonymous"


class AuditMiddleware(_Hybrid):
    """Appends an AuditEntry for every mutating API request (refused ones included) and every admin or page form
    submission, through `baton_site.auditlog`. It sits outside authentication so that 401s are recorded too."""

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._audited_async(request)
        response = self.get_response(request)
        if _audited(request):
            write_audit_entry(request, response)
        return response

    async def _audited_async(self, request: HttpRequest) -> HttpResponse:
        response = await self.get_response(request)
        if _audited(request):
            await sync_to_async(write_audit_entry)(request, response)
        return response


def _audited(request: HttpRequest) -> bool:
    return request.method in MUTATING_METHODS and request.path.startswith(("/api/", "/admin/", "/pmo/"))


def write_audit_entry(request: HttpRequest, response: HttpResponse) -> None:
    """Hand the request's entry to the audit log (`baton_site.auditlog`), which writes it."""
    try:
        match = getattr(request, "resolver_match", None)
        ids = [str(value) for value in match.kwargs.values()] if match is not None else []
        if request.path.startswith("/admin/") and request.method == "POST":
            ids.extend(request.POST.getlist("_selected_action"))
        json_body = None
        if response.get("Content-Type", "").startswith("application/json") and not getattr(
            response, "streaming", False
        ):
            json_body = response.content
        entry = auditlog.Entry(
            timestamp=timezone.now(),
            actor=actor_of(request),
            method=request.method or "",
            route=match.route if match is not None else "",
            path=request.path,
            status_code=response.status_code,
            request_id=getattr(request, "request_id", ""),
            ids=ids,
            json_body=json_body,
        )
    except Exception:  # noqa: BLE001 - the audit trail must not turn a served request into an error
        logger.exception("audit entry not made for %s %s", request.method, request.path)
        return
    auditlog.writer.write(entry)


# --- Idempotency keys -----------------------------------------------------------------------------------------

IDEMPOTENCY_TTL = timedelta(hours=24)


def _json_error(status: int, detail: Any) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


class IdempotencyMiddleware:
    """`Idempotency-Key` on mutating API routes: the first request runs and its response is stored (24 h, per key
    and route); a retry with the same body replays it; a different body is 422; a retry while the first still
    runs is 409. The claim is a database insert guarded by a unique constraint, so it holds across processes."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in MUTATING_METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            if settings.BATON_IDEMPOTENCY_REQUIRED:
                return _json_error(400, "An Idempotency-Key header is required for this request.")
            return self.get_response(request)
        if not key or len(key) > 255:
            return _json_error(
                422,
                [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "Must be 1 to 255 characters",
                        "type": "value_error",
                    }
                ],
            )
        from baton_site.models import IdempotencyRecord

        scope = f"{request.method} {request.path}"[:300]
        body_hash = hashlib.sha256(request.body).hexdigest()
        now = timezone.now()
        IdempotencyRecord.objects.filter(key=key, scope=scope, created_at__lt=now - IDEMPOTENCY_TTL).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    key=key, scope=scope, body_hash=body_hash, created_at=now
                )
        except IntegrityError:
            return self._replay(key, scope, body_hash)
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            # Nothing durable to replay: let a retry run again.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code,
            response_body=bytes(response.content),
            content_type=response.get("Content-Type", ""),
        )
        return response

    def _replay(self, key: str, scope: str, body_hash: str) -> HttpResponse:
        from baton_site.models import IdempotencyRecord

        record = IdempotencyRecord.objects.filter(key=key, scope=scope).first()
        if record is None:  # expired and purged between our insert and this read: ask the client to retry
            return _json_error(409, "The request with this Idempotency-Key is being processed; retry later.")
        if record.body_hash != body_hash:
            return _json_error(
                422,
                [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "This Idempotency-Key was used with a different request body.",
                        "type": "idempotency_key_reused",
                    }
                ],
            )
        if record.status_code is None:
            return _json_error(409, "The request with this Idempotency-Key is still being processed.")
        response = HttpResponse(
            bytes(record.response_body), status=record.status_code, content_type=record.content_type
        )
        response["Idempotent-Replayed"] = "true"
        return response


# --- Page-only middleware ------------------------------------------------------------------------------------
# The API authenticates with its bearer token alone and reads no cookie (DESIGN.md, security rules). Sessions, the
# logged-in user and messages serve the admin and the pages; API requests skip their work.

API_PREFIX = "/api/"


class _PagesOnly:
    """Runs the wrapped middleware's `process_request` for every path but the API's."""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(API_PREFIX):
            super().process_request(request)  # type: ignore[misc]


class PageSessionMiddleware(_PagesOnly, SessionMiddleware):
    """Django's sessions, for the admin and the pages only."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class PageAuthenticationMiddleware(_PagesOnly, AuthenticationMiddleware):
    """Django's logged-in user, for the admin and the pages only."""


class PageMessageMiddleware(_PagesOnly, MessageMiddleware):
    """Django's messages, for the admin and the pages only."""
