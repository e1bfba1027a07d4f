"""Per-request context shared by every layer: the correlation id of the request being served, and the web
server's event loop."""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar

# Set by RequestIdMiddleware; stored on events and webhook deliveries caused by the request, and on log records.
current_request_id: ContextVar[str] = ContextVar("baton_request_id", default="")

# Set by the web server's request handler: the event loop serving this request (None outside a web request).
server_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("baton_server_loop", default=None)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
