"""WebSocket routes: the live event streams, behind an origin and token check done before the handshake.

WebSocket handshakes never pass through Django's middleware (neither CORS nor the bearer-token check), and
browsers let any web page open a WebSocket to any host. So every route here is wrapped in `WebSocketGuard`:
- Origin: a browser handshake (one with an `Origin` header) is accepted only from the server's own origin or an
  origin the CORS settings allow (localhost by default), so a foreign page cannot read the streams of a local
  server that runs without a token. Clients that send no `Origin` (scripts, CLIs) are not affected.
- Token: with a token configured, `Authorization: Bearer <token>` or `?token=<token>` (browsers cannot set
  headers on a WebSocket), compared in constant time.
A refused handshake is closed before it is accepted, which daphne answers with HTTP 403.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors_conf
from django.urls import path

from baton_site.auth import scope_is_authorized
from executions.consumers import AllEventsConsumer, TaskEventsConsumer

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLOSE_REFUSED = 4403


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    """No Origin (not a browser), the server's own origin, or an origin the CORS settings allow."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    raw_origin = headers.get(b"origin")
    if raw_origin is None:
        return True
    origin = raw_origin.decode("latin-1").strip()
    host = headers.get(b"host", b"").decode("latin-1").strip()
    parts = urlsplit(origin)
    if host and parts.netloc.lower() == host.lower():
        return True
    if cors_conf.CORS_ALLOW_ALL_ORIGINS or origin in cors_conf.CORS_ALLOWED_ORIGINS:
        return True
    return any(re.match(pattern, origin) for pattern in cors_conf.CORS_ALLOWED_ORIGIN_REGEXES)


class WebSocketGuard:
    """ASGI middleware refusing WebSocket handshakes from foreign origins or without the configured token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not (origin_allowed(scope) and scope_is_authorized(scope)):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": CLOSE_REFUSED})
            return
        await self.app(scope, receive, send)


websocket_urlpatterns = [
    path("ws/events/", WebSocketGuard(AllEventsConsumer.as_asgi())),
    path("ws/events/<str:task_id>", WebSocketGuard(TaskEventsConsumer.as_asgi())),
]
