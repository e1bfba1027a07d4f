"""Process-wide facts (when this process started, which version of Baton it runs) and its memory habits."""

from __future__ import annotations

import functools
import gc
import time
from importlib import metadata
from typing import Any

STARTED_AT = time.monotonic()
DISTRIBUTION = "baton-server"


def uptime_seconds() -> float:
    """Seconds since this process imported Baton (which is when the server started)."""
    return round(time.monotonic() - STARTED_AT, 3)


@functools.cache
def package_version() -> str:
    """The installed distribution's version, from the package metadata, read once: the code a process runs does
    not change with a later install. (Read per call, it was a quarter of the CPU of `GET /health`.)"""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a bare checkout without `pip install`
        return "0.0.0+unknown"


def tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector from pausing a long-running process for long.

    A full collection walks every tracked object, and after start-up that is mostly Django, DRF and the URL and
    schema machinery, none of which ever becomes garbage. Freezing them moves them out of the collector's sight
    (bench/streams.py at 500 SSE clients: p99 publish-to-receive latency 266-288 ms before, 104-106 ms after).

    The first-generation threshold is 5,000 allocations rather than the default 700, but not much more: a
    request used to leave about a hundred objects in reference cycles (DRF fields point at their serializers,
    requests at their views) that only a collection frees, and a collection's pause grows with what it frees; the
    API's requests now break those cycles when they finish (`release_finished_response`,
    `RequestSerializer.is_valid`), but pages and the admin still leave some. At 50,000, each
    collection freed about 40,000 objects and took 50-100 ms, every 3 s, which was the whole p99 of
    bench/lifecycle.py (118-127 ms; 82-87 ms at 5,000). The streams benchmark is the same at both (p99 100-110 ms).
    The SQLite writer lock also holds collections off while a transaction is open (`baton_site.db.base`).
    Called by the ASGI module once start-up is over. (Not in the Celery worker: there a larger threshold lowered
    bench/webhooks.py's burst rate from 209-219 to 171-180 deliveries/s.)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 50, 100)


def release_finished_response(response: Any) -> None:
    """Break the reference cycles DRF leaves behind a finished request, so that it is freed at once.

    The view holds its request and its response, the response's `renderer_context` holds the view and the
    request, and the request's `parser_context` holds the view and the request itself. None of it is used once the
    response is closed, but as cycles the request's whole graph (headers, META, body file, view, parser, renderer:
    about 70 objects a request) waited for the garbage collector, whose collections then came every few lifecycles
    and took about 3 ms each. Emptying the view and the request (and the context that names them) leaves nothing
    cyclic, and reference counting frees it all when the server lets go of the response. Called by the server's
    request handler after `response.close()`; a response that is not DRF's is left alone."""
    context = getattr(response, "renderer_context", None)
    if not isinstance(context, dict):
        return
    for name in ("view", "request"):
        holder = context.get(name)
        if holder is not None and hasattr(holder, "__dict__"):
            holder.__dict__.clear()
    context.clear()
