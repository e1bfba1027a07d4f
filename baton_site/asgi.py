"""ASGI entry point served by daphne: HTTP (API, pages, SSE) and WebSocket streams.

Two Django handlers share the HTTP side. Streams (`/api/v1/events/...`, `/pmo/live`) go through Django's usual
async middleware chain, so an idle stream holds no thread. Everything else goes through `SyncChainASGIHandler`:
the whole middleware chain and the (sync) DRF view run in one worker thread, entered once. Django's default, with
sync-only parts in the chain, would enter a thread, come back to the event loop and enter a thread again for the
view (three switches per request).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
django_asgi_app = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from baton_site.routing import websocket_urlpatterns  # noqa: E402

STREAM_PREFIXES = ("/api/v1/events/", "/pmo/live")


class SyncChainASGIHandler(ASGIHandler):
    """An ASGI handler whose middleware chain is the synchronous one, entered with a single thread switch."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


request_app = SyncChainASGIHandler()


async def http_app(scope: dict, receive: object, send: object) -> None:
    if scope.get("path", "").startswith(STREAM_PREFIXES):
        await django_asgi_app(scope, receive, send)
    else:
        await request_app(scope, receive, send)


# Static assets (Swagger UI, ReDoc, page scripts) are served by the server itself from the installed apps, so the
# documentation and pages work offline with no CDN and no collectstatic step. The handler only answers /static/.
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(http_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
