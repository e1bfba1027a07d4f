"""WebSocket routes (filled in by the streams)."""

from __future__ import annotations

websocket_urlpatterns: list = []
