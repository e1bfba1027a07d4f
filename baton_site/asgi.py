"""ASGI entry point served by daphne: HTTP (API, pages, SSE) and WebSocket streams."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from baton_site.routing import websocket_urlpatterns  # noqa: E402

# Static assets (Swagger UI, ReDoc, page scripts) are served by the server itself from the installed apps, so the
# documentation and pages work offline with no CDN and no collectstatic step. The handler only answers /static/.
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
