"""The SSE endpoint, mounted under /api/v1/ by `baton_site.urls` (the WebSocket routes are in `baton_site.routing`)."""

from __future__ import annotations

from django.urls import path

from executions.streams import event_stream

urlpatterns = [
    path("events/<str:task_id>", event_stream, name="events-stream"),
]
